/**
 * Isolation domains, what each can observe, and who may affect whom (MK-ISO-1..3).
 *
 * A domain is a partition of threads (the scheduling domain of each thread). What a domain
 * observes is its threads' registers and program counters, whether each can run, and the
 * contents of every page mapped in their address spaces — nothing about the kernel's
 * internal queues or which of its runnable threads happens to be on a CPU. Authority is read
 * off the capabilities: two domains holding caps to one endpoint, frame, CNode, VSpace, TCB
 * or Untyped may affect each other; a notification carries authority from its signallers to
 * its receivers only.
 *
 * @module
 */
import { PTE, ptePpn, readWord, SYS, type Machine } from '../hw/index.ts';
import { allCaps, capObject } from './cspace.ts';
import { isRunnable } from './thread.ts';
import { RIGHTS, type Cap, type KernelState, type ObjId, type Tcb } from './types.ts';
import { getObject } from './world.ts';

/** The domain names, in order (MK-ISO-1). */
export function domainNames(k: KernelState): readonly string[] {
  return k.config.domainNames;
}

/** Live threads with their ids, in id order. */
export function threads(k: KernelState): { id: ObjId; tcb: Tcb }[] {
  const out: { id: ObjId; tcb: Tcb }[] = [];
  k.objects.forEach((o, id) => {
    if (o?.type === 'tcb') out.push({ id, tcb: o });
  });
  return out;
}

/** A thread's registers, pc and TPIDR_EL0: from its CPU if it is running, else from its saved context. */
export function liveContext(m: Machine, k: KernelState, id: ObjId, tcb: Tcb): { regs: readonly number[]; pc: number; tpidr: number } {
  const c = k.cpus.findIndex((s) => s.current === id);
  if (c < 0) return { regs: tcb.context.regs, pc: tcb.context.pc, tpidr: tcb.context.tpidr };
  const cpu = m.cpus[c]!;
  return { regs: cpu.regs, pc: cpu.pc, tpidr: cpu.sys[SYS.TPIDR_EL0]! };
}

/** Every present leaf mapping of VSpace `vspace`: virtual page base, physical page, flags. */
export function vspaceMappings(m: Machine, k: KernelState, vspace: ObjId): { va: number; ppn: number; flags: number }[] {
  const root = getObject(k, vspace);
  if (root?.type !== 'pagetable' || root.asid === 0) return [];
  const geo = m.geometry;
  const { pageTableLevels: levels, pageTableIndexBits: bits, wordsPerFrame } = geo.config;
  const out: { va: number; ppn: number; flags: number }[] = [];
  const walk = (table: number, level: number, vaBase: number): void => {
    if (table >= geo.config.frames) return;
    for (let i = 0; i < 2 ** bits; i++) {
      const e = readWord(m.memory, table * wordsPerFrame + i);
      if ((e & PTE.P) === 0) continue;
      const va = vaBase + i * geo.pageBytes * 2 ** (bits * (levels - 1 - level));
      if (level === levels - 1) out.push({ va, ppn: ptePpn(e), flags: e & 0xf });
      else walk(ptePpn(e), level + 1, va);
    }
  };
  walk(root.base / geo.pageBytes, 0, 0);
  return out;
}

/** The contents of physical page `ppn` as [offset, value] pairs of its non-zero words. */
function pageContents(m: Machine, ppn: number): [number, number][] {
  const geo = m.geometry;
  const out: [number, number][] = [];
  if (ppn >= geo.config.frames) return out;
  const first = ppn * geo.config.wordsPerFrame;
  for (let i = 0; i < geo.config.wordsPerFrame; i++) {
    const v = readWord(m.memory, first + i);
    if (v !== 0) out.push([i, v]);
  }
  return out;
}

/** What domain `domain` observes (MK-ISO-2), as a canonical JSON value. */
export function domainView(m: Machine, k: KernelState, domain: string): unknown {
  const d = k.config.domainNames.indexOf(domain);
  if (d < 0) return null;
  const mine = threads(k).filter((t) => t.tcb.domain === d);
  const spaces = [...new Set(mine.map((t) => t.tcb.vspace).filter((v): v is ObjId => v !== null))].sort((a, b) => a - b);
  return {
    threads: mine.map(({ id, tcb }) => {
      const ctx = liveContext(m, k, id, tcb);
      // MK-ISO-2: TPIDR_EL0 is a user register too (MK-OBJ-4).
      return { name: tcb.name, runnable: isRunnable(tcb.state), state: isRunnable(tcb.state) ? 'runnable' : tcb.state.kind, pc: ctx.pc, regs: ctx.regs, tpidr: ctx.tpidr };
    }),
    memory: spaces.map((v) => ({
      // Named by the threads that run in it, not by its object id: ids are global counters a
      // domain cannot observe, and another domain's allocations would shift them.
      space: mine.filter((t) => t.tcb.vspace === v).map((t) => t.tcb.name),
      pages: vspaceMappings(m, k, v).map((p) => ({ va: p.va, flags: p.flags, words: pageContents(m, p.ppn) })),
    })),
  };
}

/** Capabilities held by each domain: caps in the CSpaces of its threads. */
function capsByDomain(k: KernelState): Map<number, Cap[]> {
  const byCnode = new Map<ObjId, Cap[]>();
  for (const { slot, cte } of allCaps(k)) byCnode.set(slot.cnode, [...(byCnode.get(slot.cnode) ?? []), cte.cap]);
  const out = new Map<number, Cap[]>();
  for (const { tcb } of threads(k)) {
    const caps = [...(tcb.cspace === null ? [] : (byCnode.get(tcb.cspace) ?? [])), ...stateCaps(tcb)];
    out.set(tcb.domain, [...(out.get(tcb.domain) ?? []), ...caps]);
  }
  return out;
}

/**
 * MK-ISO-3: the authority a thread has by its state rather than by a cap it holds (seL4's
 * state references): a thread queued on an endpoint is in the rendezvous whether or not it
 * still holds a cap to it, and one waiting on a notification receives its next signal — so
 * each counts as holding that object.
 */
function stateCaps(tcb: Tcb): Cap[] {
  const s = tcb.state;
  if (s.kind === 'blockedOnSend' || s.kind === 'blockedOnReceive') return [{ type: 'endpoint', obj: s.endpoint, badge: 0, rights: RIGHTS.R | RIGHTS.W }];
  if (s.kind === 'blockedOnNotification') return [{ type: 'notification', obj: s.notification, badge: 0, rights: RIGHTS.R }];
  return [];
}

/** The objects a domain's own threads are: its TCBs, CNodes and VSpaces. */
function ownObjects(k: KernelState, d: number): Set<ObjId> {
  const own = new Set<ObjId>();
  for (const { id, tcb } of threads(k)) {
    if (tcb.domain !== d) continue;
    own.add(id);
    if (tcb.cspace !== null) own.add(tcb.cspace);
    if (tcb.vspace !== null) own.add(tcb.vspace);
  }
  return own;
}

/**
 * Who may affect whom (MK-ISO-3). For domains a ≠ b: a → b if a holds a cap to one of b's
 * own objects (TCB, CNode, VSpace); if both hold caps to one endpoint, untyped, CNode, VSpace
 * or TCB (both directions: an endpoint blocks its senders until a receiver comes); if a can
 * signal a notification b can wait on or is bound to; if a holds a writable cap to a frame b
 * holds any cap to; and if a holds the IRQ handler of a line that signals b.
 */
export function authorityEdges(k: KernelState): { from: string; to: string; via: string }[] {
  const names = k.config.domainNames;
  const held = capsByDomain(k);
  const edges = new Map<string, { from: string; to: string; via: string }>();
  const add = (a: number, b: number, via: string) => {
    if (a === b) return;
    const key = `${a}>${b}`;
    if (!edges.has(key)) edges.set(key, { from: names[a]!, to: names[b]!, via });
  };
  const domainsOf = (pred: (c: Cap) => boolean): number[] => [...held.entries()].filter(([, caps]) => caps.some(pred)).map(([d]) => d);
  const boundDomains = (n: ObjId): number[] => threads(k).filter((t) => t.tcb.boundNotification === n).map((t) => t.tcb.domain);
  const objectsHeld = new Set<ObjId>();
  for (const caps of held.values()) for (const c of caps) if (capObject(c) !== null) objectsHeld.add(capObject(c)!);
  for (const obj of [...objectsHeld].sort((x, y) => x - y)) {
    const o = getObject(k, obj);
    if (o === null) continue;
    const holders = domainsOf((c) => capObject(c) === obj);
    const via = `${o.type} ${obj}`;
    if (o.type === 'notification') {
      const signallers = domainsOf((c) => c.type === 'notification' && c.obj === obj && (c.rights & RIGHTS.W) !== 0);
      const receivers = [...domainsOf((c) => c.type === 'notification' && c.obj === obj && (c.rights & RIGHTS.R) !== 0), ...boundDomains(obj)];
      for (const a of signallers) for (const b of receivers) add(a, b, via);
    } else if (o.type === 'frame') {
      const writers = domainsOf((c) => c.type === 'frame' && c.obj === obj && (c.rights & RIGHTS.W) !== 0);
      for (const a of writers) for (const b of holders) add(a, b, via);
    } else {
      for (const a of holders) for (const b of holders) add(a, b, via);
    }
    names.forEach((_, b) => {
      if (!ownObjects(k, b).has(obj)) return;
      for (const a of holders) add(a, b, `${via} of ${names[b]}`);
    });
  }
  // A reply right lets its holder complete its caller's Call (MK-IPC-6): authority over the caller.
  for (const { tcb } of threads(k)) {
    const caller = tcb.caller === null ? null : getObject(k, tcb.caller.caller);
    if (caller?.type === 'tcb') add(tcb.domain, caller.domain, `reply to ${caller.name}`);
  }
    // An IRQ handler affects whoever waits on the notification its line signals.
  k.irqs.forEach((line, id) => {
    if (line.target === null) return;
    const n = line.target.notification;
    const receivers = [...domainsOf((c) => c.type === 'notification' && c.obj === n && (c.rights & RIGHTS.R) !== 0), ...boundDomains(n)];
    for (const a of domainsOf((c) => c.type === 'irqhandler' && c.line === id)) for (const b of receivers) add(a, b, `irq ${id}`);
  });
  return [...edges.values()];
}

