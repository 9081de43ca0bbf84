/**
 * Address spaces, rule by rule (spec/microkernel.md §8 MK-VM-*): ASIDs, mapping and unmapping
 * frames and page tables and their errors, and the TLB maintenance an unmap needs — checked
 * on a 2-CPU machine where the stale translation lives in the other CPU's TLB, so that a
 * forgotten (or CPU-local) flush shows as a thread that keeps using a page it lost.
 */
import { describe, expect, it } from 'vitest';
import { SCTLR_M, SYS, type MachineConfig } from '../../src/hw/index.ts';
import { ERROR, FAULT_LABEL, INVOCATION, MAP_ATTR, OBJECT_TYPE, RIGHTS, SYSCALL } from '../../src/kernel/index.ts';
import type { MicrokernelSystem, Observation } from '../../src/system/index.ts';
import { boot, info, insn, MK_MACHINE, running, setRegs, stepMk, tcbOf } from './fixtures.ts';
import {
  asidOf,
  by,
  capOf,
  expectClean,
  expectInvocationRejected,
  invokeOk,
  leafEntry,
  MK_MACHINE_2CPU,
  mrsOf,
  objOf,
  regsOf,
  stateOf,
  tlbEntries,
  wordAt,
} from './unit-helpers.ts';

const PAGE = MK_MACHINE.wordsPerFrame * 4;
const NONE = 0xffffffff;
/** Entry bits (HW-MMU-2): ppn << 4 | U X W P. */
const P = 1;
const W = 2;
const X = 4;
const U = 8;

/** Physical page number of the object the cap in `slot` of `thread` names. */
function ppnOf(sys: MicrokernelSystem, thread: string, slot: number): number {
  return sys.state.objects[objOf(sys, thread, slot)]!.base / PAGE;
}

/** The ASID of the VSpace the cap in `slot` of `thread` names. */
function asidAt(sys: MicrokernelSystem, thread: string, slot: number): number {
  const o = sys.state.objects[objOf(sys, thread, slot)];
  if (o?.type !== 'pagetable') throw new Error('not a VSpace');
  return o.asid;
}

/** Runs `n` exec steps on `cpu`, collecting what was observed. */
function runCollect(sys: MicrokernelSystem, cpu: number, n: number): { sys: MicrokernelSystem; observations: Observation[] } {
  let s = sys;
  const observations: Observation[] = [];
  for (let i = 0; i < n; i++) {
    const r = stepMk(s, { kind: 'exec', cpu });
    observations.push(...r.observations);
    s = r.system;
  }
  return { sys: s, observations };
}

/** The page faults a client stopped with (it has no fault handler): [address] of each. */
const stoppedAt = (observations: Observation[]): number[] =>
  observations.filter((o) => o.kind === 'stopped' && o.values[0] === FAULT_LABEL.VM_FAULT).map((o) => o.values[2]!);

/**
 * m on CPU 0 (an untyped of 2^10 bytes in slot 1, and `caps`); a client on CPU 1 that loads
 * from `va` in a loop: `li r5, va` (two words), `ld r6, 0(r5)`, `b loop`.
 */
function twoCpus(va: number, caps: { slot: number; object: string }[], mPages: { va: number }[] = []): MicrokernelSystem {
  return boot(
    {
      objects: [{ name: 'data', type: 'frame' }],
      threads: [
        { name: 'm', cpu: 0, caps, pages: mPages },
        { name: 'client', cpu: 1, program: `li r5, ${va}\nloop: ld r6, 0(r5)\nb loop` },
      ],
      untyped: [{ thread: 'm', slot: 1, sizeBits: 10 }],
    },
    MK_MACHINE_2CPU,
  );
}

describe('MK-VM-1..2 ASIDs', () => {
  it('MK-VM-1: each VSpace gets the lowest free ASID; a freed ASID is given out again', () => {
    let sys = boot({
      threads: [
        { name: 'a', caps: [{ slot: 1, object: 'b.vspace' }, { slot: 2, object: 'a.cspace' }, { slot: 4, object: 'b.cspace' }] },
        { name: 'b', start: false },
        { name: 'c', start: false },
      ],
      untyped: [{ thread: 'a', slot: 3, sizeBits: 10 }],
    });
    expect(['a', 'b', 'c'].map((t) => asidOf(sys, t))).toEqual([1, 2, 3]);
    sys = invokeOk(sys, 0, 3, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.VSPACE, 0, 5, 1]);
    expect(asidAt(sys, 'a', 5)).toBe(4);
    sys = invokeOk(sys, 0, 2, INVOCATION.CNODE_DELETE, [1]);
    expect(sys.state.asids[2]).not.toBeNull(); // b still holds its own cap
    sys = invokeOk(sys, 0, 4, INVOCATION.CNODE_DELETE, [15]); // the last cap to b's VSpace
    expect(sys.state.asids[2]).toBeNull();
    expect(tcbOf(sys, 'b').vspace).toBeNull();
    sys = invokeOk(sys, 0, 3, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.VSPACE, 0, 6, 2]);
    expect([asidAt(sys, 'a', 6), asidAt(sys, 'a', 7)]).toEqual([2, 5]);
    expectClean(sys);
  });

  it('MK-VM-1, MK-ABI-4: with all 255 ASIDs in use, creating a VSpace is NOT_ENOUGH_MEMORY and changes nothing', () => {
    const big: MachineConfig = { ...MK_MACHINE, frames: 320 };
    let sys = boot(
      {
        threads: [
          { name: 'm', vspace: false, cnodeBits: 8, caps: [{ slot: 1, object: 'o.cspace' }, { slot: 2, object: 'm.cspace' }] },
          { name: 'o', vspace: false, cnodeBits: 8, start: false },
        ],
        untyped: [{ thread: 'm', slot: 0, sizeBits: 16 }],
      },
      big,
    );
    const retype = (s: MicrokernelSystem, dest: number, count: number, other = false) =>
      invokeOk(s, 0, 0, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.VSPACE, 0, dest, count], other ? { xcap: 1, extraCaps: 1 } : {});
    for (let dest = 16; dest < 256; dest += 16) sys = retype(sys, dest, 16); // ASIDs 1..240
    sys = retype(sys, 0, 15, true); // 241..255, in o's CNode
    expect(sys.state.asids.slice(1).every((v) => v !== null)).toBe(true);
    // One page of the untyped is left: what is missing is an ASID, not memory.
    expectInvocationRejected(sys, 0, 0, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.VSPACE, 0, 3, 1], ERROR.NOT_ENOUGH_MEMORY);
    expect(asidAt(sys, 'm', 22)).toBe(7);
    sys = invokeOk(sys, 0, 2, INVOCATION.CNODE_DELETE, [22]);
    sys = retype(sys, 3, 1);
    expect(asidAt(sys, 'm', 3)).toBe(7);
  });

  it('MK-VM-2, MK-CAP-8: a destroyed VSpace has its ASID flushed from every TLB, so its next owner hits no stale entry', () => {
    let sys = boot(
      {
        threads: [
          { name: 'm', cpu: 0, caps: [{ slot: 2, object: 'client.vspace' }, { slot: 3, object: 'client.cspace' }, { slot: 4, object: 'client.tcb' }, { slot: 5, object: 'm.cspace' }] },
          { name: 'client', cpu: 1, program: 'loop: b loop' },
        ],
        untyped: [{ thread: 'm', slot: 1, sizeBits: 10 }],
      },
      MK_MACHINE_2CPU,
    );
    const asid = asidOf(sys, 'client');
    sys = runCollect(sys, 1, 4).sys;
    expect(tlbEntries(sys, 1, asid, PAGE)).toBe(1); // the client's code page is cached on CPU 1
    sys = invokeOk(sys, 0, 3, INVOCATION.CNODE_DELETE, [15]); // the client's own cap to its VSpace
    expect(tlbEntries(sys, 1, asid)).toBe(1); // not the last cap: nothing happens to the VSpace
    const r = by(sys, 'm', SYSCALL.CALL, { 1: 5, 2: info(INVOCATION.CNODE_DELETE, 1), 3: 2 }); // the last one
    sys = r.system;
    expect(r.ops).toContain('tlbiAsid');
    expect(r.ops).toContain('tlbiBroadcast');
    expect([tlbEntries(sys, 0, asid), tlbEntries(sys, 1, asid)]).toEqual([0, 0]);
    expect(sys.state.asids[asid]).toBeNull();
    expect(tcbOf(sys, 'client').vspace).toBeNull();
    // A new VSpace gets the same ASID; the client, moved into it, finds nothing there.
    sys = invokeOk(sys, 0, 1, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.VSPACE, 0, 6, 1]);
    expect(asidAt(sys, 'm', 6)).toBe(asid);
    sys = invokeOk(sys, 0, 4, INVOCATION.TCB_CONFIGURE, [NONE, NONE, 6, NONE, NONE]);
    const ran = runCollect(sys, 1, 3);
    expect(stoppedAt(ran.observations)).toEqual([PAGE]); // its code is not in the new VSpace
    expect(stateOf(ran.sys, 'client')).toBe('inactive');
    expectClean(ran.sys);
  });
});

describe('MK-VM-3..4 frames', () => {
  /** m with an untyped (slot 1), a frame with all rights (2), a read-only copy (3), page tables at 0x000 and 0x2000. */
  const framer = (): MicrokernelSystem => {
    let sys = boot({
      objects: [{ name: 'f', type: 'frame' }],
      threads: [{ name: 'm', pages: [{ va: 0x300 }], caps: [{ slot: 2, object: 'f' }, { slot: 3, object: 'f', rights: 'R' }, { slot: 4, object: 'f', rights: 'W' }, { slot: 5, object: 'm.cspace' }] }],
      untyped: [{ thread: 'm', slot: 1, sizeBits: 10 }],
    });
    return sys;
  };
  const VS = 15; // m's own VSpace
  const vspaceOf = (sys: MicrokernelSystem) => tcbOf(sys, 'm').vspace!;

  it('MK-VM-3: a mapped page is user-accessible, writable only if both cap and attributes allow, executable only if asked; the cap records it', () => {
    const cases: [number, number, number][] = [
      [2, 0, U | P],
      [2, MAP_ATTR.WRITE, U | W | P],
      [2, MAP_ATTR.EXECUTE, U | X | P],
      [2, MAP_ATTR.WRITE | MAP_ATTR.EXECUTE, U | X | W | P],
      [3, MAP_ATTR.WRITE, U | P], // a read-only cap: never writable
      [3, MAP_ATTR.WRITE | MAP_ATTR.EXECUTE, U | X | P],
    ];
    for (const [slot, attrs, flags] of cases) {
      const sys = framer();
      const r = by(sys, 'm', SYSCALL.CALL, { 1: slot, 2: info(INVOCATION.FRAME_MAP, 2), 3: 0x400, 4: attrs, 11: VS });
      expect(r.system.machine.cpus[0]!.regs[2]).toBe(0);
      expect(leafEntry(r.system, vspaceOf(r.system), 0x400), `cap ${slot}, attrs ${attrs}`).toBe(((ppnOf(sys, 'm', 2) << 4) | flags) >>> 0);
      expect(capOf(r.system, 'm', slot)).toEqual(expect.objectContaining({ mapping: { vspace: vspaceOf(r.system), va: 0x400 } }));
      // MK-VM-3: mapping needs no TLB maintenance.
      expect(r.ops.filter((op) => op.startsWith('tlbi'))).toEqual([]);
      expectClean(r.system);
    }
  });

  it('MK-VM-3, MK-ABI-4: Frame_Map rejects bad arguments with the right error and changes nothing', () => {
    let sys = framer();
    sys = invokeOk(sys, 0, 5, INVOCATION.CNODE_COPY, [6, 13, RIGHTS.R | RIGHTS.W]); // an unmapped copy of m's own page
    const map = (slot: number, va: number, code: number, xcap = VS) => expectInvocationRejected(sys, 0, slot, INVOCATION.FRAME_MAP, [va, MAP_ATTR.WRITE], code, { xcap });
    map(2, 0x404, ERROR.ALIGNMENT_ERROR);
    map(2, 0x10000, ERROR.RANGE_ERROR); // beyond the 16-bit address space
    map(2, 0xffffff00, ERROR.RANGE_ERROR);
    map(2, 0x2000, ERROR.FAILED_LOOKUP); // no page table there
    map(2, 0x300, ERROR.DELETE_FIRST); // m's own page is there
    map(6, 0x300, ERROR.DELETE_FIRST);
    map(4, 0x400, ERROR.ILLEGAL_OPERATION); // a cap without Read
    map(13, 0x400, ERROR.ILLEGAL_OPERATION); // already mapped
    map(2, 0x400, ERROR.INVALID_CAPABILITY, 2); // r11 is not a VSpace
    map(2, 0x400, ERROR.INVALID_CAPABILITY, 14); // r11 is an inner page table
    map(2, 0x400, ERROR.INVALID_CAPABILITY, 9); // r11 is empty
    map(2, 0x400, ERROR.FAILED_LOOKUP, 16);
    expectInvocationRejected(sys, 0, 2, INVOCATION.PAGETABLE_MAP, [0x400], ERROR.ILLEGAL_OPERATION, { xcap: VS });
    expectInvocationRejected(sys, 0, 14, INVOCATION.FRAME_UNMAP, [], ERROR.ILLEGAL_OPERATION);
  });

  it('MK-VM-3: through a writable mapping the thread writes the frame; through a read-only one a store faults', () => {
    let sys = framer();
    sys = invokeOk(sys, 0, 2, INVOCATION.FRAME_MAP, [0x400, MAP_ATTR.WRITE], { xcap: VS });
    sys = setRegs(sys, 0, { 5: 0x400, 6: 0xcafe });
    sys = stepMk(sys, { kind: 'exec', cpu: 0, insn: insn({ op: 'st', rs2: 6, rs1: 5, imm: 12 }) }).system;
    expect(wordAt(sys, ppnOf(sys, 'm', 2) * PAGE + 12)).toBe(0xcafe);
    let ro = framer();
    ro = invokeOk(ro, 0, 3, INVOCATION.FRAME_MAP, [0x400, MAP_ATTR.WRITE], { xcap: VS });
    ro = setRegs(ro, 0, { 5: 0x400, 6: 0xcafe });
    const r = stepMk(ro, { kind: 'exec', cpu: 0, insn: insn({ op: 'st', rs2: 6, rs1: 5, imm: 12 }) });
    expect(r.observations).toEqual([expect.objectContaining({ kind: 'stopped', values: expect.arrayContaining([FAULT_LABEL.VM_FAULT, 0x40c]) })]);
    expect(wordAt(r.system, ppnOf(ro, 'm', 2) * PAGE + 12)).toBe(0);
    expectClean(r.system);
  });

  it('MK-VM-4: after Frame_Unmap the old translation is usable on no CPU, though another CPU had it cached', () => {
    let sys = twoCpus(0x400, [{ slot: 2, object: 'data' }, { slot: 3, object: 'client.vspace' }, { slot: 4, object: 'data' }], [{ va: 0x300 }]);
    // m writes a marker into the frame through its own mapping, then maps the frame for the client.
    sys = invokeOk(sys, 0, 4, INVOCATION.FRAME_MAP, [0x400, MAP_ATTR.WRITE], { xcap: 15 });
    sys = setRegs(sys, 0, { 5: 0x400, 6: 0x77 });
    sys = stepMk(sys, { kind: 'exec', cpu: 0, insn: insn({ op: 'st', rs2: 6, rs1: 5, imm: 0 }) }).system;
    sys = invokeOk(sys, 0, 2, INVOCATION.FRAME_MAP, [0x400, 0], { xcap: 3 });
    const asid = asidOf(sys, 'client');
    let ran = runCollect(sys, 1, 8);
    expect(ran.observations).toEqual([]);
    sys = ran.sys;
    expect(regsOf(sys, 'client')[6]).toBe(0x77);
    expect(tlbEntries(sys, 1, asid, 0x400)).toBe(1);
    const r = by(sys, 'm', SYSCALL.CALL, { 1: 2, 2: info(INVOCATION.FRAME_UNMAP) });
    sys = r.system;
    expect(r.ops).toEqual(expect.arrayContaining(['tlbiVa', 'tlbiBroadcast']));
    expect(leafEntry(sys, tcbOf(sys, 'client').vspace!, 0x400)).toBe(0);
    expect(capOf(sys, 'm', 2)).toEqual(expect.objectContaining({ mapping: null }));
    expect(tlbEntries(sys, 1, asid, 0x400)).toBe(0);
    expect(tlbEntries(sys, 1, asid, PAGE)).toBe(1); // only that page is invalidated
    ran = runCollect(sys, 1, 3);
    expect(stoppedAt(ran.observations)).toEqual([0x400]);
    expect(stateOf(ran.sys, 'client')).toBe('inactive');
    // m's own mapping of the frame, through the other cap, is untouched.
    expect(leafEntry(ran.sys, tcbOf(ran.sys, 'm').vspace!, 0x400)! >>> 4).toBe(ppnOf(ran.sys, 'm', 2));
    expectClean(ran.sys);
  });

  it('MK-VM-4: Frame_Unmap clears the entry only if it still maps that frame', () => {
    let sys = framer();
    const vs = vspaceOf(sys);
    sys = invokeOk(sys, 0, 1, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.PAGETABLE, 0, 6, 2]);
    sys = invokeOk(sys, 0, 1, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.FRAME, 0, 8, 1]);
    sys = invokeOk(sys, 0, 6, INVOCATION.PAGETABLE_MAP, [0x2000], { xcap: VS });
    sys = invokeOk(sys, 0, 2, INVOCATION.FRAME_MAP, [0x2000, 0], { xcap: VS }); // f at 0x2000, through table 6
    sys = invokeOk(sys, 0, 6, INVOCATION.PAGETABLE_UNMAP); // the table goes; f's cap still records 0x2000
    sys = invokeOk(sys, 0, 7, INVOCATION.PAGETABLE_MAP, [0x2000], { xcap: VS });
    sys = invokeOk(sys, 0, 8, INVOCATION.FRAME_MAP, [0x2000, 0], { xcap: VS }); // another frame there now
    const entry = leafEntry(sys, vs, 0x2000);
    expect(entry! >>> 4).toBe(ppnOf(sys, 'm', 8));
    sys = invokeOk(sys, 0, 2, INVOCATION.FRAME_UNMAP);
    expect(leafEntry(sys, vs, 0x2000)).toBe(entry);
    expect(capOf(sys, 'm', 2)).toEqual(expect.objectContaining({ mapping: null }));
    expectClean(sys);
  });
});

describe('MK-VM-5..6 page tables', () => {
  const THREE_LEVELS: MachineConfig = { ...MK_MACHINE, pageTableLevels: 3 };

  /** m (no mappings) with an untyped of 2^11 bytes in slot 1, and page tables made in slots 2..5 and a frame in 6. */
  const tabler = (config: MachineConfig = MK_MACHINE): MicrokernelSystem => {
    let sys = boot({ threads: [{ name: 'm', caps: [{ slot: 7, object: 'm.cspace' }] }], untyped: [{ thread: 'm', slot: 1, sizeBits: 11 }] }, config);
    sys = invokeOk(sys, 0, 1, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.PAGETABLE, 0, 2, 4]);
    return invokeOk(sys, 0, 1, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.FRAME, 0, 6, 1]);
  };
  const VS = 15;

  /** The entry at `index` of the table `table` (a physical page number). */
  const entryAt = (sys: MicrokernelSystem, table: number, index: number) => wordAt(sys, table * PAGE + 4 * index);

  it('MK-VM-5: PageTable_Map puts the table at the first missing level on the way to the address', () => {
    let sys = tabler(THREE_LEVELS); // 20-bit addresses: indices va[19:16], va[15:12], va[11:8]
    const vs = tcbOf(sys, 'm').vspace!;
    const root = sys.state.objects[vs]!.base / PAGE;
    const va = 0x12300;
    sys = invokeOk(sys, 0, 2, INVOCATION.PAGETABLE_MAP, [va], { xcap: VS });
    expect(entryAt(sys, root, 0x1)).toBe(((ppnOf(sys, 'm', 2) << 4) | P) >>> 0);
    expect(capOf(sys, 'm', 2)).toEqual(expect.objectContaining({ mapping: { vspace: vs, va: 0x10000, level: 1 } }));
    sys = invokeOk(sys, 0, 3, INVOCATION.PAGETABLE_MAP, [va], { xcap: VS });
    expect(entryAt(sys, ppnOf(sys, 'm', 2), 0x2)).toBe(((ppnOf(sys, 'm', 3) << 4) | P) >>> 0);
    expect(capOf(sys, 'm', 3)).toEqual(expect.objectContaining({ mapping: { vspace: vs, va: 0x12000, level: 2 } }));
    expectInvocationRejected(sys, 0, 4, INVOCATION.PAGETABLE_MAP, [va], ERROR.DELETE_FIRST, { xcap: VS }); // nothing missing
    sys = invokeOk(sys, 0, 6, INVOCATION.FRAME_MAP, [va, 0], { xcap: VS });
    expect(leafEntry(sys, vs, va)! >>> 4).toBe(ppnOf(sys, 'm', 6));
    expectClean(sys);
  });

  it('MK-VM-5, MK-ABI-4: PageTable_Map rejects bad arguments with the right error and changes nothing', () => {
    let sys = tabler();
    sys = invokeOk(sys, 0, 2, INVOCATION.PAGETABLE_MAP, [0x2000], { xcap: VS });
    const map = (slot: number, va: number, code: number, xcap = VS) => expectInvocationRejected(sys, 0, slot, INVOCATION.PAGETABLE_MAP, [va], code, { xcap });
    map(3, 0x2400, ERROR.DELETE_FIRST); // that region has its table
    map(2, 0x4000, ERROR.ILLEGAL_OPERATION); // this table is mapped already
    map(3, 0x10000, ERROR.RANGE_ERROR);
    map(3, 0x4000, ERROR.INVALID_CAPABILITY, 2); // r11 is not a VSpace
    map(3, 0x4000, ERROR.INVALID_CAPABILITY, 0);
    expectInvocationRejected(sys, 0, 3, INVOCATION.FRAME_MAP, [0x4000], ERROR.ILLEGAL_OPERATION, { xcap: VS });
    expectInvocationRejected(sys, 0, 6, INVOCATION.PAGETABLE_UNMAP, [], ERROR.ILLEGAL_OPERATION);
    expectInvocationRejected(sys, 0, VS, INVOCATION.PAGETABLE_UNMAP, [], ERROR.ILLEGAL_OPERATION); // a VSpace is not unmapped
  });

  it('MK-VM-5, MK-ABI-4: a page table mapped through one cap cannot be mapped again through a copy', () => {
    let sys = tabler();
    sys = invokeOk(sys, 0, 7, INVOCATION.CNODE_COPY, [8, 2, 0xf]); // an unmapped copy
    sys = invokeOk(sys, 0, 2, INVOCATION.PAGETABLE_MAP, [0x2000], { xcap: VS });
    expectInvocationRejected(sys, 0, 8, INVOCATION.PAGETABLE_MAP, [0x4000], ERROR.ILLEGAL_OPERATION, { xcap: VS });
    sys = invokeOk(sys, 0, 2, INVOCATION.PAGETABLE_UNMAP);
    sys = invokeOk(sys, 0, 8, INVOCATION.PAGETABLE_MAP, [0x4000], { xcap: VS }); // unmapped everywhere now
    expectClean(sys);
  });

  it('MK-VM-6: an unmapped page table is cleared, so what it mapped does not reappear where it is mapped next', () => {
    let sys = tabler();
    const vs = tcbOf(sys, 'm').vspace!;
    sys = invokeOk(sys, 0, 2, INVOCATION.PAGETABLE_MAP, [0x2000], { xcap: VS });
    sys = invokeOk(sys, 0, 6, INVOCATION.FRAME_MAP, [0x2300, MAP_ATTR.WRITE], { xcap: VS });
    expect(entryAt(sys, ppnOf(sys, 'm', 2), 3)).not.toBe(0);
    sys = invokeOk(sys, 0, 2, INVOCATION.PAGETABLE_UNMAP);
    for (let i = 0; i < 16; i++) expect(entryAt(sys, ppnOf(sys, 'm', 2), i), `entry ${i}`).toBe(0);
    sys = invokeOk(sys, 0, 2, INVOCATION.PAGETABLE_MAP, [0x4000], { xcap: VS });
    expect(leafEntry(sys, vs, 0x4300)).toBe(0);
    expectClean(sys);
  });

  it('MK-VM-6: PageTable_Unmap clears the parent entry and flushes the whole ASID on every CPU', () => {
    let sys = twoCpus(0x2000, [{ slot: 2, object: 'data' }, { slot: 3, object: 'client.vspace' }]);
    sys = invokeOk(sys, 0, 1, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.PAGETABLE, 0, 4, 1]);
    sys = invokeOk(sys, 0, 4, INVOCATION.PAGETABLE_MAP, [0x2000], { xcap: 3 });
    sys = invokeOk(sys, 0, 2, INVOCATION.FRAME_MAP, [0x2000, 0], { xcap: 3 });
    const asid = asidOf(sys, 'client');
    const vs = tcbOf(sys, 'client').vspace!;
    let ran = runCollect(sys, 1, 8);
    expect(ran.observations).toEqual([]);
    sys = ran.sys;
    expect([tlbEntries(sys, 1, asid, PAGE), tlbEntries(sys, 1, asid, 0x2000)]).toEqual([1, 1]);
    const r = by(sys, 'm', SYSCALL.CALL, { 1: 4, 2: info(INVOCATION.PAGETABLE_UNMAP) });
    sys = r.system;
    expect(r.ops).toEqual(expect.arrayContaining(['tlbiAsid', 'tlbiBroadcast']));
    expect(wordAt(sys, sys.state.objects[vs]!.base + 4 * 2)).toBe(0); // root entry for 0x2000
    expect(capOf(sys, 'm', 4)).toEqual(expect.objectContaining({ mapping: null }));
    expect(tlbEntries(sys, 1, asid)).toBe(0); // the code page's entry too: the whole ASID
    ran = runCollect(sys, 1, 4);
    expect(stoppedAt(ran.observations)).toEqual([0x2000]);
    expectClean(ran.sys);
  });

  it('MK-VM-6: PageTable_Unmap clears the parent entry only if it still points to that table', () => {
    let sys = tabler(THREE_LEVELS);
    const vs = tcbOf(sys, 'm').vspace!;
    sys = invokeOk(sys, 0, 1, INVOCATION.UNTYPED_RETYPE, [OBJECT_TYPE.PAGETABLE, 0, 8, 1]);
    sys = invokeOk(sys, 0, 2, INVOCATION.PAGETABLE_MAP, [0x12000], { xcap: VS }); // level 1
    sys = invokeOk(sys, 0, 3, INVOCATION.PAGETABLE_MAP, [0x12000], { xcap: VS }); // level 2, inside table 2
    sys = invokeOk(sys, 0, 2, INVOCATION.PAGETABLE_UNMAP); // table 3's cap still records its place
    sys = invokeOk(sys, 0, 4, INVOCATION.PAGETABLE_MAP, [0x12000], { xcap: VS }); // a new level-1 table
    sys = invokeOk(sys, 0, 5, INVOCATION.PAGETABLE_MAP, [0x12000], { xcap: VS }); // and a new level-2 one
    sys = invokeOk(sys, 0, 6, INVOCATION.FRAME_MAP, [0x12000, 0], { xcap: VS });
    const before = leafEntry(sys, vs, 0x12000);
    sys = invokeOk(sys, 0, 3, INVOCATION.PAGETABLE_UNMAP);
    expect(leafEntry(sys, vs, 0x12000)).toBe(before);
    expect(entryAt(sys, ppnOf(sys, 'm', 4), 2)).toBe(((ppnOf(sys, 'm', 5) << 4) | P) >>> 0);
    expectClean(sys);
  });
});

describe('MK-VM-7 a thread address space', () => {
  it('MK-VM-7: a thread runs with stage-1 translation on and TTBR0_EL1 = its VSpace root and ASID', () => {
    const sys = boot({ threads: [{ name: 'a', cpu: 0 }, { name: 'b', cpu: 1 }] }, MK_MACHINE_2CPU);
    for (const [c, name] of [[0, 'a'], [1, 'b']] as const) {
      const cpu = sys.machine.cpus[c]!;
      const root = sys.state.objects[tcbOf(sys, name).vspace!]!;
      expect(cpu.sys[SYS.SCTLR_EL1]! & SCTLR_M).toBe(SCTLR_M);
      expect(cpu.sys[SYS.TTBR0_EL1]).toBe(((asidOf(sys, name) << 24) | (root.base / PAGE)) >>> 0);
    }
    expectClean(sys);
  });

  it('MK-VM-7: a thread without a VSpace runs with a table base outside RAM, so every access it makes faults', () => {
    let sys = boot({
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'h', priority: 2, caps: [{ slot: 1, object: 'ep' }] },
        { name: 'c', priority: 1, vspace: false, faultEndpoint: 1, caps: [{ slot: 1, object: 'ep' }] },
      ],
    });
    sys = by(sys, 'h', SYSCALL.RECV, { 1: 1 }).system;
    expect(running(sys)).toBe('c');
    const root = sys.machine.cpus[0]!.sys[SYS.TTBR0_EL1]! & 0xffffff;
    expect(root).toBeGreaterThanOrEqual(MK_MACHINE.frames);
    const r = stepMk(sys, { kind: 'exec', cpu: 0 }); // the fetch
    expect(r.trap).toEqual(expect.objectContaining({ kind: 'abort', access: 'fetch' }));
    expect(mrsOf(r.system, 'h', 3)).toEqual([PAGE, PAGE, 1]);
    expect(regsOf(r.system, 'h')[2]! >>> 12).toBe(FAULT_LABEL.VM_FAULT);
    // A load faults just the same (injected, so that no fetch is needed).
    sys = by(r.system, 'h', SYSCALL.REPLY, { 2: 0 }).system;
    sys = by(sys, 'h', SYSCALL.RECV, { 1: 1 }).system;
    const load = stepMk(setRegs(sys, 0, { 5: 0x100 }), { kind: 'exec', cpu: 0, insn: insn({ op: 'ld', rd: 1, rs1: 5, imm: 0 }) });
    expect(load.trap).toEqual(expect.objectContaining({ kind: 'abort', access: 'load' }));
    expect(stateOf(load.system, 'c')).toBe('blockedOnReply');
    expectClean(load.system);
  });
});
