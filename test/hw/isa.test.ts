/**
 * The fixed 32-bit encoding (HW-ISA-2, HW-ISA-3).
 *
 * encode and decode share OPCODES and the field layout, so a round trip alone cannot see a
 * swapped opcode or two swapped fields. This suite therefore keeps its own copy of the
 * normative encoding table (the opcode of each mnemonic and the bit layout of each format,
 * from the table in src/hw/isa/encoding.ts / spec/hardware.md) and checks the model against
 * it, besides the round trip and the totality and canonicity of decode.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import {
  OPCODES,
  SYSREG_COUNT,
  TLBI_SCOPES,
  decode,
  encode,
  type Decoded,
  type Instruction,
  type Mnemonic,
} from '../../src/hw/index.ts';
import { ARB_BY_MNEMONIC, arbAnyWord, arbInstruction, arbWord, encodeValid } from './arbitraries.ts';

// ---------------------------------------------------------------------------------------------
// The reference encoding table, written independently of src/hw/isa/encoding.ts.

/** Opcode of every mnemonic, bits 31..26. */
const REFERENCE_OPCODES: Readonly<Record<Mnemonic, number>> = {
  add: 0x01, sub: 0x02, and: 0x03, or: 0x04, xor: 0x05, shl: 0x06, shr: 0x07, sar: 0x08,
  mul: 0x09, slt: 0x0a, sltu: 0x0b,
  addi: 0x10, andi: 0x11, ori: 0x12, xori: 0x13, shli: 0x14, shri: 0x15, sari: 0x16, slti: 0x17,
  lui: 0x18,
  ld: 0x20, st: 0x21,
  beq: 0x28, bne: 0x29, blt: 0x2a, bge: 0x2b, bltu: 0x2c, bgeu: 0x2d, jal: 0x2e, jalr: 0x2f,
  svc: 0x38, hvc: 0x39, eret: 0x3a, wfi: 0x3b, mrs: 0x3c, msr: 0x3d, tlbi: 0x3e,
};

const ALL_MNEMONICS = Object.keys(REFERENCE_OPCODES) as Mnemonic[];

/** `value` placed at bit `lo`, truncated to `bits` bits (two's complement for negatives). */
function field(value: number, lo: number, bits: number): number {
  return ((value & (2 ** bits - 1)) * 2 ** lo) >>> 0;
}

/** The word of an in-range instruction, by the layout diagram. */
function referenceEncode(i: Instruction): number {
  const op = field(REFERENCE_OPCODES[i.op], 26, 6);
  const parts = ((): number[] => {
    switch (i.op) {
      case 'add': case 'sub': case 'and': case 'or': case 'xor': case 'shl': case 'shr':
      case 'sar': case 'mul': case 'slt': case 'sltu':
        return [field(i.rd, 22, 4), field(i.rs1, 18, 4), field(i.rs2, 14, 4)];
      case 'addi': case 'andi': case 'ori': case 'xori': case 'shli': case 'shri': case 'sari':
      case 'slti': case 'ld': case 'jalr':
        return [field(i.rd, 22, 4), field(i.rs1, 18, 4), field(i.imm, 0, 18)];
      case 'lui':
        return [field(i.rd, 22, 4), field(i.imm, 0, 18)];
      case 'st':
        return [field(i.rs2, 22, 4), field(i.rs1, 18, 4), field(i.imm, 0, 18)];
      case 'beq': case 'bne': case 'blt': case 'bge': case 'bltu': case 'bgeu':
        return [field(i.rs1, 22, 4), field(i.rs2, 18, 4), field(i.offset, 0, 18)];
      case 'jal':
        return [field(i.rd, 22, 4), field(i.offset, 0, 22)];
      case 'svc': case 'hvc':
        return [field(i.imm, 0, 16)];
      case 'eret': case 'wfi':
        return [];
      case 'mrs':
        return [field(i.rd, 22, 4), field(i.sysreg, 0, 8)];
      case 'msr':
        return [field(i.rs, 22, 4), field(i.sysreg, 0, 8)];
      case 'tlbi':
        return [field(TLBI_SCOPES.indexOf(i.scope), 24, 2), field(i.broadcast ? 1 : 0, 23, 1), field(i.rs, 19, 4)];
    }
  })();
  return parts.reduce((w, p) => (w | p) >>> 0, op);
}

/** Bits that must be zero in every encoding of mnemonic `m` (the `0` fields of the diagram). */
function reservedMask(m: Mnemonic): number {
  switch (m) {
    case 'add': case 'sub': case 'and': case 'or': case 'xor': case 'shl': case 'shr':
    case 'sar': case 'mul': case 'slt': case 'sltu':
      return 0x3fff; // 13..0
    case 'lui':
      return 0xf << 18; // the rs1 slot
    case 'svc': case 'hvc':
      return 0x3ff << 16; // 25..16
    case 'eret': case 'wfi':
      return 0x3ffffff; // 25..0
    case 'mrs': case 'msr':
      return 0x3fff << 8; // 21..8
    case 'tlbi':
      return 0x7ffff; // 18..0
    default:
      return 0;
  }
}

/** One hand-picked example of every mnemonic, with non-trivial values in every field. */
const EXAMPLES: Readonly<Record<Mnemonic, Instruction>> = {
  add: { op: 'add', rd: 1, rs1: 2, rs2: 3 },
  sub: { op: 'sub', rd: 15, rs1: 14, rs2: 13 },
  and: { op: 'and', rd: 4, rs1: 5, rs2: 6 },
  or: { op: 'or', rd: 7, rs1: 8, rs2: 9 },
  xor: { op: 'xor', rd: 10, rs1: 11, rs2: 12 },
  shl: { op: 'shl', rd: 1, rs1: 0, rs2: 15 },
  shr: { op: 'shr', rd: 2, rs1: 3, rs2: 1 },
  sar: { op: 'sar', rd: 3, rs1: 4, rs2: 5 },
  mul: { op: 'mul', rd: 6, rs1: 7, rs2: 8 },
  slt: { op: 'slt', rd: 9, rs1: 10, rs2: 11 },
  sltu: { op: 'sltu', rd: 12, rs1: 13, rs2: 14 },
  addi: { op: 'addi', rd: 1, rs1: 2, imm: -1 },
  andi: { op: 'andi', rd: 3, rs1: 4, imm: 0x3ffff },
  ori: { op: 'ori', rd: 5, rs1: 6, imm: 0x1234 },
  xori: { op: 'xori', rd: 7, rs1: 8, imm: 1 },
  shli: { op: 'shli', rd: 9, rs1: 10, imm: 31 },
  shri: { op: 'shri', rd: 11, rs1: 12, imm: 1 },
  sari: { op: 'sari', rd: 13, rs1: 14, imm: 16 },
  slti: { op: 'slti', rd: 15, rs1: 1, imm: -(1 << 17) },
  lui: { op: 'lui', rd: 2, imm: 0x3ffff },
  ld: { op: 'ld', rd: 3, rs1: 15, imm: -8 },
  st: { op: 'st', rs2: 4, rs1: 15, imm: (1 << 17) - 1 },
  beq: { op: 'beq', rs1: 1, rs2: 2, offset: -3 },
  bne: { op: 'bne', rs1: 3, rs2: 4, offset: 5 },
  blt: { op: 'blt', rs1: 5, rs2: 6, offset: -(1 << 17) },
  bge: { op: 'bge', rs1: 7, rs2: 8, offset: (1 << 17) - 1 },
  bltu: { op: 'bltu', rs1: 9, rs2: 10, offset: 0 },
  bgeu: { op: 'bgeu', rs1: 11, rs2: 12, offset: 1 },
  jal: { op: 'jal', rd: 14, offset: -(1 << 21) },
  jalr: { op: 'jalr', rd: 0, rs1: 14, imm: 4 },
  svc: { op: 'svc', imm: 0xffff },
  hvc: { op: 'hvc', imm: 7 },
  eret: { op: 'eret' },
  wfi: { op: 'wfi' },
  mrs: { op: 'mrs', rd: 5, sysreg: SYSREG_COUNT - 1 },
  msr: { op: 'msr', sysreg: 3, rs: 6 },
  tlbi: { op: 'tlbi', scope: 'asid', broadcast: true, rs: 9 },
};

/** What `decode` must give for `w`: UNDEFINED carries the word itself. */
function isUndefinedOf(d: Decoded, w: number): boolean {
  return d.op === 'undefined' && d.word === w >>> 0;
}

/** HW-ISA-2: decode(w) is UNDEFINED, or an instruction whose unique encoding is w. */
function expectCanonical(w: number): void {
  const d = decode(w);
  if (d.op === 'undefined') {
    expect(d.word).toBe(w >>> 0);
    return;
  }
  expect(encode(d)).toStrictEqual(E.right(w >>> 0));
}

function expectEncodes(i: Instruction, word: number): void {
  expect(encode(i)).toStrictEqual(E.right(word));
  expect(decode(word)).toStrictEqual(i);
}

// ---------------------------------------------------------------------------------------------

describe('the encoding table (HW-ISA-3)', () => {
  it('HW-ISA-3: OPCODES is the encoding table: one distinct non-zero 6-bit opcode per mnemonic', () => {
    expect(OPCODES).toStrictEqual(REFERENCE_OPCODES);
    const codes = Object.values(OPCODES);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c >= 1 && c <= 63).toBe(true);
  });

  it('HW-ISA-3: one hand-written example per mnemonic encodes to the word the layout diagram gives and decodes back', () => {
    expect(Object.keys(EXAMPLES).sort()).toStrictEqual(Object.keys(OPCODES).sort());
    for (const m of ALL_MNEMONICS) {
      const example = EXAMPLES[m];
      expect(example.op).toBe(m);
      expectEncodes(example, referenceEncode(example));
    }
  });

  it('HW-ISA-3: a few encodings written out bit by bit', () => {
    // add r1, r2, r3: 000001 0001 0010 0011 00000000000000
    expectEncodes({ op: 'add', rd: 1, rs1: 2, rs2: 3 }, 0b000001_0001_0010_0011_00000000000000);
    // addi r1, r2, -1: 010000 0001 0010 111111111111111111
    expectEncodes({ op: 'addi', rd: 1, rs1: 2, imm: -1 }, 0b010000_0001_0010_111111111111111111);
    // st r4, 8(r15): the stored register sits in the rd slot
    expectEncodes({ op: 'st', rs2: 4, rs1: 15, imm: 8 }, 0b100001_0100_1111_000000000000001000);
    // jal r14, -1 word: a 22-bit offset
    expectEncodes({ op: 'jal', rd: 14, offset: -1 }, 0b101110_1110_1111111111111111111111);
    // svc 0x1234
    expectEncodes({ op: 'svc', imm: 0x1234 }, 0b111000_0000000000_0001001000110100);
    // tlbi.is vmid, r5: scope 3, broadcast, rs in 22..19
    expectEncodes({ op: 'tlbi', scope: 'vmid', broadcast: true, rs: 5 }, 0b111110_11_1_0101_0000000000000000000);
    // eret
    expectEncodes({ op: 'eret' }, 0b111010_00000000000000000000000000);
  });

  it('HW-ISA-3: the instruction arbitrary generates every mnemonic in OPCODES', () => {
    for (const m of ALL_MNEMONICS) {
      for (const i of fc.sample(ARB_BY_MNEMONIC[m], { numRuns: 5, seed: 1 })) expect(i.op).toBe(m);
    }
    const seen = new Set(fc.sample(arbInstruction, { numRuns: 3000, seed: 42 }).map((i) => i.op));
    expect([...seen].sort()).toStrictEqual(Object.keys(OPCODES).sort());
  });
});

describe('encode/decode round trip (HW-ISA-3)', () => {
  it('HW-ISA-3: for every valid instruction, encode is Right and decode(encode(i)) deep-equals i', () => {
    fc.assert(
      fc.property(arbInstruction, (i) => {
        const w = encode(i);
        expect(E.isRight(w)).toBe(true);
        if (E.isRight(w)) expect(decode(w.right)).toStrictEqual(i);
      }),
    );
  });

  it('HW-ISA-3: encode puts every field where the layout diagram says', () => {
    fc.assert(
      fc.property(arbInstruction, (i) => {
        expect(encode(i)).toStrictEqual(E.right(referenceEncode(i)));
      }),
    );
  });
});

describe('decode is total and canonical (HW-ISA-2)', () => {
  it('HW-ISA-2: the all-zero word is UNDEFINED', () => {
    expect(decode(0)).toStrictEqual({ op: 'undefined', word: 0 });
  });

  it('HW-ISA-2: decode never throws on random words and every defined word is the encoding of its decoding', () => {
    fc.assert(fc.property(arbWord, (w) => expectCanonical(w)));
    fc.assert(fc.property(arbAnyWord, (w) => expectCanonical(w)));
  });

  it('HW-ISA-2: edge words: 0, all ones, every opcode with zero fields, with all reserved bits set, with all field bits set', () => {
    const words = [0, 0xffffffff, 0x80000000, 0x7fffffff];
    for (let opcode = 0; opcode < 64; opcode++) {
      const base = field(opcode, 26, 6);
      words.push(base, (base | 0x3ffffff) >>> 0, (base | 1) >>> 0, (base | (1 << 25)) >>> 0);
    }
    for (const m of ALL_MNEMONICS) words.push((field(REFERENCE_OPCODES[m], 26, 6) | reservedMask(m)) >>> 0);
    for (const w of words) expectCanonical(w);
  });

  it('HW-ISA-2: a word whose opcode is unassigned is UNDEFINED, whatever its other bits', () => {
    const assigned = new Set(Object.values(REFERENCE_OPCODES));
    const unassigned = Array.from({ length: 64 }, (_, c) => c).filter((c) => !assigned.has(c));
    expect(unassigned).toContain(0);
    fc.assert(
      fc.property(fc.constantFrom(...unassigned), fc.integer({ min: 0, max: 0x3ffffff }), (opcode, rest) => {
        const w = (field(opcode, 26, 6) | rest) >>> 0;
        expect(isUndefinedOf(decode(w), w)).toBe(true);
      }),
    );
  });

  it('HW-ISA-2: every assigned opcode with zero operand fields decodes to its mnemonic', () => {
    // With all fields zero every format is in range (tlbi all with r0, sysreg 0, shift 0).
    for (const m of ALL_MNEMONICS) expect(decode(field(REFERENCE_OPCODES[m], 26, 6)).op).toBe(m);
  });

  it('HW-ISA-2: setting any reserved bit of a valid encoding makes it UNDEFINED', () => {
    fc.assert(
      fc.property(arbInstruction, fc.integer({ min: 0, max: 25 }), (i, bit) => {
        const mask = reservedMask(i.op);
        fc.pre((mask & (1 << bit)) !== 0);
        const w = (encodeValid(i) | (1 << bit)) >>> 0;
        expect(isUndefinedOf(decode(w), w)).toBe(true);
      }),
    );
    // And exhaustively, bit by bit, on the zero-field encoding of each format with reserved bits.
    for (const m of ALL_MNEMONICS) {
      const mask = reservedMask(m);
      for (let bit = 0; bit < 26; bit++) {
        if ((mask & (1 << bit)) === 0) continue;
        const w = (field(REFERENCE_OPCODES[m], 26, 6) | (1 << bit)) >>> 0;
        expect(isUndefinedOf(decode(w), w), `${m} with reserved bit ${bit}`).toBe(true);
      }
    }
  });

  it('HW-ISA-2: out-of-range values in a field are UNDEFINED: shift amount > 31, sysreg >= SYSREG_COUNT, tlbi all with a register', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Mnemonic>('shli', 'shri', 'sari'),
        fc.integer({ min: 32, max: 0x3ffff }),
        (m, amount) => {
          const w = (field(REFERENCE_OPCODES[m], 26, 6) | amount) >>> 0;
          expect(isUndefinedOf(decode(w), w)).toBe(true);
        },
      ),
    );
    for (const m of ['mrs', 'msr'] as const) {
      for (let sysreg = SYSREG_COUNT; sysreg < 256; sysreg++) {
        const w = (field(REFERENCE_OPCODES[m], 26, 6) | sysreg) >>> 0;
        expect(isUndefinedOf(decode(w), w), `${m} sysreg ${sysreg}`).toBe(true);
      }
      const last = (field(REFERENCE_OPCODES[m], 26, 6) | (SYSREG_COUNT - 1)) >>> 0;
      expect(decode(last).op).toBe(m);
    }
    for (const broadcast of [0, 1]) {
      for (let rs = 1; rs < 16; rs++) {
        const w = (field(REFERENCE_OPCODES.tlbi, 26, 6) | field(broadcast, 23, 1) | field(rs, 19, 4)) >>> 0;
        expect(isUndefinedOf(decode(w), w), `tlbi all, r${rs}`).toBe(true);
      }
    }
  });
});

/** Instructions with one field replaced, and the field `encode` must name. */
interface BadCase {
  readonly insn: Instruction;
  readonly field: string;
}

/** `base` with `key` set to `value`; the result is deliberately outside the valid ranges. */
function withField(base: Instruction, key: string, value: number): Instruction {
  return { ...base, [key]: value } as Instruction;
}

/** Register-valued fields of each example. */
function registerFields(i: Instruction): string[] {
  return ['rd', 'rs1', 'rs2', 'rs'].filter((k) => k in i);
}

/** [field, lowest valid, highest valid] of the numeric non-register field of each mnemonic. */
function immediateRange(m: Mnemonic): readonly [string, number, number] | undefined {
  switch (m) {
    case 'addi': case 'slti': case 'ld': case 'st': case 'jalr':
      return ['imm', -(1 << 17), (1 << 17) - 1];
    case 'andi': case 'ori': case 'xori': case 'lui':
      return ['imm', 0, (1 << 18) - 1];
    case 'shli': case 'shri': case 'sari':
      return ['imm', 0, 31];
    case 'beq': case 'bne': case 'blt': case 'bge': case 'bltu': case 'bgeu':
      return ['offset', -(1 << 17), (1 << 17) - 1];
    case 'jal':
      return ['offset', -(1 << 21), (1 << 21) - 1];
    case 'svc': case 'hvc':
      return ['imm', 0, 0xffff];
    case 'mrs': case 'msr':
      return ['sysreg', 0, SYSREG_COUNT - 1];
    default:
      return undefined;
  }
}

function badCases(): BadCase[] {
  const cases: BadCase[] = [];
  for (const m of ALL_MNEMONICS) {
    // For tlbi, the register operand is only meaningful outside scope `all`.
    const base = m === 'tlbi' ? { ...EXAMPLES.tlbi, scope: 'va' as const } : EXAMPLES[m];
    for (const r of registerFields(base)) {
      for (const v of [16, -1, 1.5, Number.NaN]) cases.push({ insn: withField(base, r, v), field: r });
    }
    const range = immediateRange(m);
    if (range !== undefined) {
      const [name, lo, hi] = range;
      for (const v of [lo - 1, hi + 1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) cases.push({ insn: withField(base, name, v), field: name });
    }
  }
  for (let rs = 1; rs < 16; rs++) cases.push({ insn: { op: 'tlbi', scope: 'all', broadcast: false, rs }, field: 'rs' });
  return cases;
}

describe('encode rejects out-of-range fields as values (HW-ISA-2)', () => {
  it('HW-ISA-2: registers 16/-1, immediates one past each end, sysreg >= SYSREG_COUNT and tlbi all with rs != 0 are Left naming the field', () => {
    const cases = badCases();
    expect(cases.length).toBeGreaterThan(100);
    for (const { insn, field: name } of cases) {
      const r = encode(insn);
      expect(E.isLeft(r), `${JSON.stringify(insn)} should be rejected`).toBe(true);
      if (E.isLeft(r)) {
        expect(r.left.code).toBe('isa.range');
        expect(r.left.path).toBe(name);
        expect(r.left.message).toContain(name);
      }
    }
  });

  it('HW-ISA-2: encode never throws on instructions with a field replaced by any number, and what it accepts round-trips', () => {
    // -0 is the integer 0 and encodes as 0; normalised so that the deep equality below holds.
    const anyNumber = fc.oneof(fc.integer(), fc.double(), fc.integer({ min: -40, max: 300 })).map((v) => (v === 0 ? 0 : v));
    fc.assert(
      fc.property(arbInstruction, fc.nat(), anyNumber, (i, pick, value) => {
        const keys = Object.keys(i).filter((k) => k !== 'op' && k !== 'scope' && k !== 'broadcast');
        fc.pre(keys.length > 0);
        const mutated = withField(i, keys[pick % keys.length]!, value);
        const r = encode(mutated);
        if (E.isRight(r)) {
          expect(r.right).toBe(r.right >>> 0);
          expect(decode(r.right)).toStrictEqual(mutated);
        } else {
          expect(r.left.message).not.toBe('');
        }
      }),
    );
  });
});
