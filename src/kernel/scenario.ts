/**
 * What a microkernel system boots from: a declarative description of its domains, objects,
 * threads, address spaces and capabilities (MK-BOOT-1). It is plain data; `system/` decodes
 * it from JSON, and `boot` checks its meaning.
 *
 * @module
 */

/** A shared kernel object created at boot. */
export interface ObjectSpec {
  readonly name: string;
  readonly type: 'endpoint' | 'notification' | 'frame' | 'untyped';
  /** For `untyped`: log2 of its size in bytes. */
  readonly sizeBits?: number;
  /** For `frame`: the index of the device whose register page it is (device memory, not RAM). */
  readonly device?: number;
}

/** A capability placed in a thread's CNode at boot. */
export interface CapSpec {
  readonly slot: number;
  /**
   * What it names: a shared object's name; `<thread>.tcb`, `<thread>.cspace` or
   * `<thread>.vspace` for a thread's own objects; or `irqcontrol`.
   */
  readonly object: string;
  /** Rights as letters: R (read/receive), W (write/send), G (grant), P (grant reply). Default: all. */
  readonly rights?: string;
  readonly badge?: number;
}

/** A page mapped in a thread's VSpace at boot. */
export interface PageSpec {
  readonly va: number;
  /** A shared frame object; omitted: a fresh zeroed frame of the thread's own. */
  readonly frame?: string;
  readonly write?: boolean;
  readonly execute?: boolean;
}

export interface ThreadSpec {
  readonly name: string;
  /** Domain (partition) name; default: the first domain. */
  readonly domain?: string;
  readonly priority?: number;
  readonly cpu?: number;
  /** log2 of the number of slots of the thread's CNode (default 4). */
  readonly cnodeBits?: number;
  /** Whether the thread has an address space (default true). */
  readonly vspace?: boolean;
  /** Assembly source of its program, loaded at `origin` (default: one page) and mapped R+X. */
  readonly program?: string;
  readonly origin?: number;
  readonly pages?: readonly PageSpec[];
  readonly caps?: readonly CapSpec[];
  /** CPtr of its fault endpoint. */
  readonly faultEndpoint?: number;
  /** Initial registers, by name (`r1`..`r15`). */
  readonly regs?: Readonly<Record<string, number>>;
  /** Whether it is runnable at boot (default true). */
  readonly start?: boolean;
}

/** Free memory handed to a thread as an Untyped cap. */
export interface UntypedSpec {
  readonly thread: string;
  readonly slot: number;
  readonly sizeBits: number;
}

/** An interrupt line bound at boot to signal a notification. */
export interface IrqSpec {
  readonly line: number;
  readonly notification: string;
  readonly badge?: number;
}

export interface KernelScenario {
  readonly kernel?: {
    readonly timeslice?: number;
    readonly domainSchedule?: readonly { readonly domain: string; readonly ticks: number }[];
  };
  /** Domain names; default `["default"]`. */
  readonly domains?: readonly string[];
  readonly objects?: readonly ObjectSpec[];
  readonly threads: readonly ThreadSpec[];
  readonly untyped?: readonly UntypedSpec[];
  readonly irqs?: readonly IrqSpec[];
}
