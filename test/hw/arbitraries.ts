/**
 * fast-check arbitraries for the ISA, shared by the hardware-model suites.
 *
 * `arbInstruction` generates every mnemonic with every field in its documented range
 * (src/hw/isa/instruction.ts, the encoding table in src/hw/isa/encoding.ts); fast-check's
 * integer arbitraries are biased toward the range ends, so the edges of each field are
 * tried often. `arbWord` mixes uniformly random words (mostly UNDEFINED) with encodings of
 * valid instructions and with those encodings one bit away, which is where decoding bugs in
 * reserved fields live.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import {
  ALU_IMM_OPS,
  ALU_REG_OPS,
  BRANCH_OPS,
  SYSREG_COUNT,
  TLBI_SCOPES,
  encode,
  type AluImmOp,
  type Instruction,
  type Mnemonic,
} from '../../src/hw/index.ts';

/**
 * A record arbitrary that builds plain objects: fast-check may otherwise build null-prototype
 * ones, which `toStrictEqual` tells apart from the decoder's output.
 */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

/** A general register r0..r15. */
export const arbReg: fc.Arbitrary<number> = fc.integer({ min: 0, max: 15 });

/** A signed integer of `bits` bits. */
export function arbSigned(bits: number): fc.Arbitrary<number> {
  return fc.integer({ min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 });
}

/** An unsigned integer of `bits` bits. */
export function arbUnsigned(bits: number): fc.Arbitrary<number> {
  return fc.integer({ min: 0, max: 2 ** bits - 1 });
}

/** A defined system-register number. */
export const arbSysreg: fc.Arbitrary<number> = fc.integer({ min: 0, max: SYSREG_COUNT - 1 });

/** The immediate range of each ALU-immediate operation (instruction.ts). */
function arbAluImm(op: AluImmOp): fc.Arbitrary<number> {
  switch (op) {
    case 'addi':
    case 'slti':
      return arbSigned(18);
    case 'andi':
    case 'ori':
    case 'xori':
      return arbUnsigned(18);
    case 'shli':
    case 'shri':
    case 'sari':
      return fc.integer({ min: 0, max: 31 });
  }
}

const aluRegArbs = Object.fromEntries(
  ALU_REG_OPS.map((op) => [op, rec({ op: fc.constant(op), rd: arbReg, rs1: arbReg, rs2: arbReg })]),
);
const aluImmArbs = Object.fromEntries(
  ALU_IMM_OPS.map((op) => [op, rec({ op: fc.constant(op), rd: arbReg, rs1: arbReg, imm: arbAluImm(op) })]),
);
const branchArbs = Object.fromEntries(
  BRANCH_OPS.map((op) => [op, rec({ op: fc.constant(op), rs1: arbReg, rs2: arbReg, offset: arbSigned(18) })]),
);

/** A TLBI: `rs` is r0 for scope `all` (a non-zero register field there is reserved). */
const arbTlbi: fc.Arbitrary<Instruction> = rec({ scope: fc.constantFrom(...TLBI_SCOPES), broadcast: fc.boolean(), rs: arbReg }).map(
  ({ scope, broadcast, rs }): Instruction => ({ op: 'tlbi', scope, broadcast, rs: scope === 'all' ? 0 : rs }),
);

/**
 * One arbitrary per mnemonic. Typed as a full record so that adding a mnemonic to the ISA
 * without teaching the tests to generate it is a type error.
 */
export const ARB_BY_MNEMONIC: Readonly<Record<Mnemonic, fc.Arbitrary<Instruction>>> = {
  ...(aluRegArbs as Record<(typeof ALU_REG_OPS)[number], fc.Arbitrary<Instruction>>),
  ...(aluImmArbs as Record<(typeof ALU_IMM_OPS)[number], fc.Arbitrary<Instruction>>),
  ...(branchArbs as Record<(typeof BRANCH_OPS)[number], fc.Arbitrary<Instruction>>),
  lui: rec({ op: fc.constant('lui' as const), rd: arbReg, imm: arbUnsigned(18) }),
  ld: rec({ op: fc.constant('ld' as const), rd: arbReg, rs1: arbReg, imm: arbSigned(18) }),
  st: rec({ op: fc.constant('st' as const), rs2: arbReg, rs1: arbReg, imm: arbSigned(18) }),
  jal: rec({ op: fc.constant('jal' as const), rd: arbReg, offset: arbSigned(22) }),
  jalr: rec({ op: fc.constant('jalr' as const), rd: arbReg, rs1: arbReg, imm: arbSigned(18) }),
  svc: rec({ op: fc.constant('svc' as const), imm: arbUnsigned(16) }),
  hvc: rec({ op: fc.constant('hvc' as const), imm: arbUnsigned(16) }),
  eret: fc.constant({ op: 'eret' as const }),
  wfi: fc.constant({ op: 'wfi' as const }),
  mrs: rec({ op: fc.constant('mrs' as const), rd: arbReg, sysreg: arbSysreg }),
  msr: rec({ op: fc.constant('msr' as const), sysreg: arbSysreg, rs: arbReg }),
  tlbi: arbTlbi,
};

/** Any valid instruction: every mnemonic equally likely, every field in range. */
export const arbInstruction: fc.Arbitrary<Instruction> = fc.oneof(...Object.values(ARB_BY_MNEMONIC));

/** The encoding of an instruction the test knows to be valid. */
export function encodeValid(insn: Instruction): number {
  const w = encode(insn);
  if (E.isLeft(w)) throw new Error(`arbitraries: ${w.left.message}`);
  return w.right;
}

/** The encoding of a valid instruction. */
export const arbEncodedWord: fc.Arbitrary<number> = arbInstruction.map(encodeValid);

/** Any 32-bit word, uniformly. */
export const arbAnyWord: fc.Arbitrary<number> = fc.integer({ min: 0, max: 0xffffffff });

/**
 * Any 32-bit word, biased toward valid opcodes: a third uniform, a third valid encodings,
 * a third valid encodings with one bit flipped (reserved fields, out-of-range shift amounts
 * and sysregs, opcode neighbours).
 */
export const arbWord: fc.Arbitrary<number> = fc.oneof(
  arbAnyWord,
  arbEncodedWord,
  fc.tuple(arbEncodedWord, fc.integer({ min: 0, max: 31 })).map(([w, bit]) => (w ^ (1 << bit)) >>> 0),
);
