/**
 * Untyped memory and Retype (MK-OBJ-1..2): every kernel object after boot is carved from an
 * Untyped object, aligned to its own size, at the Untyped's watermark; the new caps are
 * children of the Untyped cap in the derivation tree; frames and page tables are zeroed, so
 * no data survives from an earlier use of the memory.
 *
 * @module
 */
import { readWord, writeWord } from '../hw/index.ts';
import { ERROR } from './abi.ts';
import { err, insertCap, ok, slotContents, type KResult, type SlotRef } from './cspace.ts';
import { ALL_RIGHTS, RIGHTS, type Cap, type Cte, type KernelObject, type KernelState, type ObjId, type Untyped } from './types.ts';
import { assignAsid, freeAsidNumber } from './vspace.ts';
import { addObject, getObject, setObject, type Log, type World } from './world.ts';

/** Object sizes (log2 bytes), MK-OBJ-1. TCBs hold 16 registers and pc: 64 bytes. */
export const OBJECT_BITS = { tcb: 6, endpoint: 4, notification: 4, cnodeSlot: 4 } as const;

/** Largest CNode radix (slots = 2^radix). */
export const MAX_CNODE_RADIX = 8;

/** Most objects one Retype may create. */
export const MAX_RETYPE_COUNT = 16;

type RetypeKind = 'untyped' | 'tcb' | 'endpoint' | 'notification' | 'cnode' | 'frame' | 'pagetable' | 'vspace';

const KIND_OF_TYPE: readonly RetypeKind[] = ['untyped', 'tcb', 'endpoint', 'notification', 'cnode', 'frame', 'pagetable', 'vspace'];

/** The kind for an Untyped_Retype type number (OBJECT_TYPE), or null. */
export function retypeKind(type: number): RetypeKind | null {
  return KIND_OF_TYPE[type] ?? null;
}

/** Size in log2 bytes of one object, or null if `userBits` is out of range for the kind. */
export function objectBits(kind: RetypeKind, userBits: number, pageBits: number): number | null {
  switch (kind) {
    case 'untyped':
      return Number.isInteger(userBits) && userBits >= 4 && userBits <= 30 ? userBits : null;
    case 'cnode':
      return Number.isInteger(userBits) && userBits >= 1 && userBits <= MAX_CNODE_RADIX ? userBits + OBJECT_BITS.cnodeSlot : null;
    case 'tcb':
      return OBJECT_BITS.tcb;
    case 'endpoint':
      return OBJECT_BITS.endpoint;
    case 'notification':
      return OBJECT_BITS.notification;
    case 'frame':
    case 'pagetable':
    case 'vspace':
      return pageBits;
  }
}

/** A fresh object of `kind` at `base` (its memory already reserved). */
export function newObject(kind: RetypeKind, base: number, bits: number, timeslice: number, device: boolean): KernelObject {
  switch (kind) {
    case 'untyped':
      return { type: 'untyped', base, sizeBits: bits, watermark: 0, device };
    case 'tcb':
      return {
        type: 'tcb',
        base,
        sizeBits: bits,
        state: { kind: 'inactive' },
        priority: 0,
        domain: 0,
        affinity: 0,
        cspace: null,
        vspace: null,
        faultEndpoint: null,
        context: { regs: new Array<number>(16).fill(0), pc: 0, restartPc: 0, tpidr: 0 },
        boundNotification: null,
        caller: null,
        receiveSlot: null,
        timeslice,
        fault: null,
        name: '',
      };
    case 'endpoint':
      return { type: 'endpoint', base, sizeBits: bits, queue: { kind: 'idle' } };
    case 'notification':
      return { type: 'notification', base, sizeBits: bits, word: 0, waiting: [], boundTcb: null };
    case 'cnode':
      return { type: 'cnode', base, sizeBits: bits, slots: new Array<Cte | null>(2 ** (bits - OBJECT_BITS.cnodeSlot)).fill(null) };
    case 'frame':
      return { type: 'frame', base, sizeBits: bits, device };
    case 'pagetable':
    case 'vspace':
      return { type: 'pagetable', base, sizeBits: bits, asid: 0 };
  }
}

/** The original cap to a new object. */
export function originalCap(kind: RetypeKind, obj: ObjId): Cap {
  switch (kind) {
    case 'endpoint':
    case 'notification':
      return { type: kind, obj, badge: 0, rights: ALL_RIGHTS };
    case 'frame':
      return { type: 'frame', obj, rights: RIGHTS.R | RIGHTS.W, mapping: null };
    case 'pagetable':
      return { type: 'pagetable', obj, mapping: null };
    default:
      return { type: kind, obj };
  }
}

/** Zeroes `bytes` of RAM from `base` (MK-OBJ-2), pricing one word store each. */
export function zeroMemory(w: World, log: Log, base: number, bytes: number): World {
  let memory = w.m.memory;
  for (let i = base >>> 2; i < (base + bytes) >>> 2; i++) {
    if (readWord(memory, i) !== 0) memory = writeWord(memory, i, 0);
    log.ops.push('wordCopy');
  }
  return { ...w, m: { ...w.m, memory } };
}

/** Creates one object in reserved memory, zeroing it where the kind needs; assigns a VSpace its ASID. */
export function createObject(w: World, log: Log, kind: RetypeKind, base: number, bits: number, device: boolean): { w: World; obj: ObjId } {
  const added = addObject(w.k, newObject(kind, base, bits, w.k.config.timeslice, device));
  let world: World = { ...w, k: added.k };
  if ((kind === 'frame' && !device) || kind === 'pagetable' || kind === 'vspace') world = zeroMemory(world, log, base, 2 ** bits);
  if (kind === 'vspace') {
    const asid = freeAsidNumber(world.k);
    const root = getObject(world.k, added.id);
    if (root?.type === 'pagetable') world = { ...world, k: assignAsid(setObject(world.k, added.id, { ...root, asid }), added.id, asid) };
  }
  return { w: world, obj: added.id };
}

/**
 * Where Retype puts `count` objects of 2^`bits` bytes in untyped `ut` (MK-OBJ-2): from the
 * watermark rounded up to the object size, one after another; null if they do not fit.
 */
export function carve(ut: Untyped, bits: number, count: number): { start: number; end: number } | null {
  const size = 2 ** bits;
  const start = Math.ceil((ut.base + ut.watermark) / size) * size;
  const end = start + count * size;
  return end > ut.base + 2 ** ut.sizeBits ? null : { start, end };
}

/**
 * Untyped_Retype (MK-OBJ-2): `count` objects of `type` from the untyped cap in `from`, their
 * caps into the empty slots `dest`. A new TCB belongs to `domain`, the domain of the thread
 * that made it (MK-ISO-1; seL4 gives it the current domain).
 */
export function retype(w: World, log: Log, from: SlotRef, type: number, userBits: number, dest: readonly SlotRef[], domain: number): KResult<World> {
  const src = slotContents(w.k, from);
  if (src?.cap.type !== 'untyped') return err(ERROR.INVALID_CAPABILITY);
  const ut = getObject(w.k, src.cap.obj);
  if (ut?.type !== 'untyped') return err(ERROR.INVALID_CAPABILITY);
  const kind = retypeKind(type);
  if (kind === null) return err(ERROR.INVALID_ARGUMENT);
  const bits = objectBits(kind, userBits, Math.log2(w.m.geometry.pageBytes));
  if (bits === null) return err(ERROR.RANGE_ERROR);
  if (dest.length < 1 || dest.length > MAX_RETYPE_COUNT) return err(ERROR.RANGE_ERROR);
  if (ut.device && kind !== 'frame' && kind !== 'untyped') return err(ERROR.INVALID_ARGUMENT);
  if (dest.some((d) => slotContents(w.k, d) !== null)) return err(ERROR.DELETE_FIRST);
  const place = carve(ut, bits, dest.length);
  if (place === null) return err(ERROR.NOT_ENOUGH_MEMORY);
  const { start, end } = place;
  const size = 2 ** bits;
  if (kind === 'vspace' && countFreeAsids(w.k) < dest.length) return err(ERROR.NOT_ENOUGH_MEMORY);
  let world: World = { ...w, k: setObject(w.k, src.cap.obj, { ...ut, watermark: end - ut.base }) };
  dest.forEach((slot, i) => {
    const created = createObject(world, log, kind, start + i * size, bits, ut.device);
    world = { ...created.w, k: insertCap(created.w.k, slot, originalCap(kind, created.obj), src.id) };
    // MK-ISO-1, MK-PROP-3: not domain 0 — that would put a thread into a domain its maker may not affect.
    const made = getObject(world.k, created.obj);
    if (made?.type === 'tcb') world = { ...world, k: setObject(world.k, created.obj, { ...made, domain }) };
  });
  return ok(world);
}

function countFreeAsids(k: KernelState): number {
  let n = 0;
  for (let a = 1; a < 256; a++) if ((k.asids[a] ?? null) === null) n++;
  return n;
}

