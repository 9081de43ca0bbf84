/**
 * The system-call ABI, kernel entry, IPC and notifications, rule by rule (spec/microkernel.md
 * §3 MK-ABI-*, §4 MK-ENTRY-*, §5 MK-IPC-*, §6 MK-NTFN-*). Threads without programs are driven
 * by instruction injection; priorities decide who runs next, and each step names the thread
 * it expects to be running. Expected values come from the rules, not from the kernel.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SYS } from '../../src/hw/index.ts';
import {
  decodeInfo,
  encodeInfo,
  ERROR,
  errorInfo,
  FAULT_LABEL,
  INVOCATION,
  OBJECT_TYPE,
  REG,
  SYSCALL,
  type KernelScenario,
  type ThreadSpec,
} from '../../src/kernel/index.ts';
import type { MicrokernelSystem } from '../../src/system/index.ts';
import { boot, info, insn, MK_MACHINE, running, stepMk, syscall, tcbOf } from './fixtures.ts';
import {
  by,
  capOf,
  expectClean,
  expectInvocationRejected,
  expectRejected,
  infoOf,
  invokeOk,
  MK_MACHINE_2CPU,
  mrsOf,
  objOf,
  pcOf,
  regsOf,
  runUntil,
  slotOf,
  stateOf,
  tid,
} from './unit-helpers.ts';

const PAGE = MK_MACHINE.wordsPerFrame * 4;

/** Endpoint `ep` (and notification `n`) shared by `threads`, which hold it in slot 1 unless they say otherwise. */
function world(threads: ThreadSpec[], extra: Partial<KernelScenario> = {}): MicrokernelSystem {
  return boot({
    objects: [{ name: 'ep', type: 'endpoint' }, { name: 'ep2', type: 'endpoint' }, { name: 'n', type: 'notification' }],
    ...extra,
    threads: threads.map((t) => ({ caps: [{ slot: 1, object: 'ep' }], ...t })),
  });
}

const EP = 1;

function epQueue(sys: MicrokernelSystem, holder: string, slot = EP) {
  const o = sys.state.objects[objOf(sys, holder, slot)];
  if (o?.type !== 'endpoint') throw new Error('not an endpoint');
  return o.queue;
}

function ntfnOf(sys: MicrokernelSystem, holder: string, slot: number) {
  const o = sys.state.objects[objOf(sys, holder, slot)];
  if (o?.type !== 'notification') throw new Error('not a notification');
  return o;
}

const send = (label: number, words: number[] = [], cap = EP) => {
  const regs: Record<number, number> = { [REG.CAP]: cap, [REG.INFO]: info(label, words.length) };
  words.forEach((v, i) => (regs[REG.MR0 + i] = v));
  return regs;
};

describe('MK-ABI system-call ABI', () => {
  it('MK-ABI-1: svc 1..8 are Send, NBSend, Call, Recv, NBRecv, Reply, ReplyRecv and Yield', () => {
    const fresh = () => world([{ name: 'a', priority: 1 }, { name: 'b', priority: 1 }]);
    const after = (n: number) => by(fresh(), 'a', n, { 1: EP, 2: info(1), 3: 9 }).system;
    const sendState = (n: number) => tcbOf(after(n), 'a').state;
    expect(sendState(SYSCALL.SEND)).toEqual(expect.objectContaining({ kind: 'blockedOnSend', isCall: false }));
    expect(sendState(SYSCALL.NB_SEND)).toEqual({ kind: 'running' });
    expect(sendState(SYSCALL.CALL)).toEqual(expect.objectContaining({ kind: 'blockedOnSend', isCall: true }));
    expect(sendState(SYSCALL.RECV)).toEqual(expect.objectContaining({ kind: 'blockedOnReceive' }));
    expect(sendState(SYSCALL.NB_RECV)).toEqual({ kind: 'running' });
    expect(regsOf(after(SYSCALL.NB_RECV), 'a').slice(1, 3)).toEqual([0, 0]);
    expect(sendState(SYSCALL.REPLY)).toEqual({ kind: 'running' });
    expect(sendState(SYSCALL.REPLY_RECV)).toEqual(expect.objectContaining({ kind: 'blockedOnReceive' }));
    const yielded = after(SYSCALL.YIELD);
    expect(running(yielded)).toBe('b');
    expect(yielded.state.ready).toEqual([tid(yielded, 'a')]);
    expectClean(yielded);
  });

  it('MK-ABI-1: the Null system call does nothing and returns to the next instruction', () => {
    const sys = world([{ name: 'a' }]);
    const before = sys.machine.cpus[0]!;
    const r = by(sys, 'a', SYSCALL.NULL);
    const after = r.system.machine.cpus[0]!;
    expect(r.observations).toEqual([]);
    expect(r.lifecycle).toEqual([]);
    expect({ el: after.el, pc: after.pc, regs: after.regs }).toEqual({ el: 0, pc: before.pc + 4, regs: before.regs });
    // Only the caller's saved context moved (saved at entry); no other object, no queue changed.
    const others = (s: MicrokernelSystem) => s.state.objects.map((o) => (o?.type === 'tcb' ? { ...o, context: null } : o));
    expect(others(r.system)).toEqual(others(sys));
    expect({ ready: r.system.state.ready, cpus: r.system.state.cpus }).toEqual({ ready: sys.state.ready, cpus: sys.state.cpus });
    expectClean(r.system);
  });

  it('MK-ABI-1, MK-FAULT-1: any other svc number is an UnknownSyscall fault (label 2, words pc and number)', () => {
    for (const n of [0, 10, 100, 0xffff]) {
      const sys = world([{ name: 'a' }]);
      const pc = sys.machine.cpus[0]!.pc;
      const r = by(sys, 'a', n);
      expect(r.observations).toEqual([expect.objectContaining({ subject: 'a', kind: 'stopped', values: [FAULT_LABEL.UNKNOWN_SYSCALL, pc, n] })]);
      expect(stateOf(r.system, 'a')).toBe('inactive'); // no fault handler
      expectClean(r.system);
    }
  });

  it('MK-ABI-2: message info is label 31:12, capsUnwrapped 11:9, extraCaps 8:7, length 6:0', () => {
    fc.assert(
      fc.property(fc.nat(0xfffff), fc.nat(7), fc.nat(3), fc.nat(0x7f), (label, capsUnwrapped, extraCaps, length) => {
        const word = encodeInfo({ label, capsUnwrapped, extraCaps, length });
        expect(word).toBe((label * 4096 + capsUnwrapped * 512 + extraCaps * 128 + length) >>> 0);
        expect(decodeInfo(word)).toEqual({ label, capsUnwrapped, extraCaps, length });
      }),
    );
  });

  it('MK-ABI-2: at most 8 words travel in registers; a longer length is cut to 8', () => {
    let sys = world([{ name: 'r', priority: 2 }, { name: 's', priority: 1 }]);
    sys = by(sys, 'r', SYSCALL.RECV, { 1: EP, 11: 0 }).system;
    const regs: Record<number, number> = { 1: EP, 2: info(0xabcde, 100) };
    for (let i = 0; i < 8; i++) regs[3 + i] = 100 + i;
    regs[11] = 0x77;
    sys = by(sys, 's', SYSCALL.SEND, regs).system;
    expect(infoOf(sys, 'r')).toEqual({ label: 0xabcde, capsUnwrapped: 0, extraCaps: 0, length: 8 });
    expect(mrsOf(sys, 'r', 8)).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
    expect(regsOf(sys, 'r')[11]).toBe(0); // r11 is not a message register
    expectClean(sys);
  });

  it('MK-ABI-3: invocation labels and object types are numbered as in the table', () => {
    expect(INVOCATION).toEqual({
      UNTYPED_RETYPE: 1,
      TCB_CONFIGURE: 2,
      TCB_SET_PRIORITY: 3,
      TCB_RESUME: 4,
      TCB_SUSPEND: 5,
      TCB_READ_REGISTERS: 6,
      TCB_WRITE_REGISTERS: 7,
      TCB_BIND_NOTIFICATION: 8,
      TCB_UNBIND_NOTIFICATION: 9,
      CNODE_COPY: 10,
      CNODE_MINT: 11,
      CNODE_MOVE: 12,
      CNODE_DELETE: 13,
      CNODE_REVOKE: 14,
      CNODE_CANCEL_BADGED_SENDS: 15,
      FRAME_MAP: 16,
      FRAME_UNMAP: 17,
      PAGETABLE_MAP: 18,
      PAGETABLE_UNMAP: 19,
      IRQ_CONTROL_GET: 20,
      IRQ_HANDLER_SET_NOTIFICATION: 21,
      IRQ_HANDLER_ACK: 22,
      IRQ_HANDLER_CLEAR: 23,
    });
    expect(OBJECT_TYPE).toEqual({ UNTYPED: 0, TCB: 1, ENDPOINT: 2, NOTIFICATION: 3, CNODE: 4, FRAME: 5, PAGETABLE: 6, VSPACE: 7 });
  });

  it('MK-ABI-3: Send, NBSend and Call on an object cap all invoke it, with the result in r2', () => {
    for (const n of [SYSCALL.SEND, SYSCALL.NB_SEND, SYSCALL.CALL]) {
      let sys = world([{ name: 'a', priority: 3, caps: [{ slot: 2, object: 'b.tcb' }] }, { name: 'b', priority: 1 }]);
      sys = by(sys, 'a', n, { 1: 2, 2: info(INVOCATION.TCB_SET_PRIORITY, 1), 3: 200 }).system;
      expect(tcbOf(sys, 'b').priority).toBe(200);
      expect(running(sys)).toBe('b'); // now the higher priority
      expect(tcbOf(sys, 'a').context.regs[REG.INFO]).toBe(errorInfo(ERROR.NO_ERROR));
      expectClean(sys);
    }
  });

  it('MK-ABI-4: error codes are numbered as seL4 numbers them', () => {
    expect(ERROR).toEqual({
      NO_ERROR: 0,
      INVALID_ARGUMENT: 1,
      INVALID_CAPABILITY: 2,
      ILLEGAL_OPERATION: 3,
      RANGE_ERROR: 4,
      ALIGNMENT_ERROR: 5,
      FAILED_LOOKUP: 6,
      TRUNCATED_MESSAGE: 7,
      DELETE_FIRST: 8,
      REVOKE_FIRST: 9,
      NOT_ENOUGH_MEMORY: 10,
    });
  });

  it('MK-ABI-4, MK-ENTRY-3: IPC through a missing cap, or a cap that is no endpoint or notification, returns an error and changes nothing', () => {
    const sys = world([{ name: 'a', caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'a.tcb' }] }]);
    expectRejected(sys, 0, SYSCALL.SEND, send(1, [], 5), ERROR.INVALID_CAPABILITY);
    expectRejected(sys, 0, SYSCALL.CALL, send(1, [], 16), ERROR.FAILED_LOOKUP);
    expectRejected(sys, 0, SYSCALL.RECV, { 1: 2 }, ERROR.INVALID_CAPABILITY);
    expectRejected(sys, 0, SYSCALL.NB_RECV, { 1: 15 }, ERROR.INVALID_CAPABILITY); // its VSpace
    expectRejected(sys, 0, SYSCALL.REPLY_RECV, { 1: 3 }, ERROR.INVALID_CAPABILITY);
    // Invoking an endpoint as an object (a label on a cap with no invocations) is no different.
    expectInvocationRejected(sys, 0, 15, INVOCATION.FRAME_MAP, [0], ERROR.ILLEGAL_OPERATION);
  });

  it('MK-ABI-5: a client and an echo server written in assembly talk through the ABI numbers', () => {
    const server = `
        li r1, 1
        svc #${SYSCALL.RECV}
      loop:
        mov r9, r1                 ; the badge
        addi r3, r3, 1
        li r2, ${info(0, 1)}
        li r1, 1
        svc #${SYSCALL.REPLY_RECV}
        b loop`;
    const client = `
        li r1, 1
        li r2, ${info(7, 1)}
        li r3, 41
        svc #${SYSCALL.CALL}
        mov r8, r3
        mov r9, r1
      done: b done`;
    let sys = world([
      { name: 'server', priority: 2, program: server, caps: [{ slot: 1, object: 'ep', rights: 'R' }] },
      { name: 'client', priority: 1, program: client, caps: [{ slot: 1, object: 'ep', rights: 'WP', badge: 3 }] },
    ]);
    const done = PAGE + 4 * 9;
    sys = runUntil(sys, 0, (s) => running(s) === 'client' && pcOf(s, 'client') === done);
    expect(regsOf(sys, 'client')[8]).toBe(42);
    expect(regsOf(sys, 'client')[9]).toBe(0); // a reply carries no badge
    expect(tcbOf(sys, 'server').context.regs[9]).toBe(3);
    expect(stateOf(sys, 'server')).toBe('blockedOnReceive');
    expectClean(sys);
  });
});

describe('MK-ENTRY kernel entry', () => {
  it('MK-ENTRY-1: one step runs a whole entry: save, handle, choose, return to EL0 or park the CPU idle', () => {
    let sys = world([{ name: 'r', priority: 2 }, { name: 's', priority: 1 }]);
    const r1 = by(sys, 'r', SYSCALL.RECV, { 1: EP });
    expect(r1.trap?.kind).toBe('svc');
    expect(r1.ops.slice(0, 3)).toEqual(['instruction', 'trapEntryEl1', 'regSave']);
    expect(r1.ops.slice(-2)).toEqual(['regRestore', 'trapReturnEl1']);
    sys = r1.system;
    expect(sys.machine.cpus[0]!.el).toBe(0);
    expect(running(sys)).toBe('s');
    const r2 = by(sys, 's', SYSCALL.CALL, send(5, [1])); // r wakes and runs; s waits for a reply
    expect(running(r2.system)).toBe('r');
    expect(r2.system.machine.cpus[0]!.el).toBe(0);
    const r3 = by(r2.system, 'r', SYSCALL.RECV, { 1: EP }); // nothing left to run
    expect(running(r3.system)).toBeNull();
    expect(r3.system.machine.cpus[0]).toEqual(expect.objectContaining({ el: 1, waiting: true, irqMasked: false }));
    expectClean(r3.system);
  });

  it('MK-ENTRY-1, MK-SCHED-7: an entry that wakes a thread of another CPU sends that CPU an IPI', () => {
    let sys = boot(
      {
        objects: [{ name: 'ep', type: 'endpoint' }],
        threads: [
          { name: 's', cpu: 0, caps: [{ slot: 1, object: 'ep' }] },
          { name: 'r', cpu: 1, caps: [{ slot: 1, object: 'ep' }] },
        ],
      },
      MK_MACHINE_2CPU,
    );
    sys = by(sys, 'r', SYSCALL.RECV, { 1: EP }, 1).system;
    expect(running(sys, 1)).toBeNull();
    const r = by(sys, 's', SYSCALL.SEND, send(4, [44]), 0);
    expect(r.ops).toContain('ipi');
    expect(r.system.machine.gic.ipiPending & 2).toBe(2);
    expect(running(r.system, 0)).toBe('s');
    expect(running(r.system, 1)).toBeNull(); // CPU 1 is not touched until it takes the IPI
    const taken = stepMk(r.system, { kind: 'exec', cpu: 1 });
    expect(taken.trap?.kind).toBe('irq');
    expect(running(taken.system, 1)).toBe('r');
    expect(regsOf(taken.system, 'r')[3]).toBe(44);
    expectClean(taken.system);
  });

  describe('MK-ENTRY-2 causes', () => {
    /** h waits on the fault endpoint; c, running, has it as its fault endpoint. */
    const faulting = () => {
      const sys = world([
        { name: 'h', priority: 2 },
        { name: 'c', priority: 1, faultEndpoint: 1 },
      ]);
      return by(sys, 'h', SYSCALL.RECV, { 1: EP }).system;
    };
    const cases: [string, number, number, number][] = [
      ['an UNDEFINED word', 0, FAULT_LABEL.USER_EXCEPTION, 0],
      ['a privileged MRS', insn({ op: 'mrs', rd: 1, sysreg: SYS.TTBR0_EL1 }), FAULT_LABEL.USER_EXCEPTION, 0],
      ['a privileged TLBI', insn({ op: 'tlbi', scope: 'all', broadcast: false, rs: 0 }), FAULT_LABEL.USER_EXCEPTION, 0],
      ['an ERET', insn({ op: 'eret' }), FAULT_LABEL.USER_EXCEPTION, 0],
      ['a WFI', insn({ op: 'wfi' }), FAULT_LABEL.USER_EXCEPTION, 0x01 << 26],
      ['an HVC', insn({ op: 'hvc', imm: 1 }), FAULT_LABEL.USER_EXCEPTION, 0],
      ['a load from an unmapped address', insn({ op: 'ld', rd: 1, rs1: 0, imm: 0 }), FAULT_LABEL.VM_FAULT, -1],
    ];
    for (const [what, word, label, esr] of cases) {
      it(`MK-ENTRY-2, MK-FAULT-1: ${what} at EL0 is delivered as a fault labelled ${label}`, () => {
        const sys = faulting();
        const pc = sys.machine.cpus[0]!.pc;
        const r = stepMk(sys, { kind: 'exec', cpu: 0, insn: word });
        expect(stateOf(r.system, 'c')).toBe('blockedOnReply');
        expect(infoOf(r.system, 'h').label).toBe(label);
        expect(regsOf(r.system, 'h')[3]).toBe(pc);
        if (esr >= 0) expect(regsOf(r.system, 'h')[4]).toBe(esr);
        expectClean(r.system);
      });
    }

    it('MK-ENTRY-2: an SVC is a system call, not a fault', () => {
      const r = syscall(faulting(), 0, SYSCALL.NB_RECV, { 1: EP });
      expect(r.observations.map((o) => o.kind)).toEqual([]);
      expect(stateOf(r.system, 'c')).toBe('running');
      expectClean(r.system);
    });

    it('MK-ENTRY-2, MK-SCHED-4: an interrupt is handled whether it arrives at EL0 or in the idle thread at EL1', () => {
      let sys = world([{ name: 'w', priority: 1, caps: [{ slot: 1, object: 'n' }] }], { irqs: [{ line: 4, notification: 'n', badge: 8 }] });
      const atEl0 = stepMk(stepMk(sys, { kind: 'tick', cpu: 0 }).system, { kind: 'exec', cpu: 0 });
      expect(atEl0.trap).toEqual(expect.objectContaining({ kind: 'irq', from: 0 }));
      expect(tcbOf(atEl0.system, 'w').timeslice).toBe(4);
      sys = by(sys, 'w', SYSCALL.RECV, { 1: 1 }).system; // wait: the CPU goes idle
      expect(sys.machine.cpus[0]!.el).toBe(1);
      const raised = stepMk(sys, { kind: 'irq', line: 4 }).system;
      const atEl1 = stepMk(raised, { kind: 'exec', cpu: 0 });
      expect(atEl1.trap).toEqual(expect.objectContaining({ kind: 'irq', from: 1 }));
      expect(running(atEl1.system)).toBe('w');
      expect(regsOf(atEl1.system, 'w')[1]).toBe(8);
      expectClean(atEl1.system);
    });
  });

  it('MK-ENTRY-3: Send, NBSend and Call on a notification signal it', () => {
    let sys = world([{ name: 'a', caps: [{ slot: 1, object: 'n', badge: 1 }, { slot: 2, object: 'n', badge: 2 }, { slot: 3, object: 'n', badge: 4 }] }]);
    sys = by(sys, 'a', SYSCALL.SEND, { 1: 1, 2: info(0) }).system;
    sys = by(sys, 'a', SYSCALL.NB_SEND, { 1: 2, 2: info(0) }).system;
    sys = by(sys, 'a', SYSCALL.CALL, { 1: 3, 2: info(0) }).system;
    expect(ntfnOf(sys, 'a', 1).word).toBe(7);
    expect(stateOf(sys, 'a')).toBe('running'); // a Call on a notification does not wait for a reply
    expectClean(sys);
  });

  it('MK-ENTRY-3: ReplyRecv replies to the caller, then receives', () => {
    let sys = world([
      { name: 's', priority: 3 },
      { name: 'c1', priority: 2 },
      { name: 'c2', priority: 1 },
    ]);
    sys = by(sys, 's', SYSCALL.RECV, { 1: EP }).system;
    sys = by(sys, 'c1', SYSCALL.CALL, send(1, [10])).system; // s takes it
    sys = by(sys, 's', SYSCALL.REPLY_RECV, { 1: EP, 2: info(0, 1), 3: 11 }).system;
    expect(stateOf(sys, 'c1')).toBe('running');
    expect(regsOf(sys, 'c1')[3]).toBe(11);
    expect(stateOf(sys, 's')).toBe('blockedOnReceive');
    sys = by(sys, 'c1', SYSCALL.CALL, send(1, [20])).system; // c1 calls again; s takes it and runs
    expect(running(sys)).toBe('s');
    expect(tcbOf(sys, 's').caller?.caller).toBe(tid(sys, 'c1'));
    expectClean(sys);
  });

  it('MK-ENTRY-4: a synchronous trap from EL1 (the idle thread) is ignored', () => {
    let sys = world([{ name: 'a' }]);
    sys = by(sys, 'a', SYSCALL.RECV, { 1: EP }).system;
    expect(running(sys)).toBeNull();
    // A waiting CPU executes nothing; wake it as a spurious wake-up would, then inject.
    const idle = sys.machine.cpus[0]!;
    const awake: MicrokernelSystem = { ...sys, machine: { ...sys.machine, cpus: [{ ...idle, waiting: false }] } };
    for (const word of [insn({ op: 'svc', imm: SYSCALL.SEND }), 0, insn({ op: 'ld', rd: 1, rs1: 0, imm: 0x10000 })]) {
      const r = stepMk(awake, { kind: 'exec', cpu: 0, insn: word });
      expect(r.trap).toEqual(expect.objectContaining({ from: 1, to: 1 }));
      expect(r.system.state).toEqual(sys.state);
      expect(r.observations).toEqual([]);
      expect(r.system.machine.cpus[0]).toEqual(expect.objectContaining({ el: 1, waiting: true, pc: idle.pc, regs: idle.regs }));
      expect(r.system.machine.memory).toBe(sys.machine.memory);
      expectClean(r.system);
    }
  });
});

describe('MK-IPC endpoints', () => {
  it('MK-IPC-1: an endpoint is idle, or queues receivers, or queues senders, never both', () => {
    let sys = world([
      { name: 'r1', priority: 4 },
      { name: 'r2', priority: 3 },
      { name: 's', priority: 1 },
    ]);
    expect(epQueue(sys, 's')).toEqual({ kind: 'idle' });
    sys = by(sys, 'r1', SYSCALL.RECV, { 1: EP }).system;
    sys = by(sys, 'r2', SYSCALL.RECV, { 1: EP }).system;
    expect(epQueue(sys, 's')).toEqual({ kind: 'recv', threads: [tid(sys, 'r1'), tid(sys, 'r2')] });
    sys = by(sys, 's', SYSCALL.SEND, send(1)).system; // delivered to r1, never queued
    expect(epQueue(sys, 's')).toEqual({ kind: 'recv', threads: [tid(sys, 'r2')] });
    sys = by(sys, 'r1', SYSCALL.SEND, send(2)).system; // to r2; r1 keeps the CPU
    expect(epQueue(sys, 's')).toEqual({ kind: 'idle' });
    sys = by(sys, 'r1', SYSCALL.SEND, send(3)).system; // nobody receives: senders queue
    sys = by(sys, 'r2', SYSCALL.SEND, send(4)).system;
    expect(epQueue(sys, 's')).toEqual({ kind: 'send', threads: [tid(sys, 'r1'), tid(sys, 'r2')] });
    expectClean(sys);
  });

  it('MK-IPC-2: a send goes to the first queued receiver and makes it runnable; a plain send leaves the sender running', () => {
    let sys = world([
      { name: 'r1', priority: 3 },
      { name: 'r2', priority: 3 },
      { name: 's', priority: 1 },
    ]);
    sys = by(sys, 'r1', SYSCALL.RECV, { 1: EP }).system;
    sys = by(sys, 'r2', SYSCALL.RECV, { 1: EP }).system;
    const r = by(sys, 's', SYSCALL.SEND, send(6, [60]));
    sys = r.system;
    expect(r.observations).toEqual([expect.objectContaining({ subject: 'r1', kind: 'message', values: [0, 6, 60] })]);
    expect(stateOf(sys, 'r1')).toBe('running');
    expect(running(sys)).toBe('r1'); // of higher priority, it preempts s...
    expect(regsOf(sys, 'r1')[3]).toBe(60);
    expect(stateOf(sys, 'r2')).toBe('blockedOnReceive');
    expect(stateOf(sys, 's')).toBe('running'); // ...which stays runnable, at the head of the queue
    expect(sys.state.ready).toEqual([tid(sys, 's')]);
    expectClean(sys);
  });

  it('MK-IPC-2: with no receiver the sender blocks at the tail of the send queue; a receive takes the first sender', () => {
    let sys = world([
      { name: 's1', priority: 3 },
      { name: 's2', priority: 2 },
      { name: 'r', priority: 1 },
    ]);
    sys = by(sys, 's1', SYSCALL.SEND, send(1, [11])).system;
    sys = by(sys, 's2', SYSCALL.SEND, send(2, [22])).system;
    expect(epQueue(sys, 'r')).toEqual({ kind: 'send', threads: [tid(sys, 's1'), tid(sys, 's2')] });
    sys = by(sys, 'r', SYSCALL.RECV, { 1: EP }).system;
    // s1's message; s1 is running again (and, of higher priority, on the CPU).
    expect(stateOf(sys, 's1')).toBe('running');
    expect(tcbOf(sys, 'r').context.regs.slice(2, 4)).toEqual([info(1, 1), 11]);
    expect(epQueue(sys, 'r')).toEqual({ kind: 'send', threads: [tid(sys, 's2')] });
    expectClean(sys);
  });

  it('MK-IPC-3: the receiver gets the badge in r1, the message info in r2 and exactly length words', () => {
    let sys = world([
      { name: 'r', priority: 2, regs: { r6: 66, r7: 77 } },
      { name: 's', priority: 1, caps: [{ slot: 1, object: 'ep', badge: 0x55 }] },
    ]);
    sys = by(sys, 'r', SYSCALL.RECV, { 1: EP, 6: 66, 7: 77 }).system;
    sys = by(sys, 's', SYSCALL.SEND, { 1: EP, 2: info(0x1234, 3), 3: 1, 4: 2, 5: 3, 6: 4, 7: 5 }).system;
    const regs = regsOf(sys, 'r');
    expect(regs[1]).toBe(0x55);
    expect(decodeInfo(regs[2]!)).toEqual({ label: 0x1234, capsUnwrapped: 0, extraCaps: 0, length: 3 });
    expect(regs.slice(3, 8)).toEqual([1, 2, 3, 66, 77]); // MR3, MR4 are not part of the message
    expectClean(sys);
  });

  it('MK-IPC-4: each message is delivered once, in the order the senders blocked', () => {
    const caps = [{ slot: 1, object: 'ep' }, { slot: 2, object: 'ep2' }];
    let sys = world([
      { name: 's1', priority: 4, caps },
      { name: 's2', priority: 3, caps },
      { name: 's3', priority: 2, caps },
      { name: 'r', priority: 1 },
    ]);
    sys = by(sys, 's1', SYSCALL.SEND, send(1)).system;
    sys = by(sys, 's2', SYSCALL.SEND, send(2)).system;
    sys = by(sys, 's3', SYSCALL.SEND, send(3)).system;
    const labels: number[] = [];
    for (const s of ['s1', 's2', 's3']) {
      sys = by(sys, 'r', SYSCALL.NB_RECV, { 1: EP }).system;
      labels.push(infoOf(sys, 'r').label);
      sys = by(sys, s, SYSCALL.RECV, { 1: 2 }).system; // the woken sender runs; it waits elsewhere
    }
    sys = by(sys, 'r', SYSCALL.NB_RECV, { 1: EP }).system;
    labels.push(infoOf(sys, 'r').label);
    expect(labels).toEqual([1, 2, 3, 0]); // the fourth poll finds nothing
    expectClean(sys);
  });

  it('MK-IPC-4: a thread that holds the endpoint without Read cannot take a message', () => {
    let sys = world([
      { name: 's', priority: 2 },
      { name: 'x', priority: 1, caps: [{ slot: 1, object: 'ep', rights: 'WGP' }] },
    ]);
    sys = by(sys, 's', SYSCALL.SEND, send(1, [5])).system;
    const after = expectRejected(sys, 0, SYSCALL.RECV, { 1: EP }, ERROR.INVALID_CAPABILITY);
    expect(stateOf(after, 's')).toBe('blockedOnSend');
  });
});

describe('MK-IPC-5 capability transfer', () => {
  /** s (slot 1: ep with `rights`, slot 2: notification n, slot 3: ep badged 9, slot 4: ep2 badged 9, slot 5: ep unbadged) sends to r. */
  const transferWorld = (rights: string) =>
    world([
      { name: 'r', priority: 2, caps: [{ slot: 1, object: 'ep', rights: 'R' }, { slot: 6, object: 'ep2' }] },
      {
        name: 's',
        priority: 1,
        pages: [{ va: 0x300 }],
        caps: [
          { slot: 1, object: 'ep', rights },
          { slot: 2, object: 'n' },
          { slot: 3, object: 'ep', badge: 9 },
          { slot: 4, object: 'ep2', badge: 9 },
          { slot: 5, object: 'ep', rights: 'RW' },
        ],
      },
    ]);
  const offer = (xcap: number, label = 1) => ({ 1: EP, 2: info(label, 0, 1), 11: xcap });

  it('MK-IPC-5, MK-CAP-3: with Grant the cap in r11 is derived into the receive slot (r11 at receive) as a child of the sender cap', () => {
    let sys = transferWorld('WG');
    sys = by(sys, 'r', SYSCALL.RECV, { 1: EP, 11: 8 }).system;
    sys = by(sys, 's', SYSCALL.SEND, offer(2)).system;
    expect(capOf(sys, 'r', 8)).toEqual(capOf(sys, 's', 2));
    expect(slotOf(sys, 'r', 8)!.parent).toBe(slotOf(sys, 's', 2)!.id);
    expect(infoOf(sys, 'r')).toEqual({ label: 1, capsUnwrapped: 0, extraCaps: 1, length: 0 });
    expect(capOf(sys, 's', 2)?.type).toBe('notification'); // the sender keeps its own
    expectClean(sys);
  });

  it('MK-IPC-5: the receive slot is the receiver r11 when it received, even if the sender came first', () => {
    let sys = world([
      { name: 's', priority: 2, caps: [{ slot: 1, object: 'ep', rights: 'WG' }, { slot: 2, object: 'n' }] },
      { name: 'r', priority: 1, caps: [{ slot: 1, object: 'ep', rights: 'R' }] },
    ]);
    sys = by(sys, 's', SYSCALL.SEND, offer(2)).system;
    sys = by(sys, 'r', SYSCALL.RECV, { 1: EP, 11: 9 }).system;
    expect(capOf(sys, 'r', 9)?.type).toBe('notification');
    expect(infoOf(sys, 'r').extraCaps).toBe(1);
    expectClean(sys);
  });

  it('MK-IPC-5: without Grant no cap moves, and the message still does', () => {
    for (const rights of ['W', 'WP', 'WR']) {
      let sys = transferWorld(rights);
      sys = by(sys, 'r', SYSCALL.RECV, { 1: EP, 11: 8 }).system;
      sys = by(sys, 's', SYSCALL.SEND, { ...offer(2, 4), 3: 99, 2: info(4, 1, 1) }).system;
      expect(slotOf(sys, 'r', 8), rights).toBeNull();
      expect(infoOf(sys, 'r')).toEqual({ label: 4, capsUnwrapped: 0, extraCaps: 0, length: 1 });
      expect(regsOf(sys, 'r')[3]).toBe(99);
      expectClean(sys);
    }
  });

  it('MK-IPC-5: a badged cap to the carrying endpoint is unwrapped: its badge in r11, capsUnwrapped set, no cap moves', () => {
    let sys = transferWorld('WG');
    sys = by(sys, 'r', SYSCALL.RECV, { 1: EP, 11: 8 }).system;
    sys = by(sys, 's', SYSCALL.SEND, offer(3)).system;
    expect(slotOf(sys, 'r', 8)).toBeNull();
    expect(regsOf(sys, 'r')[REG.XCAP]).toBe(9);
    expect(infoOf(sys, 'r').capsUnwrapped).toBe(1);
    // As seL4: the unwrapped cap is counted in extraCaps.
    expect(infoOf(sys, 'r').extraCaps).toBe(1);
    expectClean(sys);
  });

  it('MK-IPC-5: an unbadged cap to the carrying endpoint, or a badged cap to another endpoint, is transferred, not unwrapped', () => {
    for (const xcap of [4, 5]) {
      let sys = transferWorld('WG');
      sys = by(sys, 'r', SYSCALL.RECV, { 1: EP, 11: 8 }).system;
      sys = by(sys, 's', SYSCALL.SEND, offer(xcap)).system;
      expect(capOf(sys, 'r', 8), `slot ${xcap}`).toEqual(capOf(sys, 's', xcap));
      expect(infoOf(sys, 'r')).toEqual(expect.objectContaining({ capsUnwrapped: 0, extraCaps: 1 }));
      expectClean(sys);
    }
  });

  it('MK-IPC-5, MK-CAP-5: a transferred mapped frame cap arrives unmapped', () => {
    let sys = transferWorld('WG');
    sys = by(sys, 'r', SYSCALL.RECV, { 1: EP, 11: 8 }).system;
    const own = capOf(sys, 's', 13); // its page at 0x300 (MK-BOOT-4)
    expect(own).toEqual(expect.objectContaining({ type: 'frame', mapping: expect.anything() }));
    sys = by(sys, 's', SYSCALL.SEND, offer(13)).system;
    expect(capOf(sys, 'r', 8)).toEqual({ ...own, mapping: null });
    expectClean(sys);
  });

  it('MK-IPC-5: with a missing or full receive slot, or no cap named, no cap moves but the message does', () => {
    const cases: [string, number, number, number][] = [
      ['receive slot full', 6, 2, 1],
      ['receive slot outside the CNode', 99, 2, 1],
      ['sender names an empty slot', 8, 7, 1],
      ['sender names a slot outside its CNode', 8, 1000, 1],
      ['message carries no cap', 8, 2, 0],
    ];
    for (const [what, slot, xcap, extraCaps] of cases) {
      let sys = transferWorld('WG');
      sys = by(sys, 'r', SYSCALL.RECV, { 1: EP, 11: slot }).system;
      const before = slot < 16 ? slotOf(sys, 'r', slot) : null;
      sys = by(sys, 's', SYSCALL.SEND, { 1: EP, 2: info(3, 1, extraCaps), 3: 33, 11: xcap }).system;
      expect(infoOf(sys, 'r'), what).toEqual({ label: 3, capsUnwrapped: 0, extraCaps: 0, length: 1 });
      expect(regsOf(sys, 'r')[3], what).toBe(33);
      if (slot < 16) expect(slotOf(sys, 'r', slot), what).toEqual(before);
      expectClean(sys);
    }
  });
});

describe('MK-IPC-6 call and reply', () => {
  const callWorld = (callerRights: string, serverRights = 'RW') =>
    world([
      { name: 's', priority: 2, caps: [{ slot: 1, object: 'ep', rights: serverRights }, { slot: 2, object: 'n' }] },
      { name: 'c', priority: 1, caps: [{ slot: 1, object: 'ep', rights: callerRights, badge: 4 }] },
      { name: 'o', priority: 0 },
    ]);

  for (const rights of ['WG', 'WP']) {
    it(`MK-IPC-6: a Call through a cap with ${rights === 'WG' ? 'Grant' : 'GrantReply'} gives the receiver a one-shot reply right and blocks the caller`, () => {
      let sys = callWorld(rights);
      sys = by(sys, 's', SYSCALL.RECV, { 1: EP }).system;
      const r = by(sys, 'c', SYSCALL.CALL, send(7, [70]));
      sys = r.system;
      expect(r.lifecycle.map((t) => `${t.subject}:${t.to}:${t.event}`)).toEqual(['s:running:COMPLETE', 'c:blockedOnReply:BLOCK_REPLY']);
      expect(regsOf(sys, 's')[1]).toBe(4);
      expect(tcbOf(sys, 's').caller).toEqual({ caller: tid(sys, 'c'), canGrant: false });
      const replied = by(sys, 's', SYSCALL.REPLY, { 2: info(8, 2), 3: 80, 4: 81 });
      sys = replied.system;
      expect(replied.observations).toEqual([expect.objectContaining({ subject: 'c', kind: 'message', values: [0, 8, 80, 81] })]);
      expect(stateOf(sys, 'c')).toBe('running');
      expect(regsOf(sys, 'c').slice(1, 5)).toEqual([0, info(8, 2), 80, 81]);
      expect(tcbOf(sys, 's').caller).toBeNull();
      expectClean(sys);
    });
  }

  it('MK-IPC-6: a Call through a cap with neither Grant nor GrantReply delivers, then makes the caller inactive', () => {
    // Receiver waiting: the caller goes from running to inactive.
    let sys = callWorld('W');
    sys = by(sys, 's', SYSCALL.RECV, { 1: EP }).system;
    let r = by(sys, 'c', SYSCALL.CALL, send(7));
    expect(r.lifecycle).toContainEqual({ subject: 'c', from: 'running', to: 'inactive', event: 'CALL_WITHOUT_REPLY' });
    expect(tcbOf(r.system, 's').caller).toBeNull();
    expect(infoOf(r.system, 's').label).toBe(7);
    // Caller queued first: it goes from blockedOnSend to inactive when the receiver comes.
    sys = world([
      { name: 'c', priority: 2, caps: [{ slot: 1, object: 'ep', rights: 'W' }] },
      { name: 's', priority: 1 },
    ]);
    sys = by(sys, 'c', SYSCALL.CALL, send(7)).system;
    r = by(sys, 's', SYSCALL.RECV, { 1: EP });
    expect(r.lifecycle).toContainEqual({ subject: 'c', from: 'blockedOnSend', to: 'inactive', event: 'CALL_WITHOUT_REPLY' });
    expect(infoOf(r.system, 's').label).toBe(7);
    expectClean(r.system);
  });

  it('MK-IPC-6, MK-IPC-5: the reply right has Grant when the receiver cap has Grant, and then a Reply can carry a cap', () => {
    let sys = callWorld('WP', 'RG');
    sys = by(sys, 's', SYSCALL.RECV, { 1: EP }).system;
    sys = by(sys, 'c', SYSCALL.NB_RECV, { 1: EP, 11: 7 }).system; // an earlier receive named slot 7...
    sys = by(sys, 'c', SYSCALL.CALL, { ...send(7), 11: 6 }).system; // ...but the Call's reply is received into slot 6
    expect(tcbOf(sys, 's').caller).toEqual({ caller: tid(sys, 'c'), canGrant: true });
    sys = by(sys, 's', SYSCALL.REPLY, { 2: info(0, 0, 1), 11: 2 }).system;
    expect(capOf(sys, 'c', 6)).toEqual(capOf(sys, 's', 2));
    expect(slotOf(sys, 'c', 7)).toBeNull();
    expect(infoOf(sys, 'c').extraCaps).toBe(1);
    // Without Grant on the receiver's cap, the same reply moves no cap.
    let plain = callWorld('WG', 'RW');
    plain = by(plain, 's', SYSCALL.RECV, { 1: EP }).system;
    plain = by(plain, 'c', SYSCALL.CALL, { ...send(7), 11: 6 }).system;
    plain = by(plain, 's', SYSCALL.REPLY, { 2: info(0, 0, 1), 11: 2 }).system;
    expect(slotOf(plain, 'c', 6)).toBeNull();
    expect(infoOf(plain, 'c').extraCaps).toBe(0);
    expectClean(sys);
    expectClean(plain);
  });

  it('MK-IPC-6: a new reply right replaces an unused older one, whose caller stays blocked', () => {
    let sys = world([
      { name: 's', priority: 3 },
      { name: 'c1', priority: 2 },
      { name: 'c2', priority: 1 },
    ]);
    sys = by(sys, 's', SYSCALL.RECV, { 1: EP }).system;
    sys = by(sys, 'c1', SYSCALL.CALL, send(1)).system;
    sys = by(sys, 's', SYSCALL.RECV, { 1: EP }).system; // without replying
    sys = by(sys, 'c2', SYSCALL.CALL, send(2)).system;
    expect(tcbOf(sys, 's').caller?.caller).toBe(tid(sys, 'c2'));
    const r = by(sys, 's', SYSCALL.REPLY, { 2: info(5) });
    expect(r.observations.map((o) => o.subject)).toEqual(['c2']);
    expect(stateOf(r.system, 'c1')).toBe('blockedOnReply');
    expect(stateOf(r.system, 'c2')).toBe('running');
    expectClean(r.system);
  });

  it('MK-IPC-6: Reply consumes the right: a second Reply reaches nobody, even a caller now blocked on another server', () => {
    let sys = world([
      { name: 's1', priority: 4 },
      { name: 's2', priority: 3, caps: [{ slot: 1, object: 'ep2' }, { slot: 2, object: 'ep' }] },
      { name: 'c', priority: 2, caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'ep2' }] },
    ]);
    sys = by(sys, 's1', SYSCALL.RECV, { 1: EP }).system;
    sys = by(sys, 's2', SYSCALL.RECV, { 1: 1 }).system;
    sys = by(sys, 'c', SYSCALL.CALL, send(1)).system; // to s1
    const first = by(sys, 's1', SYSCALL.REPLY, { 2: info(11) });
    expect(first.observations.map((o) => o.subject)).toEqual(['c']);
    sys = first.system;
    expect(tcbOf(sys, 's1').caller).toBeNull();
    sys = by(sys, 's1', SYSCALL.RECV, { 1: EP }).system;
    sys = by(sys, 'c', SYSCALL.CALL, send(2, [], 2)).system; // to s2, who now holds a right to c
    sys = by(sys, 's2', SYSCALL.SEND, send(3, [], 2)).system; // wakes s1 with a plain message
    const second = by(sys, 's1', SYSCALL.REPLY, { 2: info(12) });
    expect(second.observations).toEqual([]);
    expect(stateOf(second.system, 'c')).toBe('blockedOnReply');
    expect(tcbOf(second.system, 's2').caller?.caller).toBe(tid(second.system, 'c'));
    expectClean(second.system);
  });

  it('MK-IPC-6: a Reply with no right does nothing', () => {
    const sys = world([{ name: 'a', priority: 1 }, { name: 'b', priority: 1 }]);
    const r = by(sys, 'a', SYSCALL.REPLY, { 2: info(3, 1), 3: 1 });
    expect(r.observations).toEqual([]);
    expect(r.lifecycle).toEqual([]);
    const strip = (s: MicrokernelSystem) => ({ ...s.state, objects: s.state.objects.map((o) => (o?.type === 'tcb' ? { ...o, context: null } : o)) });
    expect(strip(r.system)).toEqual(strip(sys));
    expect(regsOf(r.system, 'a')[2]).toBe(info(3, 1)); // no error either
    expectClean(r.system);
  });
});

describe('MK-IPC-7..10 non-blocking IPC and cancellation', () => {
  it('MK-IPC-7: NBSend with no receiver waiting drops the message', () => {
    let sys = world([{ name: 's', priority: 2, caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'ep2' }] }, { name: 'r', priority: 1 }]);
    const r = by(sys, 's', SYSCALL.NB_SEND, send(3, [1]));
    expect(r.observations).toEqual([]);
    sys = r.system;
    expect(stateOf(sys, 's')).toBe('running');
    expect(epQueue(sys, 's')).toEqual({ kind: 'idle' });
    sys = by(sys, 's', SYSCALL.RECV, { 1: 2 }).system;
    sys = by(sys, 'r', SYSCALL.RECV, { 1: EP }).system;
    expect(stateOf(sys, 'r')).toBe('blockedOnReceive'); // nothing was kept for it
    expectClean(sys);
  });

  it('MK-IPC-7: NBRecv with no sender waiting returns badge 0 and info 0', () => {
    const sys = world([{ name: 'r' }]);
    const after = by(sys, 'r', SYSCALL.NB_RECV, { 1: EP, 2: 0xffff, 3: 5 }).system;
    expect(regsOf(after, 'r').slice(1, 4)).toEqual([0, 0, 5]);
    expect(stateOf(after, 'r')).toBe('running');
    expect(epQueue(after, 'r')).toEqual({ kind: 'idle' });
    expectClean(after);
  });

  it('MK-CAP-8, MK-IPC-8: destroying an endpoint restarts every thread queued on it; they re-execute their system call', () => {
    const sender = `
        li r1, 1
        li r2, ${info(1)}
        svc #${SYSCALL.SEND}
        mov r9, r2
        li r1, 2
        svc #${SYSCALL.RECV}`;
    const caps = [{ slot: 1, object: 'ep', rights: 'W' }, { slot: 2, object: 'ep2' }];
    let sys = world([
      { name: 'm', priority: 1, caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'm.cspace' }] }, // the original cap
      { name: 's1', priority: 3, program: sender, caps },
      { name: 's2', priority: 2, program: sender, caps },
    ]);
    sys = runUntil(sys, 0, (s) => running(s) === 'm');
    expect(epQueue(sys, 'm')).toEqual({ kind: 'send', threads: [tid(sys, 's1'), tid(sys, 's2')] });
    sys = invokeOk(sys, 0, 2, INVOCATION.CNODE_REVOKE, [1]); // the senders' caps, children of m's
    expect(epQueue(sys, 'm').kind).toBe('send');
    const r = by(sys, 'm', SYSCALL.CALL, { 1: 2, 2: info(INVOCATION.CNODE_DELETE, 1), 3: 1 }); // the last cap
    expect(r.lifecycle.filter((t) => t.event === 'CANCEL').map((t) => `${t.subject}:${t.from}:${t.to}`)).toEqual([
      's1:blockedOnSend:restart',
      's2:blockedOnSend:restart',
    ]);
    sys = r.system;
    expect(sys.state.objects.some((o) => o?.type === 'endpoint' && o.queue.kind !== 'idle')).toBe(false);
    // Restarted, each re-executes its Send, now on an empty slot, and then waits on ep2.
    sys = runUntil(sys, 0, (s) => running(s) === 'm');
    for (const t of ['s1', 's2']) expect(regsOf(sys, t)[9], t).toBe(errorInfo(ERROR.INVALID_CAPABILITY));
    expectClean(sys);
  });

  it('MK-IPC-9: CancelBadgedSends restarts only the senders queued with that badge', () => {
    let sys = world([
      { name: 's1', priority: 5, caps: [{ slot: 1, object: 'ep', badge: 1 }] },
      { name: 's2', priority: 4, caps: [{ slot: 1, object: 'ep', badge: 2 }] },
      { name: 's3', priority: 3, caps: [{ slot: 1, object: 'ep', badge: 1 }] },
      { name: 'm', priority: 1, caps: [{ slot: 1, object: 'ep', badge: 1 }, { slot: 2, object: 'm.cspace' }, { slot: 3, object: 'ep' }] },
    ]);
    for (const s of ['s1', 's2', 's3']) sys = by(sys, s, SYSCALL.SEND, send(1)).system;
    sys = invokeOk(sys, 0, 2, INVOCATION.CNODE_CANCEL_BADGED_SENDS, [3]); // unbadged: nothing to cancel
    expect(epQueue(sys, 'm').kind).toBe('send');
    const r = by(sys, 'm', SYSCALL.CALL, { 1: 2, 2: info(INVOCATION.CNODE_CANCEL_BADGED_SENDS, 1), 3: 1 });
    expect(r.lifecycle.filter((t) => t.event === 'CANCEL').map((t) => t.subject)).toEqual(['s1', 's3']);
    expect(epQueue(r.system, 'm')).toEqual({ kind: 'send', threads: [tid(r.system, 's2')] });
    expect(stateOf(r.system, 's3')).toBe('restart');
    expectClean(r.system);
  });

  it('MK-IPC-9, MK-CAP-9: revoking a badged endpoint cap cancels the sends queued with its badge', () => {
    let sys = world([
      { name: 's1', priority: 5, caps: [{ slot: 1, object: 'ep', badge: 1 }] },
      { name: 's2', priority: 4, caps: [{ slot: 1, object: 'ep', badge: 2 }] },
      { name: 'm', priority: 1, caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'm.cspace' }, { slot: 3, object: 'ep', badge: 1 }] },
    ]);
    for (const s of ['s1', 's2']) sys = by(sys, s, SYSCALL.SEND, send(1)).system;
    const r = by(sys, 'm', SYSCALL.CALL, { 1: 2, 2: info(INVOCATION.CNODE_REVOKE, 1), 3: 3 });
    expect(r.lifecycle.filter((t) => t.event === 'CANCEL').map((t) => t.subject)).toEqual(['s1']);
    expect(epQueue(r.system, 'm')).toEqual({ kind: 'send', threads: [tid(r.system, 's2')] });
    expectClean(r.system);
  });

  it('MK-IPC-10: suspending a thread takes it out of the queue it waits in, keeping the others in order', () => {
    let sys = world([
      { name: 's1', priority: 5 },
      { name: 's2', priority: 4 },
      { name: 's3', priority: 3 },
      { name: 'm', priority: 1, caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 's2.tcb' }] },
    ]);
    for (const s of ['s1', 's2', 's3']) sys = by(sys, s, SYSCALL.SEND, send(1)).system;
    sys = invokeOk(sys, 0, 2, INVOCATION.TCB_SUSPEND);
    expect(epQueue(sys, 'm')).toEqual({ kind: 'send', threads: [tid(sys, 's1'), tid(sys, 's3')] });
    expect(stateOf(sys, 's2')).toBe('inactive');
    expectClean(sys);
  });

  it('MK-IPC-10: suspending a thread waiting for a reply kills every reply right that names it', () => {
    let sys = world([
      { name: 's', priority: 3 },
      { name: 'c', priority: 2 },
      { name: 'm', priority: 1, caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'c.tcb' }] },
    ]);
    sys = by(sys, 's', SYSCALL.RECV, { 1: EP }).system;
    sys = by(sys, 'c', SYSCALL.CALL, send(1)).system;
    sys = by(sys, 's', SYSCALL.RECV, { 1: EP }).system;
    expect(tcbOf(sys, 's').caller?.caller).toBe(tid(sys, 'c'));
    sys = invokeOk(sys, 0, 2, INVOCATION.TCB_SUSPEND);
    expect(tcbOf(sys, 's').caller).toBeNull();
    sys = invokeOk(sys, 0, 2, INVOCATION.TCB_RESUME); // c restarts; the old right must not reach it
    expect(stateOf(sys, 'c')).not.toBe('blockedOnReply');
    expectClean(sys);
  });
});

describe('MK-NTFN notifications', () => {
  const N = 1;
  const ntfnWorld = (threads: ThreadSpec[]) => world(threads.map((t) => ({ caps: [{ slot: N, object: 'n' }], ...t })));

  it('MK-NTFN-1: Signal delivers the cap badge to the first waiting thread', () => {
    let sys = ntfnWorld([
      { name: 'w1', priority: 3 },
      { name: 'w2', priority: 2 },
      { name: 's', priority: 1, caps: [{ slot: N, object: 'n', badge: 0x40 }] },
    ]);
    sys = by(sys, 'w1', SYSCALL.RECV, { 1: N }).system;
    sys = by(sys, 'w2', SYSCALL.RECV, { 1: N }).system;
    expect(ntfnOf(sys, 's', N).waiting).toEqual([tid(sys, 'w1'), tid(sys, 'w2')]);
    const r = by(sys, 's', SYSCALL.SEND, { 1: N, 2: info(0) });
    expect(r.observations).toEqual([expect.objectContaining({ subject: 'w1', kind: 'signal', values: [0x40] })]);
    sys = r.system;
    expect(regsOf(sys, 'w1')[1]).toBe(0x40);
    expect(stateOf(sys, 'w2')).toBe('blockedOnNotification');
    expect(ntfnOf(sys, 's', N)).toEqual(expect.objectContaining({ word: 0, waiting: [tid(sys, 'w2')] }));
    expectClean(sys);
  });

  it('MK-NTFN-1, MK-NTFN-2: with nobody waiting Signal ORs the badge into the word; Wait returns and clears it', () => {
    let sys = ntfnWorld([{ name: 'a', caps: [{ slot: N, object: 'n' }, { slot: 2, object: 'n', badge: 1 }, { slot: 3, object: 'n', badge: 4 }] }]);
    sys = by(sys, 'a', SYSCALL.SEND, { 1: 2, 2: info(0) }).system;
    sys = by(sys, 'a', SYSCALL.SEND, { 1: 3, 2: info(0) }).system;
    sys = by(sys, 'a', SYSCALL.SEND, { 1: 2, 2: info(0) }).system;
    expect(ntfnOf(sys, 'a', N).word).toBe(5);
    sys = by(sys, 'a', SYSCALL.RECV, { 1: N }).system;
    expect(regsOf(sys, 'a')[1]).toBe(5);
    expect(stateOf(sys, 'a')).toBe('running');
    expect(ntfnOf(sys, 'a', N).word).toBe(0);
    sys = by(sys, 'a', SYSCALL.NB_RECV, { 1: N, 2: 7 }).system; // Poll on a zero word
    expect(regsOf(sys, 'a').slice(1, 3)).toEqual([0, 0]);
    sys = by(sys, 'a', SYSCALL.RECV, { 1: N }).system; // Wait on a zero word blocks
    expect(stateOf(sys, 'a')).toBe('blockedOnNotification');
    expectClean(sys);
  });

  it('MK-NTFN-1, MK-NTFN-3: Signal wakes the bound thread blocked receiving on an endpoint, with the badge', () => {
    let sys = ntfnWorld([
      { name: 't', priority: 2, caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'n' }, { slot: 3, object: 't.tcb' }] },
      { name: 's', priority: 1, caps: [{ slot: N, object: 'n', badge: 2 }] },
    ]);
    sys = invokeOk(sys, 0, 3, INVOCATION.TCB_BIND_NOTIFICATION, [], { xcap: 2 });
    sys = by(sys, 't', SYSCALL.RECV, { 1: EP }).system;
    const r = by(sys, 's', SYSCALL.SEND, { 1: N, 2: info(0) });
    sys = r.system;
    expect(running(sys)).toBe('t');
    expect(regsOf(sys, 't').slice(1, 3)).toEqual([2, 0]);
    expect(epQueue(sys, 't')).toEqual({ kind: 'idle' });
    expect(ntfnOf(sys, 's', N).word).toBe(0);
    expectClean(sys);
  });

  it('MK-NTFN-3: a bound thread that receives on an endpoint gets a pending signal instead of a message', () => {
    let sys = ntfnWorld([
      { name: 's', priority: 3, caps: [{ slot: 1, object: 'ep' }, { slot: N + 1, object: 'n', badge: 8 }] },
      { name: 't', priority: 2, caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'n' }, { slot: 3, object: 't.tcb' }] },
    ]);
    sys = by(sys, 's', SYSCALL.SEND, { 1: 2, 2: info(0) }).system; // signal first: the word is 8
    sys = by(sys, 's', SYSCALL.SEND, send(5)).system; // then a message waits on the endpoint
    sys = invokeOk(sys, 0, 3, INVOCATION.TCB_BIND_NOTIFICATION, [], { xcap: 2 });
    sys = by(sys, 't', SYSCALL.RECV, { 1: EP }).system;
    expect(regsOf(sys, 't').slice(1, 3)).toEqual([8, 0]);
    expect(stateOf(sys, 's')).toBe('blockedOnSend'); // its message is still queued
    sys = by(sys, 't', SYSCALL.RECV, { 1: EP }).system; // the next receive gets it
    expect(infoOf(sys, 't').label).toBe(5);
    expectClean(sys);
  });

  it('MK-NTFN-3, MK-ABI-4: a TCB binds to one notification and a notification to one TCB; bad binds change nothing', () => {
    let sys = world([
      { name: 'a', caps: [{ slot: 1, object: 'n' }, { slot: 2, object: 'a.tcb' }, { slot: 3, object: 'b.tcb' }, { slot: 4, object: 'n2' }, { slot: 5, object: 'n2', rights: 'W' }, { slot: 6, object: 'ep' }] },
      { name: 'b', start: false },
    ], { objects: [{ name: 'ep', type: 'endpoint' }, { name: 'ep2', type: 'endpoint' }, { name: 'n', type: 'notification' }, { name: 'n2', type: 'notification' }] });
    expectInvocationRejected(sys, 0, 2, INVOCATION.TCB_BIND_NOTIFICATION, [], ERROR.INVALID_CAPABILITY, { xcap: 5 }); // no Read
    expectInvocationRejected(sys, 0, 2, INVOCATION.TCB_BIND_NOTIFICATION, [], ERROR.INVALID_CAPABILITY, { xcap: 6 }); // not a notification
    expectInvocationRejected(sys, 0, 2, INVOCATION.TCB_BIND_NOTIFICATION, [], ERROR.FAILED_LOOKUP, { xcap: 16 });
    sys = invokeOk(sys, 0, 2, INVOCATION.TCB_BIND_NOTIFICATION, [], { xcap: 1 });
    expect(tcbOf(sys, 'a').boundNotification).toBe(objOf(sys, 'a', 1));
    expect(ntfnOf(sys, 'a', 1).boundTcb).toBe(tid(sys, 'a'));
    expectInvocationRejected(sys, 0, 2, INVOCATION.TCB_BIND_NOTIFICATION, [], ERROR.ILLEGAL_OPERATION, { xcap: 4 }); // a is bound
    expectInvocationRejected(sys, 0, 3, INVOCATION.TCB_BIND_NOTIFICATION, [], ERROR.ILLEGAL_OPERATION, { xcap: 1 }); // n is bound
    sys = invokeOk(sys, 0, 2, INVOCATION.TCB_UNBIND_NOTIFICATION);
    expect(ntfnOf(sys, 'a', 1).boundTcb).toBeNull();
    sys = invokeOk(sys, 0, 3, INVOCATION.TCB_BIND_NOTIFICATION, [], { xcap: 1 });
    expect(tcbOf(sys, 'b').boundNotification).toBe(objOf(sys, 'a', 1));
    expectClean(sys);
  });

  it('MK-CAP-8, MK-NTFN-4: destroying a notification restarts its waiters', () => {
    let sys = ntfnWorld([
      { name: 'm', priority: 1, caps: [{ slot: N, object: 'n' }, { slot: 2, object: 'm.cspace' }] }, // the original cap
      { name: 'w1', priority: 3, caps: [{ slot: N, object: 'n', rights: 'R' }] },
      { name: 'w2', priority: 2, caps: [{ slot: N, object: 'n', rights: 'R' }] },
    ]);
    sys = by(sys, 'w1', SYSCALL.RECV, { 1: N }).system;
    sys = by(sys, 'w2', SYSCALL.RECV, { 1: N }).system;
    sys = invokeOk(sys, 0, 2, INVOCATION.CNODE_REVOKE, [N]);
    const r = by(sys, 'm', SYSCALL.CALL, { 1: 2, 2: info(INVOCATION.CNODE_DELETE, 1), 3: N });
    expect(r.lifecycle.filter((t) => t.event === 'CANCEL').map((t) => `${t.subject}:${t.from}:${t.to}`)).toEqual([
      'w1:blockedOnNotification:restart',
      'w2:blockedOnNotification:restart',
    ]);
    expect(r.system.state.objects.some((o) => o?.type === 'notification' && o.waiting.length > 0)).toBe(false);
    expectClean(r.system);
  });
});
