/**
 * `mkhv cost` (CLI-COST-1): the cycles of a named operation, measured by running the model,
 * under a microarchitecture's cost table and the modelling knobs; with a breakdown by
 * primitive operation, or all operations as one table.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { builtinArchs, builtinTable } from '../perf/builtin.ts';
import { DEFAULT_KNOBS, foldCost, type Knobs } from '../perf/cost.ts';
import { CATEGORIES, compare, measureComparisons } from '../perf/compare.ts';
import { measure, OPERATIONS, type OperationName } from '../perf/operations.ts';
import type { CostTable } from '../perf/table.ts';
import { describeOptions, parseOptions, type OptionSpec } from './args.ts';
import { EXIT, type Io } from './io.ts';

export const COST_OPTIONS: readonly OptionSpec[] = [
  { name: 'arch', value: { placeholder: 'id', choices: builtinArchs() }, help: 'the cost table to use' },
  { name: 'op', value: { placeholder: 'name', choices: OPERATIONS }, help: 'the operation to measure' },
  { name: 'all', help: 'measure every operation and print one table' },
  { name: 'compare', help: 'the microkernel and the hypervisor side by side on the same work (every table unless --arch)' },
  { name: 'fpu', value: { placeholder: 'policy', choices: ['eager', 'lazy'] }, help: 'FPU state switching (default eager)' },
  { name: 'pti', help: 'Meltdown mitigation: an address-space switch on every kernel entry and exit' },
  { name: 'kernel-at', value: { placeholder: 'level', choices: ['el1', 'el2'] }, help: 'where the microkernel runs (default el1)' },
  { name: 'no-overlap', help: 'sum primitives without the table\'s out-of-order overlap' },
  { name: 'json', help: 'print JSON instead of text' },
];

export const COST_HELP = [
  'usage: mkhv cost --arch <id> (--op <name> | --all) [options]',
  '       mkhv cost --compare [--arch <id>] [options]',
  '',
  'Builds the scenario of a named operation, runs it once to warm the caches and TLBs, runs it',
  'again and prints the cycles of the second run under the chosen cost table, with the primitive',
  'operations it was made of. No path cost is ever typed in: it is the fold of what the model did.',
  'With --compare, puts the two designs side by side on a client/server request, a page fault,',
  'a device interrupt and an I/O request, with where the cycles go.',
  '',
  'options:',
  ...describeOptions(COST_OPTIONS),
].join('\n');

function knobsFrom(values: ReadonlyMap<string, string>, flags: ReadonlySet<string>): Knobs {
  return {
    fpu: (values.get('fpu') as Knobs['fpu'] | undefined) ?? DEFAULT_KNOBS.fpu,
    pti: flags.has('pti'),
    kernelAt: (values.get('kernel-at') as Knobs['kernelAt'] | undefined) ?? DEFAULT_KNOBS.kernelAt,
    overlap: !flags.has('no-overlap'),
  };
}

export function runCost(args: readonly string[], io: Io): number {
  const parsed = parseOptions('cost', args, COST_OPTIONS);
  if (E.isLeft(parsed)) return usage(io, parsed.left);
  const { values, flags } = parsed.right;
  const arch = values.get('arch');
  const op = values.get('op') as OperationName | undefined;
  const modes = [op !== undefined, flags.has('all'), flags.has('compare')].filter(Boolean).length;
  if (modes !== 1) return usage(io, "cost: give exactly one of '--op <name>', '--all' and '--compare'");
  if (flags.has('compare')) return runCompare(arch === undefined ? builtinArchs() : [arch], knobsFrom(values, flags), flags.has('json'), io);
  if (arch === undefined) return usage(io, "cost: missing option '--arch'");
  const table = builtinTable(arch);
  if (E.isLeft(table)) return usage(io, `cost: ${table.left.message}`);
  const knobs = knobsFrom(values, flags);
  const names: readonly OperationName[] = op === undefined ? OPERATIONS : [op];
  const results = names.map((name) => {
    const m = measure(name);
    return { name, supervisor: m.supervisor, steps: m.steps, cost: foldCost(m.ops, table.right, knobs) };
  });
  if (flags.has('json')) {
    io.out(JSON.stringify({ arch, knobs, operations: results.map((r) => ({ operation: r.name, supervisor: r.supervisor, steps: r.steps, cycles: r.cost.cycles, raw: r.cost.raw, breakdown: r.cost.byOp })) }));
    return EXIT.OK;
  }
  io.out(describeKnobs(table.right, knobs));
  if (op !== undefined) {
    const r = results[0]!;
    io.out(`${r.name} (${r.supervisor}, ${r.steps} step${r.steps === 1 ? '' : 's'}): ${Math.round(r.cost.cycles)} cycles (${Math.round(r.cost.raw)} before overlap)`);
    for (const o of [...r.cost.byOp].sort((a, b) => b.cycles - a.cycles)) {
      io.out(`  ${o.op.padEnd(20)} ${String(o.count).padStart(4)} × ${(o.cycles / o.count).toFixed(0).padStart(5)} = ${o.cycles.toFixed(0).padStart(7)}`);
    }
    return EXIT.OK;
  }
  io.out(`${'operation'.padEnd(18)} ${'supervisor'.padEnd(12)} ${'steps'.padStart(5)} ${'cycles'.padStart(8)}  largest parts`);
  for (const r of results) {
    const top = [...r.cost.byOp].sort((a, b) => b.cycles - a.cycles).slice(0, 3).map((o) => `${o.op} ${Math.round(o.cycles)}`).join(', ');
    io.out(`${r.name.padEnd(18)} ${r.supervisor.padEnd(12)} ${String(r.steps).padStart(5)} ${Math.round(r.cost.cycles).toString().padStart(8)}  ${top}`);
  }
  return EXIT.OK;
}

function describeKnobs(table: CostTable, knobs: Knobs): string {
  return `${table.name} (${table.arch}); fpu ${knobs.fpu}, pti ${knobs.pti ? 'on' : 'off'}, kernel at ${knobs.kernelAt.toUpperCase()}, overlap ${knobs.overlap ? table.overlap.value : 'off'}`;
}

/** `--compare` (CLI-COST-2): the comparison report (PERF-CMP-1..3) under each table. */
function runCompare(archs: readonly string[], knobs: Knobs, json: boolean, io: Io): number {
  const tables: CostTable[] = [];
  for (const arch of archs) {
    const table = builtinTable(arch);
    if (E.isLeft(table)) return usage(io, `cost: ${table.left.message}`);
    tables.push(table.right);
  }
  const measured = measureComparisons();
  const reports = tables.map((table) => ({ table, rows: compare(table, knobs, measured) }));
  if (json) {
    io.out(JSON.stringify({ knobs, reports: reports.map((r) => ({ arch: r.table.arch, rows: r.rows })) }));
    return EXIT.OK;
  }
  reports.forEach(({ table, rows }, i) => {
    if (i > 0) io.out('');
    io.out(describeKnobs(table, knobs));
    for (const row of rows) {
      io.out(`${row.work}: microkernel ${row.microkernel.operation} ${Math.round(row.microkernel.cycles)} cycles, hypervisor ${row.hypervisor.operation} ${Math.round(row.hypervisor.cycles)} cycles (${row.ratio.toFixed(2)}×)`);
      for (const c of CATEGORIES) {
        const mk = row.microkernel.byCategory[c];
        const hv = row.hypervisor.byCategory[c];
        if (mk === 0 && hv === 0) continue;
        io.out(`  ${c.padEnd(18)} ${Math.round(mk).toString().padStart(7)} ${Math.round(hv).toString().padStart(7)}`);
      }
    }
  });
  return EXIT.OK;
}

function usage(io: Io, message: string): number {
  io.err(`mkhv: ${message}`);
  io.err(`Try 'mkhv cost --help'.`);
  return EXIT.USAGE;
}
