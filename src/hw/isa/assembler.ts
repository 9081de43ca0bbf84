/**
 * The assembler: text with labels into words (HW-ASM-1..4).
 *
 * One statement per line: an optional `label:`, then an instruction or a directive; comments
 * start with `;` or `//`. Registers are
 * `r0`..`r15` (aliases `zero` = r0, `lr` = r14, `sp` = r15). Numbers are decimal, `0x` hex
 * or `0b` binary, optionally after `#`. Branch and jump targets are labels or absolute
 * addresses. Pseudo-instructions: `nop`, `mov rd, rs`, `li rd, value` and `la rd, label`
 * (always two words: lui + ori), `b target`, `call target` (jal lr), `ret` (jalr r0, lr, 0).
 * Directives: `.word value[, value…]`, `.zero n` (n zero words), `.align n` (to 2^n bytes).
 *
 * Errors are values carrying the 1-based line and column of the offending token.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { MkhvError } from '../error.ts';
import { encode } from './encoding.ts';
import { ALU_IMM_OPS, ALU_REG_OPS, BRANCH_OPS, TLBI_SCOPES, type Instruction } from './instruction.ts';
import { sysRegByName } from './sysregs.ts';

/** An assembly error, positioned. */
export interface AsmError extends MkhvError {
  readonly line: number;
  readonly column: number;
}

/** A successful assembly. */
export interface Program {
  /** Address of the first word. */
  readonly origin: number;
  readonly words: readonly number[];
  /** Address of every label. */
  readonly labels: Readonly<Record<string, number>>;
  /** Source line of each word (1-based), for listings and traces. */
  readonly lines: readonly number[];
}

interface Token {
  readonly text: string;
  readonly column: number;
}

interface Statement {
  readonly line: number;
  readonly mnemonic: Token;
  readonly operands: readonly Token[];
  readonly address: number;
  readonly size: number;
}

class Failure {
  constructor(readonly error: AsmError) {}
}

function fail(line: number, column: number, message: string): never {
  // Internal control flow only: caught in `assemble` and returned as a value.
  throw new Failure({ code: 'asm.syntax', message: `line ${line}, column ${column}: ${message}`, line, column, path: `${line}:${column}` });
}

const REG_ALIASES: Readonly<Record<string, number>> = { zero: 0, lr: 14, sp: 15 };

function parseRegister(t: Token, line: number): number {
  const name = t.text.toLowerCase();
  // Own properties only: `constructor`, `__proto__`, ... are not registers.
  if (Object.hasOwn(REG_ALIASES, name)) return REG_ALIASES[name]!;
  const m = /^r(\d{1,2})$/.exec(name);
  if (m === null || Number(m[1]) > 15) fail(line, t.column, `expected a register r0..r15, found '${t.text}'`);
  return Number(m[1]);
}

function parseNumber(text: string): number | null {
  const t = text.startsWith('#') ? text.slice(1) : text;
  const m = /^([+-]?)(0x[0-9a-f_]+|0b[01_]+|[0-9][0-9_]*)$/i.exec(t);
  if (m === null) return null;
  const body = m[2]!.replace(/_/g, '');
  const magnitude = /^0x/i.test(body) ? parseInt(body.slice(2), 16) : /^0b/i.test(body) ? parseInt(body.slice(2), 2) : parseInt(body, 10);
  if (!Number.isSafeInteger(magnitude)) return null;
  return m[1] === '-' ? -magnitude : magnitude;
}

function immediate(t: Token, line: number): number {
  const v = parseNumber(t.text);
  if (v === null) fail(line, t.column, `expected a number, found '${t.text}'`);
  return v;
}

function word32(t: Token, line: number): number {
  const v = immediate(t, line);
  if (v < -(2 ** 31) || v > 0xffffffff) fail(line, t.column, `value ${t.text} does not fit in 32 bits`);
  return v >>> 0;
}

/** Splits a line into mnemonic and comma-separated operands, keeping columns. */
function tokenize(source: string): { label: Token | null; mnemonic: Token | null; operands: Token[] } {
  let text = source;
  const cut = (i: number) => {
    if (i >= 0) text = text.slice(0, i);
  };
  cut(text.indexOf(';'));
  cut(text.indexOf('//'));
  let label: Token | null = null;
  const labelMatch = /^(\s*)([A-Za-z_.$][\w.$]*):/.exec(text);
  let rest = text;
  let offset = 0;
  if (labelMatch !== null) {
    label = { text: labelMatch[2]!, column: labelMatch[1]!.length + 1 };
    offset = labelMatch[0].length;
    rest = text.slice(offset);
  }
  const mn = /^(\s*)(\S+)/.exec(rest);
  if (mn === null) return { label, mnemonic: null, operands: [] };
  const mnemonic = { text: mn[2]!, column: offset + mn[1]!.length + 1 };
  const opsStart = offset + mn[0].length;
  const operandText = text.slice(opsStart);
  const operands: Token[] = [];
  if (operandText.trim() !== '') {
    let pos = 0;
    for (const piece of operandText.split(',')) {
      const lead = piece.length - piece.trimStart().length;
      operands.push({ text: piece.trim(), column: opsStart + pos + lead + 1 });
      pos += piece.length + 1;
    }
  }
  return { label, mnemonic, operands };
}

const aluReg: ReadonlySet<string> = new Set(ALU_REG_OPS);
const aluImm: ReadonlySet<string> = new Set(ALU_IMM_OPS);
const branchOps: ReadonlySet<string> = new Set(BRANCH_OPS);

/** Words a statement occupies, known in the first pass. */
function sizeOf(mnemonic: Token, operands: readonly Token[], line: number, address: number): number {
  const m = mnemonic.text.toLowerCase();
  if (m === 'li' || m === 'la') return 2;
  if (m === '.word') return operands.length;
  if ((m === '.zero' || m === '.align') && operands.length > 1) {
    fail(line, operands[1]!.column, `${m} takes one operand, found ${operands.length}`);
  }
  if (m === '.zero') {
    const n = operands[0] === undefined ? -1 : immediate(operands[0], line);
    if (n < 0 || n > 1 << 20) fail(line, operands[0]?.column ?? mnemonic.column, '.zero needs a count from 0 to 1048576');
    return n;
  }
  if (m === '.align') {
    const n = operands[0] === undefined ? -1 : immediate(operands[0], line);
    if (n < 2 || n > 16) fail(line, operands[0]?.column ?? mnemonic.column, '.align needs a power from 2 to 16');
    const align = 2 ** n;
    return ((align - (address % align)) % align) / 4;
  }
  return 1;
}

function expectOperands(s: Statement, n: number): void {
  if (s.operands.length !== n) {
    fail(s.line, s.mnemonic.column, `${s.mnemonic.text} takes ${n} operand${n === 1 ? '' : 's'}, found ${s.operands.length}`);
  }
}

/** Resolves a branch/jump target (label or absolute address) to a signed word offset from `pc`. */
function target(t: Token, s: Statement, labels: ReadonlyMap<string, number>, pc: number): number {
  const address = labels.get(t.text) ?? parseNumber(t.text);
  if (address === null || address === undefined) fail(s.line, t.column, `unknown label '${t.text}'`);
  const delta = ((address >>> 0) - pc) | 0;
  if (delta % 4 !== 0) fail(s.line, t.column, `target ${t.text} is not word-aligned`);
  return delta / 4;
}

function memOperand(t: Token, line: number): { imm: number; rs1: number } {
  const m = /^(.*)(\(\s*)([^)]+?)\s*\)$/.exec(t.text);
  if (m === null) fail(line, t.column, `expected offset(register), found '${t.text}'`);
  const off = m[1]!.trim() === '' ? 0 : immediate({ text: m[1]!.trim(), column: t.column }, line);
  // HW-ASM-4: the register's column is after the offset, the parenthesis and any blanks.
  return { imm: off, rs1: parseRegister({ text: m[3]!, column: t.column + m[1]!.length + m[2]!.length }, line) };
}

function sysreg(t: Token, line: number): number {
  const info = sysRegByName(t.text);
  if (info === undefined) fail(line, t.column, `unknown system register '${t.text}'`);
  return info.id;
}

/** The instructions (one or two) or raw words of a statement. */
function lower(s: Statement, labels: ReadonlyMap<string, number>): (Instruction | number)[] {
  const m = s.mnemonic.text.toLowerCase();
  const o = s.operands;
  const reg = (i: number) => parseRegister(o[i]!, s.line);
  const imm = (i: number) => immediate(o[i]!, s.line);
  if (aluReg.has(m)) {
    expectOperands(s, 3);
    return [{ op: m as (typeof ALU_REG_OPS)[number], rd: reg(0), rs1: reg(1), rs2: reg(2) }];
  }
  if (aluImm.has(m)) {
    expectOperands(s, 3);
    return [{ op: m as (typeof ALU_IMM_OPS)[number], rd: reg(0), rs1: reg(1), imm: imm(2) }];
  }
  if (branchOps.has(m)) {
    expectOperands(s, 3);
    return [{ op: m as (typeof BRANCH_OPS)[number], rs1: reg(0), rs2: reg(1), offset: target(o[2]!, s, labels, s.address) }];
  }
  switch (m) {
    case 'lui':
      expectOperands(s, 2);
      return [{ op: 'lui', rd: reg(0), imm: imm(1) }];
    case 'ld': {
      expectOperands(s, 2);
      const { imm: off, rs1 } = memOperand(o[1]!, s.line);
      return [{ op: 'ld', rd: reg(0), rs1, imm: off }];
    }
    case 'st': {
      expectOperands(s, 2);
      const { imm: off, rs1 } = memOperand(o[1]!, s.line);
      return [{ op: 'st', rs2: reg(0), rs1, imm: off }];
    }
    case 'jal':
      if (o.length === 1) return [{ op: 'jal', rd: 14, offset: target(o[0]!, s, labels, s.address) }];
      expectOperands(s, 2);
      return [{ op: 'jal', rd: reg(0), offset: target(o[1]!, s, labels, s.address) }];
    case 'jalr':
      expectOperands(s, 3);
      return [{ op: 'jalr', rd: reg(0), rs1: reg(1), imm: imm(2) }];
    case 'svc':
    case 'hvc':
      expectOperands(s, 1);
      return [{ op: m, imm: imm(0) }];
    case 'eret':
    case 'wfi':
      expectOperands(s, 0);
      return [{ op: m }];
    case 'mrs':
      expectOperands(s, 2);
      return [{ op: 'mrs', rd: reg(0), sysreg: sysreg(o[1]!, s.line) }];
    case 'msr':
      expectOperands(s, 2);
      return [{ op: 'msr', sysreg: sysreg(o[0]!, s.line), rs: reg(1) }];
    case 'tlbi':
    case 'tlbi.is': {
      const scope = o[0]?.text.toLowerCase();
      if (scope === undefined || !(TLBI_SCOPES as readonly string[]).includes(scope)) {
        fail(s.line, o[0]?.column ?? s.mnemonic.column, `tlbi needs a scope: all, va, asid or vmid`);
      }
      const broadcast = m === 'tlbi.is';
      if (scope === 'all') {
        expectOperands(s, 1);
        return [{ op: 'tlbi', scope: 'all', broadcast, rs: 0 }];
      }
      expectOperands(s, 2);
      return [{ op: 'tlbi', scope: scope as (typeof TLBI_SCOPES)[number], broadcast, rs: reg(1) }];
    }
    case 'nop':
      expectOperands(s, 0);
      return [{ op: 'addi', rd: 0, rs1: 0, imm: 0 }];
    case 'mov':
      expectOperands(s, 2);
      return [{ op: 'addi', rd: reg(0), rs1: reg(1), imm: 0 }];
    case 'b':
      expectOperands(s, 1);
      return [{ op: 'beq', rs1: 0, rs2: 0, offset: target(o[0]!, s, labels, s.address) }];
    case 'call':
      expectOperands(s, 1);
      return [{ op: 'jal', rd: 14, offset: target(o[0]!, s, labels, s.address) }];
    case 'ret':
      expectOperands(s, 0);
      return [{ op: 'jalr', rd: 0, rs1: 14, imm: 0 }];
    case 'li':
    case 'la': {
      expectOperands(s, 2);
      const rd = reg(0);
      let value: number;
      if (m === 'la') {
        const address = labels.get(o[1]!.text);
        if (address === undefined) fail(s.line, o[1]!.column, `unknown label '${o[1]!.text}'`);
        value = address >>> 0;
      } else {
        value = word32(o[1]!, s.line);
      }
      return [
        { op: 'lui', rd, imm: value >>> 14 },
        { op: 'ori', rd, rs1: rd, imm: value & 0x3fff },
      ];
    }
    case '.word':
      if (o.length === 0) fail(s.line, s.mnemonic.column, '.word needs at least one value');
      return o.map((t) => (labels.has(t.text) ? labels.get(t.text)! >>> 0 : word32(t, s.line)));
    case '.zero':
    case '.align':
      return new Array<number>(s.size).fill(0);
    default:
      return fail(s.line, s.mnemonic.column, `unknown mnemonic '${s.mnemonic.text}'`);
  }
}

/** Runs `step`, turning a positioned failure into an entry of `errors`. */
function collecting(errors: AsmError[], step: () => void): void {
  try {
    step();
  } catch (e) {
    if (!(e instanceof Failure)) throw e;
    errors.push(e.error);
  }
}

function encodeStatement(s: Statement, labels: ReadonlyMap<string, number>, words: number[], lines: number[]): void {
  for (const item of lower(s, labels)) {
    if (typeof item === 'number') {
      words.push(item);
    } else {
      const w = encode(item);
      if (E.isLeft(w)) {
        const field = w.left.path;
        const col = field === 'rd' || field === 'rs2' || field === 'rs' ? s.operands[0]?.column : s.operands[s.operands.length - 1]?.column;
        fail(s.line, col ?? s.mnemonic.column, w.left.message);
      }
      words.push(w.right);
    }
    lines.push(s.line);
  }
}

/**
 * Two passes: addresses and labels, then encoding. Each line is assembled even after an
 * error, so that the error reported is the first in the source (HW-ASM-4), whichever pass
 * found it.
 */
function assembleOrThrow(source: string, origin: number): Program {
  const errors: AsmError[] = [];
  const statements: Statement[] = [];
  const labels = new Map<string, number>();
  let address = origin;
  source.split(/\r?\n/).forEach((text, i) => {
    const line = i + 1;
    collecting(errors, () => {
      const { label, mnemonic, operands } = tokenize(text);
      if (label !== null) {
        if (labels.has(label.text)) fail(line, label.column, `label '${label.text}' is already defined`);
        labels.set(label.text, address >>> 0);
      }
      if (mnemonic === null) return;
      const size = sizeOf(mnemonic, operands, line, address);
      statements.push({ line, mnemonic, operands, address, size });
      address += 4 * size;
      if (address > 2 ** 32) fail(line, mnemonic.column, 'program runs past the end of the 32-bit address space');
    });
  });
  const words: number[] = [];
  const lines: number[] = [];
  for (const s of statements) collecting(errors, () => encodeStatement(s, labels, words, lines));
  const first = errors.reduce<AsmError | null>(
    (best, e) => (best === null || e.line < best.line || (e.line === best.line && e.column < best.column) ? e : best),
    null,
  );
  if (first !== null) throw new Failure(first);
  return { origin, words, labels: Object.fromEntries(labels), lines };
}

/** Assembles `source` to be loaded at `origin` (default 0), or returns the first error. */
export function assemble(source: string, origin = 0): E.Either<AsmError, Program> {
  if (!Number.isInteger(origin) || origin < 0 || origin > 0xffffffff || origin % 4 !== 0) {
    return E.left({ code: 'asm.origin', message: `origin must be a word-aligned 32-bit address (got ${String(origin)})`, line: 0, column: 0 });
  }
  try {
    return E.right(assembleOrThrow(String(source), origin));
  } catch (e) {
    if (e instanceof Failure) return E.left(e.error);
    return E.left({ code: 'asm.internal', message: `assembler: ${String(e)}`, line: 0, column: 0 });
  }
}
