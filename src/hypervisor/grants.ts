/**
 * Grant tables (HV-GNT-1..6): a domain grants another domain access to one of its pages,
 * read-only or read-write; the grantee maps the page into its own physical address space
 * (with at most the granted rights) or copies to or from it through the hypervisor. A grant
 * cannot end, and its page cannot be ballooned out, while it is mapped; unmapping removes the
 * grantee's stage-2 entry and flushes its VMID, so no stale translation survives.
 *
 * @module
 */
import { readWord, writeWord } from '../hw/index.ts';
import { ERRNO } from './abi.ts';
import { s2Holds, s2Map, s2Unmap, usableGfn } from './memory.ts';
import type { DomId, GrantEntry, MaptrackEntry } from './types.ts';
import { getDomain, updateDomain, type HvLog, type HvWorld } from './world.ts';

/** Grant references and maptrack handles per domain. */
export const MAX_GRANTS = 32;

function firstFree<T>(xs: readonly (T | null)[]): number {
  for (let i = 0; i < MAX_GRANTS; i++) if ((xs[i] ?? null) === null) return i;
  return -1;
}

function setEntry<T>(xs: readonly (T | null)[], i: number, v: T | null): (T | null)[] {
  const out = xs.slice();
  while (out.length <= i) out.push(null);
  out[i] = v;
  return out;
}

/** Grants `grantee` access to page `gfn` of `d` (HV-GNT-1); returns the grant reference. */
export function grantAccess(w: HvWorld, d: DomId, grantee: DomId, gfn: number, readonly: boolean): { w: HvWorld; ref: number } | number {
  const dom = getDomain(w.h, d);
  if (dom === null) return ERRNO.ESRCH;
  if (grantee === d || getDomain(w.h, grantee) === null) return ERRNO.ESRCH;
  if (!dom.p2m.has(gfn)) return ERRNO.EINVAL;
  const ref = firstFree(dom.grants);
  if (ref < 0) return ERRNO.ENOSPC;
  const entry: GrantEntry = { grantee, gfn, readonly, mapCount: 0 };
  return { w: updateDomain(w, d, { grants: setEntry(dom.grants, ref, entry) }), ref };
}

/** Ends grant `ref` of `d` (HV-GNT-2); refused (EBUSY) while the grantee has it mapped. */
export function endAccess(w: HvWorld, d: DomId, ref: number): HvWorld | number {
  const dom = getDomain(w.h, d);
  const entry = dom?.grants[ref] ?? null;
  if (dom === null || entry === null) return ERRNO.EINVAL;
  if (entry.mapCount > 0) return ERRNO.EBUSY;
  return updateDomain(w, d, { grants: setEntry(dom.grants, ref, null) });
}

/** The grant `granter` made to `d` under `ref`, if it names `d`. */
function grantFor(w: HvWorld, d: DomId, granter: DomId, ref: number): GrantEntry | number {
  const g = getDomain(w.h, granter);
  if (g === null) return ERRNO.ESRCH;
  const entry = g.grants[ref] ?? null;
  if (entry === null || entry.grantee !== d) return ERRNO.EPERM;
  if (!g.p2m.has(entry.gfn)) return ERRNO.EINVAL;
  return entry;
}

/**
 * Maps `granter`'s grant `ref` at page `gfn` of `d` (HV-GNT-3): only the named grantee may,
 * writable only if the grant is read-write and writing was asked for. Returns the handle.
 */
export function mapGrant(w: HvWorld, log: HvLog, d: DomId, granter: DomId, ref: number, gfn: number, readonly: boolean): { w: HvWorld; handle: number } | number {
  const dom = getDomain(w.h, d);
  if (dom === null) return ERRNO.ESRCH;
  const entry = grantFor(w, d, granter, ref);
  if (typeof entry === 'number') return entry;
  if (entry.readonly && !readonly) return ERRNO.EPERM;
  // HV-GNT-3: only at a page that holds nothing — not its own, another mapping, or an assigned device's registers.
  if (!usableGfn(w, gfn) || dom.p2m.has(gfn) || dom.maptrack.some((m) => m !== null && m.gfn === gfn) || s2Holds(w, d, gfn)) return ERRNO.EINVAL;
  const handle = firstFree(dom.maptrack);
  if (handle < 0) return ERRNO.ENOSPC;
  const mfn = getDomain(w.h, granter)!.p2m.get(entry.gfn)!;
  // HV-GNT-3: a granted page is data: never executable in the grantee.
  const mapped = s2Map(w, log, d, gfn, mfn, !readonly, false);
  if (typeof mapped === 'number') return mapped;
  const track: MaptrackEntry = { granter, ref, mfn, gfn, readonly };
  let world = updateDomain(mapped, d, { maptrack: setEntry(getDomain(mapped.h, d)!.maptrack, handle, track) });
  const g = getDomain(world.h, granter)!;
  world = updateDomain(world, granter, { grants: setEntry(g.grants, ref, { ...entry, mapCount: entry.mapCount + 1 }) });
  return { w: world, handle };
}

/** Unmaps grant mapping `handle` of `d` (HV-GNT-4): the stage-2 entry goes and the VMID is flushed. */
export function unmapGrant(w: HvWorld, log: HvLog, d: DomId, handle: number): HvWorld | number {
  const dom = getDomain(w.h, d);
  const track = dom?.maptrack[handle] ?? null;
  if (dom === null || track === null) return ERRNO.EINVAL;
  let world = s2Unmap(w, log, d, track.gfn);
  world = updateDomain(world, d, { maptrack: setEntry(getDomain(world.h, d)!.maptrack, handle, null) });
  const g = getDomain(world.h, track.granter);
  const entry = g?.grants[track.ref] ?? null;
  if (g !== null && entry !== null) {
    world = updateDomain(world, track.granter, { grants: setEntry(g.grants, track.ref, { ...entry, mapCount: Math.max(0, entry.mapCount - 1) }) });
  }
  return world;
}

/**
 * GNTTABOP_copy (HV-GNT-6): copies `count` words between `d`'s page `gfn` and `remote`'s grant
 * `ref` — into `d` (`toRemote` false) or out of it, which needs a read-write grant.
 */
export function copyGrant(w: HvWorld, log: HvLog, d: DomId, remote: DomId, ref: number, gfn: number, toRemote: boolean, count: number): HvWorld | number {
  const dom = getDomain(w.h, d);
  if (dom === null) return ERRNO.ESRCH;
  const entry = grantFor(w, d, remote, ref);
  if (typeof entry === 'number') return entry;
  if (toRemote && entry.readonly) return ERRNO.EPERM;
  const local = dom.p2m.get(gfn);
  if (local === undefined) return ERRNO.EINVAL;
  const wpf = w.m.geometry.config.wordsPerFrame;
  if (!Number.isInteger(count) || count < 0 || count > wpf) return ERRNO.EINVAL;
  const far = getDomain(w.h, remote)!.p2m.get(entry.gfn)!;
  const [from, to] = toRemote ? [local, far] : [far, local];
  let memory = w.m.memory;
  for (let i = 0; i < count; i++) {
    memory = writeWord(memory, to * wpf + i, readWord(memory, from * wpf + i));
    log.ops.push('wordCopy');
  }
  return { ...w, m: { ...w.m, memory } };
}
