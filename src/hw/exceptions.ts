/**
 * Traps: what they carry, how their syndrome is encoded, and exception entry and return
 * (HW-EXC-1..8 in spec/hardware.md).
 *
 * When control must pass to a handler, the hardware model takes the exception itself —
 * writes ELR, SPSR, ESR and FAR (and HPFAR for stage-2 aborts) of the target level, raises
 * the exception level, masks IRQs and jumps to the vector — and reports a {@link Trap}. The
 * handler is then either code at the vector (a guest kernel) or a supervisor written as a
 * pure function, which finishes with {@link exceptionReturn} as ERET would.
 *
 * @module
 */
import { decodeSpsr, encodeSpsr, setSys, type Cpu, type ExceptionLevel } from './cpu.ts';
import type { TlbiScope } from './isa/instruction.ts';
import { SYS } from './isa/sysregs.ts';
import type { Access, FaultKind } from './mmu.ts';

/** Fields every trap has. */
export interface TrapBase {
  /** Exception level the CPU was at. */
  readonly from: ExceptionLevel;
  /** Exception level that takes it. */
  readonly to: 1 | 2;
}

/** The reason for a trap, with its syndrome fields. */
export type TrapCause =
  /** SVC or HVC, with its immediate. */
  | { readonly kind: 'svc' | 'hvc'; readonly imm: number }
  /** An UNDEFINED word, or an instruction not allowed at this level. */
  | { readonly kind: 'undefined'; readonly word: number }
  /** MRS/MSR trapped to EL2 by HCR_EL2 or by needing EL2. */
  | { readonly kind: 'sysreg'; readonly sysreg: number; readonly rt: number; readonly write: boolean }
  /** TLBI trapped to EL2. */
  | { readonly kind: 'tlbi'; readonly scope: TlbiScope; readonly broadcast: boolean; readonly rs: number }
  /** WFI trapped (EL0 to EL1; EL1 to EL2 under HCR.TWI). */
  | { readonly kind: 'wfi' }
  /** A fetch, load or store that could not complete. */
  | {
      readonly kind: 'abort';
      readonly access: Access;
      readonly stage: 1 | 2;
      readonly fault: FaultKind;
      readonly level: number;
      /** Faulting virtual address (the pc for fetches). */
      readonly va: number;
      /** Faulting intermediate physical address, for stage-2 aborts. */
      readonly ipa: number | null;
      /** The fault arose reading a stage-1 table through stage 2. */
      readonly onWalk: boolean;
      /** Register loaded or stored, for data aborts; -1 for fetches. */
      readonly rt: number;
    }
  /** An interrupt: physical (to EL1 or, under HCR.IMO, EL2) or virtual (to EL1). */
  | { readonly kind: 'irq'; readonly virtual: boolean };

/** A trap as reported by `execute`: its cause, the levels, and the syndrome written to ESR. */
export type Trap = TrapCause & TrapBase & { readonly esr: number };

/** Exception classes, ESR bits 31:26 (HW-EXC-4). */
export const EC = {
  UNDEFINED: 0x00,
  WFI: 0x01,
  SVC: 0x15,
  HVC: 0x16,
  SYSREG: 0x18,
  INSTRUCTION_ABORT: 0x20,
  DATA_ABORT: 0x24,
} as const;

/** Fault status code of an abort (ESR bits 5:0). */
export function faultStatus(fault: FaultKind, level: number): number {
  switch (fault) {
    case 'translation':
      return 0x04 + level;
    case 'permission':
      return 0x0c + level;
    case 'alignment':
      return 0x21;
    case 'external':
      return 0x10;
    case 'addressSize':
      return 0x00 + level;
  }
}

const TLBI_SCOPE_CODE: Readonly<Record<TlbiScope, number>> = { all: 0, va: 1, asid: 2, vmid: 3 };

/** The ESR value of a trap (HW-EXC-4); interrupts have no syndrome and yield 0. */
export function syndrome(cause: TrapCause): number {
  const esr = (ec: number, iss: number) => ((ec << 26) | (iss & 0x1ffffff)) >>> 0;
  switch (cause.kind) {
    case 'undefined':
      return esr(EC.UNDEFINED, 0);
    case 'wfi':
      return esr(EC.WFI, 0);
    case 'svc':
      return esr(EC.SVC, cause.imm);
    case 'hvc':
      return esr(EC.HVC, cause.imm);
    case 'sysreg':
      return esr(EC.SYSREG, cause.sysreg | (cause.rt << 8) | ((cause.write ? 1 : 0) << 12));
    case 'tlbi':
      return esr(EC.SYSREG, TLBI_SCOPE_CODE[cause.scope] | ((cause.broadcast ? 1 : 0) << 2) | (cause.rs << 8) | (1 << 24));
    case 'abort': {
      const data = cause.access !== 'fetch';
      const iss =
        faultStatus(cause.fault, cause.level) |
        ((cause.access === 'store' ? 1 : 0) << 6) |
        ((cause.stage === 2 ? 1 : 0) << 7) |
        ((cause.onWalk ? 1 : 0) << 8) |
        (data ? ((cause.rt & 0xf) << 9) | (1 << 24) : 0);
      return esr(data ? EC.DATA_ABORT : EC.INSTRUCTION_ABORT, iss);
    }
    case 'irq':
      return 0;
  }
}

/** Vector offsets from VBAR (HW-EXC-5), as on AArch64. */
export const VECTOR = { SYNC_SAME: 0x200, IRQ_SAME: 0x280, SYNC_LOWER: 0x400, IRQ_LOWER: 0x480 } as const;

const BANK = {
  1: { elr: SYS.ELR_EL1, spsr: SYS.SPSR_EL1, esr: SYS.ESR_EL1, far: SYS.FAR_EL1, vbar: SYS.VBAR_EL1 },
  2: { elr: SYS.ELR_EL2, spsr: SYS.SPSR_EL2, esr: SYS.ESR_EL2, far: SYS.FAR_EL2, vbar: SYS.VBAR_EL2 },
} as const;

/** Builds the reported trap for a cause taken from `from` to `to`. */
export function makeTrap(cause: TrapCause, from: ExceptionLevel, to: 1 | 2): Trap {
  return { ...cause, from, to, esr: syndrome(cause) };
}

/**
 * Takes `trap` on `cpu` (HW-EXC-3): SPSR ← (EL, I), ELR ← `returnPc`, ESR ← syndrome (not
 * for interrupts), FAR ← faulting VA (aborts), HPFAR_EL2 ← IPA (stage-2 aborts), then
 * EL ← target, I ← 1, pc ← VBAR + offset; a CPU waiting in WFI wakes.
 */
export function takeException(cpu: Cpu, trap: Trap, returnPc: number): Cpu {
  const bank = BANK[trap.to];
  const sys = cpu.sys.slice();
  sys[bank.spsr] = encodeSpsr(cpu.el, cpu.irqMasked);
  sys[bank.elr] = returnPc >>> 0;
  if (trap.kind !== 'irq') sys[bank.esr] = trap.esr;
  if (trap.kind === 'abort') {
    sys[bank.far] = trap.va >>> 0;
    if (trap.to === 2 && trap.ipa !== null) sys[SYS.HPFAR_EL2] = trap.ipa >>> 0;
  }
  const lower = cpu.el < trap.to;
  const offset = trap.kind === 'irq' ? (lower ? VECTOR.IRQ_LOWER : VECTOR.IRQ_SAME) : lower ? VECTOR.SYNC_LOWER : VECTOR.SYNC_SAME;
  return { ...cpu, sys, el: trap.to, irqMasked: true, waiting: false, pc: (sys[bank.vbar]! + offset) >>> 0 };
}

/**
 * ERET from the current level (HW-EXC-6): pc ← ELR, (EL, I) ← SPSR. Returns null for an
 * illegal return — from EL0, or to a level above the current one — which the caller treats
 * as an UNDEFINED instruction.
 */
export function exceptionReturn(cpu: Cpu): Cpu | null {
  if (cpu.el === 0) return null;
  const bank = BANK[cpu.el];
  const target = decodeSpsr(cpu.sys[bank.spsr]!);
  if (target === null || target.el > cpu.el) return null;
  return { ...cpu, pc: cpu.sys[bank.elr]!, el: target.el, irqMasked: target.irqMasked };
}

/** Returns the CPU with one banked register of `level` set (for supervisors acting as handlers). */
export function setBanked(cpu: Cpu, level: 1 | 2, which: 'elr' | 'spsr', value: number): Cpu {
  return { ...cpu, sys: setSys(cpu.sys, BANK[level][which], value) };
}
