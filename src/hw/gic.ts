/**
 * The interrupt controller (a small GICv3), the per-CPU timers and the virtual CPU interface
 * (HW-IRQ-1..9).
 *
 * Interrupt IDs: 0 is the software-generated interrupt (IPI), 1 the physical timer and 2 the
 * virtual timer, all three banked per CPU; IDs 3 and up are shared lines, each enabled or
 * not and routed to one CPU. Shared lines and IPIs latch when raised; timers are level
 * interrupts, asserted while their condition holds. One priority: while a CPU has an active
 * interrupt, nothing else is delivered to it.
 *
 * @module
 */
import { FIRST_SHARED_IRQ, IRQ_IPI, IRQ_PHYS_TIMER, IRQ_VIRT_TIMER } from './config.ts';
import type { Cpu } from './cpu.ts';
import { HCR, SPURIOUS_IRQ, SYS, TIMER_CTL } from './isa/sysregs.ts';

const HCR_IMO = HCR.IMO;

export interface Gic {
  /** Shared lines enabled (bit n = ID n). */
  readonly enabled: number;
  /** Shared lines latched pending. */
  readonly pending: number;
  /** Shared lines acknowledged and not yet ended. */
  readonly active: number;
  /** Target CPU of each shared line, indexed by ID. */
  readonly target: readonly number[];
  /** IPI latched pending, bit c for CPU c. */
  readonly ipiPending: number;
  /** Banked IDs (0..2) active, per CPU. */
  readonly localActive: readonly number[];
}

export function resetGic(cpus: number, lines: number): Gic {
  return {
    enabled: 0,
    pending: 0,
    active: 0,
    target: new Array<number>(lines).fill(0),
    ipiPending: 0,
    localActive: new Array<number>(cpus).fill(0),
  };
}

const bit = (id: number): number => (1 << id) >>> 0;

/** Whether a timer's interrupt is asserted: enabled, not masked, and its count reached (HW-IRQ-6). */
export function timerAsserted(ctl: number, count: number, compare: number): boolean {
  return (ctl & (TIMER_CTL.ENABLE | TIMER_CTL.IMASK)) === TIMER_CTL.ENABLE && count >>> 0 >= compare >>> 0;
}

/** The virtual count seen at EL0/EL1: the counter minus CNTVOFF_EL2, modulo 2^32. */
export function virtualCount(cpu: Cpu): number {
  return (cpu.counter - cpu.sys[SYS.CNTVOFF_EL2]!) >>> 0;
}

function physTimer(cpu: Cpu): boolean {
  return timerAsserted(cpu.sys[SYS.CNTP_CTL]!, cpu.counter, cpu.sys[SYS.CNTP_CVAL]!);
}

function virtTimer(cpu: Cpu): boolean {
  return timerAsserted(cpu.sys[SYS.CNTV_CTL]!, virtualCount(cpu), cpu.sys[SYS.CNTV_CVAL]!);
}

function sharedMaskFor(gic: Gic, c: number): number {
  let mask = 0;
  for (let id = FIRST_SHARED_IRQ; id < gic.target.length; id++) if (gic.target[id] === c) mask |= bit(id);
  return mask >>> 0;
}

/**
 * The ID the CPU interface of CPU `c` would deliver now, or -1 (HW-IRQ-3): the lowest
 * pending ID among its IPI, its timers and the enabled shared lines routed to it, provided
 * no interrupt is active on `c`.
 */
export function deliverable(gic: Gic, c: number, cpu: Cpu): number {
  if (gic.localActive[c] !== 0) return -1;
  if (gic.active !== 0 && (gic.active & sharedMaskFor(gic, c)) !== 0) return -1;
  if ((gic.ipiPending & bit(c)) !== 0) return IRQ_IPI;
  if (physTimer(cpu)) return IRQ_PHYS_TIMER;
  if (virtTimer(cpu)) return IRQ_VIRT_TIMER;
  // Most steps have nothing pending: skip the routing scan.
  if ((gic.pending & gic.enabled) === 0) return -1;
  const ready = (gic.pending & gic.enabled & sharedMaskFor(gic, c)) >>> 0;
  if (ready === 0) return -1;
  return 31 - Math.clz32(ready & -ready);
}

/**
 * Whether anything is pending for CPU `c`, masked or not (what wakes WFI, HW-IRQ-8). Virtual
 * interrupts count only where they could be taken: under HCR.IMO, at EL0 or EL1.
 */
export function anyPending(gic: Gic, c: number, cpu: Cpu): boolean {
  return (
    (gic.ipiPending & bit(c)) !== 0 ||
    physTimer(cpu) ||
    virtTimer(cpu) ||
    (gic.pending & gic.enabled & sharedMaskFor(gic, c)) !== 0 ||
    (cpu.sys[SYS.ICH_PEND_EL2] !== 0 && cpu.el <= 1 && (cpu.sys[SYS.HCR_EL2]! & HCR_IMO) !== 0)
  );
}

/** Acknowledges the deliverable interrupt of CPU `c` (ICC_IAR read): it becomes active (HW-IRQ-4). */
export function acknowledge(gic: Gic, c: number, cpu: Cpu): { readonly gic: Gic; readonly id: number } {
  const id = deliverable(gic, c, cpu);
  if (id < 0) return { gic, id: SPURIOUS_IRQ };
  if (id < FIRST_SHARED_IRQ) {
    const localActive = gic.localActive.slice();
    localActive[c] = localActive[c]! | bit(id);
    const ipiPending = id === IRQ_IPI ? (gic.ipiPending & ~bit(c)) >>> 0 : gic.ipiPending;
    return { gic: { ...gic, localActive, ipiPending }, id };
  }
  return { gic: { ...gic, pending: (gic.pending & ~bit(id)) >>> 0, active: (gic.active | bit(id)) >>> 0 }, id };
}

/** Ends interrupt `id` on CPU `c` (ICC_EOIR write). Unknown or inactive IDs are ignored (HW-IRQ-5). */
export function endOfInterrupt(gic: Gic, c: number, id: number): Gic {
  if (!Number.isInteger(id) || id < 0 || id >= gic.target.length) return gic;
  if (id < FIRST_SHARED_IRQ) {
    if ((gic.localActive[c]! & bit(id)) === 0) return gic;
    const localActive = gic.localActive.slice();
    localActive[c] = localActive[c]! & ~bit(id);
    return { ...gic, localActive };
  }
  if (gic.target[id] !== c || (gic.active & bit(id)) === 0) return gic;
  return { ...gic, active: (gic.active & ~bit(id)) >>> 0 };
}

/** Latches shared line `id` pending (a device or an external `irq` event, HW-IRQ-2). */
export function raiseLine(gic: Gic, id: number): Gic {
  if (!Number.isInteger(id) || id < FIRST_SHARED_IRQ || id >= gic.target.length) return gic;
  return { ...gic, pending: (gic.pending | bit(id)) >>> 0 };
}

/** Latches an IPI on every CPU in `mask` (ICC_SGIR write, HW-IRQ-7). */
export function sendIpi(gic: Gic, mask: number, cpus: number): Gic {
  const valid = mask & ((1 << cpus) - 1);
  return valid === 0 ? gic : { ...gic, ipiPending: (gic.ipiPending | valid) >>> 0 };
}

/** Enables or disables shared line `id` and routes it to CPU `target` (distributor programming). */
export function configureLine(gic: Gic, id: number, enabled: boolean, target: number): Gic {
  if (!Number.isInteger(id) || id < FIRST_SHARED_IRQ || id >= gic.target.length) return gic;
  if (!Number.isInteger(target) || target < 0 || target >= gic.localActive.length) return gic;
  const targets = gic.target.slice();
  targets[id] = target;
  const enabledMask = enabled ? gic.enabled | bit(id) : gic.enabled & ~bit(id);
  return { ...gic, enabled: enabledMask >>> 0, target: targets };
}

/** The virtual interrupt the virtual CPU interface would deliver, or -1 (HW-IRQ-9). */
export function virtualDeliverable(cpu: Cpu): number {
  const pend = cpu.sys[SYS.ICH_PEND_EL2]! >>> 0;
  if (cpu.sys[SYS.ICH_ACTIVE_EL2] !== 0 || pend === 0) return -1;
  return 31 - Math.clz32(pend & -pend);
}
