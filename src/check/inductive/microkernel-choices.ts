/**
 * The choices of the microkernel's inductive universe (CHK-IND-1): edits of a booted kernel
 * state that put a thread in a state, fill a queue, set a notification, a reply right, the
 * message registers or a pending interrupt. Each edits only what it names; whether the result
 * is well-formed is for the kernel's invariants to say.
 *
 * @module
 */
import { raiseIrq } from '../../hw/index.ts';
import { encodeInfo, FAULT_LABEL, REG, RIGHTS, type Cap, type FaultMessage, type KernelState, type ObjId, type Tcb, type ThreadState } from '../../kernel/index.ts';
import { exitToUser } from '../../kernel/scheduler.ts';
import { newLog } from '../../kernel/world.ts';
import type { MicrokernelSystem } from '../../system/index.ts';
import type { Choice } from '../inductive.ts';
import { orderedSubsets, queueLabel } from './orders.ts';

/** CPtrs in every thread's 4-slot CNode. */
export const EP_SLOT = 1;
export const NTFN_SLOT = 2;
/** Where a received capability goes (every thread's receive slot; empty). */
export const RECEIVE_SLOT = 3;
/** The shared interrupt line bound to the notification, and its badge. */
export const NTFN_LINE = 3;
export const LINE_BADGE = 8;

export const NAMES = ['a', 'b', 'c'] as const;

/** The two message infos of the universe: label 0 with one word; label 3 with two words and a cap (MK-ABI-2). */
export const PLAIN_INFO = encodeInfo({ label: 0, capsUnwrapped: 0, extraCaps: 0, length: 1 });
export const CAP_INFO = encodeInfo({ label: 3, capsUnwrapped: 0, extraCaps: 1, length: 2 });

/** The fault a thread in the universe may be having handled: a user exception (MK-FAULT-1). */
const FAULT: FaultMessage = { label: FAULT_LABEL.USER_EXCEPTION, words: [0x100, 0] };

export interface Ids {
  readonly ep: ObjId;
  readonly ntfn: ObjId;
  readonly threads: readonly ObjId[];
}

// --- editing the state -------------------------------------------------------------------

export type Sys = MicrokernelSystem;

export function withKernel(sys: Sys, k: KernelState): Sys {
  return { machine: sys.machine, state: k };
}

function setObject(sys: Sys, id: ObjId, o: KernelState['objects'][number]): Sys {
  const objects = sys.state.objects.slice();
  objects[id] = o;
  return withKernel(sys, { ...sys.state, objects });
}

export function tcb(sys: Sys, id: ObjId): Tcb {
  const o = sys.state.objects[id];
  if (o?.type !== 'tcb') throw new Error(`universe: object ${id} is not a TCB`);
  return o;
}

export function patchTcb(sys: Sys, id: ObjId, patch: Partial<Omit<Tcb, 'type'>>): Sys {
  return setObject(sys, id, { ...tcb(sys, id), ...patch });
}

/** The CPU as the kernel leaves it for its current thread, or idle (MK-SCHED-4, MK-SCHED-6). */
export function syncCpu(sys: Sys): Sys {
  const w = exitToUser({ m: sys.machine, k: sys.state }, newLog(0), 0);
  return { machine: w.m, state: w.k };
}

function epCap(sys: Sys, t: ObjId): Extract<Cap, { type: 'endpoint' }> {
  const cspace = tcb(sys, t).cspace;
  const node = cspace === null ? null : sys.state.objects[cspace];
  const cap = node?.type === 'cnode' ? node.slots[EP_SLOT]?.cap : undefined;
  if (cap?.type !== 'endpoint') throw new Error(`universe: thread ${t} has no endpoint cap`);
  return cap;
}

// --- the choices -------------------------------------------------------------------------

/** The states a thread may be in (MK-OBJ-3), blocked ones on the universe's endpoint and notification. */
export function threadStates(base: Sys, ids: Ids, t: ObjId, deep: boolean): Choice<KernelState>[] {
  const cap = epCap(base, t);
  const canGrant = (cap.rights & RIGHTS.G) !== 0;
  const canGrantReply = (cap.rights & RIGHTS.GR) !== 0;
  const send = (isCall: boolean, fault: FaultMessage | null): ThreadState => ({ kind: 'blockedOnSend', endpoint: ids.ep, badge: cap.badge, canGrant, canGrantReply, isCall, fault });
  const as = (label: string, state: ThreadState, fault: FaultMessage | null = null): Choice<KernelState> => ({
    label,
    apply: (sys) => patchTcb(sys, t, { state, fault }),
  });
  const faults = [as('faultSend', send(true, FAULT), FAULT), as('faultReply', { kind: 'blockedOnReply' }, FAULT)];
  return [
    as('inactive', { kind: 'inactive' }),
    as('running', { kind: 'running' }),
    as('restart', { kind: 'restart' }),
    as('send', send(false, null)),
    as('call', send(true, null)),
    as('recv', { kind: 'blockedOnReceive', endpoint: ids.ep, canGrant }),
    as('reply', { kind: 'blockedOnReply' }),
    as('wait', { kind: 'blockedOnNotification', notification: ids.ntfn }),
    ...(deep ? faults : []),
  ];
}

export function endpointQueues(ids: Ids): Choice<KernelState>[] {
  const idle: Choice<KernelState> = {
    label: 'idle',
    apply: (sys) => {
      const ep = sys.state.objects[ids.ep];
      return ep?.type === 'endpoint' ? setObject(sys, ids.ep, { ...ep, queue: { kind: 'idle' } }) : sys;
    },
  };
  const queued = (['send', 'recv'] as const).flatMap((kind) =>
    orderedSubsets([0, 1, 2])
      .filter((order) => order.length > 0)
      .map((order) => ({
        label: `${kind}:${queueLabel(order.map((i) => NAMES[i]!))}`,
        apply: (sys: Sys) => {
          const ep = sys.state.objects[ids.ep];
          return ep?.type === 'endpoint' ? setObject(sys, ids.ep, { ...ep, queue: { kind, threads: order.map((i) => ids.threads[i]!) } }) : sys;
        },
      })),
  );
  return [idle, ...queued];
}

export function patchNotification(sys: Sys, ids: Ids, patch: { word?: number; waiting?: readonly ObjId[]; boundTcb?: ObjId | null }): Sys {
  const n = sys.state.objects[ids.ntfn];
  return n?.type === 'notification' ? setObject(sys, ids.ntfn, { ...n, ...patch }) : sys;
}

/**
 * The one reply right of the universe, if any (MK-IPC-6): `x>y` is a right held by x to reply
 * to y. By default the three of a cycle, so each thread holds one and is named by one; deep,
 * all six.
 */
export function replyRights(ids: Ids, deep: boolean): Choice<KernelState>[] {
  const pairs: [number, number][] = deep
    ? [[0, 1], [0, 2], [1, 0], [1, 2], [2, 0], [2, 1]]
    : [[0, 1], [1, 2], [2, 0]];
  const rights = pairs.map(([holder, caller]) => ({
    label: `${NAMES[holder]}>${NAMES[caller]}`,
    apply: (sys: Sys) => patchTcb(sys, ids.threads[holder]!, { caller: { caller: ids.threads[caller]!, canGrant: true } }),
  }));
  return [{ label: '-', apply: (sys) => sys }, ...rights];
}

/**
 * r1 (the cap invoked) and r2 (the message info) of every thread, on its CPU too if it is
 * current (MK-ABI-2): the endpoint with either info, the notification with the plain one (and,
 * deep, with the other).
 */
export function registers(ids: Ids, deep: boolean): Choice<KernelState>[] {
  const out: Choice<KernelState>[] = [];
  for (const [capLabel, cptr] of [['ep', EP_SLOT], ['ntfn', NTFN_SLOT]] as const) {
    for (const [infoLabel, info] of [['plain', PLAIN_INFO], ['cap', CAP_INFO]] as const) {
      if (!deep && cptr === NTFN_SLOT && info === CAP_INFO) continue;
      out.push({
        label: `${capLabel}/${infoLabel}`,
        apply: (sys) => {
          let s = sys;
          for (const t of ids.threads) {
            const regs = tcb(s, t).context.regs.slice();
            regs[REG.CAP] = cptr;
            regs[REG.INFO] = info;
            s = patchTcb(s, t, { context: { ...tcb(s, t).context, regs } });
          }
          return s.state.cpus[0]!.current === null ? s : syncCpu(s);
        },
      });
    }
  }
  return out;
}

/**
 * What interrupt is pending: none, the timer at the last tick of every thread's slice, the
 * notification's line, and, deep, the timer with time left in the slice.
 */
export function interrupts(ids: Ids, deep: boolean): Choice<KernelState>[] {
  const timerDue = (sys: Sys): Sys => {
    const cpus = sys.machine.cpus.slice();
    cpus[0] = { ...cpus[0]!, counter: 1 };
    return { machine: { ...sys.machine, cpus }, state: sys.state };
  };
  const out: Choice<KernelState>[] = [
    { label: 'none', apply: (sys) => sys },
    { label: 'timer/last', apply: (sys) => ids.threads.reduce((s, t) => patchTcb(s, t, { timeslice: 1 }), timerDue(sys)) },
    {
      label: 'line',
      apply: (sys) => {
        const r = raiseIrq(sys.machine, NTFN_LINE);
        return r.error === null ? { machine: r.machine, state: sys.state } : sys;
      },
    },
  ];
  return deep ? [...out, { label: 'timer', apply: timerDue }] : out;
}

