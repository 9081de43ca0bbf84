/**
 * The kernel's invariants (MK-INV-*... named after seL4's `invs`), each a function from the
 * system to its list of violations: an empty list means it holds. They are checked after
 * every step by the property tests and the model checker.
 *
 * @module
 */
import { PTE, SYS, baseRoot, baseTag, NO_ASID, type Machine } from '../hw/index.ts';
import { allCaps, capObject } from './cspace.ts';
import { currentDomain } from './scheduler.ts';
import { isRunnable } from './thread.ts';
import { RIGHTS, type Cap, type FaultMessage, type KernelObject, type KernelState, type ObjId, type Tcb } from './types.ts';
import { threads, vspaceMappings } from './views.ts';
import { getObject } from './world.ts';

export interface NamedInvariant {
  readonly name: string;
  readonly check: (m: Machine, k: KernelState) => string[];
}

const isType = <T extends KernelObject['type']>(k: KernelState, id: ObjId | null, type: T): boolean => getObject(k, id)?.type === type;

function region(o: KernelObject): [number, number] {
  return [o.base, o.base + 2 ** o.sizeBits];
}

/** MK-INV-1 valid_objs: object sizes, alignment and placement; fields name live objects of the right type. */
function validObjects(m: Machine, k: KernelState): string[] {
  const out: string[] = [];
  const geo = m.geometry;
  k.objects.forEach((o, id) => {
    if (o === null) return;
    const [lo, hi] = region(o);
    if (lo % 2 ** o.sizeBits !== 0) out.push(`object ${id} (${o.type}) is not aligned to its size`);
    const device = o.type === 'frame' && o.device;
    if (!device && hi > geo.ramBytes) out.push(`object ${id} (${o.type}) lies outside RAM`);
    if (o.type === 'tcb') {
      if (o.cspace !== null && !isType(k, o.cspace, 'cnode')) out.push(`thread ${id}'s CSpace ${o.cspace} is not a CNode`);
      if (o.vspace !== null && !(isType(k, o.vspace, 'pagetable') && (getObject(k, o.vspace) as { asid: number }).asid !== 0)) {
        out.push(`thread ${id}'s VSpace ${o.vspace} is not a VSpace root`);
      }
      if (o.boundNotification !== null && !isType(k, o.boundNotification, 'notification')) out.push(`thread ${id} is bound to a non-notification`);
      if (o.caller !== null && !isType(k, o.caller.caller, 'tcb')) out.push(`thread ${id} holds a reply right to a dead thread`);
      if (o.affinity < 0 || o.affinity >= m.cpus.length) out.push(`thread ${id} has affinity ${o.affinity}`);
      if (o.context.regs.length !== 16 || o.context.regs[0] !== 0) out.push(`thread ${id}'s context is malformed`);
    }
    if (o.type === 'untyped' && (o.watermark < 0 || o.watermark > 2 ** o.sizeBits)) out.push(`untyped ${id}'s watermark is out of range`);
  });
  for (const { slot, cte } of allCaps(k)) {
    const obj = capObject(cte.cap);
    const target = getObject(k, obj);
    const expected = cte.cap.type === 'vspace' ? 'pagetable' : cte.cap.type;
    if (obj !== null && target?.type !== expected) out.push(`cap ${cte.id} in ${slot.cnode}[${slot.index}] names ${obj}, not a live ${expected}`);
  }
  return out;
}

/** MK-INV-2 sym_refs: queues and thread states agree both ways; bound notifications are mutual. */
function symmetricReferences(_m: Machine, k: KernelState): string[] {
  const out: string[] = [];
  k.objects.forEach((o, id) => {
    if (o?.type === 'endpoint' && o.queue.kind !== 'idle') {
      const want = o.queue.kind === 'send' ? 'blockedOnSend' : 'blockedOnReceive';
      if (o.queue.threads.length === 0) out.push(`endpoint ${id} has an empty ${o.queue.kind} queue`);
      if (new Set(o.queue.threads).size !== o.queue.threads.length) out.push(`endpoint ${id} queues a thread twice`);
      for (const t of o.queue.threads) {
        const s = getObject(k, t);
        if (s?.type !== 'tcb' || s.state.kind !== want || (s.state as { endpoint: ObjId }).endpoint !== id) out.push(`endpoint ${id} queues thread ${t}, which is not ${want} on it`);
      }
    }
    if (o?.type === 'notification') {
      for (const t of o.waiting) {
        const s = getObject(k, t);
        if (s?.type !== 'tcb' || s.state.kind !== 'blockedOnNotification' || s.state.notification !== id) out.push(`notification ${id} queues thread ${t}, which is not waiting on it`);
      }
      if (o.boundTcb !== null && (getObject(k, o.boundTcb) as { boundNotification?: ObjId | null })?.boundNotification !== id) {
        out.push(`notification ${id} is bound to thread ${o.boundTcb}, which is not bound to it`);
      }
      if (o.waiting.length > 0 && o.word !== 0) out.push(`notification ${id} is both active and waited on`);
    }
    if (o?.type === 'tcb') {
      const s = o.state;
      if (s.kind === 'blockedOnSend' || s.kind === 'blockedOnReceive') {
        const ep = getObject(k, s.endpoint);
        const kind = s.kind === 'blockedOnSend' ? 'send' : 'recv';
        if (ep?.type !== 'endpoint' || ep.queue.kind !== kind || !ep.queue.threads.includes(id)) out.push(`thread ${id} is ${s.kind} on ${s.endpoint} but not in its queue`);
      }
      if (s.kind === 'blockedOnNotification') {
        const n = getObject(k, s.notification);
        if (n?.type !== 'notification' || !n.waiting.includes(id)) out.push(`thread ${id} waits on ${s.notification} but is not in its queue`);
      }
      if (o.boundNotification !== null && (getObject(k, o.boundNotification) as { boundTcb?: ObjId | null })?.boundTcb !== id) {
        out.push(`thread ${id} is bound to notification ${o.boundNotification}, which is not bound to it`);
      }
    }
  });
  return out;
}

/** MK-INV-3 ready queue: exactly the runnable threads not on a CPU, each once. */
function readyQueue(_m: Machine, k: KernelState): string[] {
  const out: string[] = [];
  const current = new Set(k.cpus.map((c) => c.current).filter((t): t is ObjId => t !== null));
  if (new Set(k.ready).size !== k.ready.length) out.push('a thread is queued twice');
  for (const t of k.ready) {
    const o = getObject(k, t);
    if (o?.type !== 'tcb' || !isRunnable(o.state)) out.push(`ready thread ${t} is not runnable`);
    if (current.has(t)) out.push(`ready thread ${t} is also current`);
  }
  for (const { id, tcb } of threads(k)) if (isRunnable(tcb.state) && !current.has(id) && !k.ready.includes(id)) out.push(`runnable thread ${id} is neither current nor ready`);
  return out;
}

/** MK-INV-4 valid_mdb / no_mloop: every parent exists, the tree has no cycle, a child lies within its parent. */
function derivationTree(_m: Machine, k: KernelState): string[] {
  const out: string[] = [];
  const caps = allCaps(k);
  const byId = new Map(caps.map((c) => [c.cte.id, c.cte]));
  if (byId.size !== caps.length) out.push('two stored caps share an identity');
  for (const { cte } of caps) {
    const seen = new Set<number>();
    for (let p: number | null = cte.id; p !== null; p = byId.get(p)?.parent ?? null) {
      if (seen.has(p)) {
        out.push(`cap ${cte.id} is on a derivation cycle`);
        break;
      }
      seen.add(p);
    }
    if (cte.parent === null) continue;
    const parent = byId.get(cte.parent);
    if (parent === undefined) {
      out.push(`cap ${cte.id}'s parent ${cte.parent} does not exist`);
      continue;
    }
    if (!withinParent(k, cte.cap, parent.cap)) out.push(`cap ${cte.id} (${cte.cap.type}) is not within its parent ${parent.id} (${parent.cap.type})`);
  }
  return out;
}

/** A derived cap names the same object with no more rights, or an object inside the parent untyped (or, for IRQ handlers, the IRQ control). */
function withinParent(k: KernelState, child: Cap, parent: Cap): boolean {
  if (parent.type === 'untyped') {
    const ut = getObject(k, parent.obj);
    const obj = getObject(k, capObject(child));
    if (ut === null || obj === null) return false;
    const [lo, hi] = region(ut);
    const [a, b] = region(obj);
    return a >= lo && b <= hi;
  }
  if (parent.type === 'irqcontrol') return child.type === 'irqhandler';
  if (capObject(child) !== capObject(parent) || child.type !== parent.type) return false;
  const rights = (c: Cap) => ('rights' in c ? c.rights : RIGHTS.R | RIGHTS.W | RIGHTS.G | RIGHTS.GR);
  return (rights(child) & ~rights(parent)) === 0;
}

/** MK-INV-5: untyped regions are nested or disjoint. */
function untypedNesting(_m: Machine, k: KernelState): string[] {
  const out: string[] = [];
  const uts = k.objects.map((o, id) => ({ o, id })).filter((x) => x.o?.type === 'untyped');
  for (let i = 0; i < uts.length; i++) {
    for (let j = i + 1; j < uts.length; j++) {
      const [a, b] = region(uts[i]!.o!);
      const [c, d] = region(uts[j]!.o!);
      const disjoint = b <= c || d <= a;
      const nested = (a <= c && d <= b) || (c <= a && b <= d);
      if (!disjoint && !nested) out.push(`untyped ${uts[i]!.id} and ${uts[j]!.id} overlap without nesting`);
    }
  }
  return out;
}

/**
 * MK-INV-6: every byte of RAM belongs to at most one object that is not an untyped (object
 * memory never overlaps), and within an untyped only below its watermark.
 */
function memoryOwnership(_m: Machine, k: KernelState): string[] {
  const out: string[] = [];
  const objs = k.objects
    .map((o, id) => ({ o, id }))
    .filter((x) => x.o !== null && x.o.type !== 'untyped' && !(x.o.type === 'frame' && x.o.device))
    .sort((x, y) => x.o!.base - y.o!.base);
  for (let i = 1; i < objs.length; i++) {
    const prev = objs[i - 1]!;
    const cur = objs[i]!;
    if (region(prev.o!)[1] > cur.o!.base) out.push(`objects ${prev.id} (${prev.o!.type}) and ${cur.id} (${cur.o!.type}) overlap`);
  }
  return out;
}

/**
 * MK-INV-7: every present user mapping reaches a Frame object through a frame cap that
 * records this mapping and is held by an owner of the VSpace — a thread that runs in it, or
 * one that holds a cap to it (a pager); the page is writable only if that cap is; and no
 * mapping reaches a page table or any other kernel object (so page tables are never
 * user-writable).
 */
function mappingsAuthorised(m: Machine, k: KernelState): string[] {
  const out: string[] = [];
  const geo = m.geometry;
  const framesByPage = new Map<number, ObjId>();
  const kernelPages = new Set<number>();
  k.objects.forEach((o, id) => {
    if (o === null || o.type === 'untyped') return;
    const [lo, hi] = region(o);
    for (let p = Math.floor(lo / geo.pageBytes); p * geo.pageBytes < hi; p++) {
      if (o.type === 'frame') framesByPage.set(p, id);
      else kernelPages.add(p);
    }
  });
  const mappingCaps = allCaps(k).filter((c) => c.cte.cap.type === 'frame' && c.cte.cap.mapping !== null);
  k.objects.forEach((o, vspace) => {
    if (o?.type !== 'pagetable' || o.asid === 0) return;
    for (const { va, ppn, flags } of vspaceMappings(m, k, vspace)) {
      if (kernelPages.has(ppn)) out.push(`VSpace ${vspace} maps kernel-object page ${ppn} at ${va}`);
      const frame = framesByPage.get(ppn);
      if (frame === undefined) {
        out.push(`VSpace ${vspace} maps page ${ppn}, which is no frame, at ${va}`);
        continue;
      }
      const cap = mappingCaps.find((c) => c.cte.cap.type === 'frame' && c.cte.cap.obj === frame && c.cte.cap.mapping!.vspace === vspace && c.cte.cap.mapping!.va === va);
      if (cap === undefined) {
        out.push(`VSpace ${vspace} maps frame ${frame} at ${va} with no cap recording it`);
        continue;
      }
      if (!owners(k, vspace).has(cap.slot.cnode)) out.push(`frame ${frame} at ${va} in VSpace ${vspace} is mapped by a cap no owner of the VSpace holds`);
      if ((flags & PTE.W) !== 0 && cap.cte.cap.type === 'frame' && (cap.cte.cap.rights & RIGHTS.W) === 0) out.push(`frame ${frame} is writable at ${va} through a read-only cap`);
    }
  });
  return out;
}

/** The CNodes of a VSpace's owners: the CSpaces of threads running in it, and CNodes holding a cap to it. */
function owners(k: KernelState, vspace: ObjId): Set<ObjId> {
  const out = new Set<ObjId>();
  for (const { tcb } of threads(k)) if (tcb.vspace === vspace && tcb.cspace !== null) out.add(tcb.cspace);
  for (const { slot, cte } of allCaps(k)) if (cte.cap.type === 'vspace' && cte.cap.obj === vspace) out.add(slot.cnode);
  return out;
}

/**
 * MK-INV-8: every TLB entry agrees with the tables of the live VSpace of its ASID — the same
 * page, no more permissions — so no stale translation survives an unmap.
 */
function tlbConsistent(m: Machine, k: KernelState): string[] {
  const out: string[] = [];
  m.cpus.forEach((cpu, c) => {
    for (const e of cpu.tlb.entries) {
      if (e.asid === NO_ASID) {
        out.push(`CPU ${c} caches a translation made with stage 1 off`);
        continue;
      }
      const vspace = k.asids[e.asid] ?? null;
      if (vspace === null) {
        out.push(`CPU ${c} caches page ${e.vpn} of ASID ${e.asid}, which no VSpace uses`);
        continue;
      }
      const now = vspaceMappings(m, k, vspace).find((p) => p.va === e.vpn * m.geometry.pageBytes);
      if (now === undefined || now.ppn !== e.ppn || (e.s1 & ~now.flags & 0xf) !== 0) {
        out.push(`CPU ${c} caches a stale translation of page ${e.vpn} in ASID ${e.asid}`);
      }
    }
  });
  return out;
}

/** MK-INV-9: each CPU runs at most one thread, its own, which can run; the hardware agrees. */
function currentThreads(m: Machine, k: KernelState): string[] {
  const out: string[] = [];
  const seen = new Set<ObjId>();
  k.cpus.forEach((s, c) => {
    const cpu = m.cpus[c]!;
    if (s.current === null) {
      if (cpu.el !== 1) out.push(`CPU ${c} is idle but at EL${cpu.el}`);
      return;
    }
    if (seen.has(s.current)) out.push(`thread ${s.current} is current on two CPUs`);
    seen.add(s.current);
    const t = getObject(k, s.current);
    if (t?.type !== 'tcb') {
      out.push(`CPU ${c}'s current thread ${s.current} is not a thread`);
      return;
    }
    if (t.state.kind !== 'running') out.push(`CPU ${c}'s current thread ${s.current} is ${t.state.kind}`);
    if (t.affinity !== c) out.push(`thread ${s.current} runs on CPU ${c} but belongs to CPU ${t.affinity}`);
    if (cpu.el !== 0) out.push(`CPU ${c} runs thread ${s.current} at EL${cpu.el}`);
    const ttbr = cpu.sys[SYS.TTBR0_EL1]!;
    const root = getObject(k, t.vspace);
    if (root?.type === 'pagetable' && (baseRoot(ttbr) * m.geometry.pageBytes !== root.base || baseTag(ttbr) !== root.asid)) {
      out.push(`CPU ${c} runs thread ${s.current} in the wrong address space`);
    }
  });
  return out;
}

/** MK-INV-10: only the idle threads (which are not objects) are idle. */
function onlyIdleIdle(_m: Machine, k: KernelState): string[] {
  return threads(k)
    .filter((t) => t.tcb.state.kind === 'idle')
    .map((t) => `thread ${t.id} is idle`);
}

/** MK-INV-11: the ASID table and the VSpace roots agree. */
function asidTable(_m: Machine, k: KernelState): string[] {
  const out: string[] = [];
  k.asids.forEach((v, a) => {
    if (v === null) return;
    const o = getObject(k, v);
    if (o?.type !== 'pagetable' || o.asid !== a) out.push(`ASID ${a} names ${v}, which is not its VSpace`);
  });
  k.objects.forEach((o, id) => {
    if (o?.type === 'pagetable' && o.asid !== 0 && k.asids[o.asid] !== id) out.push(`VSpace ${id}'s ASID ${o.asid} is not recorded`);
  });
  return out;
}

/**
 * The ready threads CPU `c` may run now: its affinity, runnable and — with a domain schedule —
 * of the current domain (MK-SCHED-2, MK-SCHED-5).
 */
function readyFor(k: KernelState, c: number): ObjId[] {
  const d = currentDomain(k);
  return k.ready.filter((t) => {
    const o = getObject(k, t);
    return o?.type === 'tcb' && o.affinity === c && isRunnable(o.state) && (d === null || o.domain === d);
  });
}

/**
 * MK-INV-12: a CPU runs its idle thread only when no ready thread may run on it, or when an
 * IPI is pending for it — the entry that woke such a thread ran on another CPU, which asked
 * this one to reschedule (MK-SCHED-7), and the IPI's entry here will pick the thread.
 */
function idleWhenNoneReady(m: Machine, k: KernelState): string[] {
  const out: string[] = [];
  k.cpus.forEach((s, c) => {
    if (s.current !== null || (m.gic.ipiPending & (1 << c)) !== 0) return;
    for (const t of readyFor(k, c)) out.push(`CPU ${c} is idle with no IPI pending while thread ${t} is ready to run on it`);
  });
  return out;
}

/**
 * MK-INV-13 valid_reply_rights (seL4's valid_reply_caps): every reply right names a thread
 * waiting for a reply, and no thread is named by two. A thread may wait with no right naming
 * it: a newer Call dropped it (MK-IPC-6), or its holder was destroyed.
 */
function validReplyRights(_m: Machine, k: KernelState): string[] {
  const out: string[] = [];
  const holders = new Map<ObjId, ObjId>();
  for (const { id, tcb } of threads(k)) {
    if (tcb.caller === null) continue;
    const t = tcb.caller.caller;
    const callee = getObject(k, t);
    if (callee?.type === 'tcb' && callee.state.kind !== 'blockedOnReply') out.push(`thread ${id} holds a reply right to thread ${t}, which is ${callee.state.kind}`);
    const other = holders.get(t);
    if (other !== undefined) out.push(`threads ${other} and ${id} both hold a reply right to thread ${t}`);
    holders.set(t, id);
  }
  return out;
}

const sameFault = (a: FaultMessage | null, b: FaultMessage | null): boolean =>
  a === b || (a !== null && b !== null && a.label === b.label && a.words.length === b.words.length && a.words.every((w, i) => w === b.words[i]));

/** The violations of MK-INV-14 by one thread. */
function faultViolations(id: ObjId, tcb: Tcb): string[] {
  const s = tcb.state;
  if (s.kind === 'blockedOnSend') {
    if (!sameFault(s.fault, tcb.fault)) return [`thread ${id} is blockedOnSend with a fault message that is not its stored fault`];
    if (s.fault !== null && !(s.isCall && (s.canGrant || s.canGrantReply))) return [`thread ${id}'s fault message is not sent as a Call that can get a reply`];
    return [];
  }
  if (tcb.fault !== null && s.kind !== 'blockedOnReply') return [`thread ${id} stores a fault but is ${s.kind}`];
  return [];
}

/**
 * MK-INV-14 valid_fault: a thread stores a fault only while it is sending it to its handler
 * (blockedOnSend, with that message, as a Call that can be replied to) or waiting for the
 * handler's reply (blockedOnReply).
 */
function validFault(_m: Machine, k: KernelState): string[] {
  return threads(k).flatMap(({ id, tcb }) => faultViolations(id, tcb));
}

export const KERNEL_INVARIANTS: readonly NamedInvariant[] = [
  { name: 'valid_objects', check: validObjects },
  { name: 'symmetric_references', check: symmetricReferences },
  { name: 'ready_queue', check: readyQueue },
  { name: 'derivation_tree', check: derivationTree },
  { name: 'untyped_nesting', check: untypedNesting },
  { name: 'memory_ownership', check: memoryOwnership },
  { name: 'mappings_authorised', check: mappingsAuthorised },
  { name: 'tlb_consistent', check: tlbConsistent },
  { name: 'current_threads', check: currentThreads },
  { name: 'only_idle_idle', check: onlyIdleIdle },
  { name: 'asid_table', check: asidTable },
  { name: 'idle_when_none_ready', check: idleWhenNoneReady },
  { name: 'valid_reply_rights', check: validReplyRights },
  { name: 'valid_fault', check: validFault },
];

/** Every invariant and its violations (MK-INV-*). */
export function checkInvariants(m: Machine, k: KernelState): { name: string; violations: string[] }[] {
  return KERNEL_INVARIANTS.map((inv) => ({ name: inv.name, violations: inv.check(m, k) }));
}
