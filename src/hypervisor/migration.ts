/**
 * Live migration between two hosts (HV-LIFE-6): iterative pre-copy, then stop-and-copy.
 *
 * The source turns on dirty logging and copies every page to an empty domain on the
 * destination while the guest keeps running; each further round copies only the pages the
 * guest wrote since the last; the last round pauses the domain on the source, copies what is
 * still dirty together with its vCPUs, grants and ports, starts it on the destination and
 * destroys the source copy. Each host is a pure value, so a migration is a sequence of pure
 * functions over the pair.
 *
 * @module
 */
import { readWords, writeWords } from '../hw/index.ts';
import { ERRNO } from './abi.ts';
import { clockOf, createDomain, destroyDomain, setLifecycle, snapshotOf, startDirtyLog, takeDirty } from './lifecycle.ts';
import { decrease, populate } from './memory.ts';
import { kickPcpus, stopDomainElsewhere } from './sched.ts';
import type { DomId } from './types.ts';
import { getDomain, newHvLog, updateDomain, type HvLog, type HvWorld } from './world.ts';

export interface Migration {
  readonly src: HvWorld;
  readonly dst: HvWorld;
  readonly srcDom: DomId;
  readonly dstDom: DomId;
  /** Pre-copy rounds done. */
  readonly rounds: number;
  /** Pages copied so far, all rounds together. */
  readonly pagesCopied: number;
}

/** Copies guest pages `gfns` of the source domain to the destination domain, populating as needed. */
function copyPages(src: HvWorld, dst: HvWorld, log: HvLog, srcDom: DomId, dstDom: DomId, gfns: readonly number[]): HvWorld | number {
  const wpf = src.m.geometry.config.wordsPerFrame;
  let world = dst;
  for (const gfn of gfns) {
    const from = getDomain(src.h, srcDom)!.p2m.get(gfn);
    if (from === undefined) {
      // HV-LIFE-6: a page the guest gave back since an earlier round leaves the destination too.
      if (getDomain(world.h, dstDom)!.p2m.has(gfn)) {
        const gone = decrease(world, log, dstDom, gfn, 1);
        if (typeof gone === 'number') return gone;
        world = gone;
      }
      continue;
    }
    if (!getDomain(world.h, dstDom)!.p2m.has(gfn)) {
      const p = populate(world, log, dstDom, gfn, 1);
      if (typeof p === 'number') return p;
      world = p;
    }
    const to = getDomain(world.h, dstDom)!.p2m.get(gfn)!;
    world = { ...world, m: { ...world.m, memory: writeWords(world.m.memory, to * wpf, readWords(src.m.memory, from * wpf, wpf)) } };
    for (let i = 0; i < wpf; i++) log.ops.push('wordCopy');
  }
  return world;
}

/**
 * Starts migrating running domain `d` from `src` to `dst` (HV-LIFE-6): dirty logging on, an
 * empty domain of the same shape created on the destination, and every page copied once.
 */
export function beginMigration(src: HvWorld, dst: HvWorld, d: DomId): Migration | number {
  const dom = getDomain(src.h, d);
  if (dom === null) return ERRNO.ESRCH;
  if (dom.lifecycle !== 'running' || dom.privileged) return ERRNO.EINVAL;
  if (src.m.geometry.pageBytes !== dst.m.geometry.pageBytes) return ERRNO.EINVAL;
  const log = newHvLog(-1);
  const logged = startDirtyLog(src, log, d);
  const created = createDomain(dst, log, {
    name: dom.name,
    privileged: false,
    demandPaging: dom.demandPaging,
    maxPages: dom.maxPages,
    vcpus: dom.vcpus.length,
    weight: dom.weight,
    cap: dom.cap,
    storage: dom.storage,
    affinity: dom.vcpus.map((v) => Math.min(v.affinity, dst.m.cpus.length - 1)),
    image: { words: [], origin: 0, pages: 0 },
  });
  if (typeof created === 'number') return created;
  const first = takeDirty(logged, log, d);
  const copied = copyPages(first.w, created.w, log, d, created.dom, first.pages);
  if (typeof copied === 'number') return copied;
  // HV-LIFE-2, HV-INV-5: the destination copy stays `created`, so it is never scheduled; its
  // vCPU 0 stays queued as a created domain's runnable vCPU is (finishMigration re-queues).
  return { src: first.w, dst: copied, srcDom: d, dstDom: created.dom, rounds: 1, pagesCopied: first.pages.length };
}

/** One more pre-copy round: the pages written since the last round (HV-LIFE-6). */
export function precopyRound(mig: Migration): Migration | number {
  const log = newHvLog(-1);
  const dirty = takeDirty(mig.src, log, mig.srcDom);
  const copied = copyPages(dirty.w, mig.dst, log, mig.srcDom, mig.dstDom, dirty.pages);
  if (typeof copied === 'number') return copied;
  return { ...mig, src: dirty.w, dst: copied, rounds: mig.rounds + 1, pagesCopied: mig.pagesCopied + dirty.pages.length };
}

/** Pages dirtied since the last round. */
export function dirtyCount(mig: Migration): number {
  return getDomain(mig.src.h, mig.srcDom)?.dirty?.size ?? 0;
}

/**
 * Stop-and-copy (HV-LIFE-6): the source domain stops (`migrating`), its remaining dirty pages
 * and its vCPUs, grants, ports, console and virtual time go to the destination, which starts
 * running it; the source copy is destroyed.
 */
export function finishMigration(mig: Migration): Migration | number {
  const log = newHvLog(-1);
  let src = stopDomainElsewhere(mig.src, log, mig.srcDom);
  src = setLifecycle(src, log, mig.srcDom, 'migrating', 'MIGRATE');
  src = { ...src, h: { ...src.h, runq: src.h.runq.filter((q) => q.dom !== mig.srcDom) } };
  const last = takeDirty(src, log, mig.srcDom);
  const copied = copyPages(last.w, mig.dst, log, mig.srcDom, mig.dstDom, last.pages);
  if (typeof copied === 'number') return copied;
  const snap = snapshotOf(last.w, getDomain(last.w.h, mig.srcDom)!);
  let dst = updateDomain(copied, mig.dstDom, {
    vcpus: getDomain(copied.h, mig.dstDom)!.vcpus.map((v, i) => ({ ...v, state: snap.vcpus[i]!.state, context: snap.vcpus[i]!.context })),
    // HV-LIFE-6: grants and channels name domains of the source host; they do not travel. The
    // guest grants and binds again on the destination, as a Xen guest does after migration.
    grants: [],
    ports: [],
    console: snap.console,
    counterOffset: (clockOf(copied, getDomain(copied.h, mig.dstDom)!.vcpus[0]?.affinity ?? 0) - snap.virtualTime) >>> 0,
  });
  const runq = dst.h.runq.filter((q) => q.dom !== mig.dstDom);
  snap.vcpus.forEach((v, i) => {
    if (v.state === 'runnable') runq.push({ dom: mig.dstDom, vcpu: i });
  });
  dst = setLifecycle({ ...dst, h: { ...dst.h, runq } }, log, mig.dstDom, 'running', 'START');
  // HV-SCHED-5: no exit on the destination runs its scheduler, so its idle pCPUs are sent an
  // IPI to take the domain up at once — not at their next tick.
  dst = kickPcpus(dst, newHvLog(-1));
  const gone = destroyDomain(last.w, log, mig.srcDom, 'MIGRATED');
  if (typeof gone === 'number') return gone;
  src = gone;
  return { ...mig, src, dst, rounds: mig.rounds + 1, pagesCopied: mig.pagesCopied + last.pages.length };
}
