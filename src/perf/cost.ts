/**
 * Folding primitive operations over a cost table (PERF-COST-1..4). A path's cost is the sum of
 * its primitives' cycles under the table, adjusted by the modelling knobs, then reduced by
 * the table's out-of-order overlap — one parameter per table, never a fudge per path.
 *
 * @module
 */
import { PRIMITIVE_OPS, type OpList, type PrimitiveOp } from './ops.ts';
import type { CostTable } from './table.ts';

/** The modelling knobs (PERF-COST-2). */
export interface Knobs {
  /** Eager: FPU/vector state is saved and restored at every switch. Lazy: not at all (the model's programs never touch it, so no lazy trap is taken). */
  readonly fpu: 'eager' | 'lazy';
  /** Meltdown mitigation (page-table isolation): every kernel entry and exit also switches address space. */
  readonly pti: boolean;
  /** Where the microkernel runs: EL1, or EL2 (VHE-style), whose traps cost the table's el2KernelFactor times more. */
  readonly kernelAt: 'el1' | 'el2';
  /** Apply the table's out-of-order overlap. */
  readonly overlap: boolean;
}

export const DEFAULT_KNOBS: Knobs = { fpu: 'eager', pti: false, kernelAt: 'el1', overlap: true };

/** Cycles of one of each primitive under `table` and `knobs` (PERF-COST-2), before overlap. */
export function unitCosts(table: CostTable, knobs: Knobs = DEFAULT_KNOBS): Readonly<Record<PrimitiveOp, number>> {
  const unit = {} as Record<PrimitiveOp, number>;
  for (const op of PRIMITIVE_OPS) unit[op] = table.entries[op].cycles;
  if (knobs.fpu === 'lazy') {
    unit.fpuSave = 0;
    unit.fpuRestore = 0;
  }
  if (knobs.kernelAt === 'el2') {
    unit.trapEntryEl1 *= table.el2KernelFactor.value;
    unit.trapReturnEl1 *= table.el2KernelFactor.value;
  }
  if (knobs.pti) {
    unit.trapEntryEl1 += table.entries.addressSpaceSwitch.cycles;
    unit.trapReturnEl1 += table.entries.addressSpaceSwitch.cycles;
  }
  return unit;
}

export interface OpCost {
  readonly op: PrimitiveOp;
  readonly count: number;
  readonly cycles: number;
}

export interface Cost {
  /** Cycles after overlap. */
  readonly cycles: number;
  /** Cycles before overlap: the plain sum. */
  readonly raw: number;
  /** Per operation, in order of first appearance: how many and their cycles (before overlap). */
  readonly byOp: readonly OpCost[];
}

/** The overlap factor applied to a raw sum (PERF-COST-3). */
export function overlapFactor(table: CostTable, knobs: Knobs = DEFAULT_KNOBS): number {
  return knobs.overlap ? 1 - table.overlap.value : 1;
}

/** The cost of `ops` (PERF-COST-1): the fold of their unit costs, with overlap. */
export function foldCost(ops: OpList, table: CostTable, knobs: Knobs = DEFAULT_KNOBS): Cost {
  const unit = unitCosts(table, knobs);
  const counts = new Map<PrimitiveOp, number>();
  for (const op of ops) counts.set(op, (counts.get(op) ?? 0) + 1);
  const byOp: OpCost[] = [];
  let raw = 0;
  for (const [op, count] of counts) {
    const cycles = count * unit[op];
    raw += cycles;
    byOp.push({ op, count, cycles });
  }
  return { cycles: raw * overlapFactor(table, knobs), raw, byOp };
}

/** The cycles of `ops` only, for hot loops: no breakdown, no allocation beyond the price list. */
export function cyclesOf(ops: OpList, unit: Readonly<Record<PrimitiveOp, number>>, factor: number): number {
  let raw = 0;
  for (let i = 0; i < ops.length; i++) raw += unit[ops[i]!];
  return raw * factor;
}
