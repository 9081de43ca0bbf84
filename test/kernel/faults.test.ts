/**
 * Faults, rule by rule (spec/microkernel.md §7 MK-FAULT-*): fault messages and their words,
 * who may handle a fault, and what the handler's reply does — ending with a user-level pager,
 * written in the model's assembly, that maps pages (and page tables) on demand.
 */
import { describe, expect, it } from 'vitest';
import { ERROR, FAULT_LABEL, INVOCATION, MAP_ATTR, OBJECT_TYPE, SYSCALL, type ThreadSpec } from '../../src/kernel/index.ts';
import type { LifecycleTransition, MicrokernelSystem, Observation } from '../../src/system/index.ts';
import { boot, info, insn, MK_MACHINE, running, setRegs, stepMk, tcbOf } from './fixtures.ts';
import {
  by,
  expectClean,
  expectInvocationRejected,
  infoOf,
  invokeOk,
  leafEntry,
  mrsOf,
  pcOf,
  regsOf,
  stateOf,
  tid,
  wordAt,
} from './unit-helpers.ts';

const PAGE = MK_MACHINE.wordsPerFrame * 4;

/** Syndromes from the hardware chapter (HW-EXC-4): data and instruction aborts. */
const dataAbortEsr = (fsc: number, write: boolean, rt: number): number => ((0x24 << 26) | (1 << 24) | (rt << 9) | ((write ? 1 : 0) << 6) | fsc) >>> 0;
const instructionAbortEsr = (fsc: number): number => ((0x20 << 26) | fsc) >>> 0;
const TRANSLATION = (level: number) => 0x04 + level;
const PERMISSION = (level: number) => 0x0c + level;

/** h (priority 2) handles faults of c (priority 1) through endpoint `ep`, and is waiting for one. */
function handled(client: Partial<ThreadSpec> = {}, handlerRights = 'R'): MicrokernelSystem {
  const sys = boot({
    objects: [{ name: 'ep', type: 'endpoint' }],
    threads: [
      { name: 'h', priority: 2, caps: [{ slot: 1, object: 'ep', rights: handlerRights }, { slot: 2, object: 'c.tcb' }] },
      { name: 'c', priority: 1, faultEndpoint: 1, caps: [{ slot: 1, object: 'ep', rights: 'WP', badge: 0x33 }], ...client },
    ],
  });
  return by(sys, 'h', SYSCALL.RECV, { 1: 1 }).system;
}

/** c executes `word` (after setting `regs`); returns the system with the fault delivered to h. */
function fault(sys: MicrokernelSystem, word: number | undefined, regs: Readonly<Record<number, number>> = {}) {
  expect(running(sys)).toBe('c');
  const r = stepMk(setRegs(sys, 0, regs), word === undefined ? { kind: 'exec', cpu: 0 } : { kind: 'exec', cpu: 0, insn: word });
  expect(r.error).toBeNull();
  return r;
}

describe('MK-FAULT-1 fault messages', () => {
  it('MK-FAULT-1: a store to an unmapped page is a VM fault: label 5, words pc, address, 0, ESR; the handler gets the badge', () => {
    const sys = handled({ pages: [{ va: 0x500 }] });
    const pc = sys.machine.cpus[0]!.pc;
    const r = fault(sys, insn({ op: 'st', rs2: 6, rs1: 5, imm: 4 }), { 5: 0x600, 6: 1 });
    expect(r.observations).toContainEqual(expect.objectContaining({ subject: 'c', kind: 'fault', values: [5, pc, 0x604, 0, dataAbortEsr(TRANSLATION(1), true, 6)] }));
    const h = r.system;
    expect(infoOf(h, 'h')).toEqual({ label: FAULT_LABEL.VM_FAULT, capsUnwrapped: 0, extraCaps: 0, length: 4 });
    expect(mrsOf(h, 'h', 4)).toEqual([pc, 0x604, 0, dataAbortEsr(TRANSLATION(1), true, 6)]);
    expect(regsOf(h, 'h')[1]).toBe(0x33); // the badge of c's fault-endpoint cap
    expect(stateOf(h, 'c')).toBe('blockedOnReply');
    expect(tcbOf(h, 'c').fault).toEqual({ label: 5, words: [pc, 0x604, 0, dataAbortEsr(TRANSLATION(1), true, 6)] });
    expectClean(h);
  });

  it('MK-FAULT-1: a load with no page table on the way faults at level 0; a store to a read-only page is a permission fault', () => {
    const load = fault(handled(), insn({ op: 'ld', rd: 7, rs1: 5, imm: 0 }), { 5: 0x2000 }).system;
    expect(mrsOf(load, 'h', 4).slice(1)).toEqual([0x2000, 0, dataAbortEsr(TRANSLATION(0), false, 7)]);
    const store = fault(handled({ pages: [{ va: 0x500 }] }), insn({ op: 'st', rs2: 3, rs1: 5, imm: 8 }), { 5: 0x500 }).system;
    expect(mrsOf(store, 'h', 4).slice(1)).toEqual([0x508, 0, dataAbortEsr(PERMISSION(1), true, 3)]);
    expectClean(load);
    expectClean(store);
  });

  it('MK-FAULT-1: an instruction fetch from an unmapped page is a VM fault with the fetch word set', () => {
    let sys = handled({ pages: [{ va: 0x500 }] });
    sys = fault(sys, insn({ op: 'jalr', rd: 0, rs1: 5, imm: 0 }), { 5: 0x800 }).system; // a jump: no fault yet
    expect(stateOf(sys, 'c')).toBe('running');
    const r = fault(sys, undefined);
    expect(mrsOf(r.system, 'h', 4)).toEqual([0x800, 0x800, 1, instructionAbortEsr(TRANSLATION(1))]);
    // Fetching from a mapped page without execute permission is a permission fault.
    const nx = fault(fault(handled({ pages: [{ va: 0x500 }] }), insn({ op: 'jalr', rd: 0, rs1: 5, imm: 0 }), { 5: 0x504 }).system, undefined);
    expect(mrsOf(nx.system, 'h', 4)).toEqual([0x504, 0x504, 1, instructionAbortEsr(PERMISSION(1))]);
    expectClean(nx.system);
  });

  it('MK-FAULT-1: a user exception has label 3 and words pc, ESR; an unknown system call label 2 and words pc, number', () => {
    const sys = handled();
    const pc = sys.machine.cpus[0]!.pc;
    const undef = fault(sys, 0).system;
    expect(infoOf(undef, 'h')).toEqual(expect.objectContaining({ label: FAULT_LABEL.USER_EXCEPTION, length: 2 }));
    expect(mrsOf(undef, 'h', 2)).toEqual([pc, 0]);
    const wfi = fault(sys, insn({ op: 'wfi' })).system;
    expect(mrsOf(wfi, 'h', 2)).toEqual([pc, 0x01 << 26]);
    const unknown = fault(sys, insn({ op: 'svc', imm: 42 })).system;
    expect(infoOf(unknown, 'h')).toEqual(expect.objectContaining({ label: FAULT_LABEL.UNKNOWN_SYSCALL, length: 2 }));
    expect(mrsOf(unknown, 'h', 2)).toEqual([pc, 42]);
    expectClean(unknown);
  });

  it('MK-FAULT-1, MK-IPC-2: a fault with no handler waiting queues the faulting thread; the handler gets the message when it receives', () => {
    let sys = boot({
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'c', priority: 2, faultEndpoint: 1, caps: [{ slot: 1, object: 'ep', rights: 'WG' }] },
        { name: 'h', priority: 1, caps: [{ slot: 1, object: 'ep', rights: 'R' }] },
      ],
    });
    const pc = sys.machine.cpus[0]!.pc;
    sys = fault(sys, 0).system;
    expect(tcbOf(sys, 'c').state).toEqual(expect.objectContaining({ kind: 'blockedOnSend', fault: { label: 3, words: [pc, 0] } }));
    const r = by(sys, 'h', SYSCALL.RECV, { 1: 1 });
    expect(r.lifecycle).toContainEqual({ subject: 'c', from: 'blockedOnSend', to: 'blockedOnReply', event: 'BLOCK_REPLY' });
    expect(infoOf(r.system, 'h').label).toBe(FAULT_LABEL.USER_EXCEPTION);
    expect(mrsOf(r.system, 'h', 2)).toEqual([pc, 0]);
    expect(tcbOf(r.system, 'h').caller?.caller).toBe(tid(r.system, 'c'));
    expectClean(r.system);
  });
});

describe('MK-FAULT-2 fault handlers', () => {
  const stopsWith = (client: Partial<ThreadSpec>, what: string) => {
    const sys = boot({
      objects: [{ name: 'ep', type: 'endpoint' }, { name: 'n', type: 'notification' }],
      threads: [{ name: 'c', ...client }],
    });
    const pc = sys.machine.cpus[0]!.pc;
    const r = fault(sys, 0);
    expect(r.observations, what).toEqual([expect.objectContaining({ subject: 'c', kind: 'stopped', values: [3, pc, 0] })]);
    expect(r.lifecycle, what).toEqual([{ subject: 'c', from: 'running', to: 'inactive', event: 'FAULT_NO_HANDLER' }]);
    expect(running(r.system), what).toBeNull();
    expectClean(r.system);
  };

  it('MK-FAULT-2: a thread with no fault endpoint, or whose fault-endpoint CPtr names no endpoint, becomes inactive', () => {
    stopsWith({}, 'no fault endpoint');
    stopsWith({ faultEndpoint: 3 }, 'an empty slot');
    stopsWith({ faultEndpoint: 99 }, 'a slot outside the CNode');
    stopsWith({ faultEndpoint: 1, caps: [{ slot: 1, object: 'n' }] }, 'a notification');
    stopsWith({ faultEndpoint: 1, caps: [{ slot: 1, object: 'c.tcb' }] }, 'a TCB');
  });

  it('MK-FAULT-2: the fault endpoint needs Write and Grant or GrantReply', () => {
    for (const rights of ['R', 'W', 'RW', 'GP', 'RGP']) stopsWith({ faultEndpoint: 1, caps: [{ slot: 1, object: 'ep', rights }] }, rights);
    for (const rights of ['WG', 'WP']) {
      const sys = boot({ objects: [{ name: 'ep', type: 'endpoint' }], threads: [{ name: 'c', faultEndpoint: 1, caps: [{ slot: 1, object: 'ep', rights }] }] });
      const r = fault(sys, 0);
      expect(r.observations.map((o) => o.kind), rights).toEqual(['fault']);
      expect(stateOf(r.system, 'c'), rights).toBe('blockedOnSend');
    }
  });

  it('MK-FAULT-2: the fault endpoint is looked up in the faulting thread own CSpace, when it faults', () => {
    const setup = (moveAway: boolean) => {
      let sys = boot({
        objects: [{ name: 'ep', type: 'endpoint' }],
        threads: [
          { name: 'm', priority: 2, caps: [{ slot: 1, object: 'c.cspace' }, { slot: 2, object: 'ep', rights: 'R' }] },
          { name: 'c', priority: 1, faultEndpoint: 1, caps: [{ slot: 1, object: 'ep', rights: 'WP' }] },
        ],
      });
      if (moveAway) sys = invokeOk(sys, 0, 1, INVOCATION.CNODE_MOVE, [5, 1]); // c's cap leaves CPtr 1
      sys = by(sys, 'm', SYSCALL.RECV, { 1: 2 }).system;
      return fault(sys, 0);
    };
    expect(setup(false).observations.map((o) => `${o.subject}:${o.kind}`)).toEqual(['c:fault', 'm:message']);
    const moved = setup(true);
    expect(moved.observations.map((o) => `${o.subject}:${o.kind}`)).toEqual(['c:stopped']);
    expect(stateOf(moved.system, 'm')).toBe('blockedOnReceive');
    expectClean(moved.system);
  });
});

describe('MK-FAULT-3 replies to faults', () => {
  it('MK-FAULT-3: a reply labelled 0 restarts the faulting thread at the faulting instruction', () => {
    let sys = handled({ program: 'nop\nld r7, 0(r5)\nloop: b loop', regs: { r5: 0x2000 } });
    sys = stepMk(sys, { kind: 'exec', cpu: 0 }).system; // nop
    const r = fault(sys, undefined); // the load faults
    sys = r.system;
    expect(mrsOf(sys, 'h', 1)).toEqual([PAGE + 4]);
    const replied = by(sys, 'h', SYSCALL.REPLY, { 2: info(0) });
    expect(replied.lifecycle).toContainEqual({ subject: 'c', from: 'blockedOnReply', to: 'restart', event: 'REPLY_RESTART' });
    expect(replied.observations).toEqual([expect.objectContaining({ subject: 'c', kind: 'reply', values: [0] })]);
    expect(tcbOf(replied.system, 'c').fault).toBeNull();
    // h keeps the CPU; once it waits again, c re-executes the load — which, unfixed, faults again.
    sys = by(replied.system, 'h', SYSCALL.RECV, { 1: 1 }).system;
    expect(running(sys)).toBe('c');
    expect(pcOf(sys, 'c')).toBe(PAGE + 4);
    const again = fault(sys, undefined);
    expect(again.observations).toContainEqual(expect.objectContaining({ subject: 'c', kind: 'fault', values: [5, PAGE + 4, 0x2000, 0, dataAbortEsr(TRANSLATION(0), false, 7)] }));
    expectClean(again.system);
  });

  it('MK-FAULT-3: a reply with any other label leaves the faulting thread inactive', () => {
    for (const label of [1, 5, 0xfffff]) {
      let sys = fault(handled(), 0).system;
      const r = by(sys, 'h', SYSCALL.REPLY, { 2: info(label) });
      expect(r.lifecycle).toEqual([{ subject: 'c', from: 'blockedOnReply', to: 'inactive', event: 'REPLY_STOP' }]);
      sys = by(r.system, 'h', SYSCALL.RECV, { 1: 1 }).system;
      expect(running(sys)).toBeNull();
      expect(stateOf(sys, 'c')).toBe('inactive');
      expectClean(sys);
    }
  });

  it('MK-FAULT-3, MK-OBJ-4, MK-ABI-4: the handler can read the faulting thread registers; bad reads change nothing', () => {
    let sys = fault(handled({ regs: { r9: 99 } }), 0).system;
    sys = invokeOk(sys, 0, 2, INVOCATION.TCB_READ_REGISTERS, [0, 1]);
    expect(mrsOf(sys, 'h', 1)).toEqual([tcbOf(sys, 'c').context.restartPc]);
    sys = invokeOk(sys, 0, 2, INVOCATION.TCB_READ_REGISTERS, [9, 1]);
    expect(mrsOf(sys, 'h', 1)).toEqual([99]);
    expectInvocationRejected(sys, 0, 2, INVOCATION.TCB_READ_REGISTERS, [0, 9], ERROR.RANGE_ERROR);
    expect(stateOf(sys, 'c')).toBe('blockedOnReply');
  });
});

describe('MK-FAULT-3 a user-level pager', () => {
  // Pager's CSpace: 1 the fault endpoint (Read), 2 the client's VSpace, 3 untyped; caps it makes go in 4, 5, ...
  const PAGER = `
        li r13, 4
        li r1, 1
        svc #${SYSCALL.RECV}
      serve:                          ; r3..r6: pc, fault address, fetch, ESR
        andi r12, r4, 0xff00          ; the faulting page
        li r1, 3                      ; a frame from the untyped, into slot r13
        li r2, ${info(INVOCATION.UNTYPED_RETYPE, 4)}
        li r3, ${OBJECT_TYPE.FRAME}
        li r4, 0
        mov r5, r13
        li r6, 1
        svc #${SYSCALL.CALL}
        mov r1, r13
        addi r13, r13, 1
        li r2, ${info(INVOCATION.FRAME_MAP, 2)}
        mov r3, r12
        li r4, ${MAP_ATTR.WRITE}
        li r11, 2
        svc #${SYSCALL.CALL}
        shri r10, r2, 12              ; the error label
        li r9, ${ERROR.FAILED_LOOKUP}
        bne r10, r9, reply
        li r1, 3                      ; no page table there yet: make one, map it, map the frame again
        li r2, ${info(INVOCATION.UNTYPED_RETYPE, 4)}
        li r3, ${OBJECT_TYPE.PAGETABLE}
        li r4, 0
        mov r5, r13
        li r6, 1
        svc #${SYSCALL.CALL}
        mov r1, r13
        addi r13, r13, 1
        li r2, ${info(INVOCATION.PAGETABLE_MAP, 1)}
        mov r3, r12
        li r11, 2
        svc #${SYSCALL.CALL}
        addi r1, r13, -2
        li r2, ${info(INVOCATION.FRAME_MAP, 2)}
        mov r3, r12
        li r4, ${MAP_ATTR.WRITE}
        li r11, 2
        svc #${SYSCALL.CALL}
      reply:
        li r1, 1
        li r2, ${info(0)}             ; label 0: restart the client
        svc #${SYSCALL.REPLY_RECV}
        b serve`;
  const CLIENT = `
        li r5, 0x300
        li r6, 42
        st r6, 0(r5)                  ; same page table as the code: the pager maps a frame
        ld r7, 0(r5)
        li r5, 0x2400
        addi r6, r6, 1
        st r6, 4(r5)                  ; no page table there: the pager maps one, then a frame
        ld r8, 4(r5)
      done:
        b done`;

  it('MK-FAULT-3, MK-VM-3, MK-VM-5: the pager maps frames and page tables on demand and replies 0; the client restarts and runs on', () => {
    let sys = boot({
      objects: [{ name: 'fault', type: 'endpoint' }],
      threads: [
        { name: 'pager', priority: 2, program: PAGER, caps: [{ slot: 1, object: 'fault', rights: 'R' }, { slot: 2, object: 'client.vspace' }] },
        { name: 'client', priority: 1, program: CLIENT, faultEndpoint: 1, caps: [{ slot: 1, object: 'fault', rights: 'WP' }] },
      ],
      untyped: [{ thread: 'pager', slot: 3, sizeBits: 11 }],
    });
    const done = PAGE + 4 * 11;
    const observations: Observation[] = [];
    const lifecycle: LifecycleTransition[] = [];
    for (let i = 0; i < 400 && !(running(sys) === 'client' && pcOf(sys, 'client') === done); i++) {
      const r = stepMk(sys, { kind: 'exec', cpu: 0 });
      observations.push(...r.observations);
      lifecycle.push(...r.lifecycle);
      sys = r.system;
    }
    expect(pcOf(sys, 'client')).toBe(done);
    expect(regsOf(sys, 'client').slice(7, 9)).toEqual([42, 43]);
    // Two faults, each restarted by a reply labelled 0 at the faulting store.
    const faults = observations.filter((o) => o.kind === 'fault');
    expect(faults.map((o) => o.values.slice(0, 3))).toEqual([
      [FAULT_LABEL.VM_FAULT, PAGE + 16, 0x300],
      [FAULT_LABEL.VM_FAULT, PAGE + 36, 0x2404],
    ]);
    expect(lifecycle.filter((t) => t.event === 'REPLY_RESTART').map((t) => t.subject)).toEqual(['client', 'client']);
    expect(observations.filter((o) => o.kind === 'error')).toEqual([
      expect.objectContaining({ subject: 'pager', values: [ERROR.FAILED_LOOKUP] }), // the first Frame_Map at 0x2400
    ]);
    // The data went to the frames the pager made: read them through the client's tables.
    const vspace = tcbOf(sys, 'client').vspace!;
    const frameAt = (va: number) => (leafEntry(sys, vspace, va)! >>> 4) * PAGE;
    expect(wordAt(sys, frameAt(0x300))).toBe(42);
    expect(wordAt(sys, frameAt(0x2400) + 4)).toBe(43);
    expect(leafEntry(sys, vspace, 0x2400)! & 0xf).toBe(0b1011); // user, writable, not executable
    expect(stateOf(sys, 'pager')).toBe('blockedOnReceive');
    expectClean(sys);
  });

  it('MK-FAULT-3: the pager is needed: without a reply labelled 0 the client stays stopped', () => {
    // Same client, a "pager" that answers every fault with label 1.
    let sys = boot({
      objects: [{ name: 'fault', type: 'endpoint' }],
      threads: [
        { name: 'pager', priority: 2, program: `li r1, 1\nsvc #${SYSCALL.RECV}\nloop: li r1, 1\nli r2, ${info(1)}\nsvc #${SYSCALL.REPLY_RECV}\nb loop`, caps: [{ slot: 1, object: 'fault', rights: 'R' }] },
        { name: 'client', priority: 1, program: CLIENT, faultEndpoint: 1, caps: [{ slot: 1, object: 'fault', rights: 'WP' }] },
      ],
    });
    for (let i = 0; i < 40; i++) sys = stepMk(sys, { kind: 'exec', cpu: 0 }).system;
    expect(stateOf(sys, 'client')).toBe('inactive');
    expect(pcOf(sys, 'client')).toBe(PAGE + 16);
    expectClean(sys);
  });
});
