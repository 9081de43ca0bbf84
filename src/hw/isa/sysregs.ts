/**
 * System registers: their numbers in the MRS/MSR encoding, the level that owns each, and the
 * HCR_EL2 control that can trap it to EL2 (spec/hardware.md, HW-SYS-1..6).
 *
 * The registers are banked by level as on ARMv8: EL1 has its own exception registers, table
 * base and timers, EL2 its own. A hypervisor virtualises EL1 by switching the EL1 bank on a
 * world switch and by the trap controls in HCR_EL2.
 *
 * @module
 */

/** Where a system register may be accessed from, and what traps it. */
export interface SysRegInfo {
  /** Encoding in the 8-bit sysreg field of MRS/MSR. */
  readonly id: number;
  readonly name: string;
  /** Lowest exception level that may access it (HW-SYS-2). */
  readonly level: 0 | 1 | 2;
  readonly readable: boolean;
  readonly writable: boolean;
  /** HCR_EL2 bit that, when set, traps EL1 accesses to EL2 (HW-SYS-3). 0 = never trapped. */
  readonly trapBit: number;
  /** Whether the value is computed on read rather than stored. */
  readonly computed: boolean;
  readonly doc: string;
}

/** HCR_EL2 bits: the hypervisor's trap and routing controls (HW-SYS-4). */
export const HCR = {
  /** Stage-2 translation on for EL1 and EL0. */
  VM: 1 << 0,
  /** Physical IRQs route to EL2; EL1 interrupt-controller accesses use the virtual interface. */
  IMO: 1 << 1,
  /** WFI at EL1 traps to EL2. */
  TWI: 1 << 2,
  /** Accesses to the EL1 translation controls (SCTLR_EL1, TTBR0_EL1) trap to EL2. */
  TVM: 1 << 3,
  /** TLB maintenance at EL1 traps to EL2. */
  TTLB: 1 << 4,
  /** Accesses to the EL1 physical timer and counter trap to EL2. */
  TPT: 1 << 5,
} as const;

/** Mask of the defined HCR_EL2 bits; the others read as zero. */
export const HCR_DEFINED_BITS = 0x3f;

/** SCTLR_EL1.M: stage-1 translation on for EL1 and EL0. */
export const SCTLR_M = 1;

/** Timer control bits (CNTP_CTL, CNTV_CTL). */
export const TIMER_CTL = { ENABLE: 1, IMASK: 2, ISTATUS: 4 } as const;

/** Value ICC_IAR returns when nothing is pending. */
export const SPURIOUS_IRQ = 1023;

/** The register table, in encoding order (the source of {@link SYSREGS}). */
export const SYSREG_TABLE = [
  { name: 'TPIDR_EL0', level: 0, readable: true, writable: true, trapBit: 0, computed: false, doc: 'user thread pointer' },
  { name: 'CNTVCT', level: 0, readable: true, writable: false, trapBit: 0, computed: true, doc: 'virtual count: counter − CNTVOFF_EL2' },
  { name: 'SCTLR_EL1', level: 1, readable: true, writable: true, trapBit: HCR.TVM, computed: false, doc: 'bit 0 M: stage-1 translation on' },
  { name: 'TTBR0_EL1', level: 1, readable: true, writable: true, trapBit: HCR.TVM, computed: false, doc: 'stage-1 root: ASID[31:24], root frame[23:0]' },
  { name: 'VBAR_EL1', level: 1, readable: true, writable: true, trapBit: 0, computed: false, doc: 'EL1 exception vector base' },
  { name: 'ELR_EL1', level: 1, readable: true, writable: true, trapBit: 0, computed: false, doc: 'return address of the last exception taken to EL1' },
  { name: 'SPSR_EL1', level: 1, readable: true, writable: true, trapBit: 0, computed: false, doc: 'saved EL[3:2] and I[7] of the last exception taken to EL1' },
  { name: 'ESR_EL1', level: 1, readable: true, writable: true, trapBit: 0, computed: false, doc: 'syndrome of the last exception taken to EL1' },
  { name: 'FAR_EL1', level: 1, readable: true, writable: true, trapBit: 0, computed: false, doc: 'faulting virtual address' },
  { name: 'CNTV_CTL', level: 1, readable: true, writable: true, trapBit: 0, computed: false, doc: 'virtual timer: ENABLE, IMASK, ISTATUS (read-only)' },
  { name: 'CNTV_CVAL', level: 1, readable: true, writable: true, trapBit: 0, computed: false, doc: 'virtual timer compare value' },
  { name: 'CNTP_CTL', level: 1, readable: true, writable: true, trapBit: HCR.TPT, computed: false, doc: 'physical timer: ENABLE, IMASK, ISTATUS (read-only)' },
  { name: 'CNTP_CVAL', level: 1, readable: true, writable: true, trapBit: HCR.TPT, computed: false, doc: 'physical timer compare value' },
  { name: 'CNTPCT', level: 1, readable: true, writable: false, trapBit: HCR.TPT, computed: true, doc: 'physical count' },
  { name: 'ICC_IAR', level: 1, readable: true, writable: false, trapBit: 0, computed: true, doc: 'acknowledge the highest-priority pending interrupt (virtual interface when HCR.IMO)' },
  { name: 'ICC_EOIR', level: 1, readable: false, writable: true, trapBit: 0, computed: true, doc: 'end of interrupt (virtual interface when HCR.IMO)' },
  { name: 'ICC_SGIR', level: 1, readable: false, writable: true, trapBit: HCR.IMO, computed: true, doc: 'send an IPI to the CPUs in the written mask' },
  { name: 'MPIDR_EL1', level: 1, readable: true, writable: false, trapBit: 0, computed: true, doc: 'CPU number (VMPIDR_EL2 when HCR.VM)' },
  { name: 'TPIDR_EL1', level: 1, readable: true, writable: true, trapBit: 0, computed: false, doc: 'kernel scratch register' },
  { name: 'HCR_EL2', level: 2, readable: true, writable: true, trapBit: 0, computed: false, doc: 'hypervisor configuration: VM, IMO, TWI, TVM, TTLB, TPT' },
  { name: 'VTTBR_EL2', level: 2, readable: true, writable: true, trapBit: 0, computed: false, doc: 'stage-2 root: VMID[31:24], root frame[23:0]' },
  { name: 'VBAR_EL2', level: 2, readable: true, writable: true, trapBit: 0, computed: false, doc: 'EL2 exception vector base' },
  { name: 'ELR_EL2', level: 2, readable: true, writable: true, trapBit: 0, computed: false, doc: 'return address of the last exception taken to EL2' },
  { name: 'SPSR_EL2', level: 2, readable: true, writable: true, trapBit: 0, computed: false, doc: 'saved EL and I of the last exception taken to EL2' },
  { name: 'ESR_EL2', level: 2, readable: true, writable: true, trapBit: 0, computed: false, doc: 'syndrome of the last exception taken to EL2' },
  { name: 'FAR_EL2', level: 2, readable: true, writable: true, trapBit: 0, computed: false, doc: 'faulting virtual address' },
  { name: 'HPFAR_EL2', level: 2, readable: true, writable: true, trapBit: 0, computed: false, doc: 'faulting intermediate physical address of a stage-2 abort' },
  { name: 'CNTVOFF_EL2', level: 2, readable: true, writable: true, trapBit: 0, computed: false, doc: 'virtual counter offset' },
  { name: 'ICH_PEND_EL2', level: 2, readable: true, writable: true, trapBit: 0, computed: false, doc: 'pending virtual interrupts (bit n = virtual ID n)' },
  { name: 'ICH_ACTIVE_EL2', level: 2, readable: true, writable: true, trapBit: 0, computed: false, doc: 'active virtual interrupts' },
  { name: 'VMPIDR_EL2', level: 2, readable: true, writable: true, trapBit: 0, computed: false, doc: 'virtual CPU number seen by EL1 when HCR.VM' },
  { name: 'TPIDR_EL2', level: 2, readable: true, writable: true, trapBit: 0, computed: false, doc: 'hypervisor scratch register' },
] as const satisfies ReadonlyArray<Omit<SysRegInfo, 'id'>>;

/** Every system register, indexed by its encoding. */
export const SYSREGS: readonly SysRegInfo[] = SYSREG_TABLE.map((d, id): SysRegInfo => ({ ...d, id }));

/** Number of system registers; ids at or above this decode as UNDEFINED. */
export const SYSREG_COUNT = SYSREGS.length;

/** The name of a system register. */
export type SysRegName = (typeof SYSREG_TABLE)[number]['name'];

/** System-register numbers by name: `SYS.TTBR0_EL1`, ... */
export const SYS = Object.fromEntries(SYSREGS.map((r) => [r.name, r.id])) as Readonly<Record<SysRegName, number>>;

const byName: ReadonlyMap<string, SysRegInfo> = new Map(SYSREGS.map((r) => [r.name.toUpperCase(), r]));

/** Looks a register up by name, case-insensitively (for the assembler). */
export function sysRegByName(name: string): SysRegInfo | undefined {
  return byName.get(name.toUpperCase());
}

/** Name of a register (for the disassembler). */
export function sysRegName(id: number): string | undefined {
  return SYSREGS[id]?.name;
}
