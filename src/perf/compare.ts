/**
 * The comparison report (PERF-CMP-1..3): the microkernel and the hypervisor side by side on the
 * same work, under one cost table, with where the cycles go. Each side is a named operation
 * measured by running the model (PERF-OPS-1); nothing in the report is typed in.
 *
 * @module
 */
import { foldCost, type Knobs, DEFAULT_KNOBS } from './cost.ts';
import { measure, type Measurement, type OperationName } from './operations.ts';
import type { PrimitiveOp } from './ops.ts';
import type { CostTable } from './table.ts';

/** PERF-CMP-1: the same work on each design. */
export const COMPARISONS = [
  { work: 'client/server request', microkernel: 'ipc-roundtrip', hypervisor: 'evtchn-roundtrip' },
  { work: 'page fault', microkernel: 'page-fault-pager', hypervisor: 'stage2-fault' },
  { work: 'device interrupt', microkernel: 'irq-to-driver', hypervisor: 'irq-to-guest' },
  { work: 'I/O request', microkernel: 'driver-request', hypervisor: 'pv-request' },
] as const satisfies readonly { work: string; microkernel: OperationName; hypervisor: OperationName }[];

/** Where cycles go (PERF-CMP-2). */
export const CATEGORIES = ['instructions', 'traps', 'context', 'interrupts', 'memory', 'devices', 'system registers'] as const;
export type Category = (typeof CATEGORIES)[number];

/**
 * The category of each primitive (PERF-CMP-2): a total map, so a new primitive does not compile
 * until it is placed.
 */
export const CATEGORY_OF: Readonly<Record<PrimitiveOp, Category>> = {
  instruction: 'instructions',
  wfi: 'instructions',
  trapEntryEl1: 'traps',
  trapEntryEl2: 'traps',
  trapReturnEl1: 'traps',
  trapReturnEl2: 'traps',
  regSave: 'traps',
  regRestore: 'traps',
  vmExit: 'traps',
  vmEntry: 'traps',
  fpuSave: 'context',
  fpuRestore: 'context',
  sysregBankSave: 'context',
  sysregBankRestore: 'context',
  addressSpaceSwitch: 'context',
  irqDelivery: 'interrupts',
  virtualIrqDelivery: 'interrupts',
  irqAck: 'interrupts',
  eoi: 'interrupts',
  ipi: 'interrupts',
  dataAccess: 'memory',
  cacheMiss: 'memory',
  wordCopy: 'memory',
  tlbMiss: 'memory',
  pageWalkStep: 'memory',
  nestedWalkStep: 'memory',
  tlbiVa: 'memory',
  tlbiAsid: 'memory',
  tlbiVmid: 'memory',
  tlbiAll: 'memory',
  tlbiBroadcast: 'memory',
  mmioAccess: 'devices',
  dmaWord: 'devices',
  iommuWalkStep: 'devices',
  sysregRead: 'system registers',
  sysregWrite: 'system registers',
};

export interface Side {
  readonly operation: OperationName;
  readonly steps: number;
  /** Cycles after overlap. */
  readonly cycles: number;
  /** Cycles per category, after overlap; they sum to `cycles`. */
  readonly byCategory: Readonly<Record<Category, number>>;
}

export interface ComparisonRow {
  readonly work: string;
  readonly microkernel: Side;
  readonly hypervisor: Side;
  /** Hypervisor cycles over microkernel cycles. */
  readonly ratio: number;
}

function side(m: Measurement, table: CostTable, knobs: Knobs): Side {
  const cost = foldCost(m.ops, table, knobs);
  const scale = cost.raw === 0 ? 0 : cost.cycles / cost.raw;
  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  for (const o of cost.byOp) byCategory[CATEGORY_OF[o.op]] += o.cycles * scale;
  return { operation: m.operation, steps: m.steps, cycles: cost.cycles, byCategory };
}

/** The measurements the report needs, run once; they do not depend on the table. */
export function measureComparisons(): ReadonlyMap<OperationName, Measurement> {
  const out = new Map<OperationName, Measurement>();
  for (const c of COMPARISONS) {
    out.set(c.microkernel, measure(c.microkernel));
    out.set(c.hypervisor, measure(c.hypervisor));
  }
  return out;
}

/** The report under one table (PERF-CMP-1..3). */
export function compare(table: CostTable, knobs: Knobs = DEFAULT_KNOBS, measured: ReadonlyMap<OperationName, Measurement> = measureComparisons()): ComparisonRow[] {
  return COMPARISONS.map((c) => {
    const microkernel = side(measured.get(c.microkernel)!, table, knobs);
    const hypervisor = side(measured.get(c.hypervisor)!, table, knobs);
    return { work: c.work, microkernel, hypervisor, ratio: hypervisor.cycles / microkernel.cycles };
  });
}
