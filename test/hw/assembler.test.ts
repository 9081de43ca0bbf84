/**
 * The assembler and disassembler (HW-ASM-1..4).
 *
 * Expected words are always built with `encode` from the instruction the source means, or
 * read back with `decode`; never copied from the assembler's own output.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import {
  OPCODES,
  SYSREGS,
  SYS,
  assemble,
  decode,
  disassemble,
  formatInstruction,
  type AsmError,
  type Instruction,
  type Mnemonic,
  type Program,
} from '../../src/hw/index.ts';
import { arbInstruction, arbReg, arbSigned, arbWord, encodeValid } from './arbitraries.ts';

// ---------------------------------------------------------------------------------------------
// Helpers

function assembled(source: string, origin = 0): Program {
  const r = assemble(source, origin);
  if (E.isLeft(r)) throw new Error(`expected the program to assemble: ${r.left.message}`);
  return r.right;
}

function assembleError(source: string, origin = 0): AsmError {
  const r = assemble(source, origin);
  if (E.isRight(r)) throw new Error(`expected an error, got words ${JSON.stringify(r.right.words)}`);
  return r.left;
}

/** A word of the expected program: an instruction (encoded here) or a raw data word. */
type Item = Instruction | number;

function expectedWords(items: readonly Item[]): number[] {
  return items.map((x) => (typeof x === 'number' ? x >>> 0 : encodeValid(x)));
}

/** Word offset of a branch at `from` to `to`. */
const wordsFrom = (from: number, to: number): number => (to - from) / 4;

/** The `lui` + `ori` pair that `li`/`la` expand to (HW-ASM-2). */
function loadImmediate(rd: number, value: number): Instruction[] {
  const v = value >>> 0;
  return [
    { op: 'lui', rd, imm: Math.floor(v / 2 ** 14) },
    { op: 'ori', rd, rs1: rd, imm: v % 2 ** 14 },
  ];
}

const lines = (...ls: string[]): string => ls.join('\n');

// ---------------------------------------------------------------------------------------------
// A renderer of instructions in many source styles, written independently of the disassembler.

interface Style {
  readonly upper: boolean;
  readonly alias: boolean;
  readonly hash: boolean;
  readonly radix: 2 | 10 | 16;
  readonly sep: string;
  readonly pseudo: boolean;
}

const arbStyle: fc.Arbitrary<Style> = fc.record(
  {
    upper: fc.boolean(),
    alias: fc.boolean(),
    hash: fc.boolean(),
    radix: fc.constantFrom<2 | 10 | 16>(2, 10, 16),
    sep: fc.constantFrom(',', ', ', ' ,  ', ',\t'),
    pseudo: fc.boolean(),
  },
  { noNullPrototype: true },
);

const ALIASES: Readonly<Record<number, string>> = { 0: 'zero', 14: 'lr', 15: 'sp' };

function regText(n: number, s: Style): string {
  const name = s.alias && ALIASES[n] !== undefined ? ALIASES[n] : `r${n}`;
  return s.upper ? name.toUpperCase() : name;
}

function numText(v: number, s: Style): string {
  const sign = v < 0 ? '-' : '';
  const mag = Math.abs(v);
  const body = s.radix === 16 ? `0x${mag.toString(16)}` : s.radix === 2 ? `0b${mag.toString(2)}` : String(mag);
  return `${s.hash ? '#' : ''}${sign}${s.upper ? body.toUpperCase() : body}`;
}

/** Source text of `i` placed at address `pc`; branch targets are absolute addresses. */
function renderInstruction(i: Instruction, pc: number, s: Style): string {
  const r = (n: number) => regText(n, s);
  const n = (v: number) => numText(v, s);
  const at = (offset: number) => n((pc + 4 * offset) >>> 0);
  const line = (m: string, ...ops: string[]) => `${s.upper ? m.toUpperCase() : m} ${ops.join(s.sep)}`.trimEnd();
  switch (i.op) {
    case 'add': case 'sub': case 'and': case 'or': case 'xor': case 'shl': case 'shr':
    case 'sar': case 'mul': case 'slt': case 'sltu':
      return line(i.op, r(i.rd), r(i.rs1), r(i.rs2));
    case 'addi':
      if (s.pseudo && i.imm === 0) return i.rd === 0 && i.rs1 === 0 ? line('nop') : line('mov', r(i.rd), r(i.rs1));
      return line(i.op, r(i.rd), r(i.rs1), n(i.imm));
    case 'andi': case 'ori': case 'xori': case 'shli': case 'shri': case 'sari': case 'slti':
      return line(i.op, r(i.rd), r(i.rs1), n(i.imm));
    case 'lui':
      return line('lui', r(i.rd), n(i.imm));
    case 'ld':
      return line('ld', r(i.rd), `${s.pseudo && i.imm === 0 ? '' : n(i.imm)}(${r(i.rs1)})`);
    case 'st':
      return line('st', r(i.rs2), `${n(i.imm)}(${r(i.rs1)})`);
    case 'beq':
      if (s.pseudo && i.rs1 === 0 && i.rs2 === 0) return line('b', at(i.offset));
      return line(i.op, r(i.rs1), r(i.rs2), at(i.offset));
    case 'bne': case 'blt': case 'bge': case 'bltu': case 'bgeu':
      return line(i.op, r(i.rs1), r(i.rs2), at(i.offset));
    case 'jal':
      if (i.rd === 14 && s.pseudo) return s.upper ? line('call', at(i.offset)) : line('jal', at(i.offset));
      return line('jal', r(i.rd), at(i.offset));
    case 'jalr':
      if (s.pseudo && i.rd === 0 && i.rs1 === 14 && i.imm === 0) return line('ret');
      return line('jalr', r(i.rd), r(i.rs1), n(i.imm));
    case 'svc': case 'hvc':
      return line(i.op, n(i.imm));
    case 'eret': case 'wfi':
      return line(i.op);
    case 'mrs': {
      const name = SYSREGS[i.sysreg]!.name;
      return line('mrs', r(i.rd), s.upper ? name : name.toLowerCase());
    }
    case 'msr': {
      const name = SYSREGS[i.sysreg]!.name;
      return line('msr', s.upper ? name : name.toLowerCase(), r(i.rs));
    }
    case 'tlbi': {
      const m = i.broadcast ? 'tlbi.is' : 'tlbi';
      return i.scope === 'all' ? line(m, 'all') : line(m, s.upper ? i.scope.toUpperCase() : i.scope, r(i.rs));
    }
  }
}

/** A word-aligned origin such that `count` words fit below 2^32. */
function arbOrigin(count: number): fc.Arbitrary<number> {
  const top = 2 ** 32 - 4 * Math.max(count, 1);
  return fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0x3fffffff }).map((k) => Math.min(4 * k, top)), fc.constant(top));
}

// ---------------------------------------------------------------------------------------------

describe('hand-written programs (HW-ASM-1, HW-ASM-2)', () => {
  it('HW-ASM-1: labels, forward and backward branches, call/ret, comments and register aliases', () => {
    const source = lines(
      '; a counting loop',
      'start:  li   r1, 10          // counter',
      '        mov  r2, zero',
      'loop:   add  r2, r2, r1',
      '        addi r1, r1, -1',
      '        bne  r1, zero, loop   ; backward',
      '        beq  r2, r0, done     ; forward',
      '        call fn',
      '        b    done',
      '',
      'fn:     st   lr, -4(sp)       // save the link register',
      '        ret',
      'done:',
      '        wfi',
    );
    const origin = 0x1000;
    const p = assembled(source, origin);
    const [start, loop, fn, done] = [0x1000, 0x100c, 0x1024, 0x102c];
    expect(p.words).toStrictEqual(
      expectedWords([
        ...loadImmediate(1, 10),
        { op: 'addi', rd: 2, rs1: 0, imm: 0 },
        { op: 'add', rd: 2, rs1: 2, rs2: 1 },
        { op: 'addi', rd: 1, rs1: 1, imm: -1 },
        { op: 'bne', rs1: 1, rs2: 0, offset: wordsFrom(0x1014, loop) },
        { op: 'beq', rs1: 2, rs2: 0, offset: wordsFrom(0x1018, done) },
        { op: 'jal', rd: 14, offset: wordsFrom(0x101c, fn) },
        { op: 'beq', rs1: 0, rs2: 0, offset: wordsFrom(0x1020, done) },
        { op: 'st', rs2: 14, rs1: 15, imm: -4 },
        { op: 'jalr', rd: 0, rs1: 14, imm: 0 },
        { op: 'wfi' },
      ]),
    );
    expect(p.origin).toBe(origin);
    expect(p.labels).toStrictEqual({ start, loop, fn, done });
    expect(p.lines).toStrictEqual([2, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 14]);
    // The backward branch really is backward, read back through decode.
    expect(decode(p.words[5]!)).toStrictEqual({ op: 'bne', rs1: 1, rs2: 0, offset: -2 });
  });

  it('HW-ASM-2: directives .word (numbers and labels), .zero and .align, and every number syntax', () => {
    const source = lines(
      '        .word 0x12345678, -1, 0b101, 42, table, end',
      '        .zero 3',
      '        .align 4               ; to 16 bytes: three words of padding',
      'table:  .word #7',
      '        .align 2               ; already aligned: nothing',
      '        li    r3, 0xdeadbeef',
      '        li    r4, -2',
      '        la    r5, table',
      '        addi  r6, r7, #-0x10',
      '        andi  r8, r9, 0b1111_0000',
      '        ori   r10, r11, 0X1F',
      '        slti  r12, r13, +5',
      '        lui   sp, 0x3ffff',
      '        nop',
      'end:',
    );
    const p = assembled(source);
    const table = 0x30;
    const end = table + 4 * 13;
    expect(p.labels).toStrictEqual({ table, end });
    expect(p.words).toStrictEqual(
      expectedWords([
        0x12345678, 0xffffffff, 5, 42, table, end,
        0, 0, 0,
        0, 0, 0,
        7,
        ...loadImmediate(3, 0xdeadbeef),
        ...loadImmediate(4, 0xfffffffe),
        ...loadImmediate(5, table),
        { op: 'addi', rd: 6, rs1: 7, imm: -16 },
        { op: 'andi', rd: 8, rs1: 9, imm: 0xf0 },
        { op: 'ori', rd: 10, rs1: 11, imm: 0x1f },
        { op: 'slti', rd: 12, rs1: 13, imm: 5 },
        { op: 'lui', rd: 15, imm: 0x3ffff },
        { op: 'addi', rd: 0, rs1: 0, imm: 0 },
      ]),
    );
    expect(p.words.length * 4).toBe(end);
  });

  it('HW-ASM-2: system instructions, memory operands, jal forms, case-insensitive mnemonics and sysregs', () => {
    const source = lines(
      'top:    JAL   r1, top',
      '        jal   top              ; rd defaults to lr',
      '        jalr  lr, r2, -8',
      '        svc   #0x10',
      '        HVC   1',
      '        eret',
      '        mrs   r1, ttbr0_el1',
      '        msr   VTTBR_EL2, R2',
      '        tlbi  all',
      '        tlbi.is va, r3',
      '        tlbi  ASID, r4',
      '        tlbi.is vmid, r5',
      '        ld    r1, (r2)',
      '        ld    r1, 0x10 ( r2 )',
      '        st    zero, -4(sp)',
      '        wfi',
      '        bgeu  r1, r2, 0          // absolute target: address 0',
    );
    const p = assembled(source, 0x200);
    expect(p.words).toStrictEqual(
      expectedWords([
        { op: 'jal', rd: 1, offset: 0 },
        { op: 'jal', rd: 14, offset: -1 },
        { op: 'jalr', rd: 14, rs1: 2, imm: -8 },
        { op: 'svc', imm: 0x10 },
        { op: 'hvc', imm: 1 },
        { op: 'eret' },
        { op: 'mrs', rd: 1, sysreg: SYS.TTBR0_EL1 },
        { op: 'msr', sysreg: SYS.VTTBR_EL2, rs: 2 },
        { op: 'tlbi', scope: 'all', broadcast: false, rs: 0 },
        { op: 'tlbi', scope: 'va', broadcast: true, rs: 3 },
        { op: 'tlbi', scope: 'asid', broadcast: false, rs: 4 },
        { op: 'tlbi', scope: 'vmid', broadcast: true, rs: 5 },
        { op: 'ld', rd: 1, rs1: 2, imm: 0 },
        { op: 'ld', rd: 1, rs1: 2, imm: 0x10 },
        { op: 'st', rs2: 0, rs1: 15, imm: -4 },
        { op: 'wfi' },
        { op: 'bgeu', rs1: 1, rs2: 2, offset: wordsFrom(0x240, 0) },
      ]),
    );
  });

  it('HW-ASM-2: blank lines, comment-only lines, label-only lines and CRLF line ends produce nothing', () => {
    const p = assembled('\r\n  ; nothing\r\n// nothing\r\nhere:\r\n\tnop ; x // y\r\nthere: // z\r\n');
    expect(p.words).toStrictEqual(expectedWords([{ op: 'addi', rd: 0, rs1: 0, imm: 0 }]));
    expect(p.labels).toStrictEqual({ here: 0, there: 4 });
    expect(p.lines).toStrictEqual([5]);
    expect(assembled('').words).toStrictEqual([]);
  });

  it('HW-ASM-1: every valid instruction, written in any syntax variant, assembles to its encoding', () => {
    fc.assert(
      fc.property(arbInstruction, arbStyle, arbOrigin(1), (i, style, origin) => {
        const text = renderInstruction(i, origin, style);
        const r = assemble(text, origin);
        if (E.isLeft(r)) throw new Error(`${text}: ${r.left.message}`);
        expect(r.right.words).toStrictEqual([encodeValid(i)]);
      }),
    );
  });
});

describe('disassemble/assemble round trip (HW-ASM-3)', () => {
  it('HW-ASM-3: assemble(disassemble(words, origin), origin) gives back the words, UNDEFINED ones as .word', () => {
    const arbCase = fc
      .array(arbWord, { maxLength: 48 })
      .chain((words) => arbOrigin(words.length).map((origin) => ({ words, origin })));
    fc.assert(
      fc.property(arbCase, ({ words, origin }) => {
        const text = disassemble(words, origin);
        expect(text.length).toBe(words.length);
        const p = assembled(text.join('\n'), origin);
        expect(p.words).toStrictEqual(words);
        expect(p.lines).toStrictEqual(words.map((_, k) => k + 1));
      }),
    );
  });

  it('HW-ASM-3: UNDEFINED words print as .word and every defined word prints as one instruction line', () => {
    expect(disassemble([0])).toStrictEqual(['.word 0x0']);
    expect(disassemble([0xffffffff])).toStrictEqual(['.word 0xffffffff']);
    fc.assert(
      fc.property(arbWord, (w) => {
        const [line] = disassemble([w]);
        const d = decode(w);
        expect(line!.startsWith('.word')).toBe(d.op === 'undefined');
        expect(line).toBe(formatInstruction(d, 0));
      }),
    );
  });

  it('HW-ASM-3: branch targets print as absolute addresses that wrap around the address space', () => {
    const back = encodeValid({ op: 'beq', rs1: 1, rs2: 2, offset: -1 });
    const fwd = encodeValid({ op: 'jal', rd: 3, offset: 1 });
    expect(disassemble([back], 0)).toStrictEqual(['beq r1, r2, 0xfffffffc']);
    expect(disassemble([fwd], 0xfffffffc)).toStrictEqual(['jal r3, 0x0']);
    expect(assembled('beq r1, r2, 0xfffffffc').words).toStrictEqual([back]);
    expect(assembled('jal r3, 0x0', 0xfffffffc).words).toStrictEqual([fwd]);
  });

  it('HW-ASM-3: a random valid program reaches a fixed point after one disassembly: text → words → text′ → words′ = words', () => {
    fc.assert(
      fc.property(arbProgram, fc.integer({ min: 0, max: 0xffff }).map((k) => 4 * k), ({ text }, origin) => {
        const words = assembled(text, origin).words;
        const normal = disassemble(words, origin);
        const again = assembled(normal.join('\n'), origin).words;
        expect(again).toStrictEqual(words);
        expect(disassemble(again, origin)).toStrictEqual(normal);
      }),
    );
  });

  it('HW-ASM-2: a random valid program assembles to the words its statements mean', () => {
    fc.assert(
      fc.property(arbProgram, ({ text, expected }) => {
        const p = assembled(text, 0);
        expect(p.words).toStrictEqual(expected(p.labels));
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Random valid programs: statements that refer to labels defined anywhere in the program.

type Labels = Readonly<Record<string, number>>;

/** One statement: its text, and the items it must assemble to given the label addresses and its own address. */
interface Stmt {
  readonly text: (labels: readonly string[]) => string;
  readonly size: (address: number) => number;
  readonly items: (labels: Labels, address: number, names: readonly string[]) => Item[];
}

const LABEL_NAMES = ['start', 'loop', '_tmp', 'L1', 'a.b', '$x', 'end_2'] as const;

/** A statement referring to a label by index into the program's label names. */
function labelRef(k: number, names: readonly string[]): string {
  return names[k % names.length]!;
}

const arbComment = fc.constantFrom('', ' ; note', ' // note', '\t;', ' //; both');

const arbStmt: fc.Arbitrary<Stmt> = fc.oneof(
  // A plain non-control-flow instruction in any style.
  fc.tuple(arbInstruction, arbStyle).filter(([i]) => !('offset' in i)).map(
    ([i, style]): Stmt => ({
      text: () => renderInstruction(i, 0, style),
      size: () => 1,
      items: () => [i],
    }),
  ),
  // A branch, jump or call to a label.
  fc.tuple(fc.constantFrom<Mnemonic>('beq', 'bne', 'blt', 'bgeu', 'jal'), arbReg, arbReg, fc.nat(), fc.constantFrom('plain', 'b', 'call')).map(
    ([op, ra, rb, k, form]): Stmt => ({
      text: (names) => {
        const l = labelRef(k, names);
        if (form === 'b') return `b ${l}`;
        if (form === 'call') return `call ${l}`;
        return op === 'jal' ? `jal r${ra}, ${l}` : `${op} r${ra}, r${rb}, ${l}`;
      },
      size: () => 1,
      items: (labels, address, names) => {
        const offset = wordsFrom(address, labels[labelRef(k, names)]!);
        if (form === 'b') return [{ op: 'beq', rs1: 0, rs2: 0, offset }];
        if (form === 'call') return [{ op: 'jal', rd: 14, offset }];
        if (op === 'jal') return [{ op: 'jal', rd: ra, offset }];
        return [{ op, rs1: ra, rs2: rb, offset } as Instruction];
      },
    }),
  ),
  // li with any 32-bit value, la with a label.
  fc.tuple(arbReg, fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), arbSigned(32)), fc.boolean()).map(
    ([rd, v, hex]): Stmt => ({
      text: () => `li r${rd}, ${hex ? (v < 0 ? '-0x' + (-v).toString(16) : '0x' + v.toString(16)) : String(v)}`,
      size: () => 2,
      items: () => loadImmediate(rd, v),
    }),
  ),
  fc.tuple(arbReg, fc.nat()).map(
    ([rd, k]): Stmt => ({
      text: (names) => `la r${rd}, ${labelRef(k, names)}`,
      size: () => 2,
      items: (labels, _a, names) => loadImmediate(rd, labels[labelRef(k, names)]!),
    }),
  ),
  fc.constant<Stmt>({ text: () => 'ret', size: () => 1, items: () => [{ op: 'jalr', rd: 0, rs1: 14, imm: 0 }] }),
  // .word with numbers and labels.
  fc.array(fc.oneof(fc.integer({ min: 0, max: 0xffffffff }).map((v) => ({ v })), fc.nat().map((k) => ({ k }))), { minLength: 1, maxLength: 4 }).map(
    (vals): Stmt => ({
      text: (names) => `.word ${vals.map((x) => ('v' in x ? `0x${x.v.toString(16)}` : labelRef(x.k, names))).join(', ')}`,
      size: () => vals.length,
      items: (labels, _a, names) => vals.map((x) => ('v' in x ? x.v : labels[labelRef(x.k, names)]!)),
    }),
  ),
  fc.integer({ min: 0, max: 3 }).map((n): Stmt => ({ text: () => `.zero ${n}`, size: () => n, items: () => new Array<number>(n).fill(0) })),
  fc.integer({ min: 2, max: 5 }).map(
    (n): Stmt => ({
      text: () => `.align ${n}`,
      size: (address) => (((2 ** n - (address % 2 ** n)) % 2 ** n) / 4),
      items: (_l, address) => new Array<number>((((2 ** n - (address % 2 ** n)) % 2 ** n) / 4)).fill(0),
    }),
  ),
);

interface GeneratedProgram {
  readonly text: string;
  /** The words the program must assemble to at origin 0, given the label table. */
  readonly expected: (labels: Labels) => number[];
}

const arbProgram: fc.Arbitrary<GeneratedProgram> = fc
  .record(
    {
      stmts: fc.array(fc.tuple(fc.option(fc.constantFrom(...LABEL_NAMES), { nil: undefined }), arbStmt, arbComment), { maxLength: 20 }),
      indent: fc.constantFrom('', '  ', '\t'),
    },
    { noNullPrototype: true },
  )
  .map(({ stmts, indent }): GeneratedProgram => {
    // Each label is defined once, at its first use; `end` is always defined so references resolve.
    const defined = new Set<string>();
    const rows = stmts.map(([label, stmt, comment]) => {
      const own = label !== undefined && !defined.has(label) ? label : undefined;
      if (own !== undefined) defined.add(own);
      return { own, stmt, comment };
    });
    const names = [...defined, 'end'];
    const text = [
      ...rows.map(({ own, stmt, comment }) => `${own === undefined ? indent : `${own}:${indent === '' ? ' ' : indent}`}${stmt.text(names)}${comment}`),
      'end:',
    ].join('\n');
    const expected = (labels: Labels): number[] => {
      const out: Item[] = [];
      let address = 0;
      for (const { stmt } of rows) {
        out.push(...stmt.items(labels, address, names));
        address += 4 * stmt.size(address);
      }
      return expectedWords(out);
    };
    return { text, expected };
  });

// ---------------------------------------------------------------------------------------------

describe('errors are values with the line and column of the offending token (HW-ASM-4)', () => {
  /** [description, source, line, column, a fragment of the message]. */
  const cases: ReadonlyArray<readonly [string, string, number, number, string]> = [
    ['unknown mnemonic', lines('  nop', '  frob r1, r2'), 2, 3, "unknown mnemonic 'frob'"],
    ['unknown mnemonic after a label', 'here:   frob', 1, 9, 'frob'],
    ['register r16', 'add r1, r16, r2', 1, 9, 'r16'],
    ['register x1', '  mov x1, r2', 1, 7, 'x1'],
    ['register r-1', 'sub r1, r2, r-1', 1, 13, 'r-1'],
    ['bad register in a memory operand', 'ld r1, 4(r16)', 1, 10, 'r16'],
    ['bad register in a memory operand with spaces', 'ld r1, 4( r16 )', 1, 11, 'r16'],
    ['an Object.prototype name is not a register', 'jalr r1, constructor, 0', 1, 10, 'constructor'],
    ['an Object.prototype name is not a register (msr)', 'msr SCTLR_EL1, constructor', 1, 16, 'constructor'],
    ['an Object.prototype name is not a register (tlbi)', 'tlbi va, __proto__', 1, 10, '__proto__'],
    ['addi immediate 1<<17', 'addi r1, r2, 131072', 1, 14, 'imm'],
    ['addi immediate below -(1<<17)', 'addi r1, r2, -131073', 1, 14, 'imm'],
    ['andi immediate negative', '\tandi r1, r2, -1', 1, 15, 'imm'],
    ['shift amount 32', 'shli r1, r1, 32', 1, 14, 'imm'],
    ['lui immediate 1<<18', 'lui r1, 0x40000', 1, 9, 'imm'],
    ['svc immediate 1<<16', 'svc 65536', 1, 5, 'imm'],
    ['ld offset out of range', 'ld r1, 0x20000(r2)', 1, 8, 'imm'],
    ['li value beyond 32 bits', 'li r1, 0x100000000', 1, 8, '32 bits'],
    ['not a number', 'addi r1, r2, 12abc', 1, 14, '12abc'],
    ['unknown label in a branch', 'beq r1, r2, nowhere', 1, 13, "unknown label 'nowhere'"],
    ['unknown label in b', lines('x: nop', '   b  nowhere'), 2, 7, 'nowhere'],
    ['unknown label in la', 'la r1, nowhere', 1, 8, 'nowhere'],
    ['unknown label in .word', '.word 1, nowhere', 1, 10, 'nowhere'],
    ['duplicate label', lines('a: nop', 'b: nop', '  a: nop'), 3, 3, "label 'a'"],
    ['too few operands', 'add r1, r2', 1, 1, 'takes 3 operands'],
    ['too many operands', '   ret r1', 1, 4, 'takes 0 operands'],
    ['trailing comma', 'mov r1, r2,', 1, 1, 'takes 2 operands'],
    ['tlbi all with a register', 'tlbi all, r1', 1, 1, 'takes 1 operand'],
    ['unknown sysreg in mrs', 'mrs r1, FOO_EL9', 1, 9, 'FOO_EL9'],
    ['unknown sysreg in msr', 'msr BAR, r1', 1, 5, 'BAR'],
    ['bad tlbi scope', 'tlbi everything', 1, 6, 'scope'],
    ['missing tlbi scope', '  tlbi', 1, 3, 'scope'],
    ['misaligned branch target', 'b 0x102', 1, 3, 'word-aligned'],
    ['misaligned call target', lines('nop', 'call 6'), 2, 6, 'word-aligned'],
    ['branch target out of range', 'beq r1, r2, 0x80000', 1, 13, 'offset'],
    ['.word with no value', '.word', 1, 1, '.word'],
    ['.zero with a negative count', '.zero -1', 1, 7, '.zero'],
    ['.align below 2', 'nop\n.align 1', 2, 8, '.align'],
  ];

  for (const [what, source, line, column, fragment] of cases) {
    it(`HW-ASM-4: ${what} → asm.syntax at ${line}:${column}`, () => {
      const e = assembleError(source);
      expect(e.code).toBe('asm.syntax');
      expect({ line: e.line, column: e.column }).toStrictEqual({ line, column });
      expect(e.message).toContain(`line ${line}, column ${column}`);
      expect(e.message).toContain(fragment);
    });
  }

  it('HW-ASM-4: an origin that is not a word-aligned 32-bit address is a Left value', () => {
    for (const origin of [2, -4, 2 ** 32, 1.5, Number.NaN]) expect(assembleError('nop', origin).code).toBe('asm.origin');
  });

  it('HW-ASM-4: a program that runs past the end of the address space is rejected', () => {
    expect(assembled('nop', 0xfffffffc).words.length).toBe(1);
    const e = assembleError('nop\nnop', 0xfffffffc);
    expect(e.code).toBe('asm.syntax');
    expect(e.line).toBe(2);
  });
});

/** Tokens that random lines are built from: valid and invalid pieces of every kind. */
const TOKENS = [
  ...Object.keys(OPCODES), 'nop', 'mov', 'li', 'la', 'b', 'call', 'ret', 'tlbi.is', '.word', '.zero', '.align', '.bogus',
  'r0', 'r1', 'r15', 'r16', 'x1', 'zero', 'lr', 'sp', 'constructor', '__proto__', 'all', 'va', 'asid', 'vmid',
  'TTBR0_EL1', 'HCR_EL2', 'NOPE', '0', '-1', '#4', '0x10', '0b11', '1_000', '0xffffffff', '0x100000000', '99999999999999999999',
  '4(r1)', '(sp)', '-8(r2', 'lbl', 'lbl:', 'x:', ':', ',', ';', '//', '(', ')', '#', '-', '\t', ' ',
];

const arbTokenLine = fc
  .array(fc.tuple(fc.constantFrom(...TOKENS), fc.constantFrom(' ', ', ', ',', '', '\t')), { maxLength: 8 })
  .map((ts) => ts.map(([t, sep]) => t + sep).join(''));

/** Checks that `assemble` returned a well-formed result for `source`. */
function expectWellFormed(source: string): void {
  let r: ReturnType<typeof assemble> | undefined;
  expect(() => {
    r = assemble(source);
  }).not.toThrow();
  if (r === undefined) return;
  if (E.isRight(r)) {
    for (const w of r.right.words) expect(w).toBe(w >>> 0);
    expect(r.right.lines.length).toBe(r.right.words.length);
    return;
  }
  // Any internal error is a bug: every rejection must be positioned.
  const e = r.left;
  expect(e.code).toBe('asm.syntax');
  const sourceLines = source.split(/\r?\n/);
  expect(e.line).toBeGreaterThanOrEqual(1);
  expect(e.line).toBeLessThanOrEqual(sourceLines.length);
  expect(e.column).toBeGreaterThanOrEqual(1);
  expect(e.column).toBeLessThanOrEqual(sourceLines[e.line - 1]!.length + 1);
  expect(e.message.startsWith(`line ${e.line}, column ${e.column}: `)).toBe(true);
}

describe('assemble is total (HW-ASM-4)', () => {
  it('HW-ASM-4: assemble never throws on random strings and every rejection is positioned', () => {
    fc.assert(fc.property(fc.string(), (s) => expectWellFormed(s)));
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => expectWellFormed(s)));
  });

  it('HW-ASM-4: assemble never throws on random lines built from assembler tokens', () => {
    fc.assert(fc.property(fc.array(arbTokenLine, { maxLength: 8 }), (ls) => expectWellFormed(ls.join('\n'))));
  });
});

describe('the first error in the source is the one reported (HW-ASM-4)', () => {
  it('HW-ASM-4: an error found in the encoding pass on an earlier line wins over a label error on a later line', () => {
    const e = assembleError(lines('frob', 'a: nop', 'a: nop'));
    expect([e.line, e.column]).toEqual([1, 1]);
  });

  it('HW-ASM-4: errors on two lines: the earlier is reported, whichever pass finds it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), (padA, padB) => {
        const filler = Array.from({ length: padA }, () => 'nop');
        const between = Array.from({ length: padB }, () => 'nop');
        const source = lines('x: nop', ...filler, 'addi r1, r1, 1000000', ...between, 'x: nop');
        const e = assembleError(source);
        expect(e.line).toBe(padA + 2);
      }),
    );
  });

  it('HW-ASM-2: .zero and .align take exactly one operand', () => {
    expect(assembleError('.zero 1, 2')).toMatchObject({ line: 1, column: 10 });
    expect(assembleError('.align 2, 3')).toMatchObject({ line: 1, column: 11 });
  });
});
