/**
 * A deliberately naive reference of address translation, written from the rules of
 * spec/hardware.md (HW-MMU-1..9, HW-IOMMU-2..3) and NOT from src/hw/mmu.ts: the tests compare
 * the model against it. It shares nothing with the model but `readWord` (to look at the
 * machine's RAM) and the system-register numbers; every address computation is redone here
 * with plain division and remainder, one level at a time, so that a slip in the model's bit
 * arithmetic cannot be mirrored by the oracle.
 *
 * The rules it encodes:
 * - Regimes (HW-MMU-1): EL2 is untranslated; at EL0/EL1 stage 1 is on iff SCTLR_EL1.M (bit 0)
 *   and stage 2 iff HCR_EL2.VM (bit 0). TTBR0_EL1/VTTBR_EL2: root frame in bits 23:0.
 * - PTE (HW-MMU-2): `ppn << 4 | U << 3 | X << 2 | W << 1 | P`.
 * - Walk (HW-MMU-3, -9): an input address at or above 2^(offsetBits + levels × bits) is a
 *   translation fault at level 0; otherwise each level reads one entry of a one-frame table,
 *   a clear P is a translation fault at that level, inner levels need only P, and the leaf's
 *   flags are the stage's permissions.
 * - Tables in RAM (HW-MMU-4): reading an entry of a table whose frame is not RAM is an
 *   external fault at the level being read — blamed on stage 2 (with onWalk and the entry's
 *   IPA) when stage 2 is what placed the stage-1 table there.
 * - Output range (HW-MMU-10): a present entry whose page number names an address at or
 *   beyond 2^32 is an address-size fault at its level.
 * - Two stages (HW-MMU-6, -7): with both on, every stage-1 table entry address is an IPA that
 *   stage 2 translates first (a stage-2 failure there is a stage-2 fault with onWalk), then
 *   the final IPA goes through stage 2.
 * - Permissions (HW-MMU-5): stage 1 needs U at EL0, W to store, X to fetch; stage 2 needs W
 *   to store, X to fetch; stage 1 is checked first; a permission fault reports the leaf level.
 *
 * @module
 */
import { readWord, SYS, type Machine, type MachineConfig, type WordStore } from '../../src/hw/index.ts';

/** The geometry the reference needs, straight from a machine configuration. */
export interface RefGeometry {
  readonly frames: number;
  readonly wordsPerFrame: number;
  readonly levels: number;
  readonly bits: number;
}

export function refGeometry(config: MachineConfig): RefGeometry {
  return {
    frames: config.frames,
    wordsPerFrame: config.wordsPerFrame,
    levels: config.pageTableLevels,
    bits: config.pageTableIndexBits,
  };
}

/** Bytes of one page. */
export function refPageBytes(g: RefGeometry): number {
  return g.wordsPerFrame * 4;
}

/** Number of distinct input addresses a table of this geometry translates: 2^vaBits. */
export function refInputSpan(g: RefGeometry): number {
  return refPageBytes(g) * (2 ** g.bits) ** g.levels;
}

/** The controls that select a regime (HW-MMU-1). */
export interface RefControls {
  readonly el: 0 | 1 | 2;
  readonly sctlr: number;
  readonly hcr: number;
  readonly ttbr0: number;
  readonly vttbr: number;
}

export function controlsOf(m: Machine, cpu: number): RefControls {
  const c = m.cpus[cpu]!;
  return {
    el: c.el,
    sctlr: c.sys[SYS.SCTLR_EL1]!,
    hcr: c.sys[SYS.HCR_EL2]!,
    ttbr0: c.sys[SYS.TTBR0_EL1]!,
    vttbr: c.sys[SYS.VTTBR_EL2]!,
  };
}

export type RefAccess = 'fetch' | 'load' | 'store';

/** A walk (of one or both stages) that stopped before producing an address. */
export interface RefWalkFault {
  readonly ok: false;
  readonly stage: 1 | 2;
  readonly fault: 'translation' | 'external' | 'addressSize';
  readonly level: number;
  readonly ipa: number | null;
  readonly onWalk: boolean;
  /** Every table entry read, in order, as physical word indices. */
  readonly read: readonly number[];
}

/** A walk of the regime that produced an address; flags of an off stage are all ones. */
export interface RefWalkHit {
  readonly ok: true;
  readonly pa: number;
  readonly ipa: number;
  readonly s1Flags: number;
  readonly s2Flags: number;
  readonly read: readonly number[];
}

export type RefWalk = RefWalkHit | RefWalkFault;

const P = 1;
const W = 2;
const X = 4;
const U = 8;
const ALL_FLAGS = P | W | X | U;

function rootOf(base: number): number {
  return base % 2 ** 24;
}

/** One stage's outcome, before the caller decides which stage to blame. */
type StageOutcome =
  | { readonly ok: true; readonly page: number; readonly flags: number }
  | { readonly ok: false; readonly fault: 'translation' | 'external' | 'addressSize'; readonly level: number }
  /** Reading a table entry needed a translation that failed (a nested stage-2 fault). */
  | { readonly ok: false; readonly fault: 'nested'; readonly nested: RefWalkFault };

/** How a table entry at address `entryAddr` (in the stage's input space) is fetched. */
type EntryReader = (entryAddr: number, level: number) => { kind: 'word'; value: number } | StageOutcome;

/** The index into the level-`level` table for `addr`: digit `level` of addr's page number in base 2^bits. */
function indexAt(g: RefGeometry, addr: number, level: number): number {
  const entries = 2 ** g.bits;
  const pageNumber = Math.floor(addr / refPageBytes(g));
  const divisor = entries ** (g.levels - 1 - level);
  return Math.floor(pageNumber / divisor) % entries;
}

/** Walks one stage from `root` for `addr`, reading each entry through `readEntry`. */
function walkStage(g: RefGeometry, root: number, addr: number, readEntry: EntryReader): StageOutcome {
  // HW-MMU-9: out-of-range input is a translation fault before any read.
  if (addr >= refInputSpan(g)) return { ok: false, fault: 'translation', level: 0 };
  const step = (level: number, table: number): StageOutcome => {
    const entryAddr = table * refPageBytes(g) + indexAt(g, addr, level) * 4;
    const got = readEntry(entryAddr, level);
    if (!('kind' in got)) return got;
    const entry = got.value;
    if (entry % 2 === 0) return { ok: false, fault: 'translation', level };
    const ppn = Math.floor(entry / 16);
    if (ppn * refPageBytes(g) >= 2 ** 32) return { ok: false, fault: 'addressSize', level };
    if (level === g.levels - 1) return { ok: true, page: ppn, flags: entry % 16 };
    return step(level + 1, ppn);
  };
  return step(0, root);
}

/** Reads a table entry at physical byte address `pa`, failing if its frame is not RAM. */
function physicalEntry(
  g: RefGeometry,
  read: (wordIndex: number) => number,
  log: number[],
  pa: number,
  level: number,
): { kind: 'word'; value: number } | StageOutcome {
  if (Math.floor(pa / refPageBytes(g)) >= g.frames) return { ok: false, fault: 'external', level };
  log.push(pa / 4);
  return { kind: 'word', value: read(pa / 4) };
}

/** A one-stage walk over physical memory (stage 2, a stage 1 without stage 2, the IOMMU). */
export function refWalkPhysical(
  g: RefGeometry,
  read: (wordIndex: number) => number,
  root: number,
  addr: number,
): { outcome: StageOutcome; read: number[] } {
  const log: number[] = [];
  const outcome = walkStage(g, root, addr, (pa, level) => physicalEntry(g, read, log, pa, level));
  return { outcome, read: log };
}

/**
 * The regime's translation of `va` (HW-MMU-1, -3, -4, -6, -7, -9), no TLB, no permissions.
 * `read` looks at RAM word by word.
 */
export function refWalk(g: RefGeometry, read: (wordIndex: number) => number, ctl: RefControls, va: number): RefWalk {
  const log: number[] = [];
  const pageBytes = refPageBytes(g);
  if (ctl.el === 2) return { ok: true, pa: va, ipa: va, s1Flags: ALL_FLAGS, s2Flags: ALL_FLAGS, read: log };
  const s1On = ctl.sctlr % 2 === 1;
  const s2On = ctl.hcr % 2 === 1;

  // Stage 2 of one IPA; a failure is blamed on stage 2 with the given onWalk.
  const stage2 = (ipa: number, onWalk: boolean): { ok: true; pa: number; flags: number } | RefWalkFault => {
    if (!s2On) return { ok: true, pa: ipa, flags: ALL_FLAGS };
    const r = refWalkPhysical(g, read, rootOf(ctl.vttbr), ipa);
    log.push(...r.read);
    const o = r.outcome;
    if (o.ok) return { ok: true, pa: o.page * pageBytes + (ipa % pageBytes), flags: o.flags };
    if (o.fault === 'nested') throw new Error('a physical walk cannot nest');
    return { ok: false, stage: 2, fault: o.fault, level: o.level, ipa, onWalk, read: log };
  };

  let ipa = va;
  let s1Flags = ALL_FLAGS;
  if (s1On) {
    const o = walkStage(g, rootOf(ctl.ttbr0), va, (entryIpa, level) => {
      // HW-MMU-6/7: the stage-1 table lives in the guest's IPA space.
      const t = stage2(entryIpa, true);
      if (!t.ok) return { ok: false, fault: 'nested', nested: t };
      if (s2On && Math.floor(t.pa / pageBytes) >= g.frames) {
        const nested: RefWalkFault = { ok: false, stage: 2, fault: 'external', level, ipa: entryIpa, onWalk: true, read: log };
        return { ok: false, fault: 'nested', nested };
      }
      return physicalEntry(g, read, log, t.pa, level);
    });
    if (!o.ok) {
      if (o.fault === 'nested') return { ...o.nested, read: log };
      return { ok: false, stage: 1, fault: o.fault, level: o.level, ipa: null, onWalk: false, read: log };
    }
    ipa = o.page * pageBytes + (va % pageBytes);
    s1Flags = o.flags;
  }
  const t = stage2(ipa, false);
  if (!t.ok) return { ...t, read: log };
  return { ok: true, pa: t.pa, ipa, s1Flags, s2Flags: t.flags, read: log };
}

/** Which stage denies `access` given the two leaves' flags (HW-MMU-5): 0 = none. */
export function refPermission(s1Flags: number, s2Flags: number, access: RefAccess, el: 0 | 1 | 2): 0 | 1 | 2 {
  const has = (flags: number, bit: number) => Math.floor(flags / bit) % 2 === 1;
  const needW = access === 'store';
  const needX = access === 'fetch';
  if ((needW && !has(s1Flags, W)) || (needX && !has(s1Flags, X)) || (el === 0 && !has(s1Flags, U))) return 1;
  if ((needW && !has(s2Flags, W)) || (needX && !has(s2Flags, X))) return 2;
  return 0;
}

/** The outcome of one access as the architecture defines it (no TLB). */
export type RefTranslation =
  | { readonly ok: true; readonly pa: number; readonly read: readonly number[] }
  | {
      readonly ok: false;
      readonly stage: 1 | 2;
      readonly fault: 'translation' | 'external' | 'addressSize' | 'permission';
      readonly level: number;
      readonly ipa: number | null;
      readonly onWalk: boolean;
      readonly read: readonly number[];
    };

/** Applies the permission rule to a completed walk. */
export function refCheck(g: RefGeometry, w: RefWalkHit, access: RefAccess, el: 0 | 1 | 2): RefTranslation {
  const denied = refPermission(w.s1Flags, w.s2Flags, access, el);
  if (denied === 0) return { ok: true, pa: w.pa, read: w.read };
  return {
    ok: false,
    stage: denied,
    fault: 'permission',
    level: g.levels - 1,
    ipa: denied === 2 ? w.ipa : null,
    onWalk: false,
    read: w.read,
  };
}

/** Translates one access with no TLB: walk, then permissions. */
export function refTranslate(
  g: RefGeometry,
  read: (wordIndex: number) => number,
  ctl: RefControls,
  va: number,
  access: RefAccess,
): RefTranslation {
  const w = refWalk(g, read, ctl, va);
  return w.ok ? refCheck(g, w, access, ctl.el) : w;
}

/** A RAM reader over a machine's memory, through `readWord` only. */
export function ramReader(memory: WordStore): (wordIndex: number) => number {
  return (i) => readWord(memory, i);
}

/**
 * The physical page a device reaches at `iova` through the IOMMU table at `root`
 * (HW-IOMMU-1..3), or null: no root (-1), a failed walk, a leaf without P (or without W for
 * a write into memory), or an output page outside RAM all deny the access.
 */
export function refIommuPage(
  g: RefGeometry,
  read: (wordIndex: number) => number,
  root: number,
  iova: number,
  write: boolean,
): { page: number | null; read: number[] } {
  if (root < 0) return { page: null, read: [] };
  const r = refWalkPhysical(g, read, root, iova);
  const o = r.outcome;
  if (!o.ok) return { page: null, read: r.read };
  const hasW = Math.floor(o.flags / W) % 2 === 1;
  if (write && !hasW) return { page: null, read: r.read };
  if (o.page >= g.frames) return { page: null, read: r.read };
  return { page: o.page, read: r.read };
}
