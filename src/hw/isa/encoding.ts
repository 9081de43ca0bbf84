/**
 * The fixed 32-bit encoding: `decode` is total over all 2^32 words and canonical (a word that
 * decodes to an instruction is exactly `encode` of it); `encode` rejects out-of-range fields
 * as values (spec/hardware.md, HW-ISA-2..3 and the encoding table).
 *
 * ```
 *  31     26 25  22 21  18 17  14 13                 0
 * | opcode  |  rd  | rs1  | rs2  |        0           |  R   ALU register
 * | opcode  |  rd  | rs1  |       imm18               |  I   ALU immediate, ld, jalr
 * | opcode  | rs2  | rs1  |       imm18               |  S   st
 * | opcode  | rs1  | rs2  |       offset18            |  B   branches
 * | opcode  |  rd  |          offset22                |  J   jal
 * | opcode  |        0             |      imm16       |  svc, hvc
 * | opcode  |  rd / rs   |     0         |  sysreg8   |  mrs, msr
 * | opcode  |scope|is| rs |          0                 |  tlbi
 * ```
 * Reserved fields must be zero; opcode 0 (and so the all-zero word) is UNDEFINED.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { mkError, type MkhvError } from '../error.ts';
import { SYSREG_COUNT } from './sysregs.ts';
import {
  ALU_REG_OPS,
  BRANCH_OPS,
  TLBI_SCOPES,
  type Decoded,
  type Instruction,
  type Mnemonic,
} from './instruction.ts';

/** Opcode of every mnemonic (HW-ISA-3, the encoding table). */
export const OPCODES: Readonly<Record<Mnemonic, number>> = {
  add: 0x01, sub: 0x02, and: 0x03, or: 0x04, xor: 0x05, shl: 0x06, shr: 0x07, sar: 0x08,
  mul: 0x09, slt: 0x0a, sltu: 0x0b,
  addi: 0x10, andi: 0x11, ori: 0x12, xori: 0x13, shli: 0x14, shri: 0x15, sari: 0x16, slti: 0x17,
  lui: 0x18,
  ld: 0x20, st: 0x21,
  beq: 0x28, bne: 0x29, blt: 0x2a, bge: 0x2b, bltu: 0x2c, bgeu: 0x2d, jal: 0x2e, jalr: 0x2f,
  svc: 0x38, hvc: 0x39, eret: 0x3a, wfi: 0x3b, mrs: 0x3c, msr: 0x3d, tlbi: 0x3e,
};

const MNEMONIC_OF_OPCODE: readonly (Mnemonic | undefined)[] = (() => {
  const table: (Mnemonic | undefined)[] = new Array(64).fill(undefined);
  for (const [m, code] of Object.entries(OPCODES)) table[code] = m as Mnemonic;
  return table;
})();

const aluReg: ReadonlySet<string> = new Set(ALU_REG_OPS);

/** Instruction formats, the rows of the encoding table. */
const enum Format {
  None,
  AluReg,
  AluImmSigned,
  AluImmUnsigned,
  ShiftImm,
  Lui,
  Load,
  Store,
  Branch,
  Jal,
  Jalr,
  Call,
  NoOperand,
  Mrs,
  Msr,
  Tlbi,
}

function formatOf(m: Mnemonic): Format {
  if (aluReg.has(m)) return Format.AluReg;
  if ((BRANCH_OPS as readonly string[]).includes(m)) return Format.Branch;
  switch (m) {
    case 'addi':
    case 'slti':
      return Format.AluImmSigned;
    case 'andi':
    case 'ori':
    case 'xori':
      return Format.AluImmUnsigned;
    case 'shli':
    case 'shri':
    case 'sari':
      return Format.ShiftImm;
    case 'lui':
      return Format.Lui;
    case 'ld':
      return Format.Load;
    case 'st':
      return Format.Store;
    case 'jal':
      return Format.Jal;
    case 'jalr':
      return Format.Jalr;
    case 'svc':
    case 'hvc':
      return Format.Call;
    case 'eret':
    case 'wfi':
      return Format.NoOperand;
    case 'mrs':
      return Format.Mrs;
    case 'msr':
      return Format.Msr;
    case 'tlbi':
      return Format.Tlbi;
    default:
      return Format.None;
  }
}

const FORMAT_OF_OPCODE: readonly Format[] = MNEMONIC_OF_OPCODE.map((m) => (m === undefined ? Format.None : formatOf(m)));

const f = (word: number, lo: number, bits: number): number => (word >>> lo) & ((1 << bits) - 1);
const sext = (value: number, bits: number): number => (value << (32 - bits)) >> (32 - bits);

/** Decodes any 32-bit word; words that encode nothing decode to UNDEFINED (HW-ISA-2). */
export function decode(word: number): Decoded {
  word = word >>> 0;
  const opcode = word >>> 26;
  const m = MNEMONIC_OF_OPCODE[opcode]!;
  const a = (word >>> 22) & 15;
  const b = (word >>> 18) & 15;
  const imm18 = word & 0x3ffff;
  switch (FORMAT_OF_OPCODE[opcode]) {
    case Format.AluReg:
      return (word & 0x3fff) !== 0 ? undefinedWord(word) : ({ op: m, rd: a, rs1: b, rs2: (word >>> 14) & 15 } as Instruction);
    case Format.AluImmSigned:
      return { op: m, rd: a, rs1: b, imm: sext(imm18, 18) } as Instruction;
    case Format.AluImmUnsigned:
      return { op: m, rd: a, rs1: b, imm: imm18 } as Instruction;
    case Format.ShiftImm:
      return imm18 > 31 ? undefinedWord(word) : ({ op: m, rd: a, rs1: b, imm: imm18 } as Instruction);
    case Format.Lui:
      return b !== 0 ? undefinedWord(word) : { op: 'lui', rd: a, imm: imm18 };
    case Format.Load:
      return { op: 'ld', rd: a, rs1: b, imm: sext(imm18, 18) };
    case Format.Store:
      return { op: 'st', rs2: a, rs1: b, imm: sext(imm18, 18) };
    case Format.Branch:
      return { op: m, rs1: a, rs2: b, offset: sext(imm18, 18) } as Instruction;
    case Format.Jal:
      return { op: 'jal', rd: a, offset: sext(word & 0x3fffff, 22) };
    case Format.Jalr:
      return { op: 'jalr', rd: a, rs1: b, imm: sext(imm18, 18) };
    case Format.Call:
      return f(word, 16, 10) !== 0 ? undefinedWord(word) : ({ op: m, imm: word & 0xffff } as Instruction);
    case Format.NoOperand:
      return (word & 0x3ffffff) !== 0 ? undefinedWord(word) : ({ op: m } as Instruction);
    case Format.Mrs:
    case Format.Msr: {
      const sysreg = word & 0xff;
      if (f(word, 8, 14) !== 0 || sysreg >= SYSREG_COUNT) return undefinedWord(word);
      return m === 'mrs' ? { op: 'mrs', rd: a, sysreg } : { op: 'msr', sysreg, rs: a };
    }
    case Format.Tlbi: {
      const scope = TLBI_SCOPES[f(word, 24, 2)]!;
      const rs = f(word, 19, 4);
      // TLBI ALL takes no operand: a non-zero register field is reserved.
      if (f(word, 0, 19) !== 0 || (scope === 'all' && rs !== 0)) return undefinedWord(word);
      return { op: 'tlbi', scope, broadcast: f(word, 23, 1) === 1, rs };
    }
    default:
      return undefinedWord(word);
  }
}

function undefinedWord(word: number): Decoded {
  return { op: 'undefined', word };
}

function regOk(r: number): boolean {
  return Number.isInteger(r) && r >= 0 && r <= 15;
}

function inRange(v: number, lo: number, hi: number): boolean {
  return Number.isInteger(v) && v >= lo && v <= hi;
}

/**
 * Encodes an instruction, or says which field is out of range. `decode(encode(i)) = i` for
 * every instruction `encode` accepts (HW-ISA-3).
 */
export function encode(insn: Instruction): E.Either<MkhvError, number> {
  const bad = (field: string, range: string): E.Either<MkhvError, number> =>
    E.left(mkError('isa.range', `${insn.op}: ${field} must be ${range}`, field));
  const op = OPCODES[insn.op] << 26;
  const regs = (...rs: ReadonlyArray<readonly [string, number]>): E.Either<MkhvError, void> => {
    for (const [name, r] of rs) if (!regOk(r)) return E.left(mkError('isa.range', `${insn.op}: ${name} must be a register r0..r15`, name));
    return E.right(undefined);
  };
  const done = (word: number, check: E.Either<MkhvError, void>): E.Either<MkhvError, number> =>
    E.isLeft(check) ? check : E.right(word >>> 0);
  const i = insn;
  if (aluReg.has(i.op) && 'rs2' in i && 'rd' in i) {
    return done(op | (i.rd << 22) | (i.rs1 << 18) | (i.rs2 << 14), regs(['rd', i.rd], ['rs1', i.rs1], ['rs2', i.rs2]));
  }
  switch (i.op) {
    case 'addi':
    case 'slti':
      if (!inRange(i.imm, -(1 << 17), (1 << 17) - 1)) return bad('imm', 'a signed 18-bit integer');
      return done(op | (i.rd << 22) | (i.rs1 << 18) | (i.imm & 0x3ffff), regs(['rd', i.rd], ['rs1', i.rs1]));
    case 'andi':
    case 'ori':
    case 'xori':
      if (!inRange(i.imm, 0, (1 << 18) - 1)) return bad('imm', 'an unsigned 18-bit integer');
      return done(op | (i.rd << 22) | (i.rs1 << 18) | i.imm, regs(['rd', i.rd], ['rs1', i.rs1]));
    case 'shli':
    case 'shri':
    case 'sari':
      if (!inRange(i.imm, 0, 31)) return bad('imm', 'a shift amount 0..31');
      return done(op | (i.rd << 22) | (i.rs1 << 18) | i.imm, regs(['rd', i.rd], ['rs1', i.rs1]));
    case 'lui':
      if (!inRange(i.imm, 0, (1 << 18) - 1)) return bad('imm', 'an unsigned 18-bit integer');
      return done(op | (i.rd << 22) | i.imm, regs(['rd', i.rd]));
    case 'ld':
    case 'jalr':
      if (!inRange(i.imm, -(1 << 17), (1 << 17) - 1)) return bad('imm', 'a signed 18-bit byte offset');
      return done(op | (i.rd << 22) | (i.rs1 << 18) | (i.imm & 0x3ffff), regs(['rd', i.rd], ['rs1', i.rs1]));
    case 'st':
      if (!inRange(i.imm, -(1 << 17), (1 << 17) - 1)) return bad('imm', 'a signed 18-bit byte offset');
      return done(op | (i.rs2 << 22) | (i.rs1 << 18) | (i.imm & 0x3ffff), regs(['rs2', i.rs2], ['rs1', i.rs1]));
    case 'beq':
    case 'bne':
    case 'blt':
    case 'bge':
    case 'bltu':
    case 'bgeu':
      if (!inRange(i.offset, -(1 << 17), (1 << 17) - 1)) return bad('offset', 'a signed 18-bit word offset');
      return done(op | (i.rs1 << 22) | (i.rs2 << 18) | (i.offset & 0x3ffff), regs(['rs1', i.rs1], ['rs2', i.rs2]));
    case 'jal':
      if (!inRange(i.offset, -(1 << 21), (1 << 21) - 1)) return bad('offset', 'a signed 22-bit word offset');
      return done(op | (i.rd << 22) | (i.offset & 0x3fffff), regs(['rd', i.rd]));
    case 'svc':
    case 'hvc':
      if (!inRange(i.imm, 0, 0xffff)) return bad('imm', 'an unsigned 16-bit integer');
      return done(op | i.imm, E.right(undefined));
    case 'eret':
    case 'wfi':
      return done(op, E.right(undefined));
    case 'mrs':
      if (!inRange(i.sysreg, 0, SYSREG_COUNT - 1)) return bad('sysreg', 'a defined system register');
      return done(op | (i.rd << 22) | i.sysreg, regs(['rd', i.rd]));
    case 'msr':
      if (!inRange(i.sysreg, 0, SYSREG_COUNT - 1)) return bad('sysreg', 'a defined system register');
      return done(op | (i.rs << 22) | i.sysreg, regs(['rs', i.rs]));
    case 'tlbi': {
      const scope = TLBI_SCOPES.indexOf(i.scope);
      if (scope < 0) return bad('scope', 'all, va, asid or vmid');
      if (i.scope === 'all' && i.rs !== 0) return bad('rs', 'r0 for TLBI ALL');
      return done(op | (scope << 24) | ((i.broadcast ? 1 : 0) << 23) | (i.rs << 19), regs(['rs', i.rs]));
    }
    default:
      return E.left(mkError('isa.unknown', `unknown instruction '${(i as { op: string }).op}'`, 'op'));
  }
}
