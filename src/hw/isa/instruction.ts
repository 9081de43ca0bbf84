/**
 * The instruction set: what an instruction is, as data (spec/hardware.md, HW-ISA-1..4).
 *
 * A small load/store ISA in the spirit of AArch64 and RISC-V: 16 general registers (r0 reads
 * as zero and ignores writes), word-sized loads and stores, compare-and-branch, and the
 * system instructions a supervisor needs — SVC, HVC, ERET, MRS, MSR, TLBI and WFI.
 *
 * @module
 */

/** ALU operations on two registers. */
export const ALU_REG_OPS = ['add', 'sub', 'and', 'or', 'xor', 'shl', 'shr', 'sar', 'mul', 'slt', 'sltu'] as const;
/** ALU operations with an immediate. */
export const ALU_IMM_OPS = ['addi', 'andi', 'ori', 'xori', 'shli', 'shri', 'sari', 'slti'] as const;
/** Conditional branches. */
export const BRANCH_OPS = ['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu'] as const;
/** TLB invalidation scopes (HW-TLB-4). */
export const TLBI_SCOPES = ['all', 'va', 'asid', 'vmid'] as const;

export type AluRegOp = (typeof ALU_REG_OPS)[number];
export type AluImmOp = (typeof ALU_IMM_OPS)[number];
export type BranchOp = (typeof BRANCH_OPS)[number];
export type TlbiScope = (typeof TLBI_SCOPES)[number];

/** A general register number, 0..15. */
export type Reg = number;

export type Instruction =
  | { readonly op: AluRegOp; readonly rd: Reg; readonly rs1: Reg; readonly rs2: Reg }
  /** `imm`: signed 18-bit for addi/slti, unsigned 18-bit for andi/ori/xori, 0..31 for shifts. */
  | { readonly op: AluImmOp; readonly rd: Reg; readonly rs1: Reg; readonly imm: number }
  /** rd = imm << 14, imm unsigned 18-bit. */
  | { readonly op: 'lui'; readonly rd: Reg; readonly imm: number }
  /** rd = mem[rs1 + imm], imm a signed 18-bit byte offset. */
  | { readonly op: 'ld'; readonly rd: Reg; readonly rs1: Reg; readonly imm: number }
  /** mem[rs1 + imm] = rs2. */
  | { readonly op: 'st'; readonly rs2: Reg; readonly rs1: Reg; readonly imm: number }
  /** if (rs1 op rs2) pc += 4 * offset, offset a signed 18-bit word count. */
  | { readonly op: BranchOp; readonly rs1: Reg; readonly rs2: Reg; readonly offset: number }
  /** rd = pc + 4; pc += 4 * offset, offset a signed 22-bit word count. */
  | { readonly op: 'jal'; readonly rd: Reg; readonly offset: number }
  /** rd = pc + 4; pc = rs1 + imm, imm a signed 18-bit byte offset. */
  | { readonly op: 'jalr'; readonly rd: Reg; readonly rs1: Reg; readonly imm: number }
  /** Supervisor call (to EL1) or hypervisor call (to EL2), with a 16-bit immediate. */
  | { readonly op: 'svc' | 'hvc'; readonly imm: number }
  | { readonly op: 'eret' | 'wfi' }
  /** rd = sysreg. */
  | { readonly op: 'mrs'; readonly rd: Reg; readonly sysreg: number }
  /** sysreg = rs. */
  | { readonly op: 'msr'; readonly sysreg: number; readonly rs: Reg }
  /** Invalidate TLB entries in `scope` (operand in rs), on this CPU or on all (`broadcast`). */
  | { readonly op: 'tlbi'; readonly scope: TlbiScope; readonly broadcast: boolean; readonly rs: Reg };

/** What a word that encodes no instruction decodes to. */
export interface Undefined {
  readonly op: 'undefined';
  readonly word: number;
}

/** The result of decoding any 32-bit word (HW-ISA-2: decoding is total). */
export type Decoded = Instruction | Undefined;

/** Mnemonic of any instruction. */
export type Mnemonic = Instruction['op'];
