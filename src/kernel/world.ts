/**
 * The world a kernel entry works on — the machine and the kernel state together — and the
 * log one entry writes: primitive operations, observations and thread-state transitions.
 *
 * Every kernel operation is a function `(world, log, ...) => world`. The log is a fresh,
 * local accumulator for one kernel entry (a writer, in functional terms): it never outlives
 * the pure `handleTrap` that creates it.
 *
 * @module
 */
import type { Machine } from '../hw/index.ts';
import type { PrimitiveOp } from '../perf/ops.ts';
import type { CNode, Cte, KernelObject, KernelState, ObjId, Tcb, ThreadStateKind } from './types.ts';

export interface World {
  readonly m: Machine;
  readonly k: KernelState;
}

/** Something a domain can observe happen (delivered to the oracle's step record). */
export interface KernelObservation {
  /** The thread it concerns. */
  readonly thread: ObjId;
  readonly kind: 'message' | 'signal' | 'fault' | 'reply' | 'error' | 'stopped';
  readonly values: readonly number[];
}

/** A thread-state change, with the statechart event that caused it (MK-OBJ-3). */
export interface ThreadTransition {
  readonly thread: ObjId;
  readonly from: ThreadStateKind;
  readonly to: ThreadStateKind;
  readonly event: string;
}

export interface Log {
  /** The CPU the kernel was entered on. */
  readonly cpu: number;
  readonly ops: PrimitiveOp[];
  readonly observations: KernelObservation[];
  readonly transitions: ThreadTransition[];
}

export function newLog(cpu: number): Log {
  return { cpu, ops: [], observations: [], transitions: [] };
}

export function getObject(k: KernelState, id: ObjId | null): KernelObject | null {
  return id === null ? null : (k.objects[id] ?? null);
}

export function getTcb(k: KernelState, id: ObjId): Tcb {
  const o = k.objects[id];
  if (o?.type !== 'tcb') throw new Error(`kernel: object ${id} is not a TCB`);
  return o;
}

export function getCNode(k: KernelState, id: ObjId): CNode {
  const o = k.objects[id];
  if (o?.type !== 'cnode') throw new Error(`kernel: object ${id} is not a CNode`);
  return o;
}

/** Replaces object `id` (null deletes it). */
export function setObject(k: KernelState, id: ObjId, obj: KernelObject | null): KernelState {
  const objects = k.objects.slice();
  objects[id] = obj;
  return { ...k, objects };
}

export function updateTcb(w: World, id: ObjId, patch: Partial<Omit<Tcb, 'type'>>): World {
  return { ...w, k: setObject(w.k, id, { ...getTcb(w.k, id), ...patch }) };
}

/** Appends a new object; returns its id. */
export function addObject(k: KernelState, obj: KernelObject): { k: KernelState; id: ObjId } {
  return { k: { ...k, objects: [...k.objects, obj] }, id: k.objects.length };
}

/** A fresh capability id. */
export function takeCapId(k: KernelState): { k: KernelState; id: number } {
  return { k: { ...k, nextCapId: k.nextCapId + 1 }, id: k.nextCapId };
}

/** Replaces slot `index` of CNode `cnode`. */
export function setSlot(k: KernelState, cnode: ObjId, index: number, cte: Cte | null): KernelState {
  const node = getCNode(k, cnode);
  const slots = node.slots.slice();
  slots[index] = cte;
  return setObject(k, cnode, { ...node, slots });
}

/** The CPU whose current thread is `t`, or -1. */
export function cpuRunning(k: KernelState, t: ObjId): number {
  return k.cpus.findIndex((c) => c.current === t);
}
