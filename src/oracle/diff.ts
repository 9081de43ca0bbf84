/**
 * The differential driver (ORC-DIFF-1..6 in spec/oracle.md): mkhv and another implementation
 * load the same scenario and replay the same random traces through the serve protocol; their
 * records are compared step by step, and fast-check shrinks the first trace on which they
 * differ to a short one that still does.
 *
 * The driver knows nothing about processes or printing: it gets two {@link ServeClient}s
 * (mkhv's, usually in-process, and the implementation's) and returns what it found as a
 * value. `mkhv diff` (src/cli/diff.ts) starts the implementation and prints the outcome.
 *
 * @module
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { mkError, type MkhvError } from '../hw/index.ts';
import type { SystemEvent } from '../system/index.ts';
import type { ServeClient, ServeResponse } from './client.ts';
import { compareRecords, sharedCapabilities, type Difference } from './compare.ts';
import { INPUT_VERSION, TRACE_FORMAT, type Scenario, type Trace } from './formats.ts';
import { RECORD_FORMAT, RECORD_VERSION, type Capability } from './record.ts';
import { traceArbitrary, traceShape } from './traces.ts';

export interface DiffOptions {
  /** Traces to try (fast-check's `numRuns`). */
  readonly runs: number;
  /** The most events in one trace. */
  readonly length: number;
  readonly seed: number;
  /** fast-check's replay path of an earlier failure: replays that trace and its shrinking only. */
  readonly path?: string;
  /** The cost table both sides price cycles under. */
  readonly arch: string;
}

/** What a diff found (ORC-DIFF-4): agreement, a difference on a shrunk trace, or a broken setup. */
export type DiffResult =
  | { readonly kind: 'same'; readonly runs: number; readonly steps: number; readonly capabilities: readonly Capability[]; readonly seed: number }
  | {
      readonly kind: 'different';
      readonly difference: Difference;
      /** The shrunk trace, ending at the step that differs: replayable with `mkhv run`. */
      readonly trace: Trace;
      readonly seed: number;
      /** fast-check's path to the shrunk trace: with the seed, `--path` replays it directly. */
      readonly path: string;
      /** Traces tried until the first difference, and the shrinking steps taken after it. */
      readonly runs: number;
      readonly shrinks: number;
      readonly steps: number;
      readonly capabilities: readonly Capability[];
    }
  /** The implementation could not be driven (it refused, died, stalled or spoke nonsense): exit 2. */
  | { readonly kind: 'broken'; readonly error: MkhvError };

const major = (version: unknown): string | null => (typeof version === 'string' && /^\d+\.\d+$/.test(version) ? version.split('.')[0]! : null);

const errorText = (r: ServeResponse): string => {
  const e = r['error'];
  return typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string' ? (e as { message: string }).message : JSON.stringify(e);
};

/** ORC-DIFF-5: `hello`, then the record format and its major version must be mkhv's. */
async function hello(client: ServeClient): Promise<E.Either<MkhvError, ServeResponse>> {
  const r = await client.request({ type: 'hello' });
  if (E.isLeft(r)) return r;
  if (!r.right.ok) return E.left(mkError('diff.hello', `implementation '${client.name}' refused 'hello': ${errorText(r.right)}`));
  const { format, version } = r.right;
  if (format !== RECORD_FORMAT || major(version) !== major(RECORD_VERSION)) {
    return E.left(
      mkError('diff.version', `implementation '${client.name}' speaks ${JSON.stringify(format)} version ${JSON.stringify(version)}; mkhv diff needs '${RECORD_FORMAT}' version ${major(RECORD_VERSION)}.x`),
    );
  }
  return r;
}

/** Loads the scenario; the capabilities are those of the record header (ORC-REC-1), else of `hello`. */
async function load(client: ServeClient, scenario: unknown, arch: string, greeting: ServeResponse): Promise<E.Either<MkhvError, { capabilities: unknown; domains: readonly string[] }>> {
  const r = await client.request({ type: 'load', scenario, arch });
  if (E.isLeft(r)) return r;
  if (!r.right.ok) return E.left(mkError('diff.load', `implementation '${client.name}' rejected the scenario: ${errorText(r.right)}`));
  const header = r.right['header'];
  const capabilities = typeof header === 'object' && header !== null && 'capabilities' in header ? header.capabilities : greeting['capabilities'];
  const domains = Array.isArray(r.right['domains']) ? r.right['domains'].filter((d): d is string => typeof d === 'string') : [];
  return E.right({ capabilities, domains });
}

/**
 * ORC-DIFF-3: replays `events` on both sides from the boot state: `reset`, then each event
 * to both, comparing the records as they come. Stops at the first difference.
 */
async function replay(oracle: ServeClient, impl: ServeClient, events: readonly SystemEvent[], capabilities: readonly Capability[]): Promise<E.Either<MkhvError, { difference: Difference | null; steps: number }>> {
  for (const client of [oracle, impl]) {
    const r = await client.request({ type: 'reset' });
    if (E.isLeft(r)) return r;
    if (!r.right.ok) return E.left(mkError('diff.reset', `implementation '${client.name}' refused 'reset': ${errorText(r.right)}`));
  }
  for (let i = 0; i < events.length; i++) {
    const expected = await oracle.request({ type: 'step', event: events[i] });
    if (E.isLeft(expected)) return expected;
    // Every generated event decodes (ORC-DIFF-2), so mkhv refusing one is mkhv's defect.
    if (!expected.right.ok) return E.left(mkError('diff.internal', `mkhv refused its own generated event ${JSON.stringify(events[i])}: ${errorText(expected.right)}`));
    const actual = await impl.request({ type: 'step', event: events[i] });
    if (E.isLeft(actual)) return actual;
    // A valid event must give a record (ORC-SRV-2), even when the model rejects it.
    if (!actual.right.ok) return E.right({ difference: { index: i, path: 'ok', expected: true, actual: actual.right['error'] ?? false }, steps: i + 1 });
    const difference = compareRecords(expected.right['record'], actual.right['record'], capabilities);
    if (difference !== null) return E.right({ difference: { ...difference, index: i }, steps: i + 1 });
  }
  return E.right({ difference: null, steps: events.length });
}

/**
 * ORC-DIFF-1..4: says hello to both sides, loads `scenarioJson` (already decoded as
 * `scenario`) on both, and checks with fast-check that every generated trace gives the same
 * records; the first trace that does not is shrunk. Deterministic for a given seed and a
 * deterministic implementation.
 */
export async function runDiff(scenarioJson: unknown, scenario: Scenario, oracle: ServeClient, impl: ServeClient, options: DiffOptions): Promise<DiffResult> {
  const broken = (error: MkhvError): DiffResult => ({ kind: 'broken', error });
  const greetings: ServeResponse[] = [];
  for (const client of [oracle, impl]) {
    const r = await hello(client);
    if (E.isLeft(r)) return broken(r.left);
    greetings.push(r.right);
  }
  const ours = await load(oracle, scenarioJson, options.arch, greetings[0]!);
  if (E.isLeft(ours)) return broken(ours.left);
  const theirs = await load(impl, scenarioJson, options.arch, greetings[1]!);
  if (E.isLeft(theirs)) return broken(theirs.left);
  const capabilities = sharedCapabilities(ours.right.capabilities, theirs.right.capabilities);

  // The traces are generated for mkhv's idea of the machine and its domains.
  const shape = traceShape(scenario.machine, ours.right.domains);
  let fatal: MkhvError | null = null;
  let steps = 0;
  let lastFailure: { events: readonly SystemEvent[]; difference: Difference } | null = null;
  const property = fc.asyncProperty(traceArbitrary(shape, options.length), async (events) => {
    // Once a side has broken, the remaining runs and shrinks pass at once: shrinking a trace
    // against a dead process would mean nothing, and the run ends as 'broken' below.
    if (fatal !== null) return true;
    const r = await replay(oracle, impl, events, capabilities);
    if (E.isLeft(r)) {
      fatal = r.left;
      return true;
    }
    steps += r.right.steps;
    if (r.right.difference === null) return true;
    // fast-check reports the last failing input it tried, so this ends as the shrunk trace's.
    lastFailure = { events, difference: r.right.difference };
    return false;
  });
  const details = await fc.check(property, { numRuns: options.runs, seed: options.seed, ...(options.path === undefined ? {} : { path: options.path }) });
  if (fatal !== null) return broken(fatal);
  if (details.errorInstance !== null && details.errorInstance !== undefined && lastFailure === null) {
    // The property itself threw: a defect of ours, not a finding about the implementation.
    throw details.errorInstance instanceof Error ? details.errorInstance : new Error(String(details.errorInstance));
  }
  const failure = lastFailure as { events: readonly SystemEvent[]; difference: Difference } | null;
  if (!details.failed || failure === null) return { kind: 'same', runs: details.numRuns, steps, capabilities, seed: options.seed };
  return {
    kind: 'different',
    difference: failure.difference,
    // The events after the differing step play no part: leave them out.
    trace: { format: TRACE_FORMAT, version: INPUT_VERSION, events: failure.events.slice(0, failure.difference.index + 1) },
    seed: options.seed,
    path: details.counterexamplePath ?? '',
    runs: details.numRuns,
    shrinks: details.numShrinks,
    steps,
    capabilities,
  };
}
