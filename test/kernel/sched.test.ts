/**
 * Scheduling, rule by rule (spec/microkernel.md §9 MK-SCHED-*): priorities and the ready
 * queue, round robin by timer ticks (a `tick` event, then an `exec` step that takes the
 * timer interrupt), Yield, the idle thread, the static domain schedule, the exit path, and
 * what one CPU does to another (IPIs, stopping a thread that runs remotely).
 */
import { describe, expect, it } from 'vitest';
import { SYS } from '../../src/hw/index.ts';
import { ERROR, INVOCATION, SYSCALL, type KernelScenario, type ThreadSpec } from '../../src/kernel/index.ts';
import type { MicrokernelSystem } from '../../src/system/index.ts';
import { boot, info, MK_MACHINE, running, stepMk, tcbOf } from './fixtures.ts';
import { by, expectClean, expectInvocationRejected, invokeOk, MK_MACHINE_2CPU, regsOf, run, stateOf, tid, timerTick } from './unit-helpers.ts';

const LOOP = 'loop: b loop';

/** Runs `n` timer ticks on `cpu`, returning the thread running after each. */
function ticks(sys: MicrokernelSystem, cpu: number, n: number): { sys: MicrokernelSystem; runs: (string | null)[] } {
  let s = sys;
  const runs: (string | null)[] = [];
  for (let i = 0; i < n; i++) {
    const r = timerTick(s, cpu);
    expect(r.trap?.kind).toBe('irq');
    s = r.system;
    runs.push(running(s, cpu));
  }
  return { sys: s, runs };
}

const names = (sys: MicrokernelSystem, ids: readonly number[]) => ids.map((id) => (sys.state.objects[id] as { name: string }).name);

describe('MK-SCHED-1..2 choosing a thread', () => {
  it('MK-SCHED-1: each CPU runs one current thread or its idle thread', () => {
    let sys = boot({ threads: [{ name: 'a', cpu: 0 }, { name: 'b', cpu: 0 }] }, MK_MACHINE_2CPU);
    expect([running(sys, 0), running(sys, 1)]).toEqual(['a', null]);
    expect(sys.machine.cpus[1]).toEqual(expect.objectContaining({ el: 1, waiting: true, pc: sys.state.config.idlePc }));
    expect(sys.state.ready).toEqual([tid(sys, 'b')]);
    sys = boot({ threads: [{ name: 'a', cpu: 0, start: false }] }, MK_MACHINE_2CPU);
    expect(sys.state.cpus.map((c) => c.current)).toEqual([null, null]);
    expectClean(sys);
  });

  it('MK-SCHED-2: each CPU runs its highest-priority runnable thread with its affinity', () => {
    const sys = boot({
      threads: [
        { name: 'low', priority: 1 },
        { name: 'high', priority: 5 },
        { name: 'mid', priority: 3 },
        { name: 'other', priority: 9, cpu: 1 },
        { name: 'stopped', priority: 200, start: false },
      ],
    }, MK_MACHINE_2CPU);
    expect([running(sys, 0), running(sys, 1)]).toEqual(['high', 'other']);
    expectClean(sys);
  });

  it('MK-SCHED-2: among equal priorities the first in the ready queue runs', () => {
    let sys = boot({ objects: [{ name: 'n', type: 'notification' }], threads: ['a', 'b', 'c'].map((name) => ({ name, priority: 2, caps: [{ slot: 1, object: 'n' }] })) });
    expect(running(sys)).toBe('a');
    sys = by(sys, 'a', SYSCALL.RECV, { 1: 1 }).system;
    expect(running(sys)).toBe('b');
    expect(names(sys, sys.state.ready)).toEqual(['c']);
    expectClean(sys);
  });

  it('MK-SCHED-2: a running thread keeps its CPU unless a strictly higher priority is ready; a preempted one goes to the head', () => {
    let sys = boot({
      objects: [{ name: 'n', type: 'notification' }],
      threads: [
        { name: 'a', priority: 2, caps: [{ slot: 1, object: 'b.tcb' }, { slot: 2, object: 'c.tcb' }, { slot: 3, object: 'n' }] },
        { name: 'x', priority: 2 },
        { name: 'b', priority: 2, start: false },
        { name: 'c', priority: 3, start: false, caps: [{ slot: 1, object: 'n' }] },
      ],
    });
    sys = invokeOk(sys, 0, 1, INVOCATION.TCB_RESUME); // an equal: a stays
    expect(running(sys)).toBe('a');
    expect(names(sys, sys.state.ready)).toEqual(['x', 'b']);
    const r = by(sys, 'a', SYSCALL.CALL, { 1: 2, 2: info(INVOCATION.TCB_RESUME) }); // a higher one: a is preempted
    sys = r.system;
    expect(running(sys)).toBe('c');
    expect(names(sys, sys.state.ready)).toEqual(['a', 'x', 'b']);
    sys = by(sys, 'c', SYSCALL.RECV, { 1: 1 }).system; // c waits: a, at the head, runs again
    expect(running(sys)).toBe('a');
    expectClean(sys);
  });

  it('MK-SCHED-2, MK-ABI-3: TCB_SetPriority reschedules at once; a priority above 255 is a RANGE_ERROR that changes nothing', () => {
    let sys = boot({
      threads: [
        { name: 'a', priority: 5, caps: [{ slot: 1, object: 'b.tcb' }, { slot: 2, object: 'a.tcb' }] },
        { name: 'b', priority: 4 },
      ],
    });
    expectInvocationRejected(sys, 0, 1, INVOCATION.TCB_SET_PRIORITY, [256], ERROR.RANGE_ERROR);
    expectInvocationRejected(sys, 0, 1, INVOCATION.TCB_SET_PRIORITY, [0xffffffff], ERROR.RANGE_ERROR);
    sys = invokeOk(sys, 0, 2, INVOCATION.TCB_SET_PRIORITY, [3]); // a lowers itself below b
    expect(running(sys)).toBe('b');
    expect(tcbOf(sys, 'a').priority).toBe(3);
    expectClean(sys);
  });
});

describe('MK-SCHED-3 time slices and Yield', () => {
  const roundRobin = (extra: Partial<KernelScenario> = {}) =>
    boot({ threads: ['a', 'b', 'c'].map((name) => ({ name, priority: 1, program: LOOP })), ...extra });

  it('MK-SCHED-3: a tick takes one from the time slice; at zero it is refilled and the thread goes to the tail of the queue', () => {
    let sys = roundRobin();
    const first = ticks(sys, 0, 4);
    expect(first.runs).toEqual(['a', 'a', 'a', 'a']);
    sys = first.sys;
    expect(tcbOf(sys, 'a').timeslice).toBe(1);
    sys = ticks(sys, 0, 1).sys;
    expect(running(sys)).toBe('b');
    expect(tcbOf(sys, 'a').timeslice).toBe(5);
    expect(names(sys, sys.state.ready)).toEqual(['c', 'a']);
    const rest = ticks(sys, 0, 10);
    expect(rest.runs).toEqual(['b', 'b', 'b', 'b', 'c', 'c', 'c', 'c', 'c', 'a']);
    expectClean(rest.sys);
  });

  it('MK-SCHED-3: the time slice is the scenario kernel.timeslice; a thread alone keeps running', () => {
    const sys = roundRobin({ kernel: { timeslice: 2 } });
    expect(ticks(sys, 0, 6).runs).toEqual(['a', 'b', 'b', 'c', 'c', 'a']);
    const alone = boot({ threads: [{ name: 'a', program: LOOP }] });
    const ran = ticks(alone, 0, 7);
    expect(ran.runs).toEqual(Array(7).fill('a'));
    expect(tcbOf(ran.sys, 'a').timeslice).toBe(3);
    expectClean(ran.sys);
  });

  it('MK-SCHED-3: only the running thread spends its time slice', () => {
    let sys = roundRobin();
    sys = ticks(sys, 0, 3).sys;
    expect(['a', 'b', 'c'].map((t) => tcbOf(sys, t).timeslice)).toEqual([2, 5, 5]);
    expectClean(sys);
  });

  it('MK-ENTRY-3, MK-SCHED-3: Yield goes to the tail at once without refilling the slice; the next of the same priority runs', () => {
    let sys = roundRobin();
    sys = ticks(sys, 0, 2).sys;
    expect(tcbOf(sys, 'a').timeslice).toBe(3);
    sys = by(sys, 'a', SYSCALL.YIELD).system;
    expect(running(sys)).toBe('b');
    expect(names(sys, sys.state.ready)).toEqual(['c', 'a']);
    // seL4's handleYield leaves the slice as it was.
    expect(tcbOf(sys, 'a').timeslice).toBe(3);
    // A lower priority does not get the CPU from a yield.
    let two = boot({ threads: [{ name: 'a', priority: 2, program: LOOP }, { name: 'b', priority: 1, program: LOOP }] });
    two = by(two, 'a', SYSCALL.YIELD).system;
    expect(running(two)).toBe('a');
    expectClean(sys);
  });
});

describe('MK-SCHED-4..6 idle, domains, exit', () => {
  it('MK-SCHED-4: a CPU with nothing to run waits in WFI at EL1 with IRQs unmasked; the next interrupt enters the kernel', () => {
    let sys = boot({ objects: [{ name: 'n', type: 'notification' }], threads: [{ name: 'a', caps: [{ slot: 1, object: 'n' }] }] });
    sys = by(sys, 'a', SYSCALL.RECV, { 1: 1 }).system;
    expect(sys.machine.cpus[0]).toEqual(expect.objectContaining({ el: 1, waiting: true, irqMasked: false, pc: sys.state.config.idlePc }));
    const nothing = stepMk(sys, { kind: 'exec', cpu: 0 });
    expect(nothing.trap).toBeNull();
    expect(nothing.record?.status).toBe('waiting');
    const r = timerTick(sys, 0);
    expect(r.trap).toEqual(expect.objectContaining({ kind: 'irq', from: 1 }));
    expect(r.system.machine.cpus[0]!.sys[SYS.CNTP_CVAL]).toBe(r.system.machine.cpus[0]!.counter + 1); // the next tick
    expect(r.system.machine.cpus[0]).toEqual(expect.objectContaining({ el: 1, waiting: true }));
    expectClean(r.system);
  });

  describe('MK-SCHED-5 domain schedule', () => {
    const partitioned = (threads: ThreadSpec[], config = MK_MACHINE) =>
      boot(
        {
          domains: ['d0', 'd1'],
          kernel: { domainSchedule: [{ domain: 'd0', ticks: 2 }, { domain: 'd1', ticks: 3 }] },
          objects: [{ name: 'n', type: 'notification' }],
          threads,
        },
        config,
      );

    it('MK-SCHED-5: only the current slot domain runs, whatever the priorities; CPU 0 ticks advance the slots, cycling', () => {
      const sys = partitioned([
        { name: 'x', domain: 'd0', priority: 1, program: LOOP },
        { name: 'y', domain: 'd1', priority: 9, program: LOOP },
      ]);
      expect(running(sys)).toBe('x');
      const r = ticks(sys, 0, 10);
      expect(r.runs).toEqual(['x', 'y', 'y', 'y', 'x', 'x', 'y', 'y', 'y', 'x']);
      expectClean(r.sys);
    });

    it('MK-SCHED-5: the schedule does not depend on what threads do: a domain with nothing to run leaves the CPU idle', () => {
      let sys = partitioned([
        { name: 'x', domain: 'd0', priority: 1, caps: [{ slot: 1, object: 'n' }] },
        { name: 'y', domain: 'd1', priority: 9, program: LOOP },
      ]);
      sys = by(sys, 'x', SYSCALL.YIELD).system;
      expect(running(sys)).toBe('x');
      sys = by(sys, 'x', SYSCALL.RECV, { 1: 1 }).system;
      expect(running(sys)).toBeNull(); // y is runnable, but it is not d1's turn
      expect(sys.state.domainIndex).toBe(0);
      const r = ticks(sys, 0, 6);
      expect(r.runs).toEqual([null, 'y', 'y', 'y', null, null]);
      expectClean(r.sys);
    });

    it('MK-SCHED-5: ticks of other CPUs do not advance the domain schedule', () => {
      const sys = partitioned(
        [
          { name: 'x', domain: 'd0', program: LOOP },
          { name: 'y', domain: 'd1', program: LOOP },
          { name: 'x1', domain: 'd0', cpu: 1, program: LOOP },
        ],
        MK_MACHINE_2CPU,
      );
      const r = ticks(sys, 1, 5);
      expect(r.runs).toEqual(Array(5).fill('x1'));
      expect([r.sys.state.domainIndex, r.sys.state.domainTicksLeft]).toEqual([0, 2]);
      expect(running(r.sys, 0)).toBe('x');
      expectClean(r.sys);
    });
  });

  it('MK-SCHED-6: the exit restores registers and pc at EL0 with IRQs unmasked, and switches TTBR0 only for another address space', () => {
    let sys = boot({
      threads: [
        { name: 'a', priority: 1, regs: { r4: 4 }, caps: [{ slot: 1, object: 'b.tcb' }] },
        { name: 'b', priority: 1, regs: { r5: 5 }, origin: 0x200 },
        { name: 'c', priority: 1, regs: { r6: 6 } },
      ],
    });
    // b moves into a's address space.
    sys = invokeOk(sys, 0, 1, INVOCATION.TCB_CONFIGURE, [0xffffffff, 0xffffffff, 15, 0xffffffff, 0xffffffff]);
    const ab = by(sys, 'a', SYSCALL.YIELD);
    expect(running(ab.system)).toBe('b');
    expect(ab.ops).not.toContain('addressSpaceSwitch');
    const cpu = ab.system.machine.cpus[0]!;
    expect(cpu).toEqual(expect.objectContaining({ el: 0, irqMasked: false, pc: 0x200 }));
    expect(cpu.regs[5]).toBe(5);
    expect(cpu.sys[SYS.ELR_EL1]).toBe(0x200);
    const bc = by(ab.system, 'b', SYSCALL.YIELD);
    expect(running(bc.system)).toBe('c');
    expect(bc.ops).toContain('addressSpaceSwitch');
    expect(bc.system.machine.cpus[0]!.regs[6]).toBe(6);
    expectClean(bc.system);
  });
});

describe('MK-SCHED-7 other CPUs', () => {
  const remote = (extra: ThreadSpec[] = []) =>
    boot(
      {
        domains: ['d0', 'd1'],
        threads: [
          { name: 'm', cpu: 0, domain: 'd0', caps: [{ slot: 1, object: 't.tcb' }, { slot: 2, object: 'u.tcb' }] },
          { name: 't', cpu: 1, domain: 'd1', priority: 1, program: 'li r7, 7\nloop: addi r8, r8, 1\nb loop' },
          { name: 'u', cpu: 1, domain: 'd1', priority: 5, start: false, program: LOOP },
          ...extra,
        ],
      },
      MK_MACHINE_2CPU,
    );

  it('MK-SCHED-7: before changing a thread that runs on another CPU the kernel saves its live context and parks that CPU with an IPI', () => {
    let sys = run(remote(), 1, 6);
    const live = sys.machine.cpus[1]!;
    expect(live.regs[7]).toBe(7);
    const r = by(sys, 'm', SYSCALL.CALL, { 1: 1, 2: info(INVOCATION.TCB_SUSPEND) });
    sys = r.system;
    expect(r.ops).toEqual(expect.arrayContaining(['regSave', 'ipi']));
    expect(tcbOf(sys, 't').context.regs).toEqual(live.regs);
    expect(tcbOf(sys, 't').context.pc).toBe(live.pc);
    expect(stateOf(sys, 't')).toBe('inactive');
    expect(sys.state.cpus[1]!.current).toBeNull();
    expect(sys.machine.cpus[1]).toEqual(expect.objectContaining({ el: 1, waiting: true }));
    expect(sys.machine.gic.ipiPending & 2).toBe(2);
    // Resumed, it carries on where it was, with its registers.
    sys = invokeOk(sys, 0, 1, INVOCATION.TCB_RESUME);
    sys = run(sys, 1, 1); // takes the IPI
    expect(running(sys, 1)).toBe('t');
    expect(sys.machine.cpus[1]!.pc).toBe(live.pc);
    expect(regsOf(sys, 't')[8]).toBe(live.regs[8]);
    expectClean(sys);
  });

  it('MK-SCHED-7: TCB_WriteRegisters on a thread running elsewhere changes its saved context, which it resumes with', () => {
    let sys = run(remote(), 1, 4);
    sys = invokeOk(sys, 0, 1, INVOCATION.TCB_WRITE_REGISTERS, [8, 1, 1000]);
    expect(tcbOf(sys, 't').context.regs[8]).toBe(1000);
    expect(running(sys, 1)).toBeNull();
    sys = run(sys, 1, 1);
    expect(running(sys, 1)).toBe('t');
    expect(sys.machine.cpus[1]!.regs[8]).toBe(1000);
    expectClean(sys);
  });

  it('MK-SCHED-7: after an entry, a CPU that should run something else is sent an IPI', () => {
    let sys = run(remote(), 1, 3);
    const r = by(sys, 'm', SYSCALL.CALL, { 1: 2, 2: info(INVOCATION.TCB_RESUME) }); // u outranks t on CPU 1
    sys = r.system;
    expect(r.ops).toContain('ipi');
    expect(sys.machine.gic.ipiPending & 2).toBe(2);
    expect(running(sys, 1)).toBe('t'); // until CPU 1 takes the IPI
    const taken = stepMk(sys, { kind: 'exec', cpu: 1 });
    expect(taken.trap).toEqual(expect.objectContaining({ kind: 'irq' }));
    expect(running(taken.system, 1)).toBe('u');
    expect(names(taken.system, taken.system.state.ready)).toEqual(['t']);
    // Nothing to change on CPU 1: no IPI.
    const quiet = by(taken.system, 'm', SYSCALL.YIELD);
    expect(quiet.ops).not.toContain('ipi');
    expectClean(taken.system);
  });

  it('MK-SCHED-7: a crash of a domain stops its thread running on another CPU the same way', () => {
    const sys = run(remote(), 1, 3);
    const r = stepMk(sys, { kind: 'inject', fault: { kind: 'crash', domain: 'd1' } });
    expect(r.error).toBeNull();
    expect(stateOf(r.system, 't')).toBe('inactive');
    expect(r.system.state.cpus[1]!.current).toBeNull();
    expect(r.system.machine.cpus[1]).toEqual(expect.objectContaining({ el: 1, waiting: true }));
    expect(running(r.system, 0)).toBe('m');
    expectClean(r.system);
  });

  it('MK-SCHED-2, MK-SCHED-7: a thread moved to another CPU by TCB_Configure leaves its old CPU and runs on the new one', () => {
    let sys = boot({ threads: [{ name: 'm', cpu: 0, priority: 1, caps: [{ slot: 1, object: 'm.tcb' }] }, { name: 'z', cpu: 0, priority: 0, program: LOOP }] }, MK_MACHINE_2CPU);
    sys = invokeOk(sys, 0, 1, INVOCATION.TCB_CONFIGURE, [0xffffffff, 0xffffffff, 0xffffffff, 1, 0xffffffff]);
    expect(tcbOf(sys, 'm').affinity).toBe(1);
    expect(running(sys, 0)).toBe('z');
    sys = run(sys, 1, 1);
    expect(running(sys, 1)).toBe('m');
    expect(regsOf(sys, 'm')[2]).toBe(0); // its invocation's result, NO_ERROR
    expectClean(sys);
  });
});
