/**
 * Virtual address spaces: VSpace roots and their ASIDs, page-table and frame mapping, and
 * the TLB maintenance a real kernel must do when it takes a mapping away (MK-VM-1..7).
 *
 * A VSpace is a root page table with an ASID. Mapping never needs a TLB flush — the TLB does
 * not cache absent entries — but every unmap does: a frame's page is invalidated by address
 * on every CPU, a page table's whole ASID, and a VSpace's ASID before it is reused.
 *
 * @module
 */
import { invalidateTlb, pte, ptePpn, PTE, readWord, tableIndices, writeWord } from '../hw/index.ts';
import { ERROR, MAP_ATTR } from './abi.ts';
import { err, ok, type KResult } from './cspace.ts';
import { RIGHTS, type Cap, type KernelState, type Mapping, type ObjId, type PageTable } from './types.ts';
import { getObject, type Log, type World } from './world.ts';

/** Number of ASIDs; ASID 0 is never assigned (MK-VM-1). */
export const ASID_COUNT = 256;

/** The lowest free ASID, or 0 if none is free. */
export function freeAsidNumber(k: KernelState): number {
  for (let a = 1; a < ASID_COUNT; a++) if ((k.asids[a] ?? null) === null) return a;
  return 0;
}

/** Records that `vspace` uses `asid`. */
export function assignAsid(k: KernelState, vspace: ObjId, asid: number): KernelState {
  const asids = k.asids.slice();
  asids[asid] = vspace;
  return { ...k, asids };
}

function pushTlbi(w: World, log: Log, op: 'tlbiVa' | 'tlbiAsid'): void {
  log.ops.push(op);
  if (w.m.cpus.length > 1) log.ops.push('tlbiBroadcast');
}

/**
 * Releases the ASID of VSpace `vspace` (MK-VM-2): its TLB entries are invalidated on every
 * CPU first, so that the next VSpace to get the ASID cannot hit a stale entry.
 */
export function freeAsid(w: World, log: Log, vspace: ObjId): World {
  const root = getObject(w.k, vspace);
  if (root?.type !== 'pagetable' || root.asid === 0) return w;
  pushTlbi(w, log, 'tlbiAsid');
  const m = invalidateTlb(w.m, log.cpu, 'asid', root.asid, true);
  const asids = w.k.asids.slice();
  asids[root.asid] = null;
  return { m, k: { ...w.k, asids } };
}

function rootOf(k: KernelState, vspace: ObjId): PageTable | null {
  const o = getObject(k, vspace);
  return o?.type === 'pagetable' && o.asid !== 0 ? o : null;
}

/**
 * The physical word index of the entry for `va` at table level `level` of VSpace `vspace`,
 * following present entries from the root; null if a table on the way is missing.
 */
function entryWord(w: World, log: Log, root: PageTable, va: number, level: number): number | null {
  const geo = w.m.geometry;
  const indices = tableIndices(geo, va);
  let table = root.base / geo.pageBytes;
  for (let l = 0; l < level; l++) {
    const e = readWord(w.m.memory, table * geo.config.wordsPerFrame + indices[l]!);
    log.ops.push('pageWalkStep');
    if ((e & PTE.P) === 0) return null;
    table = ptePpn(e);
  }
  return table * geo.config.wordsPerFrame + indices[level]!;
}

function writeEntry(w: World, log: Log, word: number, value: number): World {
  log.ops.push('dataAccess');
  return { ...w, m: { ...w.m, memory: writeWord(w.m.memory, word, value) } };
}

function checkVa(w: World, va: number): KResult<void> {
  const geo = w.m.geometry;
  if (!Number.isInteger(va) || va < 0 || va >= 2 ** geo.vaBits) return err(ERROR.RANGE_ERROR);
  if (va % geo.pageBytes !== 0) return err(ERROR.ALIGNMENT_ERROR);
  return ok(undefined);
}

/**
 * The leaf flags of a frame mapping (MK-VM-3): present and user-accessible; writable only if
 * both the cap's rights have Write and the attributes ask for it; executable only if asked.
 */
export function frameEntryFlags(rights: number, attrs: number): number {
  const writable = (attrs & MAP_ATTR.WRITE) !== 0 && (rights & RIGHTS.W) !== 0;
  return PTE.P | PTE.U | (writable ? PTE.W : 0) | ((attrs & MAP_ATTR.EXECUTE) !== 0 ? PTE.X : 0);
}

/**
 * Maps frame `frame` at `va` in `vspace` (MK-VM-3): the tables down to the leaf must exist
 * (else FAILED_LOOKUP), the leaf entry must be empty (else DELETE_FIRST), and the page gets
 * U, W only if both the cap and the attributes allow it, X only if asked.
 */
export function mapFrame(
  w: World,
  log: Log,
  frameCap: Extract<Cap, { type: 'frame' }>,
  vspace: ObjId,
  va: number,
  attrs: number,
): KResult<{ w: World; cap: Cap }> {
  const root = rootOf(w.k, vspace);
  if (root === null) return err(ERROR.INVALID_CAPABILITY);
  if (frameCap.mapping !== null) return err(ERROR.ILLEGAL_OPERATION);
  if ((frameCap.rights & RIGHTS.R) === 0) return err(ERROR.ILLEGAL_OPERATION);
  const range = checkVa(w, va);
  if (!range.ok) return range;
  const frame = getObject(w.k, frameCap.obj);
  if (frame?.type !== 'frame') return err(ERROR.INVALID_CAPABILITY);
  const levels = w.m.geometry.config.pageTableLevels;
  const word = entryWord(w, log, root, va, levels - 1);
  if (word === null) return err(ERROR.FAILED_LOOKUP);
  if ((readWord(w.m.memory, word) & PTE.P) !== 0) return err(ERROR.DELETE_FIRST);
  const world = writeEntry(w, log, word, pte(frame.base / w.m.geometry.pageBytes, frameEntryFlags(frameCap.rights, attrs)));
  return ok({ w: world, cap: { ...frameCap, mapping: { vspace, va } } });
}

/**
 * Removes the mapping a frame cap holds (MK-VM-4), if it is still in place, and invalidates
 * the page on every CPU. The cap itself is updated by the caller.
 */
export function unmapFrameCap(w: World, log: Log, cap: Extract<Cap, { type: 'frame' }>): World {
  if (cap.mapping === null) return w;
  const root = rootOf(w.k, cap.mapping.vspace);
  const frame = getObject(w.k, cap.obj);
  if (root === null || frame?.type !== 'frame') return w;
  const word = entryWord(w, log, root, cap.mapping.va, w.m.geometry.config.pageTableLevels - 1);
  if (word === null) return w;
  const entry = readWord(w.m.memory, word);
  if ((entry & PTE.P) === 0 || ptePpn(entry) !== frame.base / w.m.geometry.pageBytes) return w;
  const world = writeEntry(w, log, word, 0);
  pushTlbi(w, log, 'tlbiVa');
  return { ...world, m: invalidateTlb(world.m, log.cpu, 'va', cap.mapping.va, true) };
}

/**
 * The first table level whose entry for `va` is missing in `vspace` — where the next page
 * table must go — or null if every inner level down to the leaf table is present.
 */
export function firstMissingLevel(w: World, vspace: ObjId, va: number): number | null {
  const root = rootOf(w.k, vspace);
  if (root === null) return null;
  const scratch: Log = { cpu: 0, ops: [], observations: [], transitions: [] };
  const levels = w.m.geometry.config.pageTableLevels;
  for (let level = 0; level < levels - 1; level++) {
    const word = entryWord(w, scratch, root, va, level);
    if (word === null || (readWord(w.m.memory, word) & PTE.P) === 0) return level;
  }
  return null;
}

/**
 * Maps inner page table `pt` into `vspace` at the first missing level on the way to `va`
 * (MK-VM-5); DELETE_FIRST if every level down to the leaf table is already there.
 */
export function mapPageTable(
  w: World,
  log: Log,
  ptCap: Extract<Cap, { type: 'pagetable' }>,
  vspace: ObjId,
  va: number,
): KResult<{ w: World; cap: Cap }> {
  const root = rootOf(w.k, vspace);
  if (root === null) return err(ERROR.INVALID_CAPABILITY);
  if (ptCap.mapping !== null) return err(ERROR.ILLEGAL_OPERATION);
  const geo = w.m.geometry;
  if (!Number.isInteger(va) || va < 0 || va >= 2 ** geo.vaBits) return err(ERROR.RANGE_ERROR);
  const levels = geo.config.pageTableLevels;
  if (levels < 2) return err(ERROR.ILLEGAL_OPERATION);
  const pt = getObject(w.k, ptCap.obj);
  if (pt?.type !== 'pagetable') return err(ERROR.INVALID_CAPABILITY);
  for (let level = 0; level < levels - 1; level++) {
    const word = entryWord(w, log, root, va, level);
    if (word === null) return err(ERROR.FAILED_LOOKUP);
    if ((readWord(w.m.memory, word) & PTE.P) !== 0) continue;
    // The new table serves level + 1: it covers the aligned block of `va` at that level.
    const span = geo.pageBytes * 2 ** (geo.config.pageTableIndexBits * (levels - 1 - level));
    const world = writeEntry(w, log, word, pte(pt.base / geo.pageBytes, PTE.P));
    return ok({ w: world, cap: { ...ptCap, mapping: { vspace, va: va - (va % span), level: level + 1 } } });
  }
  return err(ERROR.DELETE_FIRST);
}

/**
 * Removes the mapping a page-table cap holds (MK-VM-6): clears the parent entry if it is still
 * in place and flushes the VSpace's ASID; then clears the table's own entries, as seL4's
 * PageTableUnmap does, so that what it mapped cannot reappear wherever the table is mapped
 * next, with no frame cap recording it (MK-INV-7). The cap itself is updated by the caller.
 */
export function unmapPageTableCap(w: World, log: Log, cap: Extract<Cap, { type: 'pagetable' }>): World {
  if (cap.mapping === null) return w;
  const pt = getObject(w.k, cap.obj);
  if (pt?.type !== 'pagetable') return w;
  return clearTable(detachTable(w, log, cap.mapping, pt), log, pt);
}

/** Clears the parent entry of page table `pt` mapped at `mapping`, if it still points to it, and flushes the ASID. */
function detachTable(w: World, log: Log, mapping: Mapping & { readonly level: number }, pt: PageTable): World {
  const root = rootOf(w.k, mapping.vspace);
  if (root === null) return w;
  const word = entryWord(w, log, root, mapping.va, mapping.level - 1);
  if (word === null) return w;
  const entry = readWord(w.m.memory, word);
  if ((entry & PTE.P) === 0 || ptePpn(entry) !== pt.base / w.m.geometry.pageBytes) return w;
  const world = writeEntry(w, log, word, 0);
  pushTlbi(w, log, 'tlbiAsid');
  return { ...world, m: invalidateTlb(world.m, log.cpu, 'asid', root.asid, true) };
}

/** Invalidates every entry of page table `pt` (it is no longer reachable, so no TLB holds them). */
function clearTable(w: World, log: Log, pt: PageTable): World {
  let memory = w.m.memory;
  const first = pt.base / 4;
  for (let i = 0; i < 2 ** w.m.geometry.config.pageTableIndexBits; i++) {
    if ((readWord(memory, first + i) & PTE.P) === 0) continue;
    log.ops.push('dataAccess');
    memory = writeWord(memory, first + i, 0);
  }
  return memory === w.m.memory ? w : { ...w, m: { ...w.m, memory } };
}
