/**
 * Address translation: the page-table entry format, the radix walk shared by stage 1, stage 2
 * and the IOMMU, the two-stage regime of EL0/EL1, and permission checks (HW-MMU-1..9).
 *
 * Every table is one frame of 2^indexBits entries. An entry is
 * `ppn << 4 | U << 3 | X << 2 | W << 1 | P`; only the last level's flags grant access (inner
 * levels need P only), and a present entry with a page number outside RAM is an external
 * abort when it must be read as a table.
 *
 * @module
 */
import type { Geometry } from './config.ts';
import { readWord, type WordStore } from './memory.ts';

/** Page-table entry flags (HW-MMU-2). */
export const PTE = { P: 1, W: 2, X: 4, U: 8 } as const;
/** All permissions: what an entry of a stage that is off grants. */
export const PTE_ALL = PTE.P | PTE.W | PTE.X | PTE.U;

/** Builds a page-table entry. */
export function pte(ppn: number, flags: number): number {
  return ((ppn << 4) | (flags & 0xf)) >>> 0;
}

/** Page number field of an entry. */
export function ptePpn(entry: number): number {
  return entry >>> 4;
}

/** Root frame field of TTBR0_EL1 / VTTBR_EL2 (bits 23:0). */
export function baseRoot(ttbr: number): number {
  return ttbr & 0xffffff;
}

/** ASID (TTBR0_EL1) or VMID (VTTBR_EL2) field (bits 31:24). */
export function baseTag(ttbr: number): number {
  return ttbr >>> 24;
}

/** Builds a TTBR0_EL1 / VTTBR_EL2 value. */
export function makeBase(rootPpn: number, tag: number): number {
  return ((tag << 24) | (rootPpn & 0xffffff)) >>> 0;
}

/** Why a translation failed. */
export type FaultKind = 'translation' | 'permission' | 'alignment' | 'external' | 'addressSize';

/** Why a walk stopped. */
export type WalkFaultKind = 'translation' | 'external' | 'addressSize';

/** A completed one-stage walk. */
export interface WalkHit {
  readonly ok: true;
  /** Output page number. */
  readonly page: number;
  /** Flags of the leaf entry. */
  readonly flags: number;
  /** Table entries read. */
  readonly reads: number;
}

/** A walk that stopped. `level` is the table level (0 = root) where it stopped. */
export interface WalkMiss {
  readonly ok: false;
  readonly fault: WalkFaultKind;
  readonly level: number;
  readonly reads: number;
}

/**
 * Walks one radix table from `rootPpn` for input address `addr` (HW-MMU-3). `tableToPa` maps
 * the address of each table entry to the physical address to read (identity for one stage;
 * a stage-2 translation for a nested walk), or returns a negative number to stop the walk.
 */
export function walk(
  geo: Geometry,
  mem: WordStore,
  rootPpn: number,
  addr: number,
  tableToPa?: (entryAddr: number) => number,
): WalkHit | WalkMiss {
  const { pageTableLevels: levels, pageTableIndexBits: bits } = geo.config;
  // HW-MMU-9: out of range faults at level 0. No `vaBits < 32` shortcut: with 32-bit
  // addresses an IPA built from a large ppn can reach 2^32 and above, and the index masks
  // below would silently wrap it.
  if (addr >= 2 ** geo.vaBits) return { ok: false, fault: 'translation', level: 0, reads: 0 };
  const mask = (1 << bits) - 1;
  const maxPages = 2 ** (32 - geo.offsetBits);
  let table = rootPpn;
  let reads = 0;
  for (let level = 0; level < levels; level++) {
    const index = Math.floor(addr / 2 ** (geo.offsetBits + (levels - 1 - level) * bits)) & mask;
    const entryAddr = table * geo.pageBytes + index * 4;
    const pa = tableToPa === undefined ? entryAddr : tableToPa(entryAddr);
    if (pa < 0) return { ok: false, fault: 'external', level, reads };
    // HW-MMU-4: a table must lie in RAM; anything else is an external abort on the walk.
    if (pa >= geo.ramBytes) return { ok: false, fault: 'external', level, reads };
    const entry = readWord(mem, pa >>> 2);
    reads++;
    if ((entry & PTE.P) === 0) return { ok: false, fault: 'translation', level, reads };
    // HW-MMU-10: an entry naming a page at or beyond 2^32 is an address-size fault.
    if (ptePpn(entry) >= maxPages) return { ok: false, fault: 'addressSize', level, reads };
    if (level === levels - 1) return { ok: true, page: ptePpn(entry), flags: entry & 0xf, reads };
    table = ptePpn(entry);
  }
  return { ok: false, fault: 'translation', level: levels - 1, reads };
}

/** How an address is being used. */
export type Access = 'fetch' | 'load' | 'store';

/** The translation controls in force for an access (derived from EL, SCTLR_EL1, HCR_EL2). */
export interface Regime {
  /** Stage 1 root and ASID, or null when stage 1 is off. */
  readonly s1: { readonly root: number; readonly asid: number } | null;
  /** Stage 2 root and VMID, or null when stage 2 is off. */
  readonly s2: { readonly root: number; readonly vmid: number } | null;
}

/** Result of translating through a whole regime with no TLB. */
export type RegimeWalk =
  | {
      readonly ok: true;
      readonly ppn: number;
      readonly ipn: number;
      readonly s1: number;
      readonly s2: number;
      /** Entries read by a one-stage walk. */
      readonly reads: number;
      /** Entries read by a two-dimensional walk. */
      readonly nestedReads: number;
    }
  | {
      readonly ok: false;
      readonly stage: 1 | 2;
      readonly fault: WalkFaultKind;
      readonly level: number;
      /** The fault hit while reading a stage-1 table through stage 2 (ARM S1PTW). */
      readonly onWalk: boolean;
      /** Faulting intermediate physical address for stage-2 faults. */
      readonly ipa: number | null;
      readonly reads: number;
      readonly nestedReads: number;
    };

/**
 * Translates `va` through stage 1 then stage 2 (HW-MMU-6). With both stages on, every stage-1
 * table read is itself translated through stage 2, so a full miss reads
 * (n+1)(m+1)−1 entries for n- and m-level tables (Bhargava et al., ASPLOS 2008).
 */
export function walkRegime(geo: Geometry, mem: WordStore, regime: Regime, va: number): RegimeWalk {
  const { s1, s2 } = regime;
  const pageBytes = geo.pageBytes;
  const nested = s1 !== null && s2 !== null;
  let s2Reads = 0;
  let s2Fault: { fault: WalkFaultKind; level: number; ipa: number } | null = null;
  const stage2 = (ipa: number): number => {
    if (s2 === null) return ipa;
    const w = walk(geo, mem, s2.root, ipa);
    s2Reads += w.reads;
    if (!w.ok) {
      s2Fault = { fault: w.fault, level: w.level, ipa };
      return -1;
    }
    // HW-MMU-7: stage 2 must let the walker read the table (P is enough to read).
    const pa = w.page * pageBytes + (ipa % pageBytes);
    // HW-MMU-4: a stage-1 table that stage 2 places outside RAM is stage 2's fault.
    if (pa >= geo.ramBytes) {
      s2Fault = { fault: 'external', level: -1, ipa };
      return -1;
    }
    return pa;
  };
  const count = (s1Reads: number) =>
    nested ? { reads: 0, nestedReads: s1Reads + s2Reads } : { reads: s1Reads + s2Reads, nestedReads: 0 };

  let ipn: number;
  let s1Flags = PTE_ALL;
  if (s1 !== null) {
    const w = walk(geo, mem, s1.root, va, s2 === null ? undefined : stage2);
    if (!w.ok) {
      const f = s2Fault as { fault: WalkFaultKind; level: number; ipa: number } | null;
      if (f !== null) {
        // An external abort is reported at the stage-1 level being read; a stage-2 walk
        // fault at the stage-2 level where it stopped.
        const level = f.level < 0 ? w.level : f.level;
        return { ok: false, stage: 2, fault: f.fault, level, onWalk: true, ipa: f.ipa, ...count(w.reads) };
      }
      return { ok: false, stage: 1, fault: w.fault, level: w.level, onWalk: false, ipa: null, ...count(w.reads) };
    }
    ipn = w.page;
    s1Flags = w.flags;
    const s1Reads = w.reads;
    if (s2 === null) return { ok: true, ppn: ipn, ipn, s1: s1Flags, s2: PTE_ALL, ...count(s1Reads) };
    const ipa = ipn * pageBytes + (va % pageBytes);
    const w2 = walk(geo, mem, s2.root, ipa);
    s2Reads += w2.reads;
    if (!w2.ok) return { ok: false, stage: 2, fault: w2.fault, level: w2.level, onWalk: false, ipa, ...count(s1Reads) };
    return { ok: true, ppn: w2.page, ipn, s1: s1Flags, s2: w2.flags, ...count(s1Reads) };
  }
  ipn = Math.floor(va / pageBytes);
  if (s2 === null) return { ok: true, ppn: ipn, ipn, s1: PTE_ALL, s2: PTE_ALL, reads: 0, nestedReads: 0 };
  const w2 = walk(geo, mem, s2.root, va);
  if (!w2.ok) return { ok: false, stage: 2, fault: w2.fault, level: w2.level, onWalk: false, ipa: va, reads: w2.reads, nestedReads: 0 };
  return { ok: true, ppn: w2.page, ipn, s1: PTE_ALL, s2: w2.flags, reads: w2.reads, nestedReads: 0 };
}

/**
 * Which stage, if any, forbids an access with the given leaf flags (HW-MMU-5): stage 1 needs
 * U at EL0, W to store and X to fetch; stage 2 needs W to store and X to fetch. Stage 1 is
 * checked first.
 */
export function permissionFault(s1: number, s2: number, access: Access, el: number): 0 | 1 | 2 {
  const need = access === 'store' ? PTE.W : access === 'fetch' ? PTE.X : 0;
  if ((s1 & need) !== need || (el === 0 && (s1 & PTE.U) === 0)) return 1;
  if ((s2 & need) !== need) return 2;
  return 0;
}
