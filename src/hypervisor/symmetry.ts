/**
 * Symmetry (CHK-SYM-1 in spec/model-checking.md): the system with two domains exchanged — a
 * faithful relabelling of a state, for the model checker's symmetry reduction. Everything that
 * names one of the two domains names the other instead: domain ids (the domain table's slots,
 * grantees, maptrack granters, event-channel remotes, pCPUs' current vCPUs, the run queue,
 * physical-interrupt routes, saved snapshots' grants and ports), names and VMIDs (the domain
 * records, the pCPUs' VTTBR_EL2 and their TLBs' tags). Host frames are relabelled too, by a
 * matching φ of the two domains' frames — their pages, paired by guest page, and their stage-2
 * tables, paired by position in the tree — so that a state and the one in which the two
 * domains have traded places are relabellings of each other: each frame's contents move to
 * its image, and every host frame number held anywhere (the p2m, the stage-2 roots and
 * tables, every stage-2 entry of every domain, maptrack entries, VTTBR_EL2, TLB entries) is
 * renamed. φ moves only owned frames, so every free frame keeps its number, and the
 * lowest-free-frame allocation (HV-MEM-1) chooses alike in both.
 *
 * @module
 */
import { baseRoot, baseTag, makeBase, NO_VMID, PTE, pte, ptePpn, readWord, readWords, SYS, tlbKey, writeWords, type Machine } from '../hw/index.ts';
import { HYPERVISOR, type DomId, type Domain, type HypervisorState, type PortBinding } from './types.ts';
import type { HvWorld } from './world.ts';

/** An involution on host frames, as the pairs it exchanges. */
class FrameMatching {
  readonly to = new Map<number, number>();
  /** Pairs x with y; false if either is already paired otherwise. */
  pair(x: number, y: number): boolean {
    if (x === y) return !this.to.has(x) || this.to.get(x) === x;
    const px = this.to.get(x);
    const py = this.to.get(y);
    if (px !== undefined || py !== undefined) return px === y && py === x;
    this.to.set(x, y);
    this.to.set(y, x);
    return true;
  }
  map(f: number): number {
    return this.to.get(f) ?? f;
  }
}

/**
 * Pairs the stage-2 tables of two domains by position in the tree (both hypervisor-owned), and
 * returns false on a conflict.
 */
function pairTables(m: Machine, h: HypervisorState, phi: FrameMatching, a: number, b: number, level: number): boolean {
  const { frames, pageTableLevels: levels, pageTableIndexBits: bits, wordsPerFrame } = m.geometry.config;
  if (a >= frames || b >= frames || h.frameOwner[a] !== HYPERVISOR || h.frameOwner[b] !== HYPERVISOR) return true;
  if (!phi.pair(a, b)) return false;
  if (level === levels - 1) return true;
  for (let i = 0; i < 2 ** bits; i++) {
    const ea = readWord(m.memory, a * wordsPerFrame + i);
    const eb = readWord(m.memory, b * wordsPerFrame + i);
    if ((ea & PTE.P) === 0 || (eb & PTE.P) === 0) continue;
    if (!pairTables(m, h, phi, ptePpn(ea), ptePpn(eb), level + 1)) return false;
  }
  return true;
}

/**
 * CHK-SYM-1: the world with domains `nameA` and `nameB` exchanged, or null when this state is
 * not relabelled (either name is not held by exactly one domain record, an image or a saved
 * snapshot carries either name, a device may DMA, a TLB entry outside stage 2 holds a frame the
 * matching moves, or the matching conflicts). Null only costs reduction, never soundness.
 */
export function swapDomains(w: HvWorld, nameA: string, nameB: string): HvWorld | null {
  const { m, h } = w;
  if (nameA === nameB) return null;
  const withName = (n: string) => h.domains.filter((d): d is Domain => d !== null && d.name === n);
  const as = withName(nameA);
  const bs = withName(nameB);
  if (as.length !== 1 || bs.length !== 1) return null;
  const A = as[0]!;
  const B = bs[0]!;
  if (h.images.some((i) => i.name === nameA || i.name === nameB)) return null;
  if (h.saved.some((s) => s !== null && (s.name === nameA || s.name === nameB))) return null;
  if (m.iommu.roots.some((r) => r >= 0)) return null;

  // σ on domain ids, names and VMIDs.
  const sid = (d: DomId): DomId => (d === A.id ? B.id : d === B.id ? A.id : d);
  const svmid = (v: number): number => (v === A.vmid ? B.vmid : v === B.vmid ? A.vmid : v);

  // φ on host frames: pages by guest page, stage-2 tables by position.
  const phi = new FrameMatching();
  for (const [gfn, x] of A.p2m) {
    const y = B.p2m.get(gfn);
    if (y === undefined || h.frameOwner[x] !== A.id || h.frameOwner[y] !== B.id) continue;
    if (!phi.pair(x, y)) return null;
  }
  if (!pairTables(m, h, phi, A.s2root, B.s2root, 0)) return null;
  const f = (x: number) => phi.map(x);

  // Frames holding stage-2 tables (of every domain): their entries name host frames.
  const tableFrames = new Set<number>();
  for (const d of h.domains) {
    if (d === null) continue;
    for (const t of [d.s2root, ...d.s2tables]) if (h.frameOwner[t] === HYPERVISOR) tableFrames.add(t);
  }
  const wpf = m.geometry.config.wordsPerFrame;
  const moved = new Set<number>([...phi.to.keys(), ...tableFrames]);
  const writes: [number, number[]][] = [];
  for (const x of moved) {
    let words = readWords(m.memory, x * wpf, wpf);
    if (tableFrames.has(x)) words = words.map((e) => ((e & PTE.P) === 0 ? e : pte(f(ptePpn(e)), e & 0xf)));
    writes.push([f(x), words]);
  }
  let memory = m.memory;
  for (const [x, words] of writes) memory = writeWords(memory, x * wpf, words);

  // The pCPUs: VTTBR_EL2 (VMID and root) and TLB tags and output frames.
  const cpus = [];
  for (const c of m.cpus) {
    const vttbr = c.sys[SYS.VTTBR_EL2]!;
    const sys = c.sys.slice();
    sys[SYS.VTTBR_EL2] = makeBase(f(baseRoot(vttbr)), svmid(baseTag(vttbr)));
    const entries = [];
    for (const e of c.tlb.entries) {
      if (e.vmid === NO_VMID) {
        if (f(e.ppn) !== e.ppn) return null;
        entries.push(e);
        continue;
      }
      const vmid = svmid(e.vmid);
      entries.push({ ...e, vmid, ppn: f(e.ppn), key: tlbKey(vmid, e.asid, e.vpn) });
    }
    cpus.push({ ...c, sys, tlb: { ...c.tlb, entries, keys: entries.map((e) => e.key) } });
  }

  const binding = (b: PortBinding): PortBinding =>
    b.kind === 'unbound' ? { ...b, remote: sid(b.remote) } : b.kind === 'interdomain' ? { ...b, remote: sid(b.remote) } : b;
  const relabel = (d: Domain): Domain => ({
    ...d,
    s2root: f(d.s2root),
    s2tables: d.s2tables.map(f),
    p2m: new Map([...d.p2m].map(([gfn, mfn]) => [gfn, f(mfn)])),
    grants: d.grants.map((g) => (g === null ? null : { ...g, grantee: sid(g.grantee) })),
    maptrack: d.maptrack.map((t) => (t === null ? null : { ...t, granter: sid(t.granter), mfn: f(t.mfn) })),
    ports: d.ports.map((p) => (p === null ? null : { ...p, binding: binding(p.binding) })),
  });
  const domains = h.domains.map((d) => {
    if (d === null) return null;
    if (d.id === A.id) return { ...relabel(B), id: A.id, name: A.name, vmid: A.vmid };
    if (d.id === B.id) return { ...relabel(A), id: B.id, name: B.name, vmid: B.vmid };
    return relabel(d);
  });
  const frameOwner = h.frameOwner.slice();
  h.frameOwner.forEach((owner, x) => {
    frameOwner[f(x)] = owner >= 0 ? sid(owner) : owner;
  });
  const state: HypervisorState = {
    ...h,
    domains,
    frameOwner,
    pcpus: h.pcpus.map((p) => (p.current === null ? p : { ...p, current: { ...p.current, dom: sid(p.current.dom) } })),
    runq: h.runq.map((q) => ({ ...q, dom: sid(q.dom) })),
    pirqs: h.pirqs.map((p) => (p === null ? null : { ...p, dom: sid(p.dom) })),
    saved: h.saved.map((s) =>
      s === null ? null : { ...s, grants: s.grants.map((g) => (g === null ? null : { ...g, grantee: sid(g.grantee) })), ports: s.ports.map((p) => (p === null ? null : { ...p, binding: binding(p.binding) })) },
    ),
  };
  return { m: { ...m, memory, cpus }, h: state };
}
