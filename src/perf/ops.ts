/**
 * The closed list of primitive operations the model can perform.
 *
 * Every layer records what it does as a list of these names: the hardware model for each
 * instruction, trap and DMA transfer; the supervisors for each context save, address-space
 * switch or message copy. The cost layer folds such a list over a per-microarchitecture
 * table, so a path's cost is always composed from primitives, never typed in (PERF-OP-1).
 *
 * The list is closed: a name that is not here cannot be emitted (the type forbids it), and
 * every cost table must price every name here.
 *
 * @module
 */

/** Primitive operations emitted by the hardware model (spec/hardware.md, HW-OPS-1). */
export const HARDWARE_OPS = [
  /** One instruction retired in the pipeline (an L1-hit ALU, branch or system instruction). */
  'instruction',
  /** A data load or store that reached RAM (on top of `instruction`). */
  'dataAccess',
  /** A load or store that reached a device register. */
  'mmioAccess',
  /** A TLB lookup that missed and started a walk. */
  'tlbMiss',
  /** One page-table entry read by a one-stage walk. */
  'pageWalkStep',
  /** One page-table entry read during a two-dimensional (stage 1 over stage 2) walk. */
  'nestedWalkStep',
  /** Exception entry into EL1 (vector, banked ELR/SPSR/ESR writes). */
  'trapEntryEl1',
  /** Exception entry into EL2. */
  'trapEntryEl2',
  /** ERET from EL1. */
  'trapReturnEl1',
  /** ERET from EL2. */
  'trapReturnEl2',
  /** MRS: read of a system register. */
  'sysregRead',
  /** MSR: write of a system register. */
  'sysregWrite',
  /** TLB invalidation of one page. */
  'tlbiVa',
  /** TLB invalidation of one address space (ASID). */
  'tlbiAsid',
  /** TLB invalidation of one virtual machine (VMID). */
  'tlbiVmid',
  /** TLB invalidation of everything in scope. */
  'tlbiAll',
  /** Extra cost of broadcasting a TLB invalidation to the other CPUs (inner shareable). */
  'tlbiBroadcast',
  /** WFI: the CPU stops until an interrupt is pending. */
  'wfi',
  /** A physical interrupt taken by a CPU. */
  'irqDelivery',
  /** A virtual interrupt taken by a guest at EL1. */
  'virtualIrqDelivery',
  /** Interrupt acknowledge (read of ICC_IAR). */
  'irqAck',
  /** End of interrupt (write of ICC_EOIR). */
  'eoi',
  /** A software-generated interrupt sent to another CPU. */
  'ipi',
  /** One word moved by a device's DMA engine. */
  'dmaWord',
  /** One page-table entry read by the IOMMU. */
  'iommuWalkStep',
] as const;

/** Primitive operations emitted by the supervisors (kernel/ and hypervisor/). */
export const SUPERVISOR_OPS = [
  /** Save of the general registers of the interrupted context. */
  'regSave',
  /** Restore of the general registers of the context being resumed. */
  'regRestore',
  /** Save of the EL1 system-register bank (with the virtual timer and interrupt state) on a world switch. */
  'sysregBankSave',
  /** Restore of the EL1 system-register bank on a world switch. */
  'sysregBankRestore',
  /** Save of FPU/vector state (eager policy, or lazy on first use). */
  'fpuSave',
  /** Restore of FPU/vector state. */
  'fpuRestore',
  /** Switch of the stage-1 address space (TTBR write with a new ASID). */
  'addressSpaceSwitch',
  /** Copy of one word between address spaces or objects (message registers, grant copy). */
  'wordCopy',
  /** VM entry: loading a vCPU's EL1 state and returning to the guest. */
  'vmEntry',
  /** VM exit: saving a vCPU's EL1 state on a trap to EL2. */
  'vmExit',
  /** A miss in the data cache on a supervisor data structure. */
  'cacheMiss',
] as const;

/** Every primitive operation of the model. */
export const PRIMITIVE_OPS = [...HARDWARE_OPS, ...SUPERVISOR_OPS] as const;

/** A primitive operation name (closed union). */
export type PrimitiveOp = (typeof PRIMITIVE_OPS)[number];

/** A list of primitive operations, in the order they were performed. */
export type OpList = readonly PrimitiveOp[];

const OP_SET: ReadonlySet<string> = new Set(PRIMITIVE_OPS);

/** Whether `name` is a primitive operation (for validating tables and external records). */
export function isPrimitiveOp(name: string): name is PrimitiveOp {
  return OP_SET.has(name);
}
