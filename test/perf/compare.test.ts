/**
 * PERF-CMP-1..3 and PERF-COST-4: the comparison report is the fold of the measured operations,
 * its categories account for every cycle, and no path anywhere carries a cost of its own.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { builtinArchs, builtinTable } from '../../src/perf/builtin.ts';
import { CATEGORIES, CATEGORY_OF, COMPARISONS, compare, measureComparisons } from '../../src/perf/compare.ts';
import { foldCost } from '../../src/perf/cost.ts';
import { measure, OPERATIONS } from '../../src/perf/operations.ts';
import { PRIMITIVE_OPS } from '../../src/perf/ops.ts';
import type { CostTable } from '../../src/perf/table.ts';

const table = (arch: string): CostTable => {
  const t = builtinTable(arch);
  if (E.isLeft(t)) throw new Error(t.left.message);
  return t.right;
};

const measured = measureComparisons();

describe('the comparison report', () => {
  it('PERF-CMP-1, PERF-CMP-3: under every table, each side is the fold of its measured operation and the ratio is hv/mk', () => {
    for (const arch of builtinArchs()) {
      const rows = compare(table(arch), undefined, measured);
      expect(rows.map((r) => r.work)).toEqual(COMPARISONS.map((c) => c.work));
      rows.forEach((row, i) => {
        expect(row.microkernel.operation).toBe(COMPARISONS[i]!.microkernel);
        expect(row.hypervisor.operation).toBe(COMPARISONS[i]!.hypervisor);
        expect(row.microkernel.cycles).toBe(foldCost(measure(COMPARISONS[i]!.microkernel).ops, table(arch)).cycles);
        expect(row.ratio).toBe(row.hypervisor.cycles / row.microkernel.cycles);
      });
    }
  });

  it('PERF-CMP-1: each design is measured on its own supervisor', () => {
    for (const c of COMPARISONS) {
      expect(measured.get(c.microkernel)!.supervisor).toBe('microkernel');
      expect(measured.get(c.hypervisor)!.supervisor).toBe('hypervisor');
    }
  });

  it('PERF-CMP-2: every primitive is in one category, and the categories of a side sum to its cycles', () => {
    for (const op of PRIMITIVE_OPS) expect(CATEGORIES).toContain(CATEGORY_OF[op]);
    for (const arch of builtinArchs()) {
      for (const row of compare(table(arch), undefined, measured)) {
        for (const side of [row.microkernel, row.hypervisor]) {
          const sum = CATEGORIES.reduce((s, c) => s + side.byCategory[c], 0);
          expect(sum).toBeCloseTo(side.cycles, 6);
        }
      }
    }
  });
});

describe('PERF-COST-4: no path carries a cost of its own', () => {
  // If any operation's cost held a constant besides its primitives, scaling every price by k
  // would not scale the operation by k.
  const all = OPERATIONS.map((name) => measure(name));
  it('scaling every price by k scales every operation by k', () => {
    fc.assert(
      fc.property(fc.constantFrom(...builtinArchs()), fc.integer({ min: 2, max: 9 }), (arch, k) => {
        const t = table(arch);
        const entries = Object.fromEntries(Object.entries(t.entries).map(([op, e]) => [op, { ...e, cycles: e.cycles * k }])) as CostTable['entries'];
        const scaled: CostTable = { ...t, entries };
        for (const m of all) expect(foldCost(m.ops, scaled).cycles).toBeCloseTo(k * foldCost(m.ops, t).cycles, 6);
      }),
      { numRuns: 10 },
    );
  });
});
