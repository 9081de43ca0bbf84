/**
 * Kernel entry: one trap to EL1, handled to completion (MK-ENTRY-1..4). The user context is
 * saved, the cause dispatched — a system call, a fault, an interrupt — the scheduler chooses
 * what runs next, and the kernel returns to user mode (or to the idle thread). Like seL4, the
 * kernel is not preemptible: an entry is one atomic step of the whole machine.
 *
 * @module
 */
import { SYS, timerAsserted, type Trap } from '../hw/index.ts';
import { errorInfo, ERROR, FAULT_LABEL, REG, SYSCALL } from './abi.ts';
import { lookupCap } from './cspace.ts';
import { handleInterrupt } from './irq.ts';
import { deliverFault, receiveIpc, reply, sendIpc, setContextRegs, signal, wait } from './ipc.ts';
import { invoke } from './invoke.ts';
import { exitToUser, kickOtherCpus, rotateCurrent, saveContext, schedule, timerTick } from './scheduler.ts';
import { RIGHTS, type ObjId } from './types.ts';
import { getTcb, newLog, updateTcb, type Log, type World } from './world.ts';

/** Handles a trap to EL1 on CPU `c` (MK-ENTRY-1). */
export function handleTrap(w0: World, c: number, trap: Trap): { w: World; log: Log } {
  const log = newLog(c);
  let w = saveContext(w0, log, c, trap);
  const t = w.k.cpus[c]!.current;
  if (trap.kind === 'irq') {
    let irq = handleInterrupt(w, log, c);
    // MK-SCHED-5: an IPI outranks the timer (HW-IRQ-3), and whether one is pending can depend
    // on what another domain did; a tick it would hold back to the next step is taken in this
    // same entry, so the domain schedule advances at the same step whatever other domains do.
    if (irq.kind === 'ipi' && timerAsserted(irq.w.m.cpus[c]!.sys[SYS.CNTP_CTL]!, irq.w.m.cpus[c]!.counter, irq.w.m.cpus[c]!.sys[SYS.CNTP_CVAL]!)) {
      irq = handleInterrupt(irq.w, log, c);
    }
    w = irq.kind === 'timer' ? timerTick(irq.w, c) : irq.w;
  } else if (t !== null && trap.from === 0) {
    w = userTrap(w, log, c, t, trap);
  }
  // MK-ENTRY-4: a synchronous trap from EL1 cannot happen (the kernel runs no instructions
  // but the idle thread's WFI); it is ignored rather than trusted.
  w = schedule(w, log, c);
  // PERF-OP-1: FPU and vector state moves only when the CPU changes thread (eager switching;
  // the cost layer's fpu knob prices it).
  const next = w.k.cpus[c]!.current;
  if (next !== t) {
    if (t !== null) log.ops.push('fpuSave');
    if (next !== null) log.ops.push('fpuRestore');
  }
  w = exitToUser(w, log, c);
  return { w: kickOtherCpus(w, log), log };
}

/** A trap from the user thread `t` (MK-ENTRY-2). */
function userTrap(w: World, log: Log, c: number, t: ObjId, trap: Trap): World {
  const tcb = getTcb(w.k, t);
  switch (trap.kind) {
    case 'svc':
      return syscall(w, log, c, t, trap.imm);
    case 'abort':
      // MK-FAULT-1: a VM fault carries pc, fault address, whether it was a fetch, and the syndrome.
      return deliverFault(w, log, t, {
        label: FAULT_LABEL.VM_FAULT,
        words: [tcb.context.restartPc, trap.va, trap.access === 'fetch' ? 1 : 0, trap.esr],
      });
    default:
      // An undefined or privileged instruction, or WFI, at EL0: a user exception.
      return deliverFault(w, log, t, { label: FAULT_LABEL.USER_EXCEPTION, words: [tcb.context.restartPc, trap.esr] });
  }
}

function fail(w: World, log: Log, t: ObjId, code: number): World {
  log.observations.push({ thread: t, kind: 'error', values: [code] });
  return setContextRegs(w, t, { [REG.INFO]: errorInfo(code) });
}

/**
 * A system call (MK-ABI-1, MK-ENTRY-3). Send, NBSend and Call act on the cap in r1: IPC on
 * an endpoint (needs Write), a signal on a notification (needs Write), an invocation on any
 * other object. Recv and NBRecv receive on an endpoint or wait on a notification (need
 * Read). An unknown number is an UnknownSyscall fault.
 */
function syscall(w: World, log: Log, c: number, t: ObjId, n: number): World {
  const regs = getTcb(w.k, t).context.regs;
  switch (n) {
    case SYSCALL.SEND:
    case SYSCALL.NB_SEND:
    case SYSCALL.CALL: {
      const found = lookupCap(w.k, t, regs[REG.CAP]!);
      if (!found.ok) return fail(w, log, t, found.error);
      const { cte, slot } = found.value;
      const cap = cte.cap;
      if (cap.type === 'endpoint') {
        if ((cap.rights & RIGHTS.W) === 0) return fail(w, log, t, ERROR.INVALID_CAPABILITY);
        // MK-IPC-5, MK-IPC-6: a Call also receives (its reply); a cap in the reply goes to the
        // slot its r11 names now, not to one left over from an earlier receive.
        const caller = n === SYSCALL.CALL ? updateTcb(w, t, { receiveSlot: regs[REG.XCAP]! }) : w;
        return sendIpc(caller, log, t, cap.obj, {
          badge: cap.badge,
          canGrant: (cap.rights & RIGHTS.G) !== 0,
          canGrantReply: (cap.rights & RIGHTS.GR) !== 0,
          blocking: n !== SYSCALL.NB_SEND,
          isCall: n === SYSCALL.CALL,
        });
      }
      if (cap.type === 'notification') {
        if ((cap.rights & RIGHTS.W) === 0) return fail(w, log, t, ERROR.INVALID_CAPABILITY);
        return signal(w, log, cap.obj, cap.badge);
      }
      return invoke(w, log, t, slot, cte);
    }
    case SYSCALL.RECV:
    case SYSCALL.NB_RECV:
      return receive(w, log, t, n === SYSCALL.RECV);
    case SYSCALL.REPLY:
      return reply(w, log, t);
    case SYSCALL.REPLY_RECV:
      return receive(reply(w, log, t), log, t, true);
    case SYSCALL.YIELD:
      // MK-SCHED-3: the thread goes to the tail of the ready queue at once; its time slice is
      // not refilled (seL4's handleYield: tcbSchedDequeue, tcbSchedAppend).
      return rotateCurrent(w, c);
    case SYSCALL.NULL:
      return w;
    default:
      return deliverFault(w, log, t, { label: FAULT_LABEL.UNKNOWN_SYSCALL, words: [getTcb(w.k, t).context.restartPc, n] });
  }
}

function receive(w: World, log: Log, t: ObjId, blocking: boolean): World {
  const found = lookupCap(w.k, t, getTcb(w.k, t).context.regs[REG.CAP]!);
  if (!found.ok) return fail(w, log, t, found.error);
  const cap = found.value.cte.cap;
  if ((cap.type === 'endpoint' || cap.type === 'notification') && (cap.rights & RIGHTS.R) === 0) {
    return fail(w, log, t, ERROR.INVALID_CAPABILITY);
  }
  if (cap.type === 'endpoint') return receiveIpc(w, log, t, cap, blocking);
  if (cap.type === 'notification') return wait(w, log, t, cap.obj, blocking);
  return fail(w, log, t, ERROR.INVALID_CAPABILITY);
}
