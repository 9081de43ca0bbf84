/**
 * The microkernel's inductive universe (CHK-IND-1 in spec/model-checking.md): one CPU, three
 * threads `a`, `b` (priority 10) and `c` (priority 20), one endpoint and one notification,
 * every thread holding a cap to both; a device line signals the notification. Its dimensions
 * are the IPC and scheduling state: each thread's state, the endpoint's queue, the
 * notification's word, waiters and binding, the current thread and the ready queue, a reply
 * right, the message registers, and a pending interrupt. The events are the system calls
 * the current thread can make on the two caps, a plain `exec` and a `tick`.
 *
 * Well-formed means: every kernel invariant holds (MK-INV-1..14). The universe edits the
 * kernel state directly, so it contains states no run from boot reaches (a thread running
 * while one of higher priority is ready...).
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { encode, interruptToTake, type MachineConfig } from '../../hw/index.ts';
import { KERNEL_INVARIANTS, REG, SYSCALL, type KernelScenario, type KernelState, type ObjId, type ThreadSpec } from '../../kernel/index.ts';
import { bootMicrokernel, microkernel, type Supervisor } from '../../system/index.ts';
import type { Dimension, LabelledEvent, Universe } from '../inductive.ts';
import {
  EP_SLOT,
  endpointQueues,
  interrupts,
  LINE_BADGE,
  NAMES,
  NTFN_LINE,
  NTFN_SLOT,
  patchNotification,
  patchTcb,
  RECEIVE_SLOT,
  registers,
  replyRights,
  syncCpu,
  tcb,
  threadStates,
  withKernel,
  type Ids,
  type Sys,
} from './microkernel-choices.ts';
import { orderedSubsets, queueLabel } from './orders.ts';

export { CAP_INFO, EP_SLOT, NTFN_LINE, NTFN_SLOT, PLAIN_INFO, RECEIVE_SLOT } from './microkernel-choices.ts';

/** One CPU, four frames of 256 bytes, no devices: the smallest machine the universe's objects fit in. */
export const MK_INDUCTIVE_MACHINE: MachineConfig = {
  cpus: 1,
  frames: 4,
  wordsPerFrame: 64,
  pageTableLevels: 2,
  pageTableIndexBits: 4,
  tlbEntries: 4,
  irqLines: 8,
  devices: [],
};

function thread(name: string, priority: number, epRights: string, epBadge: number, ntfnBadge: number): ThreadSpec {
  return {
    name,
    priority,
    cnodeBits: 2,
    // No address space: a fetch faults, so a plain `exec` delivers a VM fault to the fault endpoint.
    vspace: false,
    faultEndpoint: EP_SLOT,
    start: false,
    caps: [
      { slot: EP_SLOT, object: 'ep', rights: epRights, badge: epBadge },
      { slot: NTFN_SLOT, object: 'ntfn', rights: 'RW', badge: ntfnBadge },
    ],
  };
}

/**
 * The scenario. `a` holds the original endpoint cap (unbadged); `b` a badged copy with every
 * right; `c` a badged copy without Grant or GrantReply, so its Call gets no reply right and its
 * faults have no handler (MK-IPC-6, MK-FAULT-2).
 */
export const MK_INDUCTIVE_SCENARIO: KernelScenario = {
  objects: [
    { name: 'ep', type: 'endpoint' },
    { name: 'ntfn', type: 'notification' },
  ],
  threads: [thread('a', 10, 'RWGP', 0, 1), thread('b', 10, 'RWGP', 0x10, 2), thread('c', 20, 'RW', 0x20, 4)],
  irqs: [{ line: NTFN_LINE, notification: 'ntfn', badge: LINE_BADGE }],
};

/**
 * The universe's size. `default` keeps the check within a few seconds; `deep` adds reply
 * rights between every pair of threads, r2 = the cap-carrying info with r1 naming the
 * notification, and a timer interrupt with time left in the slice.
 */
export type UniverseSize = 'default' | 'deep';

function dimensions(base: Sys, ids: Ids, size: UniverseSize): Dimension<KernelState>[] {
  const threadsAt = (order: readonly number[]) => order.map((i) => ids.threads[i]!);
  const deep = size === 'deep';
  return [
    ...NAMES.map((name, i) => ({ name, choices: threadStates(base, ids, ids.threads[i]!, deep) })),
    { name: 'ep', choices: endpointQueues(ids) },
    {
      name: 'waiting',
      choices: orderedSubsets([0, 1, 2]).map((order) => ({
        label: queueLabel(order.map((i) => NAMES[i]!)),
        apply: (sys: Sys) => patchNotification(sys, ids, { waiting: threadsAt(order) }),
      })),
      // MK-INV-2 reads thread states, queues, the notification's word and its binding; the
      // word and binding set later start at 0 and unbound, which can only add violations.
      settles: ['symmetric_references'],
    },
    { name: 'word', choices: [0, 1].map((word) => ({ label: String(word), apply: (sys: Sys) => patchNotification(sys, ids, { word }) })) },
    {
      name: 'ntfnBound',
      choices: [
        { label: '-', apply: (sys: Sys) => sys },
        { label: 'a', apply: (sys: Sys) => patchNotification(sys, ids, { boundTcb: ids.threads[0]! }) },
      ],
    },
    {
      name: 'aBound',
      choices: [
        { label: '-', apply: (sys: Sys) => sys },
        { label: 'ntfn', apply: (sys: Sys) => patchTcb(sys, ids.threads[0]!, { boundNotification: ids.ntfn }) },
      ],
      settles: ['symmetric_references', 'only_idle_idle'],
    },
    {
      name: 'current',
      choices: [null, 0, 1, 2].map((i) => ({
        label: i === null ? '-' : NAMES[i]!,
        apply: (sys: Sys) => {
          const cpus = sys.state.cpus.slice();
          cpus[0] = { current: i === null ? null : ids.threads[i]! };
          return syncCpu(withKernel(sys, { ...sys.state, cpus }));
        },
      })),
    },
    {
      name: 'ready',
      choices: orderedSubsets([0, 1, 2]).map((order) => ({
        label: queueLabel(order.map((i) => NAMES[i]!)),
        apply: (sys: Sys) => withKernel(sys, { ...sys.state, ready: threadsAt(order) }),
      })),
      // MK-INV-3 and MK-INV-9 read thread states, the current thread, the ready queue and the
      // CPU's level and table base, which nothing later changes.
      settles: ['ready_queue', 'current_threads'],
    },
    { name: 'reply', choices: replyRights(ids, deep) },
    { name: 'regs', choices: registers(ids, deep) },
    { name: 'irq', choices: interrupts(ids, deep) },
  ];
}

// --- the alphabet ------------------------------------------------------------------------

function svc(n: number): number {
  const r = encode({ op: 'svc', imm: n });
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

/** Every system call (MK-ABI-1), and one past the last, an unknown one (an UnknownSyscall fault, MK-FAULT-1). */
const SYSCALL_EVENTS: readonly LabelledEvent[] = [
  ...Object.entries(SYSCALL).map(([name, n]) => ({ label: `svc ${name}`, event: { kind: 'exec', cpu: 0, insn: svc(n) } as const })),
  { label: 'svc 10 (unknown)', event: { kind: 'exec', cpu: 0, insn: svc(10) } },
];
const EXEC: LabelledEvent = { label: 'exec', event: { kind: 'exec', cpu: 0 } };
const TICK: LabelledEvent = { label: 'tick', event: { kind: 'tick', cpu: 0 } };

/**
 * The events tried in a state. With a thread on the CPU and nothing pending: each system
 * call (on the cap its r1 names, with the message its r2 describes), a plain `exec` (a fetch,
 * which faults: no thread has an address space) and a `tick`. With an interrupt pending, or
 * the CPU idle, an injected instruction is not run — the interrupt is taken first, or the CPU
 * waits (HW-IRQ-8) — so `exec` and `tick` are the whole alphabet.
 */
function events(sys: Sys): readonly LabelledEvent[] {
  const pending = interruptToTake(sys.machine, 0, sys.machine.cpus[0]!) !== null;
  if (sys.state.cpus[0]!.current === null || pending) return [EXEC, TICK];
  return [...SYSCALL_EVENTS, EXEC, TICK];
}

// --- the universe ------------------------------------------------------------------------

function bootBase(): { base: Sys; ids: Ids } {
  const r = bootMicrokernel(MK_INDUCTIVE_MACHINE, MK_INDUCTIVE_SCENARIO);
  if (E.isLeft(r)) throw new Error(r.left.message);
  const k = r.right.state;
  const find = (type: string, name?: string): ObjId => {
    const id = k.objects.findIndex((o) => o?.type === type && (name === undefined || (o.type === 'tcb' && o.name === name)));
    if (id < 0) throw new Error(`universe: no ${type} ${name ?? ''}`);
    return id;
  };
  const ids: Ids = { ep: find('endpoint'), ntfn: find('notification'), threads: NAMES.map((n) => find('tcb', n)) };
  // Every thread: MR0, MR1 set, r11 naming its endpoint cap (transferred when a message carries a cap), an empty receive slot.
  let base: Sys = r.right;
  ids.threads.forEach((t, i) => {
    const regs = tcb(base, t).context.regs.slice();
    regs[REG.MR0] = 0x30 + i;
    regs[REG.MR0 + 1] = 0x40 + i;
    regs[REG.XCAP] = EP_SLOT;
    base = patchTcb(base, t, { receiveSlot: RECEIVE_SLOT, context: { ...tcb(base, t).context, regs } });
  });
  return { base, ids };
}

/** The named invariants of the kernel, one at a time (for `settles`). */
function kernelInvariant(sys: Sys, name: string): readonly string[] {
  const inv = KERNEL_INVARIANTS.find((i) => i.name === name);
  if (inv === undefined) throw new Error(`universe: no invariant ${name}`);
  return inv.check(sys.machine, sys.state);
}

export interface MicrokernelUniverseOptions {
  /** The supervisor stepped: the microkernel, or a variant of it (a test's broken kernel). */
  readonly supervisor?: Supervisor<KernelState>;
  readonly size?: UniverseSize;
}

/** The universe of CHK-IND-1. */
export function microkernelUniverse(options: MicrokernelUniverseOptions = {}): Universe<KernelState> {
  const { base, ids } = bootBase();
  return {
    name: 'microkernel IPC',
    supervisor: options.supervisor ?? microkernel,
    base,
    dimensions: dimensions(base, ids, options.size ?? 'default'),
    invariant: kernelInvariant,
    events,
  };
}
