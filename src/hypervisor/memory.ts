/**
 * Host memory and stage-2 translation (HV-MEM-1..6): every host frame has one owner — free,
 * the hypervisor (stage-2 tables), or one domain; a domain's physical address space is its
 * stage-2 table, kept in step with its p2m; populate and balloon within the domain's quota;
 * frames are scrubbed when they are freed, so every free frame is zero and nothing crosses
 * domains through reused memory; removing a mapping invalidates the domain's VMID on every
 * CPU.
 *
 * @module
 */
import { invalidateTlb, mapPage, PTE, readWord, unmapPage, walk, writeWord } from '../hw/index.ts';
import { ERRNO } from './abi.ts';
import { FREE, HYPERVISOR, type DomId, type HypervisorState } from './types.ts';
import { getDomain, updateDomain, type HvLog, type HvWorld } from './world.ts';

/** The lowest-numbered free host frames, or null if there are not `n` (HV-MEM-1). */
export function freeFrames(h: HypervisorState, n: number): number[] | null {
  const out: number[] = [];
  for (let f = 0; f < h.frameOwner.length && out.length < n; f++) if (h.frameOwner[f] === FREE) out.push(f);
  return out.length === n ? out : null;
}

export function setOwner(h: HypervisorState, frames: readonly number[], owner: number): HypervisorState {
  const frameOwner = h.frameOwner.slice();
  for (const f of frames) frameOwner[f] = owner;
  return { ...h, frameOwner };
}

/** Zeroes host frame `mfn`. */
function scrub(w: HvWorld, log: HvLog, mfn: number): HvWorld {
  const wpf = w.m.geometry.config.wordsPerFrame;
  let memory = w.m.memory;
  for (let i = 0; i < wpf; i++) {
    if (readWord(memory, mfn * wpf + i) !== 0) memory = writeWord(memory, mfn * wpf + i, 0);
    log.ops.push('wordCopy');
  }
  return { ...w, m: { ...w.m, memory } };
}

/** Stage-2 leaf flags for a page: readable, executable, writable unless read-only (HV-MEM-2). */
function s2Flags(writable: boolean, executable: boolean): number {
  return PTE.P | (writable ? PTE.W : 0) | (executable ? PTE.X : 0);
}

/**
 * Maps guest page `gfn` of domain `d` to host frame `mfn` in its stage-2 table, taking free
 * frames for any inner table it needs (they become the hypervisor's). Fails with ENOMEM when
 * no frame is left for a table.
 */
export function s2Map(w: HvWorld, log: HvLog, d: DomId, gfn: number, mfn: number, writable: boolean, executable = true): HvWorld | number {
  const dom = getDomain(w.h, d);
  if (dom === null) return ERRNO.ESRCH;
  const levels = w.m.geometry.config.pageTableLevels;
  const spares = freeFrames(w.h, levels - 1) ?? freeFrames(w.h, 0)!;
  const r = mapPage(w.m.geometry, w.m.memory, dom.s2root, gfn * w.m.geometry.pageBytes, mfn, s2Flags(writable, executable), spares);
  if (!r.ok) return ERRNO.ENOMEM;
  log.ops.push('dataAccess');
  let world: HvWorld = { ...w, m: { ...w.m, memory: r.value.memory } };
  if (r.value.tablesUsed.length > 0) {
    world = { ...world, h: setOwner(world.h, r.value.tablesUsed, HYPERVISOR) };
    world = updateDomain(world, d, { s2tables: [...dom.s2tables, ...r.value.tablesUsed] });
  }
  return world;
}

/** Scrubs host frames and makes them free (HV-MEM-4). */
export function release(w: HvWorld, log: HvLog, frames: readonly number[]): HvWorld {
  let world = w;
  for (const f of frames) world = scrub(world, log, f);
  return { ...world, h: setOwner(world.h, frames, FREE) };
}

/** Removes guest page `gfn` from domain `d`'s stage 2 and invalidates its VMID everywhere (HV-MEM-6). */
export function s2Unmap(w: HvWorld, log: HvLog, d: DomId, gfn: number): HvWorld {
  const dom = getDomain(w.h, d);
  if (dom === null) return w;
  const memory = unmapPage(w.m.geometry, w.m.memory, dom.s2root, gfn * w.m.geometry.pageBytes);
  log.ops.push('dataAccess', 'tlbiVmid');
  if (w.m.cpus.length > 1) log.ops.push('tlbiBroadcast');
  const m = invalidateTlb({ ...w.m, memory }, Math.max(0, log.cpu), 'vmid', dom.vmid, true, dom.vmid, true);
  return { ...w, m };
}

/** Changes whether page `gfn` of domain `d` is writable in stage 2 (dirty logging), flushing its VMID. */
export function s2SetWritable(w: HvWorld, log: HvLog, d: DomId, gfn: number, writable: boolean): HvWorld {
  const dom = getDomain(w.h, d);
  const mfn = dom?.p2m.get(gfn);
  if (dom === null || dom === undefined || mfn === undefined) return w;
  const unmapped = s2Unmap(w, log, d, gfn);
  const mapped = s2Map(unmapped, log, d, gfn, mfn, writable);
  return typeof mapped === 'number' ? unmapped : mapped;
}

/**
 * Whether guest page `gfn` of domain `d` holds something in stage 2 — its own page, a grant it
 * mapped, or an assigned device's registers (HV-MEM-2) — so that nothing may be put over it.
 */
export function s2Holds(w: HvWorld, d: DomId, gfn: number): boolean {
  const dom = getDomain(w.h, d);
  return dom !== null && walk(w.m.geometry, w.m.memory, dom.s2root, gfn * w.m.geometry.pageBytes).ok;
}

/** Whether `gfn` is usable as RAM: inside the address space, not an emulated device's page. */
export function usableGfn(w: HvWorld, gfn: number): boolean {
  const geo = w.m.geometry;
  const emulated = gfn === Math.floor(w.h.config.uartIpa / geo.pageBytes) || gfn === Math.floor(w.h.config.vblkIpa / geo.pageBytes);
  return Number.isInteger(gfn) && gfn >= 0 && gfn * geo.pageBytes < 2 ** geo.vaBits && !emulated;
}

/**
 * XENMEM_populate_physmap (HV-MEM-3): gives domain `d` free (so zero) frames at `count`
 * guest pages from `gfn`, within its quota. All or nothing; returns the new world or an errno.
 */
export function populate(w: HvWorld, log: HvLog, d: DomId, gfn: number, count: number): HvWorld | number {
  const dom = getDomain(w.h, d);
  if (dom === null) return ERRNO.ESRCH;
  if (!Number.isInteger(count) || count < 1 || count > 64) return ERRNO.EINVAL;
  for (let i = 0; i < count; i++) {
    if (!usableGfn(w, gfn + i)) return ERRNO.EINVAL;
    // HV-MEM-3: EEXIST for a page it has — its own, or one holding a grant mapping or an
    // assigned device, which a new page would silently replace.
    if (dom.p2m.has(gfn + i) || s2Holds(w, d, gfn + i)) return ERRNO.EEXIST;
  }
  if (dom.p2m.size + count > dom.maxPages) return ERRNO.ENOMEM;
  let world = w;
  const frames = freeFrames(world.h, count);
  if (frames === null) return ERRNO.ENOMEM;
  world = { ...world, h: setOwner(world.h, frames, d) };
  const p2m = new Map(dom.p2m);
  for (let i = 0; i < count; i++) {
    const mapped = s2Map(world, log, d, gfn + i, frames[i]!, true);
    if (typeof mapped === 'number') return mapped;
    world = mapped;
    p2m.set(gfn + i, frames[i]!);
  }
  // HV-LIFE-5, HV-LIFE-6: under dirty logging a new page counts as written — the next round
  // must copy it, or the destination never gets it (its later stores do not fault: it is
  // writable until that round write-protects it).
  if (dom.dirty === null) return updateDomain(world, d, { p2m });
  const dirty = new Set(dom.dirty);
  for (let i = 0; i < count; i++) dirty.add(gfn + i);
  return updateDomain(world, d, { p2m, dirty });
}

/**
 * XENMEM_decrease_reservation, ballooning (HV-MEM-3): gives back `count` guest pages from
 * `gfn`. A page granted to another domain and mapped by it cannot go (EBUSY); grants of the
 * pages given back end.
 */
export function decrease(w: HvWorld, log: HvLog, d: DomId, gfn: number, count: number): HvWorld | number {
  const dom = getDomain(w.h, d);
  if (dom === null) return ERRNO.ESRCH;
  if (!Number.isInteger(count) || count < 1 || count > 64) return ERRNO.EINVAL;
  for (let i = 0; i < count; i++) {
    if (!dom.p2m.has(gfn + i)) return ERRNO.EINVAL;
    // HV-GNT-5: a granted page that is mapped stays.
    if (dom.grants.some((g) => g !== null && g.gfn === gfn + i && g.mapCount > 0)) return ERRNO.EBUSY;
  }
  let world = w;
  const p2m = new Map(dom.p2m);
  const freed: number[] = [];
  for (let i = 0; i < count; i++) {
    world = s2Unmap(world, log, d, gfn + i);
    freed.push(p2m.get(gfn + i)!);
    p2m.delete(gfn + i);
  }
  const grants = dom.grants.map((g) => (g !== null && g.gfn >= gfn && g.gfn < gfn + count ? null : g));
  // HV-LIFE-5, HV-LIFE-6: under dirty logging a page given back counts as written, so the next
  // round takes it from the destination too.
  const dirty = dom.dirty === null ? null : new Set([...dom.dirty, ...Array.from({ length: count }, (_, i) => gfn + i)]);
  world = updateDomain(world, d, { p2m, grants, dirty });
  return release(world, log, freed);
}
