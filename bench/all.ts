/**
 * `npm run bench`: every benchmark of the model, as one table — instructions per second of the
 * hardware's execute, steps per second of system/step under each supervisor, and primitive
 * operations per second of cost folding. Counts can be set with BENCH_INSNS, BENCH_STEPS and
 * BENCH_FOLDS.
 */
import { costBenchmarks } from './cost.bench.ts';
import { printTable } from './harness.ts';
import { hvBenchmarks } from './hv.bench.ts';
import { hwBenchmarks } from './hw.bench.ts';
import { mkBenchmarks } from './mk.bench.ts';

printTable('mkhv benchmarks', [...hwBenchmarks(), ...mkBenchmarks(), ...hvBenchmarks(), ...costBenchmarks()]);
