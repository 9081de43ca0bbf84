/**
 * The microkernel's state as data: objects, capabilities, thread states, and the per-CPU and
 * global scheduler state (spec/microkernel.md, MK-OBJ-*, MK-CAP-*).
 *
 * The shapes follow seL4's abstract specification (l4v `spec/abstract`): a kernel object is
 * one of Untyped, TCB, Endpoint, Notification, CNode, Frame or PageTable; a capability is a
 * typed, rights-carrying reference to one, stored in a CNode slot together with its place in
 * the capability derivation tree. Everything is immutable.
 *
 * @module
 */

/** Index of a kernel object in {@link KernelState.objects}. */
export type ObjId = number;

/** Unique, never-reused identity of a capability (its node in the derivation tree). */
export type CapId = number;

/** Capability rights (MK-CAP-2), as bits. */
export const RIGHTS = {
  /** Receive on an endpoint or notification; read a frame. */
  R: 1,
  /** Send on an endpoint, signal a notification; write a frame. */
  W: 2,
  /** Transfer capabilities through an endpoint (and give the receiver a reply right with Grant). */
  G: 4,
  /** Let the receiver of a Call reply (and, with G on the reply, transfer caps back). */
  GR: 8,
} as const;

/** All rights. */
export const ALL_RIGHTS = RIGHTS.R | RIGHTS.W | RIGHTS.G | RIGHTS.GR;

/** Where a frame or page table is mapped (MK-VM-3). */
export interface Mapping {
  /** The VSpace (root page table object). */
  readonly vspace: ObjId;
  /** Virtual address of the mapping (page-aligned; for a page table, the start of what it covers). */
  readonly va: number;
}

/** A capability (MK-CAP-1). */
export type Cap =
  | { readonly type: 'untyped'; readonly obj: ObjId }
  | { readonly type: 'endpoint'; readonly obj: ObjId; readonly badge: number; readonly rights: number }
  | { readonly type: 'notification'; readonly obj: ObjId; readonly badge: number; readonly rights: number }
  | { readonly type: 'tcb'; readonly obj: ObjId }
  | { readonly type: 'cnode'; readonly obj: ObjId }
  /** A frame; each cap holds at most one mapping (as in seL4): copy the cap to map twice. */
  | { readonly type: 'frame'; readonly obj: ObjId; readonly rights: number; readonly mapping: Mapping | null }
  /** An inner page table; mapped into one VSpace at one level. */
  | { readonly type: 'pagetable'; readonly obj: ObjId; readonly mapping: (Mapping & { readonly level: number }) | null }
  /** A root page table: a VSpace, with its ASID. */
  | { readonly type: 'vspace'; readonly obj: ObjId }
  /** The authority to create IRQ handler caps. */
  | { readonly type: 'irqcontrol' }
  /** The authority over one interrupt line. */
  | { readonly type: 'irqhandler'; readonly line: number };

export type CapType = Cap['type'];

/** A capability table entry: the cap and its node in the derivation tree (MK-CAP-3). */
export interface Cte {
  readonly cap: Cap;
  readonly id: CapId;
  /** The cap this one was derived from, or null for an original. */
  readonly parent: CapId | null;
}

/** The one-shot right to reply to a caller (seL4's reply cap in the TCB caller slot, MK-IPC-6). */
export interface ReplyRight {
  readonly caller: ObjId;
  /** Whether the reply may transfer a capability back. */
  readonly canGrant: boolean;
}

/** A fault waiting to be, or being, delivered to a fault handler (MK-FAULT-1). */
export interface FaultMessage {
  /** Fault label: 1 capability fault, 2 unknown syscall, 3 user exception, 5 VM fault (as seL4). */
  readonly label: number;
  readonly words: readonly number[];
}

/** seL4's thread states (MK-OBJ-3). */
export type ThreadState =
  | { readonly kind: 'inactive' }
  | { readonly kind: 'running' }
  /** Runnable; will re-execute the instruction that entered the kernel (a syscall or fault). */
  | { readonly kind: 'restart' }
  | {
      readonly kind: 'blockedOnSend';
      readonly endpoint: ObjId;
      readonly badge: number;
      readonly canGrant: boolean;
      readonly canGrantReply: boolean;
      readonly isCall: boolean;
      /** Set when the send is a fault message (MK-FAULT-1). */
      readonly fault: FaultMessage | null;
    }
  | { readonly kind: 'blockedOnReceive'; readonly endpoint: ObjId; readonly canGrant: boolean }
  | { readonly kind: 'blockedOnReply' }
  | { readonly kind: 'blockedOnNotification'; readonly notification: ObjId }
  | { readonly kind: 'idle' };

export type ThreadStateKind = ThreadState['kind'];

/** A thread's user context while it is not on a CPU (MK-OBJ-4). */
export interface UserContext {
  readonly regs: readonly number[];
  /** Where the thread continues when it runs. */
  readonly pc: number;
  /** The instruction that last entered the kernel: where a `restart` thread resumes (seL4's FaultIP). */
  readonly restartPc: number;
  /**
   * TPIDR_EL0, the user thread-pointer register (MK-OBJ-4). User code writes it with MSR, so
   * it is per-thread state: left on the CPU across a switch it would carry one thread's value
   * into the next — across domains, a storage channel (MK-PROP-4).
   */
  readonly tpidr: number;
}

export interface Tcb {
  readonly type: 'tcb';
  /** Physical byte address and size (log2) of the object's memory. */
  readonly base: number;
  readonly sizeBits: number;
  readonly state: ThreadState;
  readonly priority: number;
  /** Scheduling domain (partition), 0-based (MK-SCHED-5). */
  readonly domain: number;
  /** CPU the thread runs on. */
  readonly affinity: number;
  readonly cspace: ObjId | null;
  readonly vspace: ObjId | null;
  /** CPtr, in the thread's own CSpace, of its fault endpoint; null = none (MK-FAULT-2). */
  readonly faultEndpoint: number | null;
  readonly context: UserContext;
  readonly boundNotification: ObjId | null;
  /** The reply right received by the last Call this thread took (seL4's caller slot). */
  readonly caller: ReplyRight | null;
  /** CPtr of the slot a received capability goes to, set by each receive (MK-IPC-5). */
  readonly receiveSlot: number | null;
  /** Ticks left in the current time slice (MK-SCHED-3). */
  readonly timeslice: number;
  /** The fault being delivered or handled (seL4's tcbFault), or null (MK-FAULT-1). */
  readonly fault: FaultMessage | null;
  /** A name for traces and views. */
  readonly name: string;
}

export interface Endpoint {
  readonly type: 'endpoint';
  readonly base: number;
  readonly sizeBits: number;
  /** MK-IPC-1: idle, or a FIFO queue of senders or of receivers (never both). */
  readonly queue: { readonly kind: 'idle' } | { readonly kind: 'send' | 'recv'; readonly threads: readonly ObjId[] };
}

export interface Notification {
  readonly type: 'notification';
  readonly base: number;
  readonly sizeBits: number;
  /** The accumulated badge bits (seL4's notification word); 0 = not active. */
  readonly word: number;
  /** Threads blocked in Wait, FIFO. */
  readonly waiting: readonly ObjId[];
  readonly boundTcb: ObjId | null;
}

export interface CNode {
  readonly type: 'cnode';
  readonly base: number;
  readonly sizeBits: number;
  readonly slots: readonly (Cte | null)[];
}

export interface Frame {
  readonly type: 'frame';
  readonly base: number;
  readonly sizeBits: number;
  /** Device memory (a device's register page), not RAM. */
  readonly device: boolean;
}

export interface PageTable {
  readonly type: 'pagetable';
  readonly base: number;
  readonly sizeBits: number;
  /** For a VSpace root: its ASID (1..255); 0 for an inner table. */
  readonly asid: number;
}

export interface Untyped {
  readonly type: 'untyped';
  readonly base: number;
  readonly sizeBits: number;
  /** Bytes already retyped, from `base` (MK-OBJ-2). */
  readonly watermark: number;
  /** Device untyped: only frames may be retyped from it, and they are not zeroed. */
  readonly device: boolean;
}

export type KernelObject = Tcb | Endpoint | Notification | CNode | Frame | PageTable | Untyped;

export type ObjectType = KernelObject['type'];

/** What each CPU is doing (MK-SCHED-1). */
export interface CpuSched {
  /** The thread on this CPU, or null when the CPU runs its idle thread. */
  readonly current: ObjId | null;
}

/** An interrupt line as the kernel sees it (MK-IRQ-1). */
export interface IrqLine {
  /** An IRQHandler cap has been issued for this line. */
  readonly issued: boolean;
  /** The notification it signals, with the badge to signal, or null. */
  readonly target: { readonly notification: ObjId; readonly badge: number } | null;
}

/** One entry of the static domain schedule (MK-SCHED-5). */
export interface DomainSlot {
  readonly domain: number;
  readonly ticks: number;
}

export interface KernelConfig {
  /** Ticks per time slice. */
  readonly timeslice: number;
  /** Static domain schedule; empty = no partitioning (every domain may run). */
  readonly domainSchedule: readonly DomainSlot[];
  /** Names of the domains (partitions), indexed by domain number. */
  readonly domainNames: readonly string[];
  /** Virtual address where each CPU's idle thread waits (a kernel address). */
  readonly idlePc: number;
}

export interface KernelState {
  readonly config: KernelConfig;
  readonly objects: readonly (KernelObject | null)[];
  readonly nextCapId: CapId;
  readonly cpus: readonly CpuSched[];
  /** Runnable threads not on a CPU, FIFO; the scheduler picks by priority, then order (MK-SCHED-2). */
  readonly ready: readonly ObjId[];
  /** The domain now running and ticks left in its slot (MK-SCHED-5). */
  readonly domainIndex: number;
  readonly domainTicksLeft: number;
  /** VSpace root for each ASID in use (index = ASID; 0 unused). */
  readonly asids: readonly (ObjId | null)[];
  readonly irqs: readonly IrqLine[];
}
