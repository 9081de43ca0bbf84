/**
 * Minimal kernel states for running one of the kernel's invariant checks on a handful of
 * objects — how the range and rights lemmas reach the arithmetic inside those checks.
 *
 * @module
 */
import { resetMachine, TINY_MACHINE, type Machine } from '../../src/hw/index.ts';
import { KERNEL_INVARIANTS, type Cap, type KernelObject, type KernelState } from '../../src/kernel/index.ts';

const MACHINE: Machine = resetMachine(TINY_MACHINE);

/** A kernel state holding just `objects`, with nothing scheduled. */
export function stateWith(objects: readonly (KernelObject | null)[]): KernelState {
  return {
    config: { timeslice: 1, domainSchedule: [], domainNames: [], idlePc: 0 },
    objects,
    nextCapId: 1000,
    cpus: [],
    ready: [],
    domainIndex: 0,
    domainTicksLeft: 0,
    asids: [],
    irqs: [],
  };
}

/** The violations the kernel invariant `name` (MK-INV-*) reports for `k`. */
export function violations(name: string, k: KernelState): string[] {
  const inv = KERNEL_INVARIANTS.find((i) => i.name === name);
  if (inv === undefined) throw new Error(`no kernel invariant '${name}'`);
  return inv.check(MACHINE, k);
}

/** Kinds of cap that carry rights, with an object of that kind at address 0. */
export const RIGHTS_KINDS = ['endpoint', 'notification', 'frame'] as const;
export type RightsKind = (typeof RIGHTS_KINDS)[number];

export function capWithRights(kind: RightsKind, rights: number, badge = 0): Cap {
  return kind === 'frame' ? { type: 'frame', obj: 0, rights, mapping: null } : { type: kind, obj: 0, badge, rights };
}

export function objectOfKind(kind: RightsKind): KernelObject {
  switch (kind) {
    case 'endpoint':
      return { type: 'endpoint', base: 0, sizeBits: 4, queue: { kind: 'idle' } };
    case 'notification':
      return { type: 'notification', base: 0, sizeBits: 4, word: 0, waiting: [], boundTcb: null };
    case 'frame':
      return { type: 'frame', base: 0, sizeBits: 6, device: false };
  }
}
