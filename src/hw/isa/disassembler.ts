/**
 * The disassembler: one canonical line of assembly per word (HW-ASM-3). Branch and jump
 * targets are printed as absolute addresses given the word's own address, so that
 * `assemble(disassemble(words, origin), origin)` gives back the same words. Words that
 * encode nothing print as `.word 0x…`.
 *
 * @module
 */
import { decode } from './encoding.ts';
import type { Decoded } from './instruction.ts';
import { sysRegName } from './sysregs.ts';

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

/** The canonical text of one decoded instruction at address `pc`. */
export function formatInstruction(insn: Decoded, pc = 0): string {
  const r = (n: number) => `r${n}`;
  switch (insn.op) {
    case 'undefined':
      return `.word ${hex(insn.word)}`;
    case 'add':
    case 'sub':
    case 'and':
    case 'or':
    case 'xor':
    case 'shl':
    case 'shr':
    case 'sar':
    case 'mul':
    case 'slt':
    case 'sltu':
      return `${insn.op} ${r(insn.rd)}, ${r(insn.rs1)}, ${r(insn.rs2)}`;
    case 'addi':
    case 'slti':
    case 'shli':
    case 'shri':
    case 'sari':
      return `${insn.op} ${r(insn.rd)}, ${r(insn.rs1)}, ${insn.imm}`;
    case 'andi':
    case 'ori':
    case 'xori':
      return `${insn.op} ${r(insn.rd)}, ${r(insn.rs1)}, ${hex(insn.imm)}`;
    case 'lui':
      return `lui ${r(insn.rd)}, ${hex(insn.imm)}`;
    case 'ld':
      return `ld ${r(insn.rd)}, ${insn.imm}(${r(insn.rs1)})`;
    case 'st':
      return `st ${r(insn.rs2)}, ${insn.imm}(${r(insn.rs1)})`;
    case 'beq':
    case 'bne':
    case 'blt':
    case 'bge':
    case 'bltu':
    case 'bgeu':
      return `${insn.op} ${r(insn.rs1)}, ${r(insn.rs2)}, ${hex(pc + 4 * insn.offset)}`;
    case 'jal':
      return `jal ${r(insn.rd)}, ${hex(pc + 4 * insn.offset)}`;
    case 'jalr':
      return `jalr ${r(insn.rd)}, ${r(insn.rs1)}, ${insn.imm}`;
    case 'svc':
    case 'hvc':
      return `${insn.op} ${insn.imm}`;
    case 'eret':
    case 'wfi':
      return insn.op;
    case 'mrs':
      return `mrs ${r(insn.rd)}, ${sysRegName(insn.sysreg)}`;
    case 'msr':
      return `msr ${sysRegName(insn.sysreg)}, ${r(insn.rs)}`;
    case 'tlbi': {
      const op = insn.broadcast ? 'tlbi.is' : 'tlbi';
      return insn.scope === 'all' ? `${op} all` : `${op} ${insn.scope}, ${r(insn.rs)}`;
    }
  }
}

/** Disassembles `words` placed from address `origin`, one line per word. */
export function disassemble(words: readonly number[], origin = 0): string[] {
  return words.map((w, i) => formatInstruction(decode(w), origin + 4 * i));
}
