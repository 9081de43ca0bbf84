/**
 * Scheduling (MK-SCHED-1..7): fixed priorities, round-robin time slices driven by timer ticks,
 * an idle thread per CPU, an optional static domain schedule, and moving threads on and off
 * CPUs — saving and restoring their user context and switching address spaces.
 *
 * @module
 */
import { encodeSpsr, makeBase, sendIpi, SCTLR_M, setSys, SYS, type Cpu, type Trap } from '../hw/index.ts';
import { setThreadState, isRunnable, enqueue, dequeue } from './thread.ts';
import type { KernelState, ObjId, Tcb } from './types.ts';
import { cpuRunning, getObject, getTcb, updateTcb, type Log, type World } from './world.ts';

/** TTBR0 value for a thread with no VSpace: a root outside RAM, so every access faults (MK-VM-7). */
export const NO_VSPACE_BASE = 0x00ffffff;

/** The domain allowed to run now, or null when there is no domain schedule (MK-SCHED-5). */
export function currentDomain(k: KernelState): number | null {
  const schedule = k.config.domainSchedule;
  return schedule.length === 0 ? null : schedule[k.domainIndex]!.domain;
}

function mayRun(k: KernelState, t: Tcb): boolean {
  const d = currentDomain(k);
  return isRunnable(t.state) && (d === null || t.domain === d);
}

/** The thread CPU `c` should run next, from the ready queue: highest priority, then first queued (MK-SCHED-2). */
export function chooseThread(k: KernelState, c: number): ObjId | null {
  let best: ObjId | null = null;
  let bestPriority = -1;
  for (const t of k.ready) {
    const tcb = getTcb(k, t);
    if (tcb.affinity === c && mayRun(k, tcb) && tcb.priority > bestPriority) {
      best = t;
      bestPriority = tcb.priority;
    }
  }
  return best;
}

/**
 * Saves the user context of the thread on CPU `c` at kernel entry (MK-OBJ-4): registers, the
 * return address, and the address of the instruction that entered the kernel — the SVC for a
 * system call, the faulting instruction for a fault, the next one for an interrupt.
 */
export function saveContext(w: World, log: Log, c: number, trap: Trap): World {
  const t = w.k.cpus[c]!.current;
  if (t === null) return w;
  const cpu = w.m.cpus[c]!;
  const elr = cpu.sys[SYS.ELR_EL1]!;
  const restartPc = trap.kind === 'svc' ? (elr - 4) >>> 0 : elr;
  log.ops.push('regSave');
  return updateTcb(w, t, { context: { regs: cpu.regs, pc: elr, restartPc, tpidr: cpu.sys[SYS.TPIDR_EL0]! } });
}

/** The hardware state of a CPU running its idle thread: EL1, waiting for an interrupt (MK-SCHED-4). */
function idleCpu(cpu: Cpu, idlePc: number): Cpu {
  return { ...cpu, el: 1, pc: idlePc, irqMasked: false, waiting: true };
}

/**
 * Takes thread `t` off another CPU it is running on (MK-SCHED-7): its live context is saved,
 * that CPU is left idle and sent an IPI to reschedule. The kernel does this before it
 * changes a thread that is running elsewhere (seL4 stalls the remote CPU the same way).
 */
export function stopIfRunningElsewhere(w: World, log: Log, t: ObjId): World {
  const c = cpuRunning(w.k, t);
  if (c < 0 || c === log.cpu) return w;
  const cpu = w.m.cpus[c]!;
  log.ops.push('regSave', 'ipi');
  let world = updateTcb(w, t, { context: { regs: cpu.regs, pc: cpu.pc, restartPc: cpu.pc, tpidr: cpu.sys[SYS.TPIDR_EL0]! } });
  const cpus = world.k.cpus.slice();
  cpus[c] = { current: null };
  const hwCpus = world.m.cpus.slice();
  hwCpus[c] = idleCpu(cpu, world.k.config.idlePc);
  world = { m: { ...world.m, cpus: hwCpus, gic: sendIpi(world.m.gic, 1 << c, hwCpus.length) }, k: { ...world.k, cpus } };
  return { ...world, k: enqueue(world.k, t, true) };
}

function setCurrent(k: KernelState, c: number, t: ObjId | null): KernelState {
  const cpus = k.cpus.slice();
  cpus[c] = { current: t };
  return { ...k, cpus };
}

/** Puts the current thread of CPU `c` at the tail of the ready queue (Yield, end of time slice: MK-SCHED-3). */
export function rotateCurrent(w: World, c: number): World {
  const t = w.k.cpus[c]!.current;
  if (t === null || !isRunnable(getTcb(w.k, t).state)) return w;
  return { ...w, k: enqueue(setCurrent(w.k, c, null), t) };
}

/**
 * A timer tick on CPU `c` (MK-SCHED-3, MK-SCHED-5): the current thread's time slice shrinks
 * and, when it runs out, is refilled and the thread goes to the tail of the ready queue; on
 * CPU 0 the domain schedule advances too.
 */
export function timerTick(w: World, c: number): World {
  let world = w;
  const t = world.k.cpus[c]!.current;
  if (t !== null) {
    const left = getTcb(world.k, t).timeslice - 1;
    if (left > 0) {
      world = updateTcb(world, t, { timeslice: left });
    } else {
      world = rotateCurrent(updateTcb(world, t, { timeslice: world.k.config.timeslice }), c);
    }
  }
  const schedule = world.k.config.domainSchedule;
  if (c === 0 && schedule.length > 0) {
    const left = world.k.domainTicksLeft - 1;
    if (left > 0) return { ...world, k: { ...world.k, domainTicksLeft: left } };
    const next = (world.k.domainIndex + 1) % schedule.length;
    world = { ...world, k: { ...world.k, domainIndex: next, domainTicksLeft: schedule[next]!.ticks } };
  }
  return world;
}

/**
 * Chooses what CPU `c` runs next (MK-SCHED-2): its current thread, unless that can no longer
 * run or a higher-priority thread is ready; a preempted thread goes to the head of the queue.
 * A `restart` thread chosen to run resumes at the instruction that entered the kernel.
 */
export function schedule(w: World, log: Log, c: number): World {
  let k = w.k;
  const cur = k.cpus[c]!.current;
  // MK-SCHED-2, MK-INV-9: the current thread keeps this CPU only while it may run here — a
  // TCB_Configure of its own affinity moves it to the ready queue, for its new CPU to take.
  const curOk = cur !== null && mayRun(k, getTcb(k, cur)) && getTcb(k, cur).affinity === c;
  const best = chooseThread(k, c);
  if (curOk && (best === null || getTcb(k, best).priority <= getTcb(k, cur).priority)) return w;
  if (cur !== null) k = setCurrent(k, c, null);
  // MK-SCHED-2, MK-SCHED-5: a runnable thread leaving its CPU — preempted by a higher
  // priority or by the end of its domain's slot — goes to the head of the ready queue (seL4's
  // tcbSchedEnqueue). Re-queueing only a thread that may run now would drop one whose domain
  // slot just ended: runnable, yet never chosen again.
  if (cur !== null && isRunnable(getTcb(k, cur).state)) k = enqueue(k, cur, true);
  if (best === null) return { ...w, k };
  k = setCurrent(dequeue(k, best), c, best);
  let world: World = { ...w, k };
  const tcb = getTcb(k, best);
  if (tcb.state.kind === 'restart') {
    world = updateTcb(world, best, { context: { ...tcb.context, pc: tcb.context.restartPc } });
    world = setThreadState(world, log, best, { kind: 'running' }, 'SCHEDULE');
  }
  return world;
}

/**
 * Leaves the kernel on CPU `c` (MK-SCHED-6): restores the chosen thread's context at EL0 with
 * IRQs unmasked and its address space — or, with no thread, parks the CPU in its idle thread.
 */
export function exitToUser(w: World, log: Log, c: number): World {
  const t = w.k.cpus[c]!.current;
  const cpu = w.m.cpus[c]!;
  const cpus = w.m.cpus.slice();
  if (t === null) {
    cpus[c] = idleCpu(cpu, w.k.config.idlePc);
    return { ...w, m: { ...w.m, cpus } };
  }
  const tcb = getTcb(w.k, t);
  const root = getObject(w.k, tcb.vspace);
  const ttbr = root?.type === 'pagetable' && root.asid !== 0 ? makeBase(root.base / w.m.geometry.pageBytes, root.asid) : NO_VSPACE_BASE;
  let sys = cpu.sys;
  if (sys[SYS.TTBR0_EL1] !== ttbr) {
    log.ops.push('addressSpaceSwitch');
    sys = setSys(sys, SYS.TTBR0_EL1, ttbr);
  }
  if ((sys[SYS.SCTLR_EL1]! & SCTLR_M) === 0) sys = setSys(sys, SYS.SCTLR_EL1, SCTLR_M);
  // MK-OBJ-4, MK-SCHED-6: TPIDR_EL0 is user state, restored with the registers.
  if (sys[SYS.TPIDR_EL0] !== tcb.context.tpidr) sys = setSys(sys, SYS.TPIDR_EL0, tcb.context.tpidr);
  sys = setSys(setSys(sys, SYS.ELR_EL1, tcb.context.pc), SYS.SPSR_EL1, encodeSpsr(0, false));
  log.ops.push('regRestore', 'trapReturnEl1');
  cpus[c] = { ...cpu, regs: tcb.context.regs, pc: tcb.context.pc, el: 0, irqMasked: false, waiting: false, sys };
  return { ...w, m: { ...w.m, cpus } };
}

/**
 * After an entry on CPU `log.cpu`, asks every other CPU that should now run something else
 * to reschedule, with an IPI (MK-SCHED-7).
 */
export function kickOtherCpus(w: World, log: Log): World {
  let world = w;
  w.k.cpus.forEach((sched, c) => {
    if (c === log.cpu) return;
    const cur = sched.current;
    const best = chooseThread(world.k, c);
    const stale = cur !== null && !mayRun(world.k, getTcb(world.k, cur));
    const better = best !== null && (cur === null || getTcb(world.k, best).priority > getTcb(world.k, cur).priority);
    if ((stale || better) && (world.m.gic.ipiPending & (1 << c)) === 0) {
      log.ops.push('ipi');
      world = { ...world, m: { ...world.m, gic: sendIpi(world.m.gic, 1 << c, world.m.cpus.length) } };
    }
  });
  return world;
}

