/**
 * The hypervisor's state as data: domains and their vCPUs, the ownership of every host frame,
 * grant tables, event channels and the credit scheduler (spec/hypervisor.md, HV-DOM-*,
 * HV-GNT-*, HV-EVT-*, HV-SCHED-*, HV-MEM-*). Modelled on Xen: `struct domain`, `struct vcpu`,
 * the grant table v1 entries, the event-channel port table and csched's per-vCPU credit.
 *
 * @module
 */

/** Domain identifier; domain 0 is the control domain (HV-DOM-1). */
export type DomId = number;

/** Owner of a host frame: a domain, or one of these (HV-MEM-1). */
export const FREE = -1;
export const HYPERVISOR = -2;

/** Lifecycle states of a domain (HV-LIFE-1). */
export type DomainLifecycle = 'created' | 'running' | 'paused' | 'saved' | 'migrating' | 'destroyed';

/** Scheduler state of a vCPU (HV-SCHED-1): exactly one at a time. */
export type VcpuRunState = 'runnable' | 'running' | 'blocked' | 'offline';

/** Credit-scheduler priority classes (Xen csched: BOOST > UNDER > OVER). */
export type CreditPriority = 'boost' | 'under' | 'over';

/** A vCPU's register state while it is not on a pCPU: general registers and the EL1 bank (HV-DOM-3). */
export interface VcpuContext {
  readonly regs: readonly number[];
  readonly pc: number;
  /** Exception level the vCPU runs at: its kernel (1) or its user programs (0). */
  readonly el: 0 | 1;
  readonly irqMasked: boolean;
  /** The EL1/EL0 system registers the hardware banks, by SYS number (only those a world switch moves). */
  readonly sys: Readonly<Record<number, number>>;
  /** Pending and active virtual interrupts (ICH_PEND_EL2, ICH_ACTIVE_EL2). */
  readonly vPending: number;
  readonly vActive: number;
  /** Waiting in WFI (not trapped: only when the guest runs WFI with TWI off). */
  readonly waiting: boolean;
}

export interface Vcpu {
  readonly id: number;
  readonly state: VcpuRunState;
  /** pCPU it runs on. */
  readonly affinity: number;
  readonly context: VcpuContext;
  /** Credits (Xen csched credit) and priority class (HV-SCHED-2). */
  readonly credit: number;
  readonly priority: CreditPriority;
  /** Ticks this vCPU has run since boot (for fairness measurements). */
  readonly ticksRun: number;
  /** Event-channel port being polled while blocked, or null. */
  readonly polling: number | null;
}

/** A grant-table entry: this domain lets `grantee` map or copy its page `gfn` (HV-GNT-1). */
export interface GrantEntry {
  readonly grantee: DomId;
  readonly gfn: number;
  readonly readonly: boolean;
  /** Live mappings of this grant by the grantee. */
  readonly mapCount: number;
}

/** A mapping this domain made of another domain's grant (Xen's maptrack entry, HV-GNT-3). */
export interface MaptrackEntry {
  readonly granter: DomId;
  readonly ref: number;
  /** The host frame and where it is mapped in this domain's physical address space. */
  readonly mfn: number;
  readonly gfn: number;
  readonly readonly: boolean;
}

/** An event-channel port (HV-EVT-1). */
export type PortBinding =
  | { readonly kind: 'unbound'; readonly remote: DomId }
  | { readonly kind: 'interdomain'; readonly remote: DomId; readonly remotePort: number }
  | { readonly kind: 'virq'; readonly virq: number }
  | { readonly kind: 'pirq'; readonly line: number };

export interface Port {
  readonly binding: PortBinding;
  readonly pending: boolean;
  readonly masked: boolean;
  /** vCPU notified when the port becomes pending. */
  readonly vcpu: number;
}

export interface Domain {
  readonly id: DomId;
  readonly name: string;
  readonly lifecycle: DomainLifecycle;
  /** The control domain: the only one that may create, destroy, pause, unpause, save and restore (HV-DOM-2). */
  readonly privileged: boolean;
  readonly vmid: number;
  /** Host frame of the stage-2 root table. */
  readonly s2root: number;
  /** Host frames of the stage-2 inner tables (owned by the hypervisor). */
  readonly s2tables: readonly number[];
  /** Guest-physical page → host frame, for pages the domain owns (HV-MEM-2). */
  readonly p2m: ReadonlyMap<number, number>;
  /** Most pages the domain may own (HV-MEM-3). */
  readonly maxPages: number;
  readonly weight: number;
  /** Cap in percent of one pCPU; 0 = uncapped (HV-SCHED-3). */
  readonly cap: number;
  /** Block-device sectors this domain may use, and where its allowance starts (HV-MEM-5). */
  readonly storage: { readonly first: number; readonly count: number };
  readonly vcpus: readonly Vcpu[];
  readonly grants: readonly (GrantEntry | null)[];
  readonly maptrack: readonly (MaptrackEntry | null)[];
  readonly ports: readonly (Port | null)[];
  /** Devices assigned to the domain for direct access (HV-DEV-2). */
  readonly devices: readonly number[];
  /** Text written with the console hypercall or to the emulated UART (HV-DEV-1). */
  readonly console: string;
  /** Registers of the domain's emulated block device (HV-DEV-1). */
  readonly vblk: VblkRegs;
  /** Offset of the domain's virtual counter from the host counter (kept across save/restore). */
  readonly counterOffset: number;
  /** Back unbacked guest memory on first touch, within the quota (HV-MEM-7). */
  readonly demandPaging: boolean;
  /** Pages written since dirty logging was enabled, or null when it is off (HV-LIFE-5). */
  readonly dirty: ReadonlySet<number> | null;
}

/** Registers of an emulated block device. */
export interface VblkRegs {
  readonly sector: number;
  readonly addr: number;
  readonly count: number;
  readonly status: number;
}

/** A saved domain: plain data, enough to rebuild it (HV-LIFE-3). */
export interface DomainSnapshot {
  readonly name: string;
  readonly demandPaging: boolean;
  readonly maxPages: number;
  readonly weight: number;
  readonly cap: number;
  readonly storage: { readonly first: number; readonly count: number };
  /** Guest page → its contents (all words). */
  readonly memory: readonly { readonly gfn: number; readonly words: readonly number[] }[];
  readonly vcpus: readonly { readonly state: VcpuRunState; readonly affinity: number; readonly context: VcpuContext }[];
  readonly grants: readonly (GrantEntry | null)[];
  readonly ports: readonly (Port | null)[];
  readonly console: string;
  /** The guest's virtual time when saved. */
  readonly virtualTime: number;
}

/** What a pCPU is doing (HV-SCHED-1). */
export interface Pcpu {
  readonly current: { readonly dom: DomId; readonly vcpu: number } | null;
  /** Ticks left in the running vCPU's slice. */
  readonly sliceLeft: number;
}

export interface HypervisorConfig {
  /** Ticks per scheduling slice (Xen: 30 ms slices, 10 ms ticks → 3). */
  readonly sliceTicks: number;
  /** Ticks between credit accounting passes (Xen: every 30 ms → 3). */
  readonly accountingTicks: number;
  /** Credits a running vCPU burns per tick (Xen: 100 per 10 ms tick). */
  readonly creditsPerTick: number;
  /** Where an idle pCPU waits (an EL2 address; never fetched). */
  readonly idlePc: number;
  /** Guest-physical address of each domain's emulated UART (HV-DEV-1). */
  readonly uartIpa: number;
  /** Guest-physical address of each domain's emulated block device (HV-DEV-1). */
  readonly vblkIpa: number;
  /** Index of the machine's block device, which backs every emulated one, or -1. */
  readonly blockDevice: number;
}

export interface HypervisorState {
  readonly config: HypervisorConfig;
  readonly domains: readonly (Domain | null)[];
  /** Owner of each host frame (HV-MEM-1). */
  readonly frameOwner: readonly number[];
  readonly pcpus: readonly Pcpu[];
  /** Runnable vCPUs not on a pCPU, in the order they became runnable (HV-SCHED-1). */
  readonly runq: readonly { readonly dom: DomId; readonly vcpu: number }[];
  /** Shared interrupt line → domain and port it is delivered to (HV-EXIT-6). */
  readonly pirqs: readonly ({ readonly dom: DomId; readonly port: number } | null)[];
  /** Snapshots of saved domains, by handle (HV-LIFE-3). */
  readonly saved: readonly (DomainSnapshot | null)[];
  /** Images dom0 may build domains from (HV-DOM-4). */
  readonly images: readonly GuestImage[];
  /** Ticks since the last credit accounting pass. */
  readonly ticksSinceAccounting: number;
}

/** A guest kernel image the control domain can instantiate (the toolstack's job in Xen). */
export interface GuestImage {
  readonly name: string;
  readonly maxPages: number;
  readonly vcpus: number;
  readonly weight: number;
  readonly cap: number;
  readonly storage: { readonly first: number; readonly count: number };
  /** Words of the guest kernel, loaded at guest-physical `origin`. */
  readonly words: readonly number[];
  readonly origin: number;
  /** Pages populated at creation (gfn 0 .. pages-1). */
  readonly pages: number;
}
