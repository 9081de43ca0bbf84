/**
 * HW-ISA-1, HW-ISA-4, HW-CPU-2: what each ordinary instruction computes, checked against a
 * reference written here with BigInt arithmetic from the semantics table of
 * spec/hardware.md — not with the model's own 32-bit tricks (`>>> 0`, `Math.imul`, `| 0`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALU_IMM_OPS,
  ALU_REG_OPS,
  BRANCH_OPS,
  execute,
  resetMachine,
  TINY_MACHINE,
  type Instruction,
  type Machine,
} from '../../src/hw/index.ts';
import { ARB_BY_MNEMONIC, encodeValid } from './arbitraries.ts';
import { patchCpu } from './fixtures.ts';

const M32 = 2n ** 32n;
const u = (v: bigint): number => Number(((v % M32) + M32) % M32);
const signed = (v: number): bigint => (v >= 2 ** 31 ? BigInt(v) - M32 : BigInt(v));

/** The reference: new register value (or null) and next pc, from the semantics table. */
function reference(i: Instruction, regs: readonly number[], pc: number): { rd: number | null; value: number; nextPc: number } {
  const x = (r: number) => BigInt(regs[r]!);
  const next = u(BigInt(pc) + 4n);
  const write = (rd: number, v: bigint) => ({ rd, value: u(v), nextPc: next });
  switch (i.op) {
    case 'add':
      return write(i.rd, x(i.rs1) + x(i.rs2));
    case 'sub':
      return write(i.rd, x(i.rs1) - x(i.rs2));
    case 'and':
      return write(i.rd, x(i.rs1) & x(i.rs2));
    case 'or':
      return write(i.rd, x(i.rs1) | x(i.rs2));
    case 'xor':
      return write(i.rd, x(i.rs1) ^ x(i.rs2));
    case 'shl':
      return write(i.rd, x(i.rs1) << (x(i.rs2) % 32n));
    case 'shr':
      return write(i.rd, x(i.rs1) >> (x(i.rs2) % 32n));
    case 'sar':
      return write(i.rd, signed(regs[i.rs1]!) >> (x(i.rs2) % 32n));
    case 'mul':
      return write(i.rd, x(i.rs1) * x(i.rs2));
    case 'slt':
      return write(i.rd, signed(regs[i.rs1]!) < signed(regs[i.rs2]!) ? 1n : 0n);
    case 'sltu':
      return write(i.rd, x(i.rs1) < x(i.rs2) ? 1n : 0n);
    case 'addi':
      return write(i.rd, x(i.rs1) + BigInt(i.imm));
    case 'andi':
      return write(i.rd, x(i.rs1) & BigInt(i.imm));
    case 'ori':
      return write(i.rd, x(i.rs1) | BigInt(i.imm));
    case 'xori':
      return write(i.rd, x(i.rs1) ^ BigInt(i.imm));
    case 'shli':
      return write(i.rd, x(i.rs1) << BigInt(i.imm));
    case 'shri':
      return write(i.rd, x(i.rs1) >> BigInt(i.imm));
    case 'sari':
      return write(i.rd, signed(regs[i.rs1]!) >> BigInt(i.imm));
    case 'slti':
      return write(i.rd, signed(regs[i.rs1]!) < BigInt(i.imm) ? 1n : 0n);
    case 'lui':
      return write(i.rd, BigInt(i.imm) * 2n ** 14n);
    case 'beq':
    case 'bne':
    case 'blt':
    case 'bge':
    case 'bltu':
    case 'bgeu': {
      const a = regs[i.rs1]!;
      const b = regs[i.rs2]!;
      const taken = {
        beq: a === b,
        bne: a !== b,
        blt: signed(a) < signed(b),
        bge: signed(a) >= signed(b),
        bltu: a < b,
        bgeu: a >= b,
      }[i.op];
      return { rd: null, value: 0, nextPc: taken ? u(BigInt(pc) + 4n * BigInt(i.offset)) : next };
    }
    case 'jal':
      return { rd: i.rd, value: next, nextPc: u(BigInt(pc) + 4n * BigInt(i.offset)) };
    case 'jalr':
      // The target uses rs1 as it was before rd is written.
      return { rd: i.rd, value: next, nextPc: u(x(i.rs1) + BigInt(i.imm)) };
    default:
      throw new Error(`not an ordinary instruction: ${i.op}`);
  }
}

const ORDINARY = [...ALU_REG_OPS, ...ALU_IMM_OPS, 'lui', ...BRANCH_OPS, 'jal', 'jalr'] as const;
const arbValue = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 1, 31, 32, 0x7fffffff, 0x80000000, 0xffffffff));
const arbRegs = fc.array(arbValue, { minLength: 16, maxLength: 16 }).map((r) => [0, ...r.slice(1)]);

function machineWith(regs: readonly number[], pc: number): Machine {
  return patchCpu(resetMachine(TINY_MACHINE), 0, { regs, pc });
}

describe('instruction semantics (HW-ISA-4)', () => {
  // One property per mnemonic, so that every operation gets the full number of runs.
  it.each(ORDINARY)('HW-ISA-1, HW-ISA-4, HW-CPU-2: %s computes what the semantics table says', (op) => {
    fc.assert(
      fc.property(ARB_BY_MNEMONIC[op], arbRegs, fc.integer({ min: 0, max: 2 ** 30 - 1 }).map((w) => w * 4), (insn, regs, pc) => {
        const m = machineWith(regs, pc);
        const r = execute(m, 0, encodeValid(insn));
        const ref = reference(insn, regs, pc);
        const after = r.machine.cpus[0]!;
        expect(r.trap).toBeNull();
        expect(r.record.status).toBe('retired');
        expect(after.pc).toBe(ref.nextPc);
        const expected = regs.slice();
        // HW-CPU-2: r0 ignores writes.
        if (ref.rd !== null && ref.rd !== 0) expected[ref.rd] = ref.value;
        expect(after.regs).toEqual(expected);
        expect(r.record.regWrite).toEqual(ref.rd !== null && ref.rd !== 0 ? { reg: ref.rd, value: ref.value } : null);
        // Nothing but registers and pc changes.
        expect(r.machine.memory).toBe(m.memory);
        expect({ ...after, regs: null, pc: null }).toEqual({ ...m.cpus[0]!, regs: null, pc: null });
      }),
    );
  });

  it('HW-CPU-2: r0 reads as zero even when an instruction writes it', () => {
    const m = machineWith([0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0);
    const r = execute(m, 0, encodeValid({ op: 'addi', rd: 0, rs1: 1, imm: 3 }));
    expect(r.machine.cpus[0]!.regs[0]).toBe(0);
    const r2 = execute(r.machine, 0, encodeValid({ op: 'add', rd: 2, rs1: 0, rs2: 1 }));
    expect(r2.machine.cpus[0]!.regs[2]).toBe(5);
  });

  it('HW-ISA-4: jalr r1, r1 jumps to the old r1 and links in r1', () => {
    const m = machineWith([0, 0x100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0x40);
    const r = execute(m, 0, encodeValid({ op: 'jalr', rd: 1, rs1: 1, imm: 8 }));
    expect(r.machine.cpus[0]!.pc).toBe(0x108);
    expect(r.machine.cpus[0]!.regs[1]).toBe(0x44);
  });

  it('HW-ISA-4: a branch to a misaligned address is taken; the next fetch takes the alignment fault', () => {
    const m = machineWith(new Array<number>(16).fill(0), 0x40);
    const r = execute(m, 0, encodeValid({ op: 'jalr', rd: 0, rs1: 0, imm: 0x42 }));
    expect(r.trap).toBeNull();
    expect(r.machine.cpus[0]!.pc).toBe(0x42);
    const r2 = execute(r.machine, 0);
    expect(r2.trap).toMatchObject({ kind: 'abort', access: 'fetch', fault: 'alignment', va: 0x42 });
  });
});
