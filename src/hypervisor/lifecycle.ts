/**
 * Domain lifecycle (HV-DOM-4..6, HV-LIFE-1..6): create, start, pause, unpause, save, restore,
 * migrate and destroy, each a transition of the domain statechart. Destroying a domain tears
 * down everything it touched: its vCPUs leave every pCPU, mappings of its grants in other
 * domains are removed (with a flush), its event channels close, its frames and stage-2
 * tables are scrubbed and freed, and its VMID is invalidated everywhere.
 *
 * @module
 */
import { invalidateTlb, readWord, readWords, setIommuRoot, writeWord } from '../hw/index.ts';
import { ERRNO } from './abi.ts';
import { nextLifecycle, type DomainEvent } from './domain.chart.ts';
import { close } from './events.ts';
import { freeFrames, populate, release, s2SetWritable, s2Unmap, setOwner } from './memory.ts';
import { stopDomainElsewhere } from './sched.ts';
import { HYPERVISOR, type DomId, type Domain, type DomainLifecycle, type DomainSnapshot, type Port, type VcpuRunState } from './types.ts';
import { freshContext, liveVcpuContext } from './vcpu.ts';
import { getDomain, setDomain, updateDomain, type HvLog, type HvWorld } from './world.ts';

/** Changes domain `d`'s lifecycle state by `event`, as the chart allows (HV-LIFE-1); a defect otherwise. */
export function setLifecycle(w: HvWorld, log: HvLog, d: DomId, to: DomainLifecycle, event: DomainEvent): HvWorld {
  const dom = w.h.domains[d];
  if (dom === undefined || dom === null) throw new Error(`hypervisor: no domain ${d}`);
  if (nextLifecycle(dom.lifecycle, event) !== to) throw new Error(`hypervisor: domain ${d} cannot go from ${dom.lifecycle} to ${to} on ${event}`);
  log.transitions.push({ dom: d, from: dom.lifecycle, to, event });
  return setDomain(w, d, { ...dom, lifecycle: to });
}

/** What a new domain is made of. */
export interface DomainSpec {
  readonly name: string;
  readonly privileged: boolean;
  readonly maxPages: number;
  readonly vcpus: number;
  readonly weight: number;
  readonly cap: number;
  readonly storage: { readonly first: number; readonly count: number };
  /** pCPU of each vCPU (default: vCPU i on pCPU i mod pCPUs). */
  readonly affinity?: readonly number[];
  /** Back unbacked memory on first touch (HV-MEM-7). */
  readonly demandPaging?: boolean;
  /** Kernel image words at guest-physical `origin`, in `pages` pages populated from gfn 0. */
  readonly image: { readonly words: readonly number[]; readonly origin: number; readonly pages: number };
}

function lowestFreeVmid(w: HvWorld): number {
  const used = new Set(w.h.domains.filter((d): d is Domain => d !== null && d.lifecycle !== 'destroyed').map((d) => d.vmid));
  for (let v = 1; v < 256; v++) if (!used.has(v)) return v;
  return 0;
}

/**
 * Creates a domain from `spec` (HV-DOM-4): a stage-2 root, `image.pages` pages populated from
 * gfn 0 with the image loaded, vCPU 0 ready at the image's origin and the others offline.
 * It stays `created` until started. Returns the world and the new domain id, or an errno.
 */
export function createDomain(w: HvWorld, log: HvLog, spec: DomainSpec): { w: HvWorld; dom: DomId } | number {
  // HV-DOM-4: a name names one domain — views and authority are by name (HV-ISO-1) — so a
  // second live domain of the same name is refused, as xl refuses one.
  if (w.h.domains.some((d) => d !== null && d.name === spec.name && d.lifecycle !== 'destroyed' && d.lifecycle !== 'saved')) return ERRNO.EEXIST;
  const vmid = lowestFreeVmid(w);
  if (vmid === 0) return ERRNO.EAGAIN;
  const root = freeFrames(w.h, 1);
  if (root === null) return ERRNO.ENOMEM;
  const id = w.h.domains.length;
  const pcpus = w.m.cpus.length;
  const dom: Domain = {
    id,
    name: spec.name,
    lifecycle: 'created',
    privileged: spec.privileged,
    vmid,
    s2root: root[0]!,
    s2tables: [],
    p2m: new Map(),
    maxPages: spec.maxPages,
    weight: spec.weight,
    cap: spec.cap,
    storage: spec.storage,
    vcpus: Array.from({ length: spec.vcpus }, (_, i) => ({
      id: i,
      state: (i === 0 ? 'runnable' : 'offline') as VcpuRunState,
      affinity: spec.affinity?.[i] ?? i % pcpus,
      context: freshContext(spec.image.origin, i),
      credit: 0,
      priority: 'under' as const,
      ticksRun: 0,
      polling: null,
    })),
    grants: [],
    maptrack: [],
    ports: [],
    devices: [],
    console: '',
    vblk: { sector: 0, addr: 0, count: 0, status: 0 },
    counterOffset: 0,
    demandPaging: spec.demandPaging ?? false,
    dirty: null,
  };
  let world: HvWorld = { ...w, h: { ...setOwner(w.h, root, HYPERVISOR), domains: [...w.h.domains, dom] } };
  if (spec.image.pages > 0) {
    const p = populate(world, log, id, 0, spec.image.pages);
    if (typeof p === 'number') return p;
    world = p;
  }
  world = loadImage(world, id, spec.image.words, spec.image.origin);
  world = { ...world, h: { ...world.h, runq: [...world.h.runq, { dom: id, vcpu: 0 }] } };
  return { w: world, dom: id };
}

/** Writes `words` into domain `d`'s memory from guest-physical `origin` (pages must be populated). */
function loadImage(w: HvWorld, d: DomId, words: readonly number[], origin: number): HvWorld {
  const dom = getDomain(w.h, d)!;
  const geo = w.m.geometry;
  let memory = w.m.memory;
  words.forEach((word, i) => {
    const ipa = origin + 4 * i;
    const mfn = dom.p2m.get(Math.floor(ipa / geo.pageBytes));
    if (mfn !== undefined) memory = writeWord(memory, (mfn * geo.pageBytes + (ipa % geo.pageBytes)) / 4, word);
  });
  return { ...w, m: { ...w.m, memory } };
}

/** Takes domain `d`'s vCPUs off every pCPU, this one included (its state is already saved). */
function offAllPcpus(w: HvWorld, log: HvLog, d: DomId): HvWorld {
  let world = stopDomainElsewhere(w, log, d);
  const here = world.h.pcpus[log.cpu];
  if (here !== undefined && here.current?.dom === d) {
    const pcpus = world.h.pcpus.slice();
    pcpus[log.cpu] = { current: null, sliceLeft: 0 };
    const v = here.current.vcpu;
    world = { ...world, h: { ...world.h, pcpus } };
    const vcpu = getDomain(world.h, d)!.vcpus[v]!;
    if (vcpu.state === 'running') {
      const vcpus = getDomain(world.h, d)!.vcpus.slice();
      vcpus[v] = { ...vcpu, state: 'runnable' };
      world = updateDomain(world, d, { vcpus });
      world = { ...world, h: { ...world.h, runq: [...world.h.runq, { dom: d, vcpu: v }] } };
    }
  }
  return world;
}

/** Pauses a running domain (HV-DOM-5): its vCPUs stop where they are. */
export function pauseDomain(w: HvWorld, log: HvLog, d: DomId): HvWorld | number {
  const dom = getDomain(w.h, d);
  if (dom === null) return ERRNO.ESRCH;
  if (dom.lifecycle !== 'running') return ERRNO.EINVAL;
  return setLifecycle(offAllPcpus(w, log, d), log, d, 'paused', 'PAUSE');
}

/** Unpauses a paused domain, or starts a created one (HV-DOM-5). */
export function unpauseDomain(w: HvWorld, log: HvLog, d: DomId): HvWorld | number {
  const dom = getDomain(w.h, d);
  if (dom === null) return ERRNO.ESRCH;
  if (dom.lifecycle === 'created') return setLifecycle(w, log, d, 'running', 'START');
  if (dom.lifecycle !== 'paused') return ERRNO.EINVAL;
  return setLifecycle(w, log, d, 'running', 'UNPAUSE');
}

/** Releases everything domain `d` holds (HV-DOM-6), leaving its lifecycle to the caller. */
function teardown(w: HvWorld, log: HvLog, d: DomId): HvWorld {
  let world = offAllPcpus(w, log, d);
  world = { ...world, h: { ...world.h, runq: world.h.runq.filter((q) => q.dom !== d) } };
  const dom = getDomain(world.h, d)!;
  // Mappings other domains made of this domain's grants go first, flushed (HV-GNT-4).
  for (const other of world.h.domains) {
    if (other === null || other.id === d || other.lifecycle === 'destroyed') continue;
    other.maptrack.forEach((m, handle) => {
      if (m === null || m.granter !== d) return;
      world = s2Unmap(world, log, other.id, m.gfn);
      const maptrack = getDomain(world.h, other.id)!.maptrack.slice();
      maptrack[handle] = null;
      world = updateDomain(world, other.id, { maptrack });
    });
  }
  // Its own mappings of other domains' grants.
  dom.maptrack.forEach((m) => {
    if (m === null) return;
    const g = getDomain(world.h, m.granter);
    const entry = g?.grants[m.ref] ?? null;
    if (g !== null && entry !== null) {
      const grants = g.grants.slice();
      grants[m.ref] = { ...entry, mapCount: Math.max(0, entry.mapCount - 1) };
      world = updateDomain(world, m.granter, { grants });
    }
  });
  dom.ports.forEach((p, i) => {
    if (p !== null) {
      const r = close(world, d, i);
      if (typeof r !== 'number') world = r;
    }
  });
  // HV-DEV-2, HV-INV-9: an assigned device loses its IOMMU table before the table's frame is
  // freed, or its DMA would reach whoever gets the frame next. The assignment ends with the domain.
  let m = world.m;
  for (const dev of dom.devices) m = setIommuRoot(m, dev, -1);
  world = { ...world, m };
  const frames = [...dom.p2m.values()];
  world = release(world, log, [...frames, dom.s2root, ...dom.s2tables]);
  log.ops.push('tlbiVmid');
  world = { ...world, m: invalidateTlb(world.m, Math.max(0, log.cpu), 'vmid', dom.vmid, true, dom.vmid, true) };
  return updateDomain(world, d, { p2m: new Map(), s2tables: [], grants: [], maptrack: [], ports: [], devices: [], dirty: null });
}

/** Destroys domain `d` (HV-DOM-6); a migrated domain's source copy ends with the MIGRATED event. */
export function destroyDomain(w: HvWorld, log: HvLog, d: DomId, event: 'DESTROY' | 'MIGRATED' = 'DESTROY'): HvWorld | number {
  const dom = w.h.domains[d];
  if (dom === undefined || dom === null || dom.lifecycle === 'destroyed') return ERRNO.ESRCH;
  // HV-DOM-2, HV-INV-6: the control domain is never destroyed — not by its own shutdown, nor by
  // an injected crash (its crash would be the host's).
  if (dom.privileged) return ERRNO.EPERM;
  const world = dom.lifecycle === 'saved' ? w : teardown(w, log, d);
  return setLifecycle(world, log, d, 'destroyed', event);
}

/** The guest's virtual time: the host counter of pCPU 0 minus the domain's offset. */
function virtualTime(w: HvWorld, dom: Domain): number {
  return (clockOf(w, dom.vcpus[0]?.affinity ?? 0) - dom.counterOffset) >>> 0;
}

/**
 * The host clock a domain's virtual time is kept against: the counter of the pCPU its vCPU 0
 * runs on (HV-LIFE-4). Counters are per CPU, so this is the one vCPU 0 reads through.
 */
export function clockOf(w: HvWorld, pcpu: number): number {
  return (w.m.cpus[pcpu] ?? w.m.cpus[0]!).counter;
}

/**
 * Saves a paused domain (HV-LIFE-3): its memory, vCPU state, grant table and ports become a
 * snapshot of plain data, stored under the returned handle; the domain's resources are freed
 * and it is `saved`.
 */
export function saveDomain(w: HvWorld, log: HvLog, d: DomId): { w: HvWorld; handle: number } | number {
  const dom = getDomain(w.h, d);
  if (dom === null) return ERRNO.ESRCH;
  if (dom.lifecycle !== 'paused') return ERRNO.EINVAL;
  const snapshot = snapshotOf(w, dom);
  let world = teardown(w, log, d);
  world = setLifecycle(world, log, d, 'saved', 'SAVE');
  return { w: { ...world, h: { ...world.h, saved: [...world.h.saved, snapshot] } }, handle: world.h.saved.length };
}

/** The snapshot of domain `dom` as it is now. */
export function snapshotOf(w: HvWorld, dom: Domain): DomainSnapshot {
  const wpf = w.m.geometry.config.wordsPerFrame;
  return {
    name: dom.name,
    demandPaging: dom.demandPaging,
    maxPages: dom.maxPages,
    weight: dom.weight,
    cap: dom.cap,
    storage: dom.storage,
    memory: [...dom.p2m.entries()].sort((a, b) => a[0] - b[0]).map(([gfn, mfn]) => ({ gfn, words: readWords(w.m.memory, mfn * wpf, wpf) })),
    vcpus: dom.vcpus.map((v) => ({ state: v.state === 'running' ? 'runnable' : v.state, affinity: v.affinity, context: liveVcpuContext(w, dom.id, v.id) })),
    grants: dom.grants.map((g) => (g === null ? null : { ...g, mapCount: 0 })),
    ports: dom.ports.map((p) => (p === null ? null : restorablePort(p))),
    console: dom.console,
    virtualTime: virtualTime(w, dom),
  };
}

/**
 * Channels to other domains cannot survive a save: an interdomain port comes back unbound for
 * its peer, to be bound again. A physical interrupt's port does not come back at all: the
 * device assignment ends when the domain's resources are freed (HV-DEV-2, HV-INV-4).
 */
function restorablePort(p: Port): Port | null {
  if (p.binding.kind === 'pirq') return null;
  return p.binding.kind === 'interdomain' ? { ...p, binding: { kind: 'unbound', remote: p.binding.remote }, pending: false } : p;
}

/**
 * Restores snapshot `handle` as a new, running domain (HV-LIFE-4): same memory contents at the
 * same guest pages, same vCPU state, same grants and ports, and virtual time continuing from
 * where it was saved.
 */
export function restoreDomain(w: HvWorld, log: HvLog, handle: number): { w: HvWorld; dom: DomId } | number {
  const snap = w.h.saved[handle] ?? null;
  if (snap === null) return ERRNO.ENOENT;
  const built = rebuild(w, log, snap);
  if (typeof built === 'number') return built;
  const saved = built.w.h.saved.slice();
  saved[handle] = null;
  const world = setLifecycle({ ...built.w, h: { ...built.w.h, saved } }, log, built.dom, 'running', 'RESTORE');
  return { w: world, dom: built.dom };
}

/** A new `created` domain with a snapshot's memory, vCPUs, grants and ports. */
export function rebuild(w: HvWorld, log: HvLog, snap: DomainSnapshot): { w: HvWorld; dom: DomId } | number {
  const created = createDomain(w, log, {
    name: snap.name,
    privileged: false,
    demandPaging: snap.demandPaging,
    maxPages: snap.maxPages,
    vcpus: snap.vcpus.length,
    weight: snap.weight,
    cap: snap.cap,
    storage: snap.storage,
    affinity: snap.vcpus.map((v) => v.affinity),
    image: { words: [], origin: 0, pages: 0 },
  });
  if (typeof created === 'number') return created;
  let world = created.w;
  const d = created.dom;
  for (const page of snap.memory) {
    const p = populate(world, log, d, page.gfn, 1);
    if (typeof p === 'number') return p;
    world = writePage(p, d, page.gfn, page.words);
  }
  const dom = getDomain(world.h, d)!;
  const vcpus = dom.vcpus.map((v, i) => ({ ...v, state: snap.vcpus[i]!.state, context: snap.vcpus[i]!.context }));
  world = updateDomain(world, d, {
    vcpus,
    grants: snap.grants,
    ports: snap.ports,
    console: snap.console,
    counterOffset: (clockOf(world, snap.vcpus[0]?.affinity ?? 0) - snap.virtualTime) >>> 0,
  });
  const runq = world.h.runq.filter((q) => q.dom !== d);
  vcpus.forEach((v, i) => {
    if (v.state === 'runnable') runq.push({ dom: d, vcpu: i });
  });
  return { w: { ...world, h: { ...world.h, runq } }, dom: d };
}

function writePage(w: HvWorld, d: DomId, gfn: number, words: readonly number[]): HvWorld {
  const mfn = getDomain(w.h, d)!.p2m.get(gfn)!;
  const wpf = w.m.geometry.config.wordsPerFrame;
  let memory = w.m.memory;
  words.forEach((v, i) => {
    if (readWord(memory, mfn * wpf + i) !== v) memory = writeWord(memory, mfn * wpf + i, v);
  });
  return { ...w, m: { ...w.m, memory } };
}

/**
 * Starts dirty logging for domain `d` (HV-LIFE-5): every page becomes read-only in stage 2
 * and dirty; a guest write then faults, is recorded, and the page is made writable again.
 */
export function startDirtyLog(w: HvWorld, log: HvLog, d: DomId): HvWorld {
  const dom = getDomain(w.h, d)!;
  let world = w;
  for (const gfn of dom.p2m.keys()) world = s2SetWritable(world, log, d, gfn, false);
  return updateDomain(world, d, { dirty: new Set(dom.p2m.keys()) });
}

/** Takes the dirty set of `d` and write-protects those pages again (one pre-copy round). */
export function takeDirty(w: HvWorld, log: HvLog, d: DomId): { w: HvWorld; pages: number[] } {
  const dom = getDomain(w.h, d)!;
  const pages = [...(dom.dirty ?? [])].sort((a, b) => a - b);
  let world = w;
  for (const gfn of pages) world = s2SetWritable(world, log, d, gfn, false);
  return { w: updateDomain(world, d, { dirty: new Set() }), pages };
}

/** Records a write to write-protected page `gfn` of `d` under dirty logging and lets it through (HV-LIFE-5). */
export function logDirty(w: HvWorld, log: HvLog, d: DomId, gfn: number): HvWorld {
  const dom = getDomain(w.h, d)!;
  const dirty = new Set(dom.dirty ?? []);
  dirty.add(gfn);
  return updateDomain(s2SetWritable(w, log, d, gfn, true), d, { dirty });
}

