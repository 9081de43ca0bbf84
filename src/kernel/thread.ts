/**
 * Thread state changes and the ready queue (MK-OBJ-3, MK-SCHED-2).
 *
 * Every change of a thread's state goes through {@link setThreadState}, which checks it
 * against the statechart, keeps the ready queue in step (a runnable thread that is not on a
 * CPU is queued exactly once; a blocked one is not queued), and logs the transition.
 *
 * @module
 */
import { nextThreadState, type ThreadEvent } from './thread.chart.ts';
import type { KernelState, ObjId, ThreadState } from './types.ts';
import { cpuRunning, getTcb, setObject, type Log, type World } from './world.ts';

/** Running or about to re-execute its kernel entry (MK-SCHED-2). */
export function isRunnable(state: ThreadState): boolean {
  return state.kind === 'running' || state.kind === 'restart';
}

function withoutReady(k: KernelState, t: ObjId): KernelState {
  return k.ready.includes(t) ? { ...k, ready: k.ready.filter((x) => x !== t) } : k;
}

/** Queues runnable thread `t` at the tail (or head) of the ready queue, unless it is on a CPU or queued. */
export function enqueue(k: KernelState, t: ObjId, atHead = false): KernelState {
  if (k.ready.includes(t) || cpuRunning(k, t) >= 0) return k;
  return { ...k, ready: atHead ? [t, ...k.ready] : [...k.ready, t] };
}

/** Removes `t` from the ready queue. */
export function dequeue(k: KernelState, t: ObjId): KernelState {
  return withoutReady(k, t);
}

/**
 * Changes thread `t` to `state` because of `event` (MK-OBJ-3). The chart must allow the
 * change; the kernel calling it otherwise is a defect, reported by throwing (an assertion,
 * never reachable from any input: the totality tests check it).
 */
export function setThreadState(w: World, log: Log, t: ObjId, state: ThreadState, event: ThreadEvent): World {
  const tcb = getTcb(w.k, t);
  const allowed = nextThreadState(tcb.state.kind, event);
  if (allowed !== state.kind) {
    throw new Error(`kernel: thread ${t} cannot go from ${tcb.state.kind} to ${state.kind} on ${event}`);
  }
  log.transitions.push({ thread: t, from: tcb.state.kind, to: state.kind, event });
  // MK-OBJ-4: a `restart` thread continues at the instruction that entered the kernel, so that
  // is its pc from now on — not only once it is scheduled, which would let whoever's step
  // happens to schedule it (another domain's, MK-PROP-3) change what it observes.
  const context = state.kind === 'restart' ? { ...tcb.context, pc: tcb.context.restartPc } : tcb.context;
  let k = setObject(w.k, t, { ...tcb, state, context });
  k = isRunnable(state) ? enqueue(k, t) : withoutReady(k, t);
  return { ...w, k };
}
