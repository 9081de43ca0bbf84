/**
 * Capability spaces and the capability derivation tree (MK-CAP-1..9).
 *
 * A thread's CSpace is one CNode; a capability pointer (CPtr) is a slot index in it (a
 * one-level CSpace: seL4's guarded multi-level lookup is not modelled). Each stored cap has
 * an identity and the identity of the cap it was derived from; deleting a cap re-attaches
 * its children to its parent, revoking deletes every descendant, and deleting the last cap
 * to an object destroys the object, as seL4's `finaliseCap` does.
 *
 * @module
 */
import { cancelAllIpc, cancelAllSignals, cancelBadgedSends, suspendThread, unbindNotification } from './ipc.ts';
import { ERROR } from './abi.ts';
import { disableIrqLine } from './irq.ts';
import { stopIfRunningElsewhere } from './scheduler.ts';
import type { Cap, CapId, Cte, KernelState, ObjId } from './types.ts';
import { freeAsid, unmapFrameCap, unmapPageTableCap } from './vspace.ts';
import { getObject, getTcb, setObject, setSlot, takeCapId, type Log, type World } from './world.ts';

/** The address of a slot. */
export interface SlotRef {
  readonly cnode: ObjId;
  readonly index: number;
}

/** A value, or a kernel error code (MK-ABI-4). */
export type KResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: number };

export const ok = <T>(value: T): KResult<T> => ({ ok: true, value });
export const err = <T = never>(error: number): KResult<T> => ({ ok: false, error });

/** The object a cap names, or null for caps that name no object. */
export function capObject(cap: Cap): ObjId | null {
  return 'obj' in cap ? cap.obj : null;
}

/** The slot `cptr` names in thread `t`'s CSpace (MK-CAP-4). */
export function lookupSlot(k: KernelState, t: ObjId, cptr: number): KResult<SlotRef> {
  const cspace = getTcb(k, t).cspace;
  if (cspace === null) return err(ERROR.FAILED_LOOKUP);
  const node = getObject(k, cspace);
  if (node?.type !== 'cnode' || !Number.isInteger(cptr) || cptr < 0 || cptr >= node.slots.length) {
    return err(ERROR.FAILED_LOOKUP);
  }
  return ok({ cnode: cspace, index: cptr });
}

/** The cap `cptr` names in thread `t`'s CSpace; an empty slot is an invalid capability. */
export function lookupCap(k: KernelState, t: ObjId, cptr: number): KResult<{ slot: SlotRef; cte: Cte }> {
  const slot = lookupSlot(k, t, cptr);
  if (!slot.ok) return slot;
  const cte = slotContents(k, slot.value);
  return cte === null ? err(ERROR.INVALID_CAPABILITY) : ok({ slot: slot.value, cte });
}

/** What slot `s` holds. */
export function slotContents(k: KernelState, s: SlotRef): Cte | null {
  const node = getObject(k, s.cnode);
  return node?.type === 'cnode' ? (node.slots[s.index] ?? null) : null;
}

/** A slot `index` of CNode cap `cnode` (for CNode invocations). */
export function slotIn(k: KernelState, cnode: ObjId, index: number): KResult<SlotRef> {
  const node = getObject(k, cnode);
  if (node?.type !== 'cnode' || !Number.isInteger(index) || index < 0 || index >= node.slots.length) return err(ERROR.RANGE_ERROR);
  return ok({ cnode, index });
}

/** Every stored cap with its slot, in a fixed order (CNode id, then index). */
export function allCaps(k: KernelState): { slot: SlotRef; cte: Cte }[] {
  const out: { slot: SlotRef; cte: Cte }[] = [];
  k.objects.forEach((o, id) => {
    if (o?.type !== 'cnode') return;
    o.slots.forEach((cte, index) => {
      if (cte !== null) out.push({ slot: { cnode: id, index }, cte });
    });
  });
  return out;
}

/** Where the cap with identity `id` is stored. */
export function findCap(k: KernelState, id: CapId): SlotRef | null {
  return allCaps(k).find((c) => c.cte.id === id)?.slot ?? null;
}

/** Stores a new cap in empty slot `s`, derived from `parent` (null = an original). */
export function insertCap(k: KernelState, s: SlotRef, cap: Cap, parent: CapId | null): KernelState {
  const taken = takeCapId(k);
  return setSlot(taken.k, s.cnode, s.index, { cap, id: taken.id, parent });
}

/**
 * The cap a copy of `cap` gets (MK-CAP-5, seL4's deriveCap): a frame copy is unmapped; a
 * mapped page table and the IRQ control cap cannot be copied.
 */
export function deriveCap(cap: Cap): KResult<Cap> {
  switch (cap.type) {
    case 'frame':
      return ok({ ...cap, mapping: null });
    case 'pagetable':
      return cap.mapping === null ? ok(cap) : err(ERROR.ILLEGAL_OPERATION);
    case 'irqcontrol':
      return err(ERROR.ILLEGAL_OPERATION);
    default:
      return ok(cap);
  }
}

/** `cap` with its rights reduced to `mask` (MK-CAP-2: rights only ever shrink). */
export function maskRights(cap: Cap, mask: number): Cap {
  switch (cap.type) {
    case 'endpoint':
    case 'notification':
    case 'frame':
      return { ...cap, rights: cap.rights & mask };
    default:
      return cap;
  }
}

/** Whether any other stored cap names the same object (or IRQ line) as the one in `s` (MK-CAP-8). */
function isFinal(k: KernelState, s: SlotRef, cap: Cap): boolean {
  const obj = capObject(cap);
  return !allCaps(k).some(({ slot, cte }) => {
    if (slot.cnode === s.cnode && slot.index === s.index) return false;
    if (obj !== null) return capObject(cte.cap) === obj;
    return cap.type === 'irqhandler' && cte.cap.type === 'irqhandler' && cte.cap.line === cap.line;
  });
}

/**
 * Deletes the cap in slot `s` (MK-CAP-7): a mapped frame or page-table cap is unmapped first;
 * its children are re-attached to its parent; and if it was the last cap to its object, the
 * object is destroyed (MK-CAP-8).
 */
export function deleteCap(w: World, log: Log, s: SlotRef): World {
  const cte = slotContents(w.k, s);
  if (cte === null) return w;
  let world = w;
  if (cte.cap.type === 'frame' && cte.cap.mapping !== null) world = unmapFrameCap(world, log, cte.cap);
  if (cte.cap.type === 'pagetable' && cte.cap.mapping !== null) world = unmapPageTableCap(world, log, cte.cap);
  const final = isFinal(world.k, s, cte.cap);
  let k = world.k;
  for (const child of allCaps(k).filter((c) => c.cte.parent === cte.id)) {
    k = setSlot(k, child.slot.cnode, child.slot.index, { ...child.cte, parent: cte.parent });
  }
  k = setSlot(k, s.cnode, s.index, null);
  world = { ...world, k };
  return final ? finalise(world, log, cte.cap) : world;
}

/** Every cap derived, directly or not, from cap `id`, deepest first. */
export function descendants(k: KernelState, id: CapId): CapId[] {
  const caps = allCaps(k);
  const out: CapId[] = [];
  const visit = (parent: CapId): void => {
    for (const c of caps) {
      if (c.cte.parent === parent) {
        visit(c.cte.id);
        out.push(c.cte.id);
      }
    }
  };
  visit(id);
  return out;
}

/**
 * Revokes the cap in `s` (MK-CAP-9): deletes every descendant; an untyped cap's memory is
 * then free again; a badged endpoint cap also cancels the sends queued with its badge.
 */
export function revokeCap(w: World, log: Log, s: SlotRef): World {
  const cte = slotContents(w.k, s);
  if (cte === null) return w;
  let world = w;
  for (const id of descendants(w.k, cte.id)) {
    const where = findCap(world.k, id);
    if (where !== null) world = deleteCap(world, log, where);
  }
  const cap = cte.cap;
  if (cap.type === 'untyped') {
    const ut = getObject(world.k, cap.obj);
    if (ut?.type === 'untyped') world = { ...world, k: setObject(world.k, cap.obj, { ...ut, watermark: 0 }) };
  }
  if (cap.type === 'endpoint' && cap.badge !== 0) world = cancelBadgedSends(world, log, cap.obj, cap.badge);
  return world;
}

/** Destroys the object (or releases the line) a final cap named (MK-CAP-8, seL4's finaliseCap). */
function finalise(w: World, log: Log, cap: Cap): World {
  switch (cap.type) {
    case 'endpoint':
      return destroy(cancelAllIpc(w, log, cap.obj), cap.obj);
    case 'notification': {
      let world = cancelAllSignals(w, log, cap.obj);
      const ntfn = getObject(world.k, cap.obj);
      if (ntfn?.type === 'notification' && ntfn.boundTcb !== null) world = unbindNotification(world, ntfn.boundTcb);
      const irqs = world.k.irqs.map((line) => (line.target?.notification === cap.obj ? { ...line, target: null } : line));
      return destroy({ ...world, k: { ...world.k, irqs } }, cap.obj);
    }
    case 'tcb':
      return destroyTcb(w, log, cap.obj);
    case 'cnode':
      return destroyCNode(w, log, cap.obj);
    case 'vspace': {
      let world = freeAsid(w, log, cap.obj);
      world = unbindFromThreads(world, log, cap.obj, 'vspace');
      return destroy(world, cap.obj);
    }
    case 'frame':
    case 'pagetable':
    case 'untyped':
      return destroy(w, cap.obj);
    case 'irqhandler':
      return disableIrqLine(w, log, cap.line);
    case 'irqcontrol':
      return w;
  }
}

function destroy(w: World, obj: ObjId): World {
  return { ...w, k: setObject(w.k, obj, null) };
}

function destroyTcb(w: World, log: Log, t: ObjId): World {
  let world = stopIfRunningElsewhere(w, log, t);
  world = suspendThread(world, log, t);
  const tcb = getTcb(world.k, t);
  if (tcb.boundNotification !== null) world = unbindNotification(world, t);
  // Reply rights that name the thread die with it.
  let k = world.k;
  k.objects.forEach((o, id) => {
    if (o?.type === 'tcb' && o.caller?.caller === t) k = setObject(k, id, { ...o, caller: null });
  });
  k = { ...k, ready: k.ready.filter((x) => x !== t), cpus: k.cpus.map((c) => (c.current === t ? { current: null } : c)) };
  return destroy({ ...world, k }, t);
}

function destroyCNode(w: World, log: Log, cnode: ObjId): World {
  let world = unbindFromThreads(w, log, cnode, 'cspace');
  const node = getObject(world.k, cnode);
  if (node?.type !== 'cnode') return world;
  // Delete the contents first; a CNode holding a cap to itself finds that slot already empty.
  for (let index = 0; index < node.slots.length; index++) world = deleteCap(world, log, { cnode, index });
  return destroy(world, cnode);
}

/** Threads whose CSpace or VSpace was `obj` lose it; a running one is taken off its CPU first. */
function unbindFromThreads(w: World, log: Log, obj: ObjId, field: 'cspace' | 'vspace'): World {
  let world = w;
  w.k.objects.forEach((o, id) => {
    if (o?.type === 'tcb' && o[field] === obj) {
      world = stopIfRunningElsewhere(world, log, id);
      world = { ...world, k: setObject(world.k, id, { ...getTcb(world.k, id), [field]: null }) };
    }
  });
  return world;
}
