/**
 * Capabilities, rule by rule (spec/microkernel.md §2 MK-CAP-*), with the CNode and Untyped
 * invocations that manipulate them (MK-ABI-3) and their errors (MK-ABI-4): rights only
 * shrink, the derivation tree, lookup, derivation of frame / page-table / IRQ caps, badges,
 * delete, finalisation and revoke.
 */
import { describe, expect, it } from 'vitest';
import { FIRST_SHARED_IRQ } from '../../src/hw/index.ts';
import { ERROR, INVOCATION, MAP_ATTR, OBJECT_TYPE, RIGHTS, SYSCALL, type KernelScenario } from '../../src/kernel/index.ts';
import type { MicrokernelSystem } from '../../src/system/index.ts';
import { boot, info, running, syscall, tcbOf } from './fixtures.ts';
import {
  capOf,
  expectClean,
  expectInvocationRejected,
  expectRejected,
  invokeOk,
  leafEntry,
  MK_MACHINE_2CPU,
  objOf,
  slotOf,
  storedCaps,
  tid,
} from './unit-helpers.ts';

const ALL = RIGHTS.R | RIGHTS.W | RIGHTS.G | RIGHTS.GR;

/** a's CSpace: the slots of the scenario below. */
const EP = 1;
const CN = 2; // a's own CNode
const NTFN = 3;
const FRAME = 4;
const UT = 5;
const IRQCTL = 6;
const B_CN = 7; // b's CNode: the only cap to it
const OWN_VSPACE = 15;
const OWN_PT = 14;
const OWN_FRAME = 13; // mapped at 0x300

const SCENARIO: KernelScenario = {
  objects: [
    { name: 'ep', type: 'endpoint' },
    { name: 'n', type: 'notification' },
    { name: 'f', type: 'frame' },
  ],
  threads: [
    {
      name: 'a',
      priority: 2,
      pages: [{ va: 0x300, write: true }],
      caps: [
        { slot: EP, object: 'ep' },
        { slot: CN, object: 'a.cspace' },
        { slot: NTFN, object: 'n' },
        { slot: FRAME, object: 'f' },
        { slot: IRQCTL, object: 'irqcontrol' },
        { slot: B_CN, object: 'b.cspace' },
      ],
    },
    { name: 'b', priority: 1, caps: [{ slot: 1, object: 'ep', rights: 'RW' }] },
  ],
  untyped: [{ thread: 'a', slot: UT, sizeBits: 10 }],
};

const setup = (): MicrokernelSystem => boot(SCENARIO);

const copy = (sys: MicrokernelSystem, dest: number, src: number, mask = ALL) => invokeOk(sys, 0, CN, INVOCATION.CNODE_COPY, [dest, src, mask]);
const mint = (sys: MicrokernelSystem, dest: number, src: number, mask: number, badge: number) =>
  invokeOk(sys, 0, CN, INVOCATION.CNODE_MINT, [dest, src, mask, badge]);
const del = (sys: MicrokernelSystem, slot: number) => invokeOk(sys, 0, CN, INVOCATION.CNODE_DELETE, [slot]);

describe('MK-CAP-1..3 capabilities, rights and the derivation tree', () => {
  it('MK-CAP-1: a cap names one object with its type-specific data', () => {
    const sys = setup();
    const a = tcbOf(sys, 'a');
    expect(capOf(sys, 'a', EP)).toEqual({ type: 'endpoint', obj: expect.any(Number), badge: 0, rights: ALL });
    expect(capOf(sys, 'a', NTFN)).toEqual({ type: 'notification', obj: expect.any(Number), badge: 0, rights: ALL });
    expect(capOf(sys, 'a', FRAME)).toEqual({ type: 'frame', obj: expect.any(Number), rights: RIGHTS.R | RIGHTS.W, mapping: null });
    expect(capOf(sys, 'a', OWN_FRAME)).toEqual(expect.objectContaining({ type: 'frame', mapping: { vspace: a.vspace, va: 0x300 } }));
    expect(capOf(sys, 'a', OWN_PT)).toEqual(expect.objectContaining({ type: 'pagetable', mapping: { vspace: a.vspace, va: 0, level: 1 } }));
    expect(capOf(sys, 'a', OWN_VSPACE)).toEqual({ type: 'vspace', obj: a.vspace });
    expect(capOf(sys, 'a', IRQCTL)).toEqual({ type: 'irqcontrol' });
    const withHandler = invokeOk(sys, 0, IRQCTL, INVOCATION.IRQ_CONTROL_GET, [4, 8]);
    expect(capOf(withHandler, 'a', 8)).toEqual({ type: 'irqhandler', line: 4 });
    for (const s of [EP, NTFN, FRAME]) expect(sys.state.objects[objOf(sys, 'a', s)]?.type).toBe(capOf(sys, 'a', s)!.type);
    expectClean(withHandler);
  });

  it('MK-CAP-2: a derived cap has at most its parent rights, whatever the mask', () => {
    let sys = setup();
    sys = copy(sys, 8, EP, RIGHTS.R | RIGHTS.W);
    expect(capOf(sys, 'a', 8)).toEqual(expect.objectContaining({ rights: RIGHTS.R | RIGHTS.W }));
    sys = copy(sys, 9, 8, ALL); // asking for all rights gives back no more than the parent's
    expect(capOf(sys, 'a', 9)).toEqual(expect.objectContaining({ rights: RIGHTS.R | RIGHTS.W }));
    sys = mint(sys, 10, 9, RIGHTS.W | RIGHTS.G, 3);
    expect(capOf(sys, 'a', 10)).toEqual(expect.objectContaining({ rights: RIGHTS.W, badge: 3 }));
    sys = copy(sys, 11, FRAME, RIGHTS.R | RIGHTS.G);
    expect(capOf(sys, 'a', 11)).toEqual(expect.objectContaining({ type: 'frame', rights: RIGHTS.R }));
    expectClean(sys);
  });

  it('MK-CAP-2, MK-ABI-4: without Write a cap cannot send or signal, without Read it cannot receive or wait', () => {
    let sys = setup();
    sys = copy(sys, 8, EP, RIGHTS.R);
    sys = copy(sys, 9, EP, RIGHTS.W);
    sys = copy(sys, 10, NTFN, RIGHTS.R);
    sys = copy(sys, 11, NTFN, RIGHTS.W);
    for (const n of [SYSCALL.SEND, SYSCALL.NB_SEND, SYSCALL.CALL]) {
      expectRejected(sys, 0, n, { 1: 8, 2: info(1, 1), 3: 5 }, ERROR.INVALID_CAPABILITY);
      expectRejected(sys, 0, n, { 1: 10, 2: info(1) }, ERROR.INVALID_CAPABILITY);
    }
    for (const n of [SYSCALL.RECV, SYSCALL.NB_RECV]) {
      expectRejected(sys, 0, n, { 1: 9 }, ERROR.INVALID_CAPABILITY);
      expectRejected(sys, 0, n, { 1: 11 }, ERROR.INVALID_CAPABILITY);
    }
  });

  it('MK-CAP-3: Copy and Mint make children of their source; Move keeps the node', () => {
    let sys = setup();
    const orig = slotOf(sys, 'a', EP)!;
    sys = copy(sys, 8, EP);
    sys = mint(sys, 9, 8, ALL, 4);
    expect(slotOf(sys, 'a', 8)!.parent).toBe(orig.id);
    expect(slotOf(sys, 'a', 9)!.parent).toBe(slotOf(sys, 'a', 8)!.id);
    const ids = new Set(storedCaps(sys.state).map((c) => c.cte.id));
    expect(ids.size).toBe(storedCaps(sys.state).length); // identities are unique
    const moved = slotOf(sys, 'a', 8)!;
    sys = invokeOk(sys, 0, CN, INVOCATION.CNODE_MOVE, [10, 8]);
    expect(slotOf(sys, 'a', 8)).toBeNull();
    expect(slotOf(sys, 'a', 10)).toEqual(moved);
    expect(slotOf(sys, 'a', 9)!.parent).toBe(moved.id); // its child still hangs from it
    expectClean(sys);
  });

  it('MK-CAP-3: Retype makes children of the untyped cap, IRQControl_Get of the IRQ control cap', () => {
    let sys = setup();
    sys = invokeOk(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.ENDPOINT, 0, 8, 2]);
    sys = invokeOk(sys, 0, IRQCTL, INVOCATION.IRQ_CONTROL_GET, [FIRST_SHARED_IRQ, 10]);
    expect(slotOf(sys, 'a', 8)!.parent).toBe(slotOf(sys, 'a', UT)!.id);
    expect(slotOf(sys, 'a', 9)!.parent).toBe(slotOf(sys, 'a', UT)!.id);
    expect(slotOf(sys, 'a', 10)!.parent).toBe(slotOf(sys, 'a', IRQCTL)!.id);
    expect(slotOf(sys, 'a', UT)!.parent).toBeNull();
    expectClean(sys);
  });
});

describe('MK-CAP-4 lookup', () => {
  it('MK-CAP-4, MK-ABI-4: a CPtr outside the CNode is FAILED_LOOKUP, an empty slot INVALID_CAPABILITY, and nothing changes', () => {
    const sys = setup();
    for (const cptr of [16, 0xffffffff, 1 << 20]) {
      expectRejected(sys, 0, SYSCALL.SEND, { 1: cptr, 2: info(1) }, ERROR.FAILED_LOOKUP);
      expectRejected(sys, 0, SYSCALL.RECV, { 1: cptr }, ERROR.FAILED_LOOKUP);
    }
    expectRejected(sys, 0, SYSCALL.CALL, { 1: 9, 2: info(1) }, ERROR.INVALID_CAPABILITY);
    expectRejected(sys, 0, SYSCALL.NB_RECV, { 1: 0 }, ERROR.INVALID_CAPABILITY);
  });

  it('MK-CAP-4, MK-CAP-8: a thread whose CNode is destroyed has no CSpace, and every lookup fails', () => {
    let sys = setup();
    const bNode = tcbOf(sys, 'b').cspace!;
    const bVspace = tcbOf(sys, 'b').vspace!;
    const asid = sys.state.objects[bVspace]?.type === 'pagetable' ? (sys.state.objects[bVspace] as { asid: number }).asid : -1;
    sys = del(sys, B_CN); // the last cap to b's CNode
    expect(tcbOf(sys, 'b').cspace).toBeNull();
    expect(sys.state.objects[bNode]).toBeNull();
    // The caps it held are gone; its VSpace, whose only cap it held, is destroyed and its ASID free.
    expect(storedCaps(sys.state).filter((c) => c.cnode === bNode)).toEqual([]);
    expect(sys.state.objects[bVspace]).toBeNull();
    expect(tcbOf(sys, 'b').vspace).toBeNull();
    expect(sys.state.asids[asid]).toBeNull();
    sys = syscall(sys, 0, SYSCALL.RECV, { 1: EP }).system; // a blocks; b runs
    expect(running(sys)).toBe('b');
    expectRejected(sys, 0, SYSCALL.SEND, { 1: 1, 2: info(1) }, ERROR.FAILED_LOOKUP);
    expectRejected(sys, 0, SYSCALL.RECV, { 1: 0 }, ERROR.FAILED_LOOKUP);
  });
});

describe('MK-CAP-5 derivation', () => {
  it('MK-CAP-5: a copy of a mapped frame cap is unmapped; the original keeps its mapping', () => {
    let sys = setup();
    sys = copy(sys, 8, OWN_FRAME);
    expect(capOf(sys, 'a', 8)).toEqual(expect.objectContaining({ type: 'frame', mapping: null, obj: objOf(sys, 'a', OWN_FRAME) }));
    expect(capOf(sys, 'a', OWN_FRAME)).toEqual(expect.objectContaining({ mapping: expect.objectContaining({ va: 0x300 }) }));
    expectClean(sys);
  });

  it('MK-CAP-5, MK-ABI-4: a mapped page-table cap and the IRQ control cap cannot be copied (ILLEGAL_OPERATION); an unmapped page table can', () => {
    let sys = setup();
    expectInvocationRejected(sys, 0, CN, INVOCATION.CNODE_COPY, [8, OWN_PT, ALL], ERROR.ILLEGAL_OPERATION);
    expectInvocationRejected(sys, 0, CN, INVOCATION.CNODE_MINT, [8, OWN_PT, ALL, 0], ERROR.ILLEGAL_OPERATION);
    expectInvocationRejected(sys, 0, CN, INVOCATION.CNODE_COPY, [8, IRQCTL, ALL], ERROR.ILLEGAL_OPERATION);
    sys = invokeOk(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.PAGETABLE, 0, 8, 1]);
    sys = copy(sys, 9, 8);
    expect(capOf(sys, 'a', 9)).toEqual({ type: 'pagetable', obj: objOf(sys, 'a', 8), mapping: null });
    // Moving a mapped page-table cap is not a copy: allowed.
    sys = invokeOk(sys, 0, CN, INVOCATION.CNODE_MOVE, [10, OWN_PT]);
    expect(capOf(sys, 'a', 10)?.type).toBe('pagetable');
    expectClean(sys);
  });
});

describe('MK-CAP-6 badges', () => {
  it('MK-CAP-6: Mint sets the badge of an unbadged endpoint or notification cap, cut to 28 bits', () => {
    let sys = setup();
    sys = mint(sys, 8, EP, ALL, 0x1234);
    sys = mint(sys, 9, NTFN, ALL, 0xf0000007);
    sys = mint(sys, 10, EP, ALL, 0x0fffffff);
    expect(capOf(sys, 'a', 8)).toEqual(expect.objectContaining({ badge: 0x1234 }));
    expect(capOf(sys, 'a', 9)).toEqual(expect.objectContaining({ badge: 0x7 }));
    expect(capOf(sys, 'a', 10)).toEqual(expect.objectContaining({ badge: 0x0fffffff }));
    expectClean(sys);
  });

  it('MK-CAP-6: the badge of a badged cap never changes, by Mint or Copy', () => {
    let sys = setup();
    sys = mint(sys, 8, EP, ALL, 5);
    sys = mint(sys, 9, 8, ALL, 9);
    sys = copy(sys, 10, 9);
    sys = mint(sys, 11, 10, ALL, 0);
    for (const s of [8, 9, 10, 11]) expect(capOf(sys, 'a', s), `slot ${s}`).toEqual(expect.objectContaining({ badge: 5 }));
    expectClean(sys);
  });

  it('MK-CAP-6: badge 0 means unbadged: such a cap can still be minted a badge', () => {
    let sys = setup();
    sys = mint(sys, 8, EP, ALL, 0);
    expect(capOf(sys, 'a', 8)).toEqual(expect.objectContaining({ badge: 0 }));
    sys = mint(sys, 9, 8, ALL, 6);
    expect(capOf(sys, 'a', 9)).toEqual(expect.objectContaining({ badge: 6 }));
    // Minting something that carries no badge just copies it.
    sys = mint(sys, 10, FRAME, ALL, 6);
    expect(capOf(sys, 'a', 10)).toEqual(capOf(sys, 'a', FRAME));
    expectClean(sys);
  });
});

describe('MK-CAP-7..9 delete, finalise, revoke', () => {
  it('MK-CAP-7: deleting a cap empties its slot and re-attaches its children to its parent', () => {
    let sys = setup();
    sys = copy(sys, 8, EP);
    sys = copy(sys, 9, 8);
    sys = copy(sys, 10, 8);
    const ep = objOf(sys, 'a', EP);
    sys = del(sys, 8);
    expect(slotOf(sys, 'a', 8)).toBeNull();
    expect(slotOf(sys, 'a', 9)!.parent).toBe(slotOf(sys, 'a', EP)!.id);
    expect(slotOf(sys, 'a', 10)!.parent).toBe(slotOf(sys, 'a', EP)!.id);
    expect(sys.state.objects[ep]?.type).toBe('endpoint'); // not the last cap
    sys = del(sys, 12); // an empty slot: nothing to do
    expectClean(sys);
  });

  it('MK-CAP-7, MK-VM-4: deleting a mapped frame cap unmaps it, even when other caps to the frame remain', () => {
    let sys = setup();
    const vspace = tcbOf(sys, 'a').vspace!;
    sys = invokeOk(sys, 0, FRAME, INVOCATION.FRAME_MAP, [0x400, MAP_ATTR.WRITE], { xcap: OWN_VSPACE });
    const frame = objOf(sys, 'a', FRAME);
    expect(leafEntry(sys, vspace, 0x400)! >>> 4).toBe(sys.state.objects[frame]!.base / 256);
    sys = copy(sys, 8, FRAME);
    sys = del(sys, FRAME);
    expect(leafEntry(sys, vspace, 0x400)).toBe(0);
    expect(sys.state.objects[frame]?.type).toBe('frame'); // slot 8 still names it
    expect(leafEntry(sys, vspace, 0x300)).not.toBe(0); // other mappings stay
    expectClean(sys);
  });

  it('MK-CAP-7, MK-CAP-8: deleting the last cap to an object destroys it; its memory stays retyped', () => {
    let sys = setup();
    const ut = objOf(sys, 'a', UT);
    sys = invokeOk(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.NOTIFICATION, 0, 8, 1]);
    const n = objOf(sys, 'a', 8);
    const watermark = (sys.state.objects[ut] as { watermark: number }).watermark;
    sys = del(sys, 8);
    expect(sys.state.objects[n]).toBeNull();
    expect((sys.state.objects[ut] as { watermark: number }).watermark).toBe(watermark);
    const ep = objOf(sys, 'a', EP);
    sys = invokeOk(sys, 0, B_CN, INVOCATION.CNODE_DELETE, [1]); // b's copy of the endpoint cap
    expect(sys.state.objects[ep]?.type).toBe('endpoint');
    sys = del(sys, EP);
    expect(sys.state.objects[ep]).toBeNull();
    expectClean(sys);
  });

  it('MK-CAP-8, MK-IPC-10: deleting the last TCB cap suspends the thread, unbinds it, and reply rights naming it die', () => {
    let sys = boot({
      objects: [{ name: 'ep', type: 'endpoint' }, { name: 'n', type: 'notification' }],
      threads: [
        { name: 's', priority: 3, caps: [{ slot: 1, object: 'ep' }] },
        { name: 'c', priority: 2, caps: [{ slot: 1, object: 'ep', rights: 'WP' }] },
        { name: 'm', priority: 1, caps: [{ slot: 1, object: 'c.tcb' }, { slot: 2, object: 'n' }, { slot: 3, object: 'm.cspace' }] },
      ],
    });
    sys = syscall(sys, 0, SYSCALL.RECV, { 1: 1 }).system; // s waits
    sys = syscall(sys, 0, SYSCALL.CALL, { 1: 1, 2: info(1) }).system; // c calls s
    expect(tcbOf(sys, 's').caller?.caller).toBe(tid(sys, 'c'));
    sys = syscall(sys, 0, SYSCALL.RECV, { 1: 1 }).system; // s waits again, still holding the reply right
    expect(running(sys)).toBe('m');
    sys = invokeOk(sys, 0, 1, INVOCATION.TCB_BIND_NOTIFICATION, [], { xcap: 2 });
    const c = tid(sys, 'c');
    const n = objOf(sys, 'm', 2);
    sys = invokeOk(sys, 0, 3, INVOCATION.CNODE_DELETE, [1]);
    expect(sys.state.objects[c]).toBeNull();
    expect(tcbOf(sys, 's').caller).toBeNull();
    expect(sys.state.objects[n]).toEqual(expect.objectContaining({ boundTcb: null }));
    expect(sys.state.ready).not.toContain(c);
    expectClean(sys);
  });

  it('MK-CAP-8, MK-SCHED-7: deleting the last cap to a thread running on another CPU takes it off that CPU first', () => {
    let sys = boot({
      threads: [
        { name: 'm', cpu: 0, caps: [{ slot: 1, object: 'c.tcb' }, { slot: 2, object: 'm.cspace' }] },
        { name: 'c', cpu: 1, program: 'loop: b loop' },
      ],
    }, MK_MACHINE_2CPU);
    expect(running(sys, 1)).toBe('c');
    const r = syscall(sys, 0, SYSCALL.CALL, { 1: 2, 2: info(INVOCATION.CNODE_DELETE, 1), 3: 1 });
    sys = r.system;
    expect(sys.state.cpus[1]!.current).toBeNull();
    expect(sys.machine.cpus[1]).toEqual(expect.objectContaining({ el: 1, waiting: true }));
    expect(sys.machine.gic.ipiPending & 2).toBe(2);
    expect(r.ops).toContain('ipi');
    expect(sys.state.objects.some((o) => o?.type === 'tcb' && o.name === 'c')).toBe(false);
    expectClean(sys);
  });

  it('MK-CAP-8: deleting the last notification cap unbinds its thread and detaches its interrupt lines', () => {
    let sys = boot({
      objects: [{ name: 'n', type: 'notification' }],
      threads: [{ name: 'a', caps: [{ slot: 1, object: 'n' }, { slot: 2, object: 'a.tcb' }, { slot: 3, object: 'a.cspace' }] }],
      irqs: [{ line: 4, notification: 'n', badge: 2 }],
    });
    sys = invokeOk(sys, 0, 2, INVOCATION.TCB_BIND_NOTIFICATION, [], { xcap: 1 });
    expect(sys.state.irqs[4]!.target).not.toBeNull();
    sys = invokeOk(sys, 0, 3, INVOCATION.CNODE_DELETE, [1]);
    expect(tcbOf(sys, 'a').boundNotification).toBeNull();
    expect(sys.state.irqs[4]!.target).toBeNull();
    expectClean(sys);
  });

  it('MK-CAP-9: Revoke deletes every cap derived from a cap, and keeps the cap and the rest of the tree', () => {
    let sys = setup();
    sys = copy(sys, 8, EP); // EP → 8 → 9 → 10, and EP → 11
    sys = copy(sys, 9, 8);
    sys = copy(sys, 10, 9);
    sys = copy(sys, 11, EP);
    sys = invokeOk(sys, 0, CN, INVOCATION.CNODE_REVOKE, [8]);
    expect([9, 10].map((s) => slotOf(sys, 'a', s))).toEqual([null, null]);
    expect(capOf(sys, 'a', 8)?.type).toBe('endpoint');
    expect(slotOf(sys, 'a', 11)!.parent).toBe(slotOf(sys, 'a', EP)!.id);
    expect(capOf(sys, 'b', 1)?.type).toBe('endpoint');
    sys = invokeOk(sys, 0, CN, INVOCATION.CNODE_REVOKE, [EP]); // now b's copy goes too
    expect([8, 11].map((s) => slotOf(sys, 'a', s))).toEqual([null, null]);
    expect(slotOf(sys, 'b', 1)).toBeNull();
    expect(sys.state.objects[objOf(sys, 'a', EP)]?.type).toBe('endpoint');
    expectClean(sys);
  });

  it('MK-CAP-9: revoking an untyped cap destroys everything made from it, however deep', () => {
    let sys = setup();
    sys = invokeOk(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.UNTYPED, 8, 8, 1]);
    sys = invokeOk(sys, 0, 8, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.ENDPOINT, 0, 9, 1]);
    sys = copy(sys, 10, 9);
    const made = [8, 9].map((s) => objOf(sys, 'a', s));
    sys = invokeOk(sys, 0, CN, INVOCATION.CNODE_REVOKE, [UT]);
    for (const s of [8, 9, 10]) expect(slotOf(sys, 'a', s)).toBeNull();
    for (const o of made) expect(sys.state.objects[o]).toBeNull();
    expect(sys.state.objects[objOf(sys, 'a', UT)]).toEqual(expect.objectContaining({ watermark: 0 }));
    expectClean(sys);
  });
});

describe('MK-ABI-3 CNode and Untyped invocations', () => {
  it('MK-ABI-3: CNode_Copy and Mint take the source from the CNode in r11 when the message carries a cap', () => {
    let sys = setup();
    sys = invokeOk(sys, 0, CN, INVOCATION.CNODE_MINT, [8, 1, RIGHTS.W, 77], { xcap: B_CN, extraCaps: 1 });
    expect(capOf(sys, 'a', 8)).toEqual(expect.objectContaining({ type: 'endpoint', badge: 77, rights: RIGHTS.W }));
    expect(slotOf(sys, 'a', 8)!.parent).toBe(slotOf(sys, 'b', 1)!.id);
    // Without extraCaps, r11 is ignored and the source is in this CNode.
    sys = invokeOk(sys, 0, CN, INVOCATION.CNODE_COPY, [9, NTFN, ALL], { xcap: B_CN });
    expect(capOf(sys, 'a', 9)?.type).toBe('notification');
    // Copy into another CNode: invoke b's CNode with a's as the source.
    sys = invokeOk(sys, 0, B_CN, INVOCATION.CNODE_COPY, [2, FRAME, RIGHTS.R], { xcap: CN, extraCaps: 1 });
    expect(capOf(sys, 'b', 2)).toEqual(expect.objectContaining({ type: 'frame', rights: RIGHTS.R }));
    expectClean(sys);
  });

  it('MK-ABI-3, MK-ABI-4: bad CNode invocations get the right error and change nothing', () => {
    const sys = copy(setup(), 8, EP);
    const cases: [number, number[], number, { xcap?: number; extraCaps?: number }?][] = [
      [INVOCATION.CNODE_COPY, [8, EP, ALL], ERROR.DELETE_FIRST],
      [INVOCATION.CNODE_MINT, [8, EP, ALL, 1], ERROR.DELETE_FIRST],
      [INVOCATION.CNODE_MOVE, [8, EP], ERROR.DELETE_FIRST],
      [INVOCATION.CNODE_COPY, [9, 12, ALL], ERROR.FAILED_LOOKUP],
      [INVOCATION.CNODE_MOVE, [9, 12], ERROR.FAILED_LOOKUP],
      [INVOCATION.CNODE_COPY, [16, EP, ALL], ERROR.RANGE_ERROR],
      [INVOCATION.CNODE_COPY, [9, 16, ALL], ERROR.RANGE_ERROR],
      [INVOCATION.CNODE_DELETE, [0xffffffff], ERROR.RANGE_ERROR],
      [INVOCATION.CNODE_REVOKE, [16], ERROR.RANGE_ERROR],
      [INVOCATION.CNODE_COPY, [9, 1, ALL], ERROR.INVALID_CAPABILITY, { xcap: EP, extraCaps: 1 }],
      [INVOCATION.CNODE_COPY, [9, 1, ALL], ERROR.INVALID_CAPABILITY, { xcap: 12, extraCaps: 1 }],
      [INVOCATION.CNODE_COPY, [9, 1, ALL], ERROR.FAILED_LOOKUP, { xcap: 99, extraCaps: 1 }],
      [INVOCATION.CNODE_CANCEL_BADGED_SENDS, [FRAME], ERROR.ILLEGAL_OPERATION],
      [INVOCATION.CNODE_CANCEL_BADGED_SENDS, [12], ERROR.ILLEGAL_OPERATION],
      [INVOCATION.FRAME_MAP, [0], ERROR.ILLEGAL_OPERATION],
      [99, [0], ERROR.ILLEGAL_OPERATION],
    ];
    for (const [label, args, code, o] of cases) expectInvocationRejected(sys, 0, CN, label, args, code, o);
    // A VSpace, endpoint or notification cap has no invocations.
    expectInvocationRejected(sys, 0, OWN_VSPACE, INVOCATION.CNODE_COPY, [9, 1, ALL], ERROR.ILLEGAL_OPERATION);
  });

  it('MK-ABI-3: Untyped_Retype puts the new caps in the CNode in r11 when the message carries a cap', () => {
    let sys = setup();
    sys = invokeOk(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.ENDPOINT, 0, 2, 3], { xcap: B_CN, extraCaps: 1 });
    for (const s of [2, 3, 4]) expect(capOf(sys, 'b', s)?.type).toBe('endpoint');
    expect(slotOf(sys, 'a', 8)).toBeNull();
    expectClean(sys);
  });

  it('MK-ABI-3, MK-ABI-4: bad Untyped_Retype arguments get the right error and change nothing', () => {
    const sys = setup();
    const cases: [number, number[], number, { xcap?: number; extraCaps?: number }?][] = [
      [INVOCATION.CNODE_COPY, [OBJECT_TYPE.ENDPOINT, 0, 8, 1], ERROR.ILLEGAL_OPERATION],
      [INVOCATION.UNTYPED_RETYPE, [8, 0, 8, 1], ERROR.INVALID_ARGUMENT],
      [INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.ENDPOINT, 0, 8, 0], ERROR.RANGE_ERROR],
      [INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.ENDPOINT, 0, 0, 17], ERROR.RANGE_ERROR],
      [INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.ENDPOINT, 0, 14, 3], ERROR.RANGE_ERROR], // runs past slot 15
      [INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.ENDPOINT, 0, 12, 2], ERROR.DELETE_FIRST], // slot 13 is taken
      [INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.FRAME, 0, 8, 5], ERROR.NOT_ENOUGH_MEMORY],
      [INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.ENDPOINT, 0, 8, 1], ERROR.INVALID_CAPABILITY, { xcap: EP, extraCaps: 1 }],
      [INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.ENDPOINT, 0, 8, 1], ERROR.FAILED_LOOKUP, { xcap: 16, extraCaps: 1 }],
    ];
    for (const [label, args, code, o] of cases) expectInvocationRejected(sys, 0, UT, label, args, code, o);
  });
});
