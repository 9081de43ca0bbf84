/**
 * `mkhv diff <scenario> --impl "<command>"` (CLI-DIFF-1): drives another implementation of
 * the serve protocol with random traces of the scenario and compares its records with mkhv's
 * step by step (spec/oracle.md, ORC-DIFF-1..6). Exit 0 when every trace agreed, 1 on a
 * difference (printed with the shrunk trace, ready for `mkhv run`), 2 on bad usage or input
 * or an implementation that could not be driven.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { inProcessClient, spawnClient, DEFAULT_TIMEOUT_MS } from '../oracle/client.ts';
import type { Difference } from '../oracle/compare.ts';
import { runDiff, type DiffResult } from '../oracle/diff.ts';
import { decodeScenario } from '../oracle/formats.ts';
import { bootInstance } from '../oracle/instance.ts';
import { DEFAULT_ARCH } from '../oracle/session.ts';
import { builtinArchs, builtinTable } from '../perf/builtin.ts';
import { describeOptions, integerOption, parseOptions, type OptionSpec } from './args.ts';
import { readJsonFile } from './files.ts';
import { EXIT, type Io } from './io.ts';

const DEFAULT_RUNS = 100;
const DEFAULT_LENGTH = 40;

export const DIFF_OPTIONS: readonly OptionSpec[] = [
  { name: 'impl', value: { placeholder: 'command' }, help: 'the implementation to check: a shell command that speaks the serve protocol (required)' },
  { name: 'runs', value: { placeholder: 'n' }, help: `how many random traces to try (default ${DEFAULT_RUNS})` },
  { name: 'length', value: { placeholder: 'n' }, help: `the most events in one trace (default ${DEFAULT_LENGTH})` },
  { name: 'seed', value: { placeholder: 's' }, help: 'the random seed, a 32-bit integer (default: a fresh one, printed)' },
  { name: 'path', value: { placeholder: 'p' }, help: 'with --seed, replay the shrunk trace a previous run printed' },
  { name: 'arch', value: { placeholder: 'id', choices: builtinArchs() }, help: `the cost table both sides price cycles under (default ${DEFAULT_ARCH})` },
  { name: 'timeout', value: { placeholder: 'seconds' }, help: `how long the implementation may take to answer one request (default ${DEFAULT_TIMEOUT_MS / 1000})` },
  { name: 'json', help: 'print one JSON object instead of text' },
];

export const DIFF_HELP = [
  'usage: mkhv diff <scenario.json> --impl "<command>" [options]',
  '',
  'Starts <command> (through the shell), speaks the serve protocol to it and to mkhv, loads the',
  'scenario on both, and replays random traces of events on both, comparing their step records',
  'field by field over the capabilities both declare. The first trace on which they differ is',
  'shrunk to a short one and printed as a trace file with the first differing field and both',
  'values; save it and replay it with `mkhv run`. The protocol and the comparison are specified',
  'in spec/oracle.md; examples/README.md shows a run against an implementation with a planted bug.',
  '',
  'Exit status: 0 no difference, 1 a difference, 2 bad usage or input, or an implementation',
  'that refused the scenario, died, stalled or wrote something that is not a response.',
  '',
  'options:',
  ...describeOptions(DIFF_OPTIONS),
].join('\n');

/** A whole number in [min, max], or an error naming the option. */
export async function runDiffCommand(args: readonly string[], io: Io): Promise<number> {
  const parsed = parseOptions('diff', args, DIFF_OPTIONS, 1);
  if (E.isLeft(parsed)) return usage(io, parsed.left);
  const { values, flags, positional } = parsed.right;
  const scenarioPath = positional[0];
  if (scenarioPath === undefined) return usage(io, 'diff: give a scenario file');
  const command = values.get('impl');
  if (command === undefined || command.trim() === '') return usage(io, "diff: give the implementation to check with --impl '<command>'");
  const runs = integerOption('diff', values, 'runs', DEFAULT_RUNS, 1, 1_000_000);
  if (E.isLeft(runs)) return usage(io, runs.left);
  const length = integerOption('diff', values, 'length', DEFAULT_LENGTH, 1, 10_000);
  if (E.isLeft(length)) return usage(io, length.left);
  // A fresh seed unless one is given; it is always printed, so any run can be repeated.
  const seed = integerOption('diff', values, 'seed', Math.floor(Math.random() * 2 ** 31), -(2 ** 31), 2 ** 31 - 1);
  if (E.isLeft(seed)) return usage(io, seed.left);
  const path = values.get('path');
  if (path !== undefined && !/^\d+(:\d+)*$/.test(path)) return usage(io, `diff: --path must be numbers separated by ':' as a previous run printed it (got '${path}')`);
  if (path !== undefined && !values.has('seed')) return usage(io, 'diff: --path needs the --seed it was printed with');
  const timeoutRaw = values.get('timeout');
  const timeout = timeoutRaw === undefined ? DEFAULT_TIMEOUT_MS / 1000 : /^\d+(\.\d+)?$/.test(timeoutRaw) ? Number(timeoutRaw) : NaN;
  if (!(timeout >= 0.1 && timeout <= 3600)) return usage(io, `diff: --timeout must be a number of seconds from 0.1 to 3600 (got '${timeoutRaw}')`);
  const arch = values.get('arch') ?? DEFAULT_ARCH;

  // The scenario is checked here, as `mkhv run` checks it, before any process is started.
  const scenarioJson = readJsonFile(scenarioPath, 'scenario');
  if (E.isLeft(scenarioJson)) return usage(io, `diff: ${scenarioJson.left.message}`);
  const scenario = decodeScenario(scenarioJson.right);
  if (E.isLeft(scenario)) return usage(io, `diff: ${scenarioPath}: ${scenario.left.message}`);
  const table = builtinTable(arch);
  if (E.isLeft(table)) return usage(io, `diff: ${table.left.message}`);
  const booted = bootInstance(scenario.right, table.right);
  if (E.isLeft(booted)) return usage(io, `diff: ${scenarioPath}: ${booted.left.message}`);

  const impl = spawnClient(command, { timeoutMs: Math.round(timeout * 1000) });
  let result: DiffResult;
  try {
    result = await runDiff(scenarioJson.right, scenario.right, inProcessClient(), impl, { runs: runs.right, length: length.right, seed: seed.right, arch, ...(path === undefined ? {} : { path }) });
  } finally {
    await impl.close();
  }

  // CLI-DIFF-1: an implementation that cannot be driven is exit 2, in one line naming it.
  if (result.kind === 'broken') {
    io.err(`mkhv: diff: ${result.error.message}`);
    return EXIT.USAGE;
  }
  const json = flags.has('json');
  if (result.kind === 'same') {
    if (json) {
      io.out(JSON.stringify({ result: 'same', scenario: scenarioPath, impl: command, seed: result.seed, runs: result.runs, steps: result.steps, capabilities: result.capabilities }));
    } else {
      io.out(`mkhv diff: no difference in ${result.runs} runs, ${result.steps} steps compared over ${result.capabilities.length === 0 ? 'index only' : `index, ${result.capabilities.join(', ')}`} (seed ${result.seed})`);
    }
    return EXIT.OK;
  }
  const reproduce = ['mkhv diff', quote(scenarioPath), '--impl', quote(command), '--seed', String(result.seed), '--path', result.path, ...(values.has('length') ? ['--length', String(length.right)] : []), ...(values.has('arch') ? ['--arch', arch] : [])].join(' ');
  if (json) {
    io.out(
      JSON.stringify({
        result: 'different',
        scenario: scenarioPath,
        impl: command,
        seed: result.seed,
        path: result.path,
        runs: result.runs,
        shrinks: result.shrinks,
        steps: result.steps,
        capabilities: result.capabilities,
        difference: result.difference,
        trace: result.trace,
        reproduce,
      }),
    );
    return EXIT.FAILED;
  }
  const d = result.difference;
  io.out(`mkhv diff: '${command}' differs from mkhv at step ${d.index} (found on run ${result.runs}, trace shrunk in ${plural(result.shrinks, 'step')} to ${plural(result.trace.events.length, 'event')})`);
  io.out(`  field:     ${d.path}`);
  io.out(`  mkhv:      ${show(d, 'expected')}`);
  io.out(`  impl:      ${show(d, 'actual')}`);
  io.out(`  reproduce: ${reproduce}`);
  io.out('  replay:    save the trace below as trace.json, then: mkhv run ' + quote(scenarioPath) + ' trace.json');
  for (const line of traceLines(result.trace.events)) io.out(line);
  return EXIT.FAILED;
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** A value of the difference for people; a side with nothing there is "(absent)". */
function show(d: Difference, side: 'expected' | 'actual'): string {
  return Object.hasOwn(d, side) && d[side] !== undefined ? JSON.stringify(d[side]) : '(absent)';
}

/** The trace as JSON, one event per line: valid as a whole, readable, and easy to cut. */
function traceLines(events: readonly unknown[]): string[] {
  if (events.length === 0) return ['{"format":"mkhv-trace","version":1,"events":[]}'];
  return ['{"format":"mkhv-trace","version":1,"events":[', ...events.map((e, i) => `  ${JSON.stringify(e)}${i < events.length - 1 ? ',' : ''}`), ']}'];
}

/** Quotes a word for a POSIX shell when it needs it. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function usage(io: Io, message: string): number {
  io.err(`mkhv: ${message}`);
  io.err(`Try 'mkhv diff --help'.`);
  return EXIT.USAGE;
}
