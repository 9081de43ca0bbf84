/**
 * Building and editing radix page tables in physical memory: the mechanism every supervisor,
 * test and demo uses to set up stage-1, stage-2 and IOMMU tables (HW-MMU-8). Tables are
 * ordinary RAM frames written with ordinary words; nothing here touches a TLB, so editing a
 * live table without a TLBI leaves stale entries behind, as on real hardware.
 *
 * @module
 */
import type { Geometry } from './config.ts';
import { mkError, type MkhvError } from './error.ts';
import { readWord, writeWord, type WordStore } from './memory.ts';
import { PTE, pte, ptePpn } from './mmu.ts';

/** Physical word index of entry `index` of the table in frame `table`. */
function entryWord(geo: Geometry, table: number, index: number): number {
  return table * geo.config.wordsPerFrame + index;
}

/** The index into each level's table for `addr`, root first. */
export function tableIndices(geo: Geometry, addr: number): number[] {
  const { pageTableLevels: levels, pageTableIndexBits: bits } = geo.config;
  const mask = (1 << bits) - 1;
  const out: number[] = [];
  for (let level = 0; level < levels; level++) out.push((addr >>> (geo.offsetBits + (levels - 1 - level) * bits)) & mask);
  return out;
}

/** Result of editing a table: the new memory, the frames taken for new inner tables, and the spares left. */
export interface MapOutcome {
  readonly memory: WordStore;
  readonly tablesUsed: readonly number[];
  readonly sparesLeft: readonly number[];
}

/**
 * Maps the page holding `addr` to physical page `ppn` with `flags` in the table rooted at
 * `root`, creating missing inner tables from `spareFrames` in order (they must be zeroed
 * RAM frames). Fails, changing nothing, if `addr` is out of range, the spares run out, or a
 * table frame is outside RAM.
 */
export function mapPage(
  geo: Geometry,
  memory: WordStore,
  root: number,
  addr: number,
  ppn: number,
  flags: number,
  spareFrames: readonly number[] = [],
): { ok: true; value: MapOutcome } | { ok: false; error: MkhvError } {
  if (!Number.isInteger(addr) || addr < 0 || (geo.vaBits < 32 && addr >= 2 ** geo.vaBits) || addr > 0xffffffff) {
    return { ok: false, error: mkError('paging.range', `address ${String(addr)} is outside the ${geo.vaBits}-bit input range`, 'addr') };
  }
  const frames = geo.config.frames;
  const indices = tableIndices(geo, addr);
  let mem = memory;
  let table = root;
  const used: number[] = [];
  for (let level = 0; level < indices.length - 1; level++) {
    if (!Number.isInteger(table) || table < 0 || table >= frames) {
      return { ok: false, error: mkError('paging.table', `table frame ${String(table)} at level ${level} is not RAM`, 'root') };
    }
    const w = entryWord(geo, table, indices[level]!);
    const entry = readWord(mem, w);
    if ((entry & PTE.P) !== 0) {
      table = ptePpn(entry);
      continue;
    }
    const fresh = spareFrames[used.length];
    if (fresh === undefined) {
      return { ok: false, error: mkError('paging.spares', `no spare frame left for a level-${level + 1} table`, 'spareFrames') };
    }
    used.push(fresh);
    mem = writeWord(mem, w, pte(fresh, PTE.P));
    table = fresh;
  }
  if (!Number.isInteger(table) || table < 0 || table >= frames) {
    return { ok: false, error: mkError('paging.table', `leaf table frame ${String(table)} is not RAM`, 'root') };
  }
  mem = writeWord(mem, entryWord(geo, table, indices[indices.length - 1]!), pte(ppn, flags | PTE.P));
  return { ok: true, value: { memory: mem, tablesUsed: used, sparesLeft: spareFrames.slice(used.length) } };
}

/** Clears the leaf entry for `addr`, if the path to it exists. No TLB is touched. */
export function unmapPage(geo: Geometry, memory: WordStore, root: number, addr: number): WordStore {
  const indices = tableIndices(geo, addr);
  let table = root;
  for (let level = 0; level < indices.length - 1; level++) {
    if (table < 0 || table >= geo.config.frames) return memory;
    const entry = readWord(memory, entryWord(geo, table, indices[level]!));
    if ((entry & PTE.P) === 0) return memory;
    table = ptePpn(entry);
  }
  if (table < 0 || table >= geo.config.frames) return memory;
  return writeWord(memory, entryWord(geo, table, indices[indices.length - 1]!), 0);
}
