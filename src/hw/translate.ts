/**
 * One access's translation as the CPU performs it: pick the regime from the exception level
 * and the controls, look the page up in the TLB, walk on a miss and fill the TLB, then check
 * permissions against the (possibly cached) leaf flags (HW-MMU-6, HW-TLB-1..3).
 *
 * @module
 */
import type { PrimitiveOp } from '../perf/ops.ts';
import type { Geometry } from './config.ts';
import type { Cpu } from './cpu.ts';
import { HCR, SCTLR_M, SYS } from './isa/sysregs.ts';
import type { WordStore } from './memory.ts';
import { baseRoot, baseTag, permissionFault, walkRegime, type Access, type FaultKind, type Regime } from './mmu.ts';
import { NO_ASID, NO_VMID, tlbFind, tlbInsert, tlbKey, type Tlb, type TlbEntry } from './tlb.ts';

/** The translation regime of the CPU's current level (HW-MMU-1): EL2 runs untranslated. */
export function regimeOf(cpu: Cpu): Regime {
  if (cpu.el === 2) return { s1: null, s2: null };
  const ttbr = cpu.sys[SYS.TTBR0_EL1]!;
  const vttbr = cpu.sys[SYS.VTTBR_EL2]!;
  return {
    s1: (cpu.sys[SYS.SCTLR_EL1]! & SCTLR_M) !== 0 ? { root: baseRoot(ttbr), asid: baseTag(ttbr) } : null,
    s2: (cpu.sys[SYS.HCR_EL2]! & HCR.VM) !== 0 ? { root: baseRoot(vttbr), vmid: baseTag(vttbr) } : null,
  };
}

/** The VMID tag that TLB entries of the CPU's guest regime carry (HW-TLB-2). */
export function currentVmidTag(cpu: Cpu): number {
  return (cpu.sys[SYS.HCR_EL2]! & HCR.VM) !== 0 ? baseTag(cpu.sys[SYS.VTTBR_EL2]!) : NO_VMID;
}

export interface Translated {
  readonly ok: true;
  readonly pa: number;
  readonly tlb: Tlb;
}

export interface TranslationFault {
  readonly ok: false;
  readonly stage: 1 | 2;
  readonly fault: FaultKind;
  readonly level: number;
  readonly ipa: number | null;
  readonly onWalk: boolean;
  readonly tlb: Tlb;
}

/**
 * Translates `va` for `access` on `cpu`, appending the primitive ops it costs to `ops`.
 * Returns the physical address and the TLB after any fill, or the fault.
 */
export function translate(
  geo: Geometry,
  mem: WordStore,
  cpu: Cpu,
  va: number,
  access: Access,
  ops: PrimitiveOp[],
): Translated | TranslationFault {
  const tlb = cpu.tlb;
  if (cpu.el === 2) return { ok: true, pa: va, tlb };
  const sys = cpu.sys;
  const s1On = (sys[SYS.SCTLR_EL1]! & SCTLR_M) !== 0;
  const s2On = (sys[SYS.HCR_EL2]! & HCR.VM) !== 0;
  if (!s1On && !s2On) return { ok: true, pa: va, tlb };

  const offsetMask = geo.pageBytes - 1;
  const vpn = va >>> geo.offsetBits;
  const key = tlbKey(s2On ? baseTag(sys[SYS.VTTBR_EL2]!) : NO_VMID, s1On ? baseTag(sys[SYS.TTBR0_EL1]!) : NO_ASID, vpn);
  const hit = tlbFind(tlb, key);
  let entry: TlbEntry;
  let filled = tlb;
  if (hit >= 0) {
    entry = tlb.entries[hit]!;
  } else {
    ops.push('tlbMiss');
    const regime = regimeOf(cpu);
    const w = walkRegime(geo, mem, regime, va);
    for (let i = 0; i < w.reads; i++) ops.push('pageWalkStep');
    for (let i = 0; i < w.nestedReads; i++) ops.push('nestedWalkStep');
    if (!w.ok) return { ok: false, stage: w.stage, fault: w.fault, level: w.level, ipa: w.ipa, onWalk: w.onWalk, tlb };
    entry = {
      key,
      vmid: regime.s2 === null ? NO_VMID : regime.s2.vmid,
      asid: regime.s1 === null ? NO_ASID : regime.s1.asid,
      vpn,
      ppn: w.ppn,
      ipn: w.ipn,
      s1: w.s1,
      s2: w.s2,
    };
    filled = tlbInsert(tlb, entry);
  }
  const denied = permissionFault(entry.s1, entry.s2, access, cpu.el);
  if (denied !== 0) {
    return {
      ok: false,
      stage: denied,
      fault: 'permission',
      level: geo.config.pageTableLevels - 1,
      ipa: denied === 2 ? entry.ipn * geo.pageBytes + (va & offsetMask) : null,
      onWalk: false,
      tlb: filled,
    };
  }
  return { ok: true, pa: entry.ppn * geo.pageBytes + (va & offsetMask), tlb: filled };
}
