/**
 * `mkhv check <scenario.json>` (CLI-CHECK-1): explores every state the scenario's `check`
 * section reaches within its bounds (spec/model-checking.md), checking invariants, integrity and
 * optionally deadlock, and on a violation writes the shortest trace to it as an oracle trace
 * that `mkhv run` replays.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { checkTarget, type CheckRun } from '../check/index.ts';
import type { CheckTarget } from '../check/target.ts';
import { decodeScenario, INPUT_VERSION, TRACE_FORMAT } from '../oracle/formats.ts';
import { describeOptions, integerOption, parseOptions, type OptionSpec } from './args.ts';
import { readJsonFile } from './files.ts';
import { EXIT, type Io } from './io.ts';

export const CHECK_OPTIONS: readonly OptionSpec[] = [
  { name: 'depth', value: { placeholder: 'n' }, help: "the most events from boot (default: the scenario's check.depth, else unbounded)" },
  { name: 'states', value: { placeholder: 'n' }, help: "the most distinct states (default: the scenario's check.states, else unbounded)" },
  { name: 'time', value: { placeholder: 'seconds' }, help: 'stop after this long (default: no limit)' },
  { name: 'workers', value: { placeholder: 'n' }, help: 'explore with n worker threads (default 1: in this thread)' },
  { name: 'trace-out', value: { placeholder: 'file' }, help: 'write the counterexample trace to this file (default: print it)' },
  { name: 'progress', value: { placeholder: 'seconds' }, help: 'print a progress line to standard error this often (default 5; 0: never)' },
  { name: 'json', help: 'print the result as one JSON object' },
];

export const CHECK_HELP = [
  'usage: mkhv check <scenario.json> [options]',
  '',
  "Explores, breadth first, every state the scenario reaches under the events of its 'check'",
  'section, within its bounds: every distinct state is checked against every invariant of the',
  'supervisor, every transition against integrity, and (if asked) every state for deadlock. On a',
  'violation it prints the shortest trace from boot that reaches it, as a trace file for',
  "'mkhv run', and exits 1; otherwise it prints the state count and exits 0. See",
  'spec/model-checking.md.',
  '',
  'options:',
  ...describeOptions(CHECK_OPTIONS),
].join('\n');

const MAX_COUNT = 2 ** 31 - 1;

/** A trace file: one event per line, so that a counterexample reads as a list (ORC-FMT-3). */
export function traceText(events: readonly unknown[]): string {
  const body = events.map((e) => `    ${JSON.stringify(e)}`).join(',\n');
  return `{\n  "format": "${TRACE_FORMAT}",\n  "version": ${INPUT_VERSION},\n  "events": [${events.length === 0 ? '' : `\n${body}\n  `}]\n}\n`;
}

const rate = (n: number, ms: number): number => Math.round(n / Math.max(ms / 1000, 1e-3));
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

export async function runCheck(args: readonly string[], io: Io): Promise<number> {
  const parsed = parseOptions('check', args, CHECK_OPTIONS, 1);
  if (E.isLeft(parsed)) return usage(io, parsed.left);
  const { values, flags, positional } = parsed.right;
  const scenarioPath = positional[0];
  if (scenarioPath === undefined) return usage(io, 'check: give a scenario file');
  const depth = integerOption('check', values, 'depth', -1, 0, MAX_COUNT);
  if (E.isLeft(depth)) return usage(io, depth.left);
  const states = integerOption('check', values, 'states', -1, 1, MAX_COUNT);
  if (E.isLeft(states)) return usage(io, states.left);
  const time = integerOption('check', values, 'time', 0, 1, 7 * 24 * 3600);
  if (E.isLeft(time)) return usage(io, time.left);
  const workers = integerOption('check', values, 'workers', 1, 1, 64);
  if (E.isLeft(workers)) return usage(io, workers.left);
  const every = integerOption('check', values, 'progress', 5, 0, 3600);
  if (E.isLeft(every)) return usage(io, every.left);
  const json = readJsonFile(scenarioPath, 'scenario');
  if (E.isLeft(json)) return usage(io, `check: ${json.left.message}`);
  const scenario = decodeScenario(json.right);
  if (E.isLeft(scenario)) return usage(io, `check: ${scenarioPath}: ${scenario.left.message}`);
  const spec = scenario.right.check;
  if (spec === undefined) return usage(io, `check: ${scenarioPath}: the scenario has no 'check' section (spec/model-checking.md, CHK-SCN-1)`);
  const target = { supervisor: scenario.right.supervisor, machine: scenario.right.machine, boot: scenario.right.boot } as CheckTarget;

  const started = Date.now();
  let lastReport = started;
  const deadline = time.right === 0 ? Infinity : started + time.right * 1000;
  const run = await checkTarget(target, spec, {
    maxDepth: depth.right >= 0 ? depth.right : (spec.depth ?? Infinity),
    maxStates: states.right >= 0 ? states.right : (spec.states ?? Infinity),
    workers: workers.right,
    onProgress: (p) => {
      const now = Date.now();
      if (every.right > 0 && now - lastReport >= every.right * 1000) {
        lastReport = now;
        io.err(`  ${p.states} states, ${p.transitions} transitions, queue ${p.queue}, depth ${p.depth}, ${rate(p.states, now - started)} states/s`);
      }
    },
    shouldStop: () => Date.now() >= deadline,
  });
  if (E.isLeft(run)) return usage(io, `check: ${scenarioPath}: ${run.left.message}`);
  const ms = Date.now() - started;
  return report(io, scenarioPath, scenario.right.name ?? scenarioPath, run.right, ms, values.get('trace-out'), flags.has('json'));
}

function verdictOf(r: CheckRun): 'holds' | 'violated' {
  return r.result.violation === null ? 'holds' : 'violated';
}

function boundOf(r: CheckRun): string {
  const x = r.result;
  return x.exhausted ? 'exhausted: every reachable state' : x.depthBounded ? `depth bound ${x.depth} reached` : x.stopped ? 'time bound reached' : 'state bound reached';
}

function report(io: Io, scenarioPath: string, name: string, run: CheckRun, ms: number, traceOut: string | undefined, json: boolean): number {
  const r = run.result;
  const v = r.violation;
  if (v !== null && traceOut !== undefined) {
    try {
      writeFileSync(traceOut, traceText(v.trace));
    } catch (e) {
      return usage(io, `check: cannot write '${traceOut}' (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  const peak = process.resourceUsage().maxRSS * 1024;
  if (json) {
    io.out(
      JSON.stringify({
        scenario: name,
        verdict: verdictOf(run),
        states: r.states,
        transitions: r.transitions,
        depth: r.depth,
        exhausted: r.exhausted,
        depthBounded: r.depthBounded,
        stopped: r.stopped,
        workers: run.workers,
        seconds: ms / 1000,
        statesPerSecond: rate(r.states, ms),
        bytesPerState: Math.round(r.bytesPerState),
        peakRssBytes: peak,
        ...(v === null ? {} : { violation: { kind: v.kind, name: v.name, details: v.details, fingerprint: v.fingerprint, trace: { format: TRACE_FORMAT, version: INPUT_VERSION, events: v.trace } } }),
      }),
    );
    return v === null ? EXIT.OK : EXIT.FAILED;
  }
  io.out(`mkhv check: ${name}: ${r.states} distinct states, ${r.transitions} transitions, depth ${r.depth} (${boundOf(run)})`);
  io.out(`  ${(ms / 1000).toFixed(1)} s, ${rate(r.states, ms)} states/s, ${run.workers} worker${run.workers === 1 ? '' : 's'}, ${Math.round(r.bytesPerState)} B/state in the visited set, peak RSS ${mib(peak)}`);
  if (v === null) {
    io.out(`  verdict: holds — every state checked satisfies every invariant${run.integrity ? ', every transition integrity' : ''}${run.deadlock ? ', and none is a deadlock' : ''}`);
    return EXIT.OK;
  }
  io.out(`  verdict: VIOLATED — ${v.kind === 'invariant' ? `invariant '${v.name}'` : v.kind} after ${v.trace.length} event${v.trace.length === 1 ? '' : 's'}, in state ${v.fingerprint}:`);
  for (const d of v.details.slice(0, 10)) io.out(`    ${d}`);
  if (v.details.length > 10) io.out(`    … ${v.details.length - 10} more`);
  if (traceOut !== undefined) {
    io.out(`  the shortest trace is in ${traceOut}; replay it with: mkhv run ${scenarioPath} ${traceOut}`);
  } else {
    io.out(`  the shortest trace (save it and replay it with mkhv run ${scenarioPath} <file>):`);
    for (const line of traceText(v.trace).trimEnd().split('\n')) io.out(line);
  }
  return EXIT.FAILED;
}

function usage(io: Io, message: string): number {
  io.err(`mkhv: ${message}`);
  io.err(`Try 'mkhv check --help'.`);
  return EXIT.USAGE;
}
