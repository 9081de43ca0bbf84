/**
 * Kernel objects and boot, rule by rule (spec/microkernel.md §1 MK-OBJ-*, §11 MK-BOOT-*):
 * object sizes and placement, Untyped_Retype and its watermark, the thread statechart, the
 * user context and TCB register access, suspension, and booting from a scenario.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { SYS, TIMER_CTL, writeWord } from '../../src/hw/index.ts';
import {
  ERROR,
  FAULT_LABEL,
  INVOCATION,
  MAP_ATTR,
  OBJECT_TYPE,
  RIGHTS,
  SYSCALL,
  THREAD_TRANSITIONS,
  type KernelObject,
  type KernelScenario,
  type ThreadEvent,
  type ThreadStateKind,
} from '../../src/kernel/index.ts';
import { setThreadState } from '../../src/kernel/thread.ts';
import { newLog } from '../../src/kernel/world.ts';
import { bootMicrokernel, type MicrokernelSystem } from '../../src/system/index.ts';
import { boot, info, insn, MK_MACHINE, running, setRegs, stepMk, syscall, tcbOf } from './fixtures.ts';
import {
  capOf,
  expectClean,
  expectInvocationRejected,
  invokeOk,
  leafEntry,
  MK_MACHINE_2CPU,
  mrsOf,
  objOf,
  pcOf,
  regsOf,
  run,
  slotOf,
  stateOf,
  tid,
  wordAt,
} from './unit-helpers.ts';

const PAGE = MK_MACHINE.wordsPerFrame * 4;
const PAGE_BITS = Math.log2(PAGE);

/** Thread `a` (no program) with an untyped of 2^10 bytes in slot 1 and a cap to its own CNode in slot 2. */
const RETYPER: KernelScenario = {
  threads: [{ name: 'a', caps: [{ slot: 2, object: 'a.cspace' }] }],
  untyped: [{ thread: 'a', slot: 1, sizeBits: 10 }],
};

const UT = 1;

function object(sys: MicrokernelSystem, id: number): KernelObject {
  const o = sys.state.objects[id];
  if (o === null || o === undefined) throw new Error(`object ${id} is gone`);
  return o;
}

function untypedOf(sys: MicrokernelSystem): Extract<KernelObject, { type: 'untyped' }> {
  const o = object(sys, objOf(sys, 'a', UT));
  if (o.type !== 'untyped') throw new Error('not an untyped');
  return o;
}

/** Retypes `count` objects of `type` (size argument `bits`) into slots from `dest` of a's CSpace. */
function retype(sys: MicrokernelSystem, type: number, bits: number, dest: number, count = 1): MicrokernelSystem {
  return invokeOk(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, [type, bits, dest, count]);
}

describe('MK-OBJ-1 object kinds and sizes', () => {
  it('MK-OBJ-1: boot objects have the sizes of the table and are aligned to them', () => {
    const sys = boot({
      objects: [
        { name: 'ep', type: 'endpoint' },
        { name: 'n', type: 'notification' },
        { name: 'f', type: 'frame' },
        { name: 'u', type: 'untyped', sizeBits: 9 },
      ],
      threads: [{ name: 'a', cnodeBits: 3, program: 'loop: b loop', caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'n' }, { slot: 3, object: 'f' }, { slot: 4, object: 'u' }] }],
    });
    const sizes = new Map<string, number[]>();
    for (const o of sys.state.objects) {
      if (o === null) continue;
      expect(o.base % 2 ** o.sizeBits, `${o.type} at ${o.base}`).toBe(0);
      sizes.set(o.type, [...(sizes.get(o.type) ?? []), o.sizeBits]);
    }
    expect(sizes.get('tcb')).toEqual([6]); // 16 registers + pc: 64 bytes
    expect(sizes.get('endpoint')).toEqual([4]);
    expect(sizes.get('notification')).toEqual([4]);
    expect(sizes.get('cnode')).toEqual([4 + 3]); // 16 bytes per slot
    expect(sizes.get('untyped')).toEqual([9]);
    // the shared frame, the code frame; the VSpace and one page table
    expect(sizes.get('frame')).toEqual([PAGE_BITS, PAGE_BITS]);
    expect(sizes.get('pagetable')).toEqual([PAGE_BITS, PAGE_BITS]);
    expectClean(sys);
  });

  it('MK-OBJ-1: Untyped_Retype creates each kind with its size', () => {
    let sys = boot(RETYPER);
    const cases: [number, number, string, number][] = [
      [OBJECT_TYPE.UNTYPED, 5, 'untyped', 5],
      [OBJECT_TYPE.TCB, 0, 'tcb', 6],
      [OBJECT_TYPE.ENDPOINT, 0, 'endpoint', 4],
      [OBJECT_TYPE.NOTIFICATION, 0, 'notification', 4],
      [OBJECT_TYPE.CNODE, 2, 'cnode', 6],
      [OBJECT_TYPE.FRAME, 0, 'frame', PAGE_BITS],
      [OBJECT_TYPE.PAGETABLE, 0, 'pagetable', PAGE_BITS],
      [OBJECT_TYPE.VSPACE, 0, 'pagetable', PAGE_BITS],
    ];
    cases.forEach(([type, bits, kind, size], i) => {
      sys = retype(sys, type, bits, 3 + i);
      const o = object(sys, objOf(sys, 'a', 3 + i));
      expect(o.type, `type ${type}`).toBe(kind);
      expect(o.sizeBits, `type ${type}`).toBe(size);
      expect(o.base % 2 ** size).toBe(0);
    });
    const vspace = object(sys, objOf(sys, 'a', 3 + 7));
    expect(vspace.type === 'pagetable' && vspace.asid).toBeGreaterThan(0);
    const cnode = object(sys, objOf(sys, 'a', 3 + 4));
    expect(cnode.type === 'cnode' && cnode.slots.length).toBe(4);
    expectClean(sys);
  });

  it('MK-OBJ-1, MK-ABI-4: a CNode radix outside 1..8 or an untyped size outside 4..30 is a RANGE_ERROR that changes nothing', () => {
    const sys = boot(RETYPER);
    const args = (type: number, bits: number) => [type, bits, 3, 1];
    expectInvocationRejected(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, args(OBJECT_TYPE.CNODE, 0), ERROR.RANGE_ERROR);
    expectInvocationRejected(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, args(OBJECT_TYPE.CNODE, 9), ERROR.RANGE_ERROR);
    expectInvocationRejected(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, args(OBJECT_TYPE.UNTYPED, 3), ERROR.RANGE_ERROR);
    expectInvocationRejected(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, args(OBJECT_TYPE.UNTYPED, 31), ERROR.RANGE_ERROR);
    // A radix the untyped cannot hold is a different error: NOT_ENOUGH_MEMORY.
    expectInvocationRejected(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, args(OBJECT_TYPE.CNODE, 8), ERROR.NOT_ENOUGH_MEMORY);
  });
});

describe('MK-OBJ-2 memory comes from Untyped', () => {
  it('MK-OBJ-2: objects are placed at the watermark, each aligned to its size, and the watermark grows', () => {
    let sys = boot(RETYPER);
    const base = untypedOf(sys).base;
    expect(untypedOf(sys).watermark).toBe(0);
    sys = retype(sys, OBJECT_TYPE.ENDPOINT, 0, 3);
    expect(object(sys, objOf(sys, 'a', 3)).base).toBe(base);
    expect(untypedOf(sys).watermark).toBe(16);
    sys = retype(sys, OBJECT_TYPE.TCB, 0, 4); // 64-byte aligned: skips 16..63
    expect(object(sys, objOf(sys, 'a', 4)).base).toBe(base + 64);
    expect(untypedOf(sys).watermark).toBe(128);
    sys = retype(sys, OBJECT_TYPE.NOTIFICATION, 0, 5, 2);
    expect([object(sys, objOf(sys, 'a', 5)).base, object(sys, objOf(sys, 'a', 6)).base]).toEqual([base + 128, base + 144]);
    expect(untypedOf(sys).watermark).toBe(160);
    sys = retype(sys, OBJECT_TYPE.FRAME, 0, 7); // page aligned
    expect(object(sys, objOf(sys, 'a', 7)).base).toBe(base + PAGE);
    expect(untypedOf(sys).watermark).toBe(2 * PAGE);
    expectClean(sys);
  });

  it('MK-OBJ-2, MK-CAP-8: deleting an object does not give its memory back; the watermark only grows', () => {
    let sys = boot(RETYPER);
    const base = untypedOf(sys).base;
    sys = retype(sys, OBJECT_TYPE.ENDPOINT, 0, 3);
    const ep = objOf(sys, 'a', 3);
    sys = invokeOk(sys, 0, 2, INVOCATION.CNODE_DELETE, [3]);
    expect(sys.state.objects[ep]).toBeNull(); // the object is gone...
    expect(untypedOf(sys).watermark).toBe(16); // ...but its memory stays retyped
    sys = retype(sys, OBJECT_TYPE.ENDPOINT, 0, 3);
    expect(object(sys, objOf(sys, 'a', 3)).base).toBe(base + 16);
    expectClean(sys);
  });

  it('MK-OBJ-2, MK-CAP-9: revoking the untyped cap deletes its objects and resets the watermark to 0', () => {
    let sys = boot(RETYPER);
    const base = untypedOf(sys).base;
    sys = retype(sys, OBJECT_TYPE.ENDPOINT, 0, 3, 3);
    sys = invokeOk(sys, 0, 2, INVOCATION.CNODE_COPY, [6, 3, RIGHTS.R]); // a grandchild of the untyped cap
    const made = [3, 4, 5].map((s) => objOf(sys, 'a', s));
    sys = invokeOk(sys, 0, 2, INVOCATION.CNODE_REVOKE, [UT]);
    for (const s of [3, 4, 5, 6]) expect(slotOf(sys, 'a', s), `slot ${s}`).toBeNull();
    for (const o of made) expect(sys.state.objects[o]).toBeNull();
    expect(capOf(sys, 'a', UT)?.type).toBe('untyped'); // revoke keeps the cap itself
    expect(untypedOf(sys).watermark).toBe(0);
    sys = retype(sys, OBJECT_TYPE.TCB, 0, 3);
    expect(object(sys, objOf(sys, 'a', 3)).base).toBe(base);
    expectClean(sys);
  });

  it('MK-OBJ-2, MK-ABI-3, MK-ABI-4: one Retype makes 1 to 16 objects in consecutive slots; 0 or 17 is a RANGE_ERROR that changes nothing', () => {
    let sys = boot({ threads: [{ name: 'a', cnodeBits: 6 }], untyped: [{ thread: 'a', slot: UT, sizeBits: 10 }] });
    for (const count of [0, 17, 0xffffffff]) {
      expectInvocationRejected(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.ENDPOINT, 0, 2, count], ERROR.RANGE_ERROR);
    }
    sys = retype(sys, OBJECT_TYPE.ENDPOINT, 0, 2, 16);
    const bases = Array.from({ length: 16 }, (_, i) => object(sys, objOf(sys, 'a', 2 + i)).base);
    expect(bases).toEqual(bases.map((_, i) => untypedOf(sys).base + 16 * i));
    expect(slotOf(sys, 'a', 18)).toBeNull();
    expectClean(sys);
  });

  it('MK-OBJ-2: frames and page tables are zeroed when created, so no data survives revoke and retype', () => {
    let sys = boot(RETYPER);
    const base = untypedOf(sys).base;
    const va = 0x400;
    sys = retype(sys, OBJECT_TYPE.PAGETABLE, 0, 3); // at base
    sys = retype(sys, OBJECT_TYPE.FRAME, 0, 4); // at base + PAGE
    sys = invokeOk(sys, 0, 3, INVOCATION.PAGETABLE_MAP, [va], { xcap: 15 }); // 15: a's own VSpace (MK-BOOT-4)
    sys = invokeOk(sys, 0, 4, INVOCATION.FRAME_MAP, [va, MAP_ATTR.WRITE], { xcap: 15 });
    // The thread writes into its frame.
    sys = setRegs(sys, 0, { 5: va, 6: 0xdeadbeef });
    const stored = stepMk(sys, { kind: 'exec', cpu: 0, insn: insn({ op: 'st', rs2: 6, rs1: 5, imm: 8 }) });
    expect(stored.trap).toBeNull();
    sys = stored.system;
    expect(wordAt(sys, base + PAGE + 8)).toBe(0xdeadbeef);
    expect(wordAt(sys, base + 4 * ((va >>> 8) & 15))).not.toBe(0); // the page table holds the entry for va
    sys = invokeOk(sys, 0, 2, INVOCATION.CNODE_REVOKE, [UT]);
    sys = retype(sys, OBJECT_TYPE.FRAME, 0, 3, 2); // the same two pages, now both frames
    expect(object(sys, objOf(sys, 'a', 3)).base).toBe(base);
    expect(object(sys, objOf(sys, 'a', 4)).base).toBe(base + PAGE);
    for (let off = 0; off < 2 * PAGE; off += 4) expect(wordAt(sys, base + off), `byte ${off}`).toBe(0);
    expectClean(sys);
  });

  it('MK-OBJ-2, MK-ABI-4: Retype beyond the end of the untyped is NOT_ENOUGH_MEMORY and changes nothing', () => {
    let sys = boot(RETYPER);
    sys = retype(sys, OBJECT_TYPE.ENDPOINT, 0, 3);
    // 1024 bytes, 16 used: three 256-byte frames fit (aligned at 256), four do not.
    expectInvocationRejected(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.FRAME, 0, 4, 4], ERROR.NOT_ENOUGH_MEMORY);
    sys = retype(sys, OBJECT_TYPE.FRAME, 0, 4, 3);
    expectInvocationRejected(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.ENDPOINT, 0, 7, 1], ERROR.NOT_ENOUGH_MEMORY);
  });

  it('MK-OBJ-2: a device untyped yields only frames (and untyped), which are not zeroed', () => {
    // No scenario field makes a device untyped, so the test turns the booted untyped into one
    // and leaves data in its memory, as a device's registers or a previous owner would.
    const booted = boot(RETYPER);
    const id = objOf(booted, 'a', UT);
    const ut = untypedOf(booted);
    const objects = booted.state.objects.slice();
    objects[id] = { ...ut, device: true };
    let sys: MicrokernelSystem = {
      machine: { ...booted.machine, memory: writeWord(booted.machine.memory, ut.base / 4 + 1, 0x1234) },
      state: { ...booted.state, objects },
    };
    for (const type of [OBJECT_TYPE.TCB, OBJECT_TYPE.ENDPOINT, OBJECT_TYPE.NOTIFICATION, OBJECT_TYPE.CNODE, OBJECT_TYPE.PAGETABLE, OBJECT_TYPE.VSPACE]) {
      expectInvocationRejected(sys, 0, UT, INVOCATION.UNTYPED_RETYPE, [type, 1, 3, 1], ERROR.INVALID_ARGUMENT);
    }
    sys = retype(sys, OBJECT_TYPE.FRAME, 0, 3);
    const frame = object(sys, objOf(sys, 'a', 3));
    expect(frame.type === 'frame' && frame.device).toBe(true);
    expect(wordAt(sys, ut.base + 4)).toBe(0x1234);
    sys = retype(sys, OBJECT_TYPE.UNTYPED, 8, 4);
    const child = object(sys, objOf(sys, 'a', 4));
    expect(child.type === 'untyped' && child.device).toBe(true);
  });
});

/** The transitions of the spec's table (MK-OBJ-3), row by row. */
const SPEC_TRANSITIONS: readonly [ThreadStateKind[], ThreadEvent[], ThreadStateKind][] = [
  [['inactive'], ['RESUME'], 'restart'],
  [['running', 'restart'], ['BLOCK_SEND'], 'blockedOnSend'],
  [['running', 'restart'], ['BLOCK_RECEIVE'], 'blockedOnReceive'],
  [['running', 'restart'], ['BLOCK_REPLY'], 'blockedOnReply'],
  [['running', 'restart'], ['BLOCK_NOTIFICATION'], 'blockedOnNotification'],
  [['running', 'restart'], ['SUSPEND', 'CALL_WITHOUT_REPLY', 'FAULT_NO_HANDLER'], 'inactive'],
  [['restart'], ['SCHEDULE'], 'running'],
  [['blockedOnSend', 'blockedOnReceive', 'blockedOnNotification'], ['COMPLETE'], 'running'],
  [['blockedOnSend', 'blockedOnReceive', 'blockedOnNotification'], ['CANCEL'], 'restart'],
  [['blockedOnSend'], ['BLOCK_REPLY'], 'blockedOnReply'],
  [['blockedOnReply'], ['COMPLETE'], 'running'],
  [['blockedOnReply'], ['REPLY_RESTART'], 'restart'],
  [['blockedOnReply'], ['REPLY_STOP'], 'inactive'],
  [['inactive', 'running', 'restart', 'blockedOnSend', 'blockedOnReceive', 'blockedOnReply', 'blockedOnNotification'], ['SUSPEND'], 'inactive'],
];

/**
 * Transitions the chart has beyond the spec's table. A queued Call picked up by a receiver
 * when the caller may not get a reply stops the caller (blockedOnSend → inactive, as seL4);
 * Resume of a thread that is not inactive is a no-op the chart allows. Reported: the spec's
 * table should list them.
 */
const CHART_EXTRAS: readonly [ThreadStateKind, ThreadEvent, ThreadStateKind][] = [
  ['blockedOnSend', 'CALL_WITHOUT_REPLY', 'inactive'],
  ['running', 'RESUME', 'running'],
  ['restart', 'RESUME', 'restart'],
];

describe('MK-OBJ-3 thread states', () => {
  it('MK-OBJ-3: the statechart has every transition of the spec table, and no others but the listed ones', () => {
    const spec = new Set<string>();
    for (const [froms, events, to] of SPEC_TRANSITIONS) for (const f of froms) for (const e of events) spec.add(`${f} -${e}-> ${to}`);
    const chart = new Set<string>();
    for (const [from, row] of Object.entries(THREAD_TRANSITIONS)) for (const [e, to] of Object.entries(row)) chart.add(`${from} -${e}-> ${to}`);
    expect([...spec].filter((t) => !chart.has(t))).toEqual([]);
    expect([...chart].filter((t) => !spec.has(t)).sort()).toEqual(CHART_EXTRAS.map(([f, e, t]) => `${f} -${e}-> ${t}`).sort());
    expect(THREAD_TRANSITIONS.idle).toEqual({});
  });

  it('MK-OBJ-3: setThreadState refuses a change the chart does not allow, and logs one it allows', () => {
    const sys = boot({ threads: [{ name: 'a' }, { name: 'b', start: false }] });
    const w = { m: sys.machine, k: sys.state };
    const log = newLog(0);
    expect(() => setThreadState(w, log, tid(sys, 'b'), { kind: 'running' }, 'COMPLETE')).toThrow(/cannot go from inactive/);
    expect(() => setThreadState(w, log, tid(sys, 'a'), { kind: 'running' }, 'RESUME')).not.toThrow();
    expect(() => setThreadState(w, log, tid(sys, 'a'), { kind: 'restart' }, 'SCHEDULE')).toThrow();
    const resumed = setThreadState(w, log, tid(sys, 'b'), { kind: 'restart' }, 'RESUME');
    expect(log.transitions).toContainEqual({ thread: tid(sys, 'b'), from: 'inactive', to: 'restart', event: 'RESUME' });
    expect(resumed.k.ready).toContain(tid(sys, 'b'));
    expectClean({ machine: resumed.m, state: resumed.k });
  });

  it('MK-OBJ-3: a thread in restart re-executes the instruction that last entered the kernel', () => {
    const program = `
      li r1, 1
      li r2, ${info(9, 0)}
      send: svc #${SYSCALL.SEND}
      done: b done`;
    let sys = boot({
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 's', priority: 2, program, caps: [{ slot: 1, object: 'ep', badge: 7 }] },
        { name: 'm', priority: 1, caps: [{ slot: 1, object: 'ep', badge: 7 }, { slot: 2, object: 'm.cspace' }] },
      ],
    });
    const svcAt = PAGE + 16; // two two-word li, then the svc
    sys = run(sys, 0, 5);
    expect(stateOf(sys, 's')).toBe('blockedOnSend');
    expect(tcbOf(sys, 's').context.restartPc).toBe(svcAt);
    expect(running(sys)).toBe('m');
    // m cancels the badged send: s is restarted and, being of higher priority, runs at once, at the SVC.
    const r = syscall(sys, 0, SYSCALL.CALL, { 1: 2, 2: info(INVOCATION.CNODE_CANCEL_BADGED_SENDS, 1), 3: 1 });
    expect(r.lifecycle.map((t) => `${t.subject}:${t.to}:${t.event}`)).toEqual(['s:restart:CANCEL', 's:running:SCHEDULE']);
    sys = r.system;
    expect(running(sys)).toBe('s');
    expect(pcOf(sys, 's')).toBe(svcAt);
    const again = stepMk(sys, { kind: 'exec', cpu: 0 });
    expect(again.trap?.kind).toBe('svc');
    expect(stateOf(again.system, 's')).toBe('blockedOnSend');
    expectClean(again.system);
  });
});

describe('MK-OBJ-4 user context', () => {
  it('MK-OBJ-4: a TCB holds the priority, domain, affinity, CSpace, VSpace and fault endpoint it was given', () => {
    const sys = boot({
      domains: ['d0', 'd1'],
      threads: [{ name: 'a', priority: 42, domain: 'd1', faultEndpoint: 3, cnodeBits: 2 }],
    }, MK_MACHINE_2CPU);
    const t = tcbOf(sys, 'a');
    expect([t.priority, t.domain, t.affinity, t.faultEndpoint, t.boundNotification, t.caller, t.fault]).toEqual([42, 1, 0, 3, null, null, null]);
    expect(sys.state.objects[t.cspace!]?.type).toBe('cnode');
    expect(sys.state.objects[t.vspace!]?.type).toBe('pagetable');
    expect(t.timeslice).toBe(5);
    expect(t.context.regs).toHaveLength(16);
    expectClean(sys);
  });

  it('MK-OBJ-4, MK-SCHED-6: an entry saves the registers, the pc after the SVC and the SVC address; the next thread gets its own back', () => {
    let sys = boot({
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'a', priority: 2, caps: [{ slot: 1, object: 'ep' }] },
        { name: 'b', priority: 1, regs: { r5: 55, r15: 0xffff }, caps: [{ slot: 1, object: 'ep' }] },
      ],
    });
    const pc = sys.machine.cpus[0]!.pc;
    const regs = { 1: 1, 2: 0, 7: 77, 13: 1313 };
    sys = syscall(sys, 0, SYSCALL.RECV, regs).system;
    const saved = tcbOf(sys, 'a').context;
    expect(saved.pc).toBe(pc + 4);
    expect(saved.restartPc).toBe(pc);
    expect(saved.regs[7]).toBe(77);
    expect(saved.regs[13]).toBe(1313);
    expect(running(sys)).toBe('b');
    expect(sys.machine.cpus[0]!.regs[5]).toBe(55);
    expect(sys.machine.cpus[0]!.regs[15]).toBe(0xffff);
    expect(sys.machine.cpus[0]!.pc).toBe(tcbOf(sys, 'b').context.pc);
    expectClean(sys);
  });

  it('MK-OBJ-4, MK-SCHED-6: TPIDR_EL0 is per-thread user state, saved on entry and restored on exit', () => {
    let sys = boot({
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'a', priority: 2, caps: [{ slot: 1, object: 'ep' }] },
        { name: 'b', priority: 1, caps: [{ slot: 1, object: 'ep' }] },
      ],
    });
    sys = setRegs(sys, 0, { 5: 0x1234 });
    sys = stepMk(sys, { kind: 'exec', cpu: 0, insn: insn({ op: 'msr', sysreg: SYS.TPIDR_EL0, rs: 5 }) }).system;
    expect(sys.machine.cpus[0]!.sys[SYS.TPIDR_EL0]).toBe(0x1234);
    sys = syscall(sys, 0, SYSCALL.RECV, { 1: 1 }).system;
    expect(running(sys)).toBe('b');
    expect(sys.machine.cpus[0]!.sys[SYS.TPIDR_EL0]).toBe(0); // b's, not a's
    sys = syscall(sys, 0, SYSCALL.SEND, { 1: 1, 2: info(1) }).system;
    expect(running(sys)).toBe('a');
    expect(sys.machine.cpus[0]!.sys[SYS.TPIDR_EL0]).toBe(0x1234);
    expectClean(sys);
  });

  it('MK-OBJ-4: a fault saves the faulting instruction as both pc and restart pc', () => {
    let sys = boot({ threads: [{ name: 'a', program: 'nop\nld r1, 0(r0)' }] });
    sys = run(sys, 0, 2);
    expect(stateOf(sys, 'a')).toBe('inactive'); // no fault handler (MK-FAULT-2)
    expect(tcbOf(sys, 'a').context.pc).toBe(PAGE + 4);
    expect(tcbOf(sys, 'a').context.restartPc).toBe(PAGE + 4);
    expectClean(sys);
  });

  it('MK-OBJ-4, MK-ABI-3: TCB_ReadRegisters returns the pc (register 0) and registers; TCB_WriteRegisters sets them', () => {
    let sys = boot({
      threads: [
        { name: 'm', priority: 2, caps: [{ slot: 1, object: 't.tcb' }] },
        { name: 't', priority: 1, regs: { r1: 11, r2: 22, r3: 33 }, origin: 0x300 },
      ],
    });
    sys = invokeOk(sys, 0, 1, INVOCATION.TCB_READ_REGISTERS, [0, 4]);
    expect(mrsOf(sys, 'm', 4)).toEqual([0x300, 11, 22, 33]);
    sys = invokeOk(sys, 0, 1, INVOCATION.TCB_WRITE_REGISTERS, [0, 3, 0x500, 101, 102]);
    expect(tcbOf(sys, 't').context.pc).toBe(0x500);
    expect(tcbOf(sys, 't').context.regs.slice(1, 4)).toEqual([101, 102, 33]);
    sys = invokeOk(sys, 0, 1, INVOCATION.TCB_READ_REGISTERS, [14, 2]);
    expect(mrsOf(sys, 'm', 2)).toEqual([0, 0]);
    expectInvocationRejected(sys, 0, 1, INVOCATION.TCB_READ_REGISTERS, [0, 9], ERROR.RANGE_ERROR);
    expectInvocationRejected(sys, 0, 1, INVOCATION.TCB_READ_REGISTERS, [10, 7], ERROR.RANGE_ERROR);
    expectInvocationRejected(sys, 0, 1, INVOCATION.TCB_WRITE_REGISTERS, [0, 7], ERROR.RANGE_ERROR);
    expectInvocationRejected(sys, 0, 1, INVOCATION.TCB_WRITE_REGISTERS, [12, 5], ERROR.RANGE_ERROR);
    expectInvocationRejected(sys, 0, 1, 99, [], ERROR.ILLEGAL_OPERATION);
    expectClean(sys);
  });

  it('MK-OBJ-4, MK-ABI-3: TCB_Configure sets the fault endpoint, CSpace, VSpace, CPU and domain; 0xFFFFFFFF leaves them', () => {
    const NONE = 0xffffffff;
    let sys = boot({
      domains: ['d0', 'd1'],
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'm', priority: 2, domain: 'd1', caps: [{ slot: 1, object: 't.tcb' }, { slot: 2, object: 'm.cspace' }, { slot: 3, object: 'm.vspace' }, { slot: 4, object: 'ep' }] },
        { name: 't', priority: 1, start: false, faultEndpoint: 9 },
      ],
    }, MK_MACHINE_2CPU);
    const before = tcbOf(sys, 't');
    sys = invokeOk(sys, 0, 1, INVOCATION.TCB_CONFIGURE, [NONE, NONE, NONE, NONE, NONE]);
    expect(tcbOf(sys, 't')).toEqual({ ...before, faultEndpoint: null }); // NONE clears the fault endpoint only
    sys = invokeOk(sys, 0, 1, INVOCATION.TCB_CONFIGURE, [4, 2, 3, 1, 1]);
    const t = tcbOf(sys, 't');
    expect([t.faultEndpoint, t.cspace, t.vspace, t.affinity, t.domain]).toEqual([4, tcbOf(sys, 'm').cspace, tcbOf(sys, 'm').vspace, 1, 1]);
    const args = (cs: number, vs: number, cpu: number, dom: number) => [NONE, cs, vs, cpu, dom];
    expectInvocationRejected(sys, 0, 1, INVOCATION.TCB_CONFIGURE, args(4, NONE, NONE, NONE), ERROR.INVALID_CAPABILITY);
    expectInvocationRejected(sys, 0, 1, INVOCATION.TCB_CONFIGURE, args(NONE, 2, NONE, NONE), ERROR.INVALID_CAPABILITY);
    expectInvocationRejected(sys, 0, 1, INVOCATION.TCB_CONFIGURE, args(9, NONE, NONE, NONE), ERROR.INVALID_CAPABILITY);
    expectInvocationRejected(sys, 0, 1, INVOCATION.TCB_CONFIGURE, args(16, NONE, NONE, NONE), ERROR.FAILED_LOOKUP);
    expectInvocationRejected(sys, 0, 1, INVOCATION.TCB_CONFIGURE, args(NONE, NONE, 2, NONE), ERROR.RANGE_ERROR);
    expectInvocationRejected(sys, 0, 1, INVOCATION.TCB_CONFIGURE, args(NONE, NONE, NONE, 2), ERROR.RANGE_ERROR);
    // Only into the caller's own domain (d1 here).
    expectInvocationRejected(sys, 0, 1, INVOCATION.TCB_CONFIGURE, args(NONE, NONE, NONE, 0), ERROR.ILLEGAL_OPERATION);
    expectClean(sys);
  });
});

describe('MK-OBJ-5 suspend', () => {
  it('MK-OBJ-5, MK-IPC-10: suspending a thread blocked in IPC takes it off the queue and makes it inactive', () => {
    let sys = boot({
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'm', priority: 1, caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'r.tcb' }] },
        { name: 'r', priority: 2, caps: [{ slot: 1, object: 'ep' }] },
      ],
    });
    sys = syscall(sys, 0, SYSCALL.RECV, { 1: 1 }).system;
    expect(stateOf(sys, 'r')).toBe('blockedOnReceive');
    const ep = objOf(sys, 'm', 1);
    const r = suspendBySlot2(sys);
    expect(r.lifecycle).toEqual([{ subject: 'r', from: 'blockedOnReceive', to: 'inactive', event: 'SUSPEND' }]);
    sys = r.system;
    expect(stateOf(sys, 'r')).toBe('inactive');
    expect(sys.state.objects[ep]).toEqual(expect.objectContaining({ queue: { kind: 'idle' } }));
    expect(sys.state.ready).not.toContain(tid(sys, 'r'));
    // A message sent now is not delivered to r.
    sys = syscall(sys, 0, SYSCALL.NB_SEND, { 1: 1, 2: info(1, 1), 3: 5 }).system;
    expect(regsOf(sys, 'r')[3]).toBe(0);
    expectClean(sys);
  });

  it('MK-OBJ-5: suspending a thread whose fault is being handled drops the fault, and the handler loses its reply right', () => {
    let sys = boot({
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'h', priority: 2, caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'c.tcb' }] },
        { name: 'c', priority: 1, program: 'ld r1, 0(r0)', faultEndpoint: 1, caps: [{ slot: 1, object: 'ep' }] },
      ],
    });
    sys = syscall(sys, 0, SYSCALL.RECV, { 1: 1 }).system;
    sys = run(sys, 0, 1);
    expect(stateOf(sys, 'c')).toBe('blockedOnReply');
    expect(tcbOf(sys, 'c').fault?.label).toBe(FAULT_LABEL.VM_FAULT);
    expect(tcbOf(sys, 'h').caller?.caller).toBe(tid(sys, 'c'));
    sys = invokeOk(sys, 0, 2, INVOCATION.TCB_SUSPEND);
    expect(stateOf(sys, 'c')).toBe('inactive');
    expect(tcbOf(sys, 'c').fault).toBeNull();
    expect(tcbOf(sys, 'h').caller).toBeNull();
    expectClean(sys);
  });
});

/** m suspends r through the TCB cap in m's slot 2. */
function suspendBySlot2(sys: MicrokernelSystem) {
  return syscall(sys, 0, SYSCALL.CALL, { 1: 2, 2: info(INVOCATION.TCB_SUSPEND, 0) });
}

/** The path of the error a scenario is rejected with. */
function rejectionPath(scenario: KernelScenario): string | undefined {
  const r = bootMicrokernel(MK_MACHINE, scenario);
  if (E.isRight(r)) throw new Error('scenario was accepted');
  expect(r.left.code).toBe('scenario.invalid');
  return r.left.path;
}

describe('MK-BOOT boot from a scenario', () => {
  it('MK-BOOT-1: threads get their program (mapped read+execute at origin), pages, caps, fault endpoint, registers and start flag', () => {
    const sys = boot({
      objects: [{ name: 'ep', type: 'endpoint' }, { name: 'shared', type: 'frame' }],
      threads: [
        {
          name: 'a',
          origin: 0x200,
          program: 'li r1, 5\nloop: b loop',
          pages: [{ va: 0x500, write: true }, { va: 0x600, frame: 'shared' }],
          caps: [{ slot: 1, object: 'ep' }],
          faultEndpoint: 1,
          regs: { r3: 3, r15: 0xffffffff },
        },
        { name: 'b', start: false, caps: [{ slot: 1, object: 'ep' }] },
      ],
    });
    const a = tcbOf(sys, 'a');
    expect([a.context.pc, a.faultEndpoint, a.context.regs[3], a.context.regs[15]]).toEqual([0x200, 1, 3, 0xffffffff]);
    expect(stateOf(sys, 'a')).toBe('running');
    expect(stateOf(sys, 'b')).toBe('inactive');
    const flags = (va: number) => leafEntry(sys, a.vspace!, va)! & 0xf;
    expect(flags(0x200)).toBe(0b1101); // U X - P: read + execute
    expect(flags(0x500)).toBe(0b1011); // U - W P
    expect(flags(0x600)).toBe(0b1001); // U - - P
    const shared = sys.state.objects.findIndex((o) => o?.type === 'frame' && o.base === (leafEntry(sys, a.vspace!, 0x600)! >>> 4) * PAGE);
    expect(shared).toBeGreaterThanOrEqual(0);
    // The program's words are in the code frame; running it executes them.
    const after = run(sys, 0, 2);
    expect(after.machine.cpus[0]!.regs[1]).toBe(5);
    expect(capOf(sys, 'a', 1)?.type).toBe('endpoint');
    expectClean(after);
  });

  it('MK-BOOT-1: a scenario naming something that does not exist, or does not fit, is rejected with the path of the field', () => {
    const t = (extra: object) => ({ name: 'a', ...extra });
    const cases: [KernelScenario, string][] = [
      [{ threads: [t({ caps: [{ slot: 1, object: 'nope' }] })] }, 'threads[0].caps[0].object'],
      [{ threads: [t({ caps: [{ slot: 1, object: 'ghost.tcb' }] })] }, 'threads[0].caps[0].object'],
      [{ threads: [t({ caps: [{ slot: 16, object: 'a.tcb' }] })] }, 'threads[0].caps[0].slot'],
      [{ threads: [t({ caps: [{ slot: 1, object: 'a.tcb' }, { slot: 1, object: 'a.cspace' }] })] }, 'threads[0].caps[1].slot'],
      [{ objects: [{ name: 'e', type: 'endpoint' }], threads: [t({ caps: [{ slot: 1, object: 'e', rights: 'RX' }] })] }, 'threads[0].caps[0].rights'],
      [{ objects: [{ name: 'e', type: 'endpoint' }], threads: [t({ caps: [{ slot: 1, object: 'e', badge: 2 ** 28 }] })] }, 'threads[0].caps[0].badge'],
      [{ threads: [t({}), t({})] }, 'threads[1].name'],
      [{ threads: [t({ vspace: false, program: 'nop' })] }, 'threads[0].program'],
      [{ threads: [t({ program: 'bogus r1' })] }, 'threads[0].program'],
      [{ threads: [t({ domain: 'elsewhere' })] }, 'threads[0].domain'],
      [{ threads: [t({ priority: 256 })] }, 'threads[0].priority'],
      [{ threads: [t({ cpu: 1 })] }, 'threads[0].cpu'],
      [{ threads: [t({ cnodeBits: 9 })] }, 'threads[0].cnodeBits'],
      [{ threads: [t({ regs: { r16: 1 } })] }, 'threads[0].regs.r16'],
      [{ threads: [t({ pages: [{ va: 0x480 }] })] }, 'threads[0].pages[0]'],
      [{ threads: [t({ pages: [{ va: 0x400 }, { va: 0x400 }] })] }, 'threads[0].pages[1]'],
      [{ objects: [{ name: 'e', type: 'endpoint' }], threads: [t({ pages: [{ va: 0x400, frame: 'e' }] })] }, 'threads[0].pages[0].frame'],
      [{ threads: [t({})], untyped: [{ thread: 'b', slot: 1, sizeBits: 8 }] }, 'untyped[0].thread'],
      [{ threads: [t({})], untyped: [{ thread: 'a', slot: 1, sizeBits: 3 }] }, 'untyped[0].sizeBits'],
      [{ objects: [{ name: 'e', type: 'endpoint' }], threads: [t({})], irqs: [{ line: 2, notification: 'e' }] }, 'irqs[0].line'],
      [{ objects: [{ name: 'e', type: 'endpoint' }], threads: [t({})], irqs: [{ line: 4, notification: 'e' }] }, 'irqs[0].notification'],
      [{ threads: [t({})], kernel: { domainSchedule: [{ domain: 'x', ticks: 1 }] } }, 'kernel.domainSchedule[0].domain'],
      [{ threads: [t({})], kernel: { timeslice: 0 } }, 'kernel.timeslice'],
    ];
    for (const [scenario, path] of cases) expect(rejectionPath(scenario), path).toBe(path);
    // Memory that does not fit is rejected too.
    expect(rejectionPath({ threads: [t({})], untyped: [{ thread: 'a', slot: 1, sizeBits: 14 }] })).toBeDefined();
  });

  it('MK-BOOT-2: the initial objects are carved from RAM largest first and pack without gaps', () => {
    const sys = boot({
      objects: [
        { name: 'e1', type: 'endpoint' },
        { name: 'f', type: 'frame' },
        { name: 'n', type: 'notification' },
        { name: 'u', type: 'untyped', sizeBits: 11 },
      ],
      threads: [
        { name: 'a', cnodeBits: 3, program: 'nop', caps: [{ slot: 1, object: 'e1' }, { slot: 2, object: 'f' }, { slot: 3, object: 'n' }] },
        { name: 'b', cnodeBits: 5, vspace: false, caps: [{ slot: 1, object: 'u' }] },
      ],
      untyped: [{ thread: 'b', slot: 2, sizeBits: 9 }],
    });
    const objs = sys.state.objects.filter((o): o is KernelObject => o !== null).sort((x, y) => x.base - y.base);
    expect(objs[0]!.base).toBe(0);
    for (let i = 1; i < objs.length; i++) {
      expect(objs[i]!.base, `${objs[i]!.type}`).toBe(objs[i - 1]!.base + 2 ** objs[i - 1]!.sizeBits);
      expect(objs[i]!.sizeBits).toBeLessThanOrEqual(objs[i - 1]!.sizeBits);
    }
    const used = objs.reduce((n, o) => n + 2 ** o.sizeBits, 0);
    expect(objs.at(-1)!.base + 2 ** objs.at(-1)!.sizeBits).toBe(used);
    expectClean(sys);
  });

  it('MK-BOOT-3: caps get the scenario rights (R, W, G, P) and badge; a later cap derives from the first original with all its rights', () => {
    const sys = boot({
      objects: [{ name: 'ep', type: 'endpoint' }, { name: 'n', type: 'notification' }],
      threads: [
        { name: 'a', caps: [{ slot: 1, object: 'ep', rights: 'RG' }, { slot: 2, object: 'n' }] },
        { name: 'b', caps: [{ slot: 1, object: 'ep', rights: 'WP', badge: 5 }, { slot: 2, object: 'n', rights: 'W', badge: 3 }] },
        { name: 'c', caps: [{ slot: 1, object: 'ep', rights: 'W' }, { slot: 2, object: 'ep', rights: 'R' }, { slot: 3, object: 'ep', rights: 'RW' }] },
      ],
    });
    const ep = objOf(sys, 'a', 1);
    expect(capOf(sys, 'a', 1)).toEqual({ type: 'endpoint', obj: ep, badge: 0, rights: RIGHTS.R | RIGHTS.G });
    expect(capOf(sys, 'b', 1)).toEqual({ type: 'endpoint', obj: ep, badge: 5, rights: RIGHTS.W | RIGHTS.GR });
    expect(capOf(sys, 'a', 2)).toEqual({ type: 'notification', obj: objOf(sys, 'a', 2), badge: 0, rights: RIGHTS.R | RIGHTS.W | RIGHTS.G | RIGHTS.GR });
    expect(capOf(sys, 'b', 2)).toEqual(expect.objectContaining({ badge: 3, rights: RIGHTS.W }));
    const id = (t: string, s: number) => slotOf(sys, t, s)!.id;
    const parent = (t: string, s: number) => slotOf(sys, t, s)!.parent;
    expect(parent('a', 1)).toBeNull(); // the first cap is the original
    expect(parent('a', 2)).toBeNull();
    expect(parent('b', 2)).toBe(id('a', 2)); // W within all rights
    expect(parent('b', 1)).toBeNull(); // W and P: no earlier original has them, so an original too
    expect(parent('c', 1)).toBe(id('b', 1)); // W: the first original with W
    expect(parent('c', 2)).toBe(id('a', 1)); // R: the first original with R
    expect(parent('c', 3)).toBeNull(); // R and W: no single original has both
    expectClean(sys);
  });

  it('MK-BOOT-4: caps to the own VSpace, page tables and frames fill the CNode from the last slot down; tables only as needed', () => {
    const sys = boot({
      threads: [
        { name: 'a', program: 'nop', pages: [{ va: 0x2000 }], caps: [{ slot: 14, object: 'a.tcb' }] },
        { name: 'b' },
      ],
    });
    const a = tcbOf(sys, 'a');
    expect(capOf(sys, 'a', 15)).toEqual({ type: 'vspace', obj: a.vspace });
    expect(capOf(sys, 'a', 14)?.type).toBe('tcb'); // taken by the scenario: skipped
    expect(capOf(sys, 'a', 13)).toEqual(expect.objectContaining({ type: 'pagetable', mapping: { vspace: a.vspace, va: 0, level: 1 } }));
    expect(capOf(sys, 'a', 12)).toEqual(expect.objectContaining({ type: 'frame', mapping: { vspace: a.vspace, va: PAGE } }));
    expect(capOf(sys, 'a', 11)).toEqual(expect.objectContaining({ type: 'pagetable', mapping: { vspace: a.vspace, va: 0x2000, level: 1 } }));
    expect(capOf(sys, 'a', 10)).toEqual(expect.objectContaining({ type: 'frame', mapping: { vspace: a.vspace, va: 0x2000 } }));
    expect(slotOf(sys, 'a', 9)).toBeNull();
    // b maps nothing, so it gets its VSpace and no page table.
    expect(capOf(sys, 'b', 15)?.type).toBe('vspace');
    expect(slotOf(sys, 'b', 14)).toBeNull();
    const innerTables = sys.state.objects.filter((o) => o?.type === 'pagetable' && o.asid === 0);
    expect(innerTables).toHaveLength(2);
    expectClean(sys);
  });

  it('MK-BOOT-5: every CPU timer is set to tick, started threads are resumed, and every CPU is scheduled', () => {
    const sys = boot({
      threads: [
        { name: 'a', cpu: 0, priority: 1 },
        { name: 'b', cpu: 1, priority: 1 },
        { name: 'c', cpu: 1, priority: 9, start: false },
      ],
    }, MK_MACHINE_2CPU);
    for (const cpu of sys.machine.cpus) {
      expect(cpu.sys[SYS.CNTP_CTL]! & TIMER_CTL.ENABLE).toBe(TIMER_CTL.ENABLE);
      expect(cpu.sys[SYS.CNTP_CVAL]).toBe(cpu.counter + 1);
      expect(cpu.el).toBe(0);
    }
    expect([running(sys, 0), running(sys, 1)]).toEqual(['a', 'b']);
    expect(stateOf(sys, 'c')).toBe('inactive');
    const idle = boot({ threads: [{ name: 'a', cpu: 0 }] }, MK_MACHINE_2CPU);
    expect(running(idle, 1)).toBeNull();
    expect(idle.machine.cpus[1]).toEqual(expect.objectContaining({ el: 1, waiting: true, irqMasked: false }));
    expectClean(sys);
    expectClean(idle);
  });
});
