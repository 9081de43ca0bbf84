/**
 * Benchmark of cost folding: primitive operations priced per second, by `foldCost` (with its
 * per-operation breakdown) and by `cyclesOf` (the allocation-free sum for hot loops), over the
 * measured instance of page-fault-pager (the longest named operation). Asserts nothing.
 *
 *   npm run bench:cost          (default 200 000 folds; `npm run bench` runs every benchmark)
 */
import * as E from 'fp-ts/lib/Either.js';
import { builtinTable } from '../src/perf/builtin.ts';
import { cyclesOf, foldCost, overlapFactor, unitCosts } from '../src/perf/cost.ts';
import { measure } from '../src/perf/operations.ts';
import { envCount, isMain, printTable, timeLoop, type BenchResult } from './harness.ts';

/** The cost benchmarks: primitive operations folded per second. */
export function costBenchmarks(folds = envCount('BENCH_FOLDS', 200_000)): BenchResult[] {
  const table = builtinTable('skylake');
  if (E.isLeft(table)) throw new Error(table.left.message);
  const ops = measure('page-fault-pager').ops;
  const unit = unitCosts(table.right);
  const factor = overlapFactor(table.right);
  let sink = 0;
  // One iteration folds a whole path: time the folds, report primitive operations.
  const timed = (name: string, f: () => number): BenchResult => {
    const r = timeLoop(name, 'op', folds, () => (sink += f()), 10_000);
    return { ...r, count: folds * ops.length, note: `${folds} folds of ${ops.length} ops` };
  };
  const results = [timed(`cost fold: foldCost`, () => foldCost(ops, table.right).cycles), timed(`cost fold: cyclesOf`, () => cyclesOf(ops, unit, factor))];
  if (sink < 0) console.log(sink);
  return results;
}

if (isMain(import.meta.url)) printTable('cost folding benchmark', costBenchmarks());
