/**
 * What a hypervisor system boots from (HV-BOOT-1): domains with their kernels, quotas and
 * weights, images the control domain may instantiate later, and the channels and grants the
 * toolstack sets up at boot. Plain data; `system/` decodes it from JSON.
 *
 * @module
 */

export interface DomainSpecJson {
  readonly name: string;
  /** The control domain (exactly one; default: the first domain). */
  readonly control?: boolean;
  /** Assembly source of the guest kernel, run at EL1 from guest-physical `origin`. */
  readonly kernel: string;
  /** Guest-physical load address of the kernel (default 0). */
  readonly origin?: number;
  /** Most pages the domain may own (its memory quota). */
  readonly memory: number;
  /** Pages populated at boot from gfn 0 (default: what the kernel needs). */
  readonly pages?: number;
  readonly vcpus?: number;
  readonly weight?: number;
  /** Cap in percent of one pCPU; 0 = none. */
  readonly cap?: number;
  /** Block-device sectors of the domain's storage quota. */
  readonly storage?: number;
  /** pCPU of each vCPU. */
  readonly affinity?: readonly number[];
  /** Machine devices assigned to the domain, each mapped at guest page `gfn`. */
  readonly devices?: readonly { readonly device: number; readonly gfn: number }[];
  /** Whether the domain runs at boot (default true). */
  readonly start?: boolean;
  /** Back unbacked guest memory on first touch, within the quota (default false). */
  readonly demandPaging?: boolean;
  /** Initial registers of vCPU 0, by name (`r1`..`r15`). */
  readonly regs?: Readonly<Record<string, number>>;
}

export interface ImageSpecJson {
  readonly name: string;
  readonly kernel: string;
  readonly origin?: number;
  readonly memory: number;
  readonly pages?: number;
  readonly vcpus?: number;
  readonly weight?: number;
  readonly cap?: number;
  readonly storage?: number;
}

export interface HypervisorScenario {
  readonly hypervisor?: {
    readonly sliceTicks?: number;
    readonly accountingTicks?: number;
    readonly creditsPerTick?: number;
  };
  readonly domains: readonly DomainSpecJson[];
  readonly images?: readonly ImageSpecJson[];
  /** Interdomain channels made at boot; each end gets the lowest free port of its domain. */
  readonly channels?: readonly { readonly from: string; readonly to: string }[];
  /** Grants made at boot; each gets the lowest free reference of the granting domain. */
  readonly grants?: readonly { readonly from: string; readonly to: string; readonly gfn: number; readonly readonly?: boolean }[];
}
