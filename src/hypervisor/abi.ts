/**
 * The hypercall ABI (HV-ABI-1..4): numbers, sub-commands, errors and virtual interrupt IDs.
 * A guest kernel at EL1 executes `hvc #n`; arguments are in r1..r6 and the result comes back
 * in r1 — a non-negative value, or a negative Xen errno as a 32-bit two's-complement word.
 *
 * @module
 */

/** Hypercall numbers (HVC immediates), named after Xen's (HV-ABI-1). */
export const HYPERCALL = {
  CONSOLE_IO: 1,
  SCHED_OP: 2,
  DOMCTL: 3,
  MEMORY_OP: 4,
  GRANT_TABLE_OP: 5,
  EVENT_CHANNEL_OP: 6,
  VCPU_OP: 7,
  /** Returns the version: the cheapest hypercall, the null hypercall benchmarks measure. */
  XEN_VERSION: 8,
} as const;

/** What XEN_VERSION returns: major in bits 31:16, minor in 15:0 (Xen's convention). */
export const XEN_VERSION_WORD = (4 << 16) | 17;

/** SCHED_OP sub-commands (r1). */
export const SCHED = { YIELD: 0, BLOCK: 1, POLL: 2, SHUTDOWN: 3 } as const;

/** DOMCTL sub-commands (r1); control domain only. */
export const DOMCTL = { CREATE: 0, DESTROY: 1, PAUSE: 2, UNPAUSE: 3, SAVE: 4, RESTORE: 5 } as const;

/** MEMORY_OP sub-commands (r1). */
export const MEMORY = { POPULATE: 0, DECREASE: 1 } as const;

/** GRANT_TABLE_OP sub-commands (r1). */
export const GNTTAB = { GRANT: 0, END: 1, MAP: 2, UNMAP: 3, COPY: 4 } as const;

/** EVENT_CHANNEL_OP sub-commands (r1). */
export const EVTCHN = { ALLOC_UNBOUND: 0, BIND_INTERDOMAIN: 1, BIND_VIRQ: 2, SEND: 3, CLOSE: 4, UNMASK: 5, PENDING: 6, MASK: 7 } as const;

/** VCPU_OP sub-commands (r1). */
export const VCPU = { UP: 0, DOWN: 1 } as const;

/** Names of the hypercalls and their sub-commands, for traces. */
export const HYPERCALL_NAMES: Readonly<Record<number, { readonly name: string; readonly subs?: readonly string[] }>> = {
  [HYPERCALL.CONSOLE_IO]: { name: 'console_io' },
  [HYPERCALL.SCHED_OP]: { name: 'sched_op', subs: ['yield', 'block', 'poll', 'shutdown'] },
  [HYPERCALL.DOMCTL]: { name: 'domctl', subs: ['create', 'destroy', 'pause', 'unpause', 'save', 'restore'] },
  [HYPERCALL.MEMORY_OP]: { name: 'memory_op', subs: ['populate', 'decrease_reservation'] },
  [HYPERCALL.GRANT_TABLE_OP]: { name: 'grant_table_op', subs: ['grant', 'end', 'map', 'unmap', 'copy'] },
  [HYPERCALL.EVENT_CHANNEL_OP]: { name: 'event_channel_op', subs: ['alloc_unbound', 'bind_interdomain', 'bind_virq', 'send', 'close', 'unmask', 'pending', 'mask'] },
  [HYPERCALL.VCPU_OP]: { name: 'vcpu_op', subs: ['up', 'down'] },
  [HYPERCALL.XEN_VERSION]: { name: 'xen_version' },
};

/** "event_channel_op send", say, for hypercall `n` with sub-command `sub`. */
export function hypercallName(n: number, sub: number): string {
  const h = HYPERCALL_NAMES[n];
  if (h === undefined) return `hypercall ${n}`;
  return h.subs === undefined ? h.name : `${h.name} ${h.subs[sub] ?? sub}`;
}

/** Errors: Xen's errno values, returned negated (HV-ABI-3). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  ENOSYS: 38,
} as const;

/** The 32-bit word a hypercall returns for error `e`. */
export function errnoWord(e: number): number {
  return -e >>> 0;
}

/** Virtual interrupt IDs the hypervisor injects (HV-EVT-4): as the hardware's banked IDs, plus the event upcall. */
export const VIRQ_ID = { IPI: 0, TIMER: 2, EVENT: 3 } as const;

/** Virtual IRQs a port can bind (BIND_VIRQ): DOM_EXC tells the control domain a domain has gone (as Xen's VIRQ_DOM_EXC). */
export const VIRQ = { DOM_EXC: 0 } as const;
