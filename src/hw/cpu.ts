/**
 * One CPU: general registers, pc, processor state (exception level, interrupt mask, waiting
 * in WFI), the banked system registers, the local counter, and its TLB (HW-CPU-1..4).
 *
 * @module
 */
import { SYSREG_COUNT } from './isa/sysregs.ts';
import { emptyTlb, type Tlb } from './tlb.ts';

/** EL0 user, EL1 kernel or guest kernel, EL2 hypervisor. */
export type ExceptionLevel = 0 | 1 | 2;

/** Number of general registers; r0 always reads as zero (HW-CPU-2). */
export const GENERAL_REGS = 16;

export interface Cpu {
  /** r0..r15, unsigned 32-bit; r0 is always 0. */
  readonly regs: readonly number[];
  readonly pc: number;
  readonly el: ExceptionLevel;
  /** PSTATE.I: IRQs masked at the current level. */
  readonly irqMasked: boolean;
  /** Stopped in WFI until an interrupt is pending. */
  readonly waiting: boolean;
  /** Stored system registers, indexed by their encoding; computed ones stay 0 here. */
  readonly sys: readonly number[];
  /** The CPU's physical counter, advanced only by `tick` (HW-IRQ-6). */
  readonly counter: number;
  readonly tlb: Tlb;
}

/** The reset state: EL1, pc 0, IRQs masked, translation off, everything zero (HW-CPU-3). */
export function resetCpu(tlbEntries: number): Cpu {
  return {
    regs: new Array<number>(GENERAL_REGS).fill(0),
    pc: 0,
    el: 1,
    irqMasked: true,
    waiting: false,
    sys: new Array<number>(SYSREG_COUNT).fill(0),
    counter: 0,
    tlb: emptyTlb(tlbEntries),
  };
}

/** SPSR encoding of a processor state: EL in bits [3:2], I in bit 7 (HW-EXC-3). */
export function encodeSpsr(el: ExceptionLevel, irqMasked: boolean): number {
  return (el << 2) | (irqMasked ? 0x80 : 0);
}

/** Decodes an SPSR; an EL field of 3 (no such level here) yields `null`. */
export function decodeSpsr(spsr: number): { readonly el: ExceptionLevel; readonly irqMasked: boolean } | null {
  const el = (spsr >>> 2) & 3;
  if (el === 3) return null;
  return { el: el as ExceptionLevel, irqMasked: (spsr & 0x80) !== 0 };
}

/** Returns the registers with `reg` set to `value`; writes to r0 are discarded. */
export function setReg(regs: readonly number[], reg: number, value: number): readonly number[] {
  if (reg === 0) return regs;
  const next = regs.slice();
  next[reg] = value >>> 0;
  return next;
}

/** Returns the system registers with `id` set to `value`. */
export function setSys(sys: readonly number[], id: number, value: number): readonly number[] {
  const next = sys.slice();
  next[id] = value >>> 0;
  return next;
}
