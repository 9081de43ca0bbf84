/**
 * Bad input never crashes anything (issue #6; CLI-EXIT-1, ORC-FMT-4, ORC-SRV-1, ORC-SRV-3,
 * ORC-SRV-4). Thousands of random and mutated scenarios, traces and serve requests, garbage
 * text, deeply nested and huge values, missing and unreadable files, and unknown options and
 * bad option values for every command: each command exits 0 or 2 — never 1, the code of an
 * internal error — and on 2 prints a one-line message starting `mkhv:` that names the problem,
 * never a stack trace; the serve protocol answers every line with one JSON response and a
 * rejected request leaves the session as it was. "No hang" is that the tests finish.
 *
 * Cases per property scale with FC_NUM_RUNS (test/setup.ts; default 100).
 */
import { accessSync, chmodSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { OptionSpec } from '../../src/cli/args.ts';
import { COST_OPTIONS } from '../../src/cli/cost.ts';
import { DIFF_OPTIONS } from '../../src/cli/diff.ts';
import { main } from '../../src/cli/main.ts';
import { RUN_OPTIONS } from '../../src/cli/run.ts';
import { VECTORS_OPTIONS } from '../../src/cli/vectors.ts';
import { decodeScenario, decodeTrace } from '../../src/oracle/formats.ts';
import { bootInstance } from '../../src/oracle/instance.ts';
import { DEFAULT_ARCH, EMPTY_SESSION, handleLine, type Response, type Session } from '../../src/oracle/session.ts';
import { builtinArchs, builtinTable } from '../../src/perf/builtin.ts';
import { HV_SCENARIO, MK_SCENARIO } from './fixtures.ts';
import { arbRequest, arbScenario, arbTrace, mutated, pathsOf, replaceAt, RUNS } from './json-arbitraries.ts';

/** Per test: generous, and longer for a deeper profile (no test asserts a time; a hang fails here). */
const TIMEOUT = 120_000 * Math.max(1, RUNS / 100);

/** What may end a line for some reader of standard error. */
const LINE_BREAK = /[\r\n\u2028\u2029]/;

// --- Running commands in-process ------------------------------------------------------------

interface Outcome {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
}

async function mkhv(args: readonly string[], input?: readonly string[]): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  const chunks = input ?? [];
  const stdin = (async function* () {
    yield* chunks;
  })();
  // main must resolve whatever it is given: a rejection fails the property with the exception.
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), input: stdin });
  return { code, out, err };
}

/** Nothing a command prints looks like an escaped exception. */
function expectNoCrashText(o: Outcome): void {
  for (const line of [...o.out, ...o.err]) {
    expect(line).not.toMatch(/\n\s+at /);
    expect(line).not.toMatch(/^\s+at /);
    expect(line).not.toMatch(/TypeError|RangeError|ReferenceError|SyntaxError: |Maximum call stack|internal error/);
  }
}

/**
 * CLI-EXIT-1: exit 2 with one line on standard error that starts with `mkhv:`, names the
 * problem (contains `word`) and holds no line break — followed at most by the one-line hint
 * "Try 'mkhv <command> --help'." — and nothing on standard output.
 */
function expectUsageError(o: Outcome, word: string, label: string): void {
  expect(o.code, label).toBe(2);
  expectNoCrashText(o);
  expect(o.err.length, label).toBeGreaterThanOrEqual(1);
  expect(o.err.length, label).toBeLessThanOrEqual(2);
  expect(o.err[0], label).toMatch(/^mkhv: /);
  expect(o.err[0], label).not.toMatch(LINE_BREAK);
  expect(o.err[0], label).toContain(word);
  if (o.err.length === 2) expect(o.err[1], label).toMatch(/^Try 'mkhv( [a-z]+)? --help'\.$/);
  expect(o.out, label).toEqual([]);
}

// --- Garbage --------------------------------------------------------------------------------

const DEPTH = 10_000;
const DEEP_ARRAY = '['.repeat(DEPTH) + ']'.repeat(DEPTH);
const DEEP_OBJECT = '{"a":'.repeat(DEPTH) + '0' + '}'.repeat(DEPTH);
const DEEP_MIXED = '[{"kind":'.repeat(DEPTH / 2) + 'null' + '}]'.repeat(DEPTH / 2);
const NUMBERS = ['1e999', '-1e999', '9'.repeat(400), '-0', '1e-400', '123456789012345678901234567890', '4294967296', '-1', '0.5', '2e308'];
const DEEP = [DEEP_ARRAY, DEEP_OBJECT, DEEP_MIXED];
const CONSTANTS = ['', ' ', '\n', '\uFEFF{}', 'null', 'true', '0', '[]', '{}', '""', '"mkhv-scenario"', '{"format":"mkhv-trace"}', 'NaN', 'undefined', '{"a":1,}', "{'a':1}", '\u0000'];

const SENTINEL = 'mkhv-fuzz-sentinel-5c1e';

/** Text that fast-check prints abbreviated in a counterexample (not 20 000 brackets). */
interface Text {
  readonly text: string;
}

const asText = (text: string): Text => {
  const shown = text.length <= 300 ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, 150))} … ${JSON.stringify(text.slice(-50))} (${text.length} characters)`;
  return { text, [fc.toStringMethod]: () => shown } as Text;
};

/**
 * Text that is rarely valid: a valid value cut short, random strings, random JSON, huge and
 * odd numbers, nesting 10 000 deep at the top or in place of any node of a valid value.
 */
const arbGarbage = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<Text> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.tuple(valid, fc.nat()).map(([v, n]) => { const s = JSON.stringify(v); return s.slice(0, n % s.length); }) },
    { weight: 2, arbitrary: fc.string({ maxLength: 80 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(...CONSTANTS, ...NUMBERS, ...DEEP) },
    {
      weight: 3,
      arbitrary: fc.tuple(valid, fc.nat(), fc.constantFrom(...DEEP, ...NUMBERS)).map(([v, at, text]) => {
        const paths = pathsOf(v);
        return JSON.stringify(replaceAt(v, paths[at % paths.length]!, SENTINEL)).replace(JSON.stringify(SENTINEL), () => text);
      }),
    },
  ).map(asText);

/** What a file argument is: text in a file that is readable or not (but root reads it anyway), or a path that is missing or a directory. */
type FileArg = (Text & { readonly kind: 'text' | 'unreadable' }) | { readonly kind: 'missing' } | { readonly kind: 'directory' };

const textFile = (t: Text): FileArg => ({ ...t, kind: 'text' });

const arbFile = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<FileArg> =>
  fc.oneof(
    { weight: 3, arbitrary: valid.map((v) => textFile(asText(JSON.stringify(v)))) },
    { weight: 4, arbitrary: mutated(valid).map((v) => textFile(asText(JSON.stringify(v)))) },
    { weight: 4, arbitrary: arbGarbage(valid).map(textFile) },
    { weight: 1, arbitrary: fc.constantFrom<FileArg>({ kind: 'missing' }, { kind: 'directory' }) },
    { weight: 1, arbitrary: valid.map((v): FileArg => ({ ...asText(JSON.stringify(v)), kind: 'unreadable' })) },
  );

/** Scenarios of the right shape, and now and then one that boots and runs. */
const arbSomeScenario: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: arbScenario }, { weight: 1, arbitrary: fc.constantFrom<unknown>(MK_SCENARIO, HV_SCENARIO) });

// --- Files ----------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'mkhv-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `f` for the argument named `name` (one path per name, rewritten every sample); returns its path. */
function place(name: string, f: FileArg): string {
  switch (f.kind) {
    case 'text': {
      const path = join(dir, `${name}.json`);
      writeFileSync(path, f.text);
      return path;
    }
    case 'unreadable': {
      const path = join(dir, `unreadable-${name}.json`);
      if (existsSync(path)) chmodSync(path, 0o600);
      writeFileSync(path, f.text);
      chmodSync(path, 0o000);
      return path;
    }
    case 'missing':
      return join(dir, `no-such-${name}.json`);
    case 'directory': {
      const path = join(dir, `directory-${name}`);
      mkdirSync(path, { recursive: true });
      return path;
    }
  }
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function parsed(f: FileArg, path: string): E.Either<null, unknown> {
  if (f.kind === 'missing' || f.kind === 'directory' || !readable(path)) return E.left(null);
  try {
    return E.right(JSON.parse(f.text) as unknown);
  } catch {
    return E.left(null);
  }
}

/**
 * Which argument `mkhv run` must reject, in the order it checks them (the scenario file is
 * read and decoded, then the trace, then the scenario is booted), or null if the run succeeds.
 */
function culprit(scenario: FileArg, scenarioPath: string, trace: FileArg, tracePath: string, arch: string): 'scenario' | 'trace' | null {
  const s = E.flatMap((j: unknown) => E.mapLeft(() => null)(decodeScenario(j)))(parsed(scenario, scenarioPath));
  if (E.isLeft(s)) return 'scenario';
  const t = E.flatMap((j: unknown) => E.mapLeft(() => null)(decodeTrace(j)))(parsed(trace, tracePath));
  if (E.isLeft(t)) return 'trace';
  const table = builtinTable(arch);
  if (E.isLeft(table)) throw new Error(table.left.message);
  return E.isLeft(bootInstance(s.right, table.right)) ? 'scenario' : null;
}

describe('mkhv run on bad files', () => {
  it(
    'CLI-EXIT-1, ORC-FMT-4: random, mutated and garbage scenarios and traces, missing and unreadable files and directories exit 0 or 2 with a one-line message naming the file, never a stack trace',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          arbFile(arbSomeScenario),
          arbFile(arbTrace(8)),
          fc.option(fc.constantFrom(...builtinArchs()), { nil: undefined }),
          fc.boolean(),
          async (scenario, trace, arch, json) => {
            const scenarioPath = place('scenario', scenario);
            const tracePath = place('trace', trace);
            const args = ['run', scenarioPath, tracePath, ...(arch === undefined ? [] : ['--arch', arch]), ...(json ? ['--json'] : [])];
            const o = await mkhv(args);
            const bad = culprit(scenario, scenarioPath, trace, tracePath, arch ?? DEFAULT_ARCH);
            if (bad === null) {
              expect(o.code, o.err.join('\n')).toBe(0);
              expect(o.err).toEqual([]);
              expectNoCrashText(o);
              const events = (JSON.parse((trace as { text: string }).text) as { events: unknown[] }).events;
              expect(o.out).toHaveLength(events.length + 1);
            } else {
              expectUsageError(o, bad === 'scenario' ? scenarioPath : tracePath, args.join(' '));
            }
          },
        ),
        { numRuns: RUNS * 8 },
      );
    },
    TIMEOUT,
  );
});

// --- The serve protocol ---------------------------------------------------------------------

const req = (v: object): string => JSON.stringify(v);
const LOADS = [req({ type: 'load', scenario: MK_SCENARIO }), req({ type: 'load', scenario: HV_SCENARIO, arch: 'skylake' })];

/** A request line: valid (often a load that boots, so that steps and views run), mutated, or garbage. */
const arbLine: fc.Arbitrary<Text> = fc.oneof(
  { weight: 4, arbitrary: arbRequest(arbSomeScenario).map((r) => asText(JSON.stringify(r))) },
  { weight: 2, arbitrary: fc.constantFrom(...LOADS).map(asText) },
  { weight: 4, arbitrary: mutated(arbRequest(arbSomeScenario)).map((r) => asText(JSON.stringify(r))) },
  { weight: 3, arbitrary: arbGarbage(arbRequest(fc.constantFrom<unknown>(MK_SCENARIO, HV_SCENARIO))) },
);

/** Requests whose answers show the whole state of a session (ORC-SRV-3: a rejected request changes nothing). */
const PROBES = [req({ type: 'fingerprint' }), req({ type: 'step', event: { kind: 'exec', cpu: 0 } })];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** ORC-SRV-1, ORC-FMT-4: the response is one line of JSON, an object with `ok`, an error with a code and a one-line message. */
function checkResponse(line: string, response: Response): void {
  const text = JSON.stringify(response);
  expect(text).not.toMatch(/\n/);
  const back = JSON.parse(text) as unknown;
  expect(isPlainObject(back)).toBe(true);
  expect(typeof (back as { ok: unknown }).ok).toBe('boolean');
  if (!response.ok) {
    expect(typeof response.error.code).toBe('string');
    expect(typeof response.error.message).toBe('string');
    expect(response.error.message).not.toMatch(LINE_BREAK);
    expect(response.error.message).not.toMatch(/TypeError|RangeError|Maximum call stack/);
  }
  // A request's id, string or number, is echoed even when the request is rejected.
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return;
  }
  if (isPlainObject(request) && (typeof request.id === 'string' || typeof request.id === 'number')) {
    expect((response as { id?: unknown }).id).toBe(request.id);
  }
}

function converse(lines: readonly string[]): string[] {
  let session: Session = EMPTY_SESSION;
  return lines.map((line) => {
    const r = handleLine(session, line);
    session = r.session;
    return JSON.stringify(r.response);
  });
}

describe('the serve protocol on bad requests', () => {
  it(
    'ORC-SRV-3, ORC-SRV-4, ORC-FMT-4: handleLine never throws; every line gets one JSON response; a rejected line leaves the session answering as before; the same lines give the same responses',
    () => {
      fc.assert(
        fc.property(fc.array(arbLine, { minLength: 1, maxLength: 16 }), (texts) => {
          const lines = texts.map((t) => t.text);
          let session: Session = EMPTY_SESSION;
          const responses: string[] = [];
          for (const line of lines) {
            const r = handleLine(session, line);
            checkResponse(line, r.response);
            if (!r.response.ok) {
              for (const probe of PROBES) expect(handleLine(r.session, probe).response).toEqual(handleLine(session, probe).response);
            }
            session = r.session;
            responses.push(JSON.stringify(r.response));
          }
          // ORC-SRV-4: a pure function of the lines so far.
          expect(converse(lines)).toEqual(responses);
        }),
        { numRuns: RUNS * 4 },
      );
    },
    TIMEOUT,
  );

  it(
    'ORC-SRV-1, ORC-SRV-3, CLI-EXIT-1: mkhv serve answers each non-blank line of garbage and requests, in chunks of any size, with one response, as handleLine does, and exits 0',
    async () => {
      const arbServeLine = fc.oneof({ weight: 5, arbitrary: arbLine.map((l) => asText(l.text.replace(/[\r\n]/g, ' '))) }, { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', '  \t ').map(asText) });
      await fc.assert(
        fc.asyncProperty(
          fc.array(arbServeLine, { maxLength: 12 }),
          fc.constantFrom('\n', '\r\n'),
          fc.boolean(),
          fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 8 }),
          async (texts, eol, finalEol, sizes) => {
            const lines = texts.map((t) => t.text);
            const text = lines.join(eol) + (finalEol ? eol : '');
            const chunks: string[] = [];
            for (let i = 0, k = 0; i < text.length; k++) {
              const n = sizes[k % sizes.length]!;
              chunks.push(text.slice(i, i + n));
              i += n;
            }
            const o = await mkhv(['serve'], chunks);
            expect(o.code).toBe(0);
            expect(o.err).toEqual([]);
            const requests = lines.filter((l) => l.trim() !== '');
            expect(o.out).toHaveLength(requests.length);
            expect(o.out).toEqual(converse(requests));
          },
        ),
        { numRuns: RUNS * 2 },
      );
    },
    TIMEOUT,
  );
});

describe('the serve protocol on a long line', () => {
  it(
    'ORC-SRV-1: a request line of 16 MiB arriving in 256-byte chunks is answered, in time linear in its length',
    async () => {
      const line = JSON.stringify({ type: 'hello', id: 1, padding: 'x'.repeat(16 * 2 ** 20) });
      const chunks = Array.from({ length: Math.ceil(line.length / 256) }, (_, i) => line.slice(i * 256, (i + 1) * 256));
      const o = await mkhv(['serve'], [...chunks, '\n', '{"type":"hello","id":2}']);
      expect(o.code).toBe(0);
      expect(o.out.map((l) => JSON.parse(l) as unknown)).toEqual([
        { id: 1, ok: false, error: { code: 'request.invalid', message: "request: 'padding' is not a known field" } },
        expect.objectContaining({ id: 2, ok: true, type: 'hello' }),
      ]);
    },
    TIMEOUT,
  );
});

// --- Options --------------------------------------------------------------------------------

const OPTIONS: Readonly<Record<string, readonly OptionSpec[]>> = { run: RUN_OPTIONS, serve: [], diff: DIFF_OPTIONS, cost: COST_OPTIONS, vectors: VECTORS_OPTIONS, demo: [] };
const KNOWN = new Set([...Object.values(OPTIONS).flatMap((specs) => specs.map((s) => s.name)), 'help', 'version', 'h']);
const COMMANDS = Object.keys(OPTIONS);

/** The commands `mkhv --help` lists (CLI-EXIT-1), so that a command added later is fuzzed too. */
async function listedCommands(): Promise<string[]> {
  const overview = (await mkhv(['--help'])).out.join('\n');
  const section = overview.split('\ncommands:\n')[1]?.split('\n\n')[0] ?? '';
  return section.split('\n').flatMap((l) => /^ {2}([a-z][a-z0-9-]*) /.exec(l)?.[1] ?? []);
}

const LISTED = await listedCommands();

/** A word with no line break, no '=' and nothing main treats as a request for help. */
const arbWord: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/) },
    { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }) },
    // Names every object has: a lookup that is not by own property finds them.
    { weight: 1, arbitrary: fc.constantFrom('toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', 'prototype') },
  )
  .filter((w) => !/[\r\n\u2028\u2029=]/.test(w) && w.trim() === w && w !== '');

/** An option no command declares: `--name`, `--name=value` or `-x`. */
const arbUnknownOption: fc.Arbitrary<{ arg: string; word: string }> = fc
  .tuple(arbWord.filter((w) => !KNOWN.has(w) && !w.startsWith('-')), fc.constantFrom('--', '-'), fc.option(arbWord, { nil: undefined }))
  .map(([name, dashes, value]) => ({ arg: `${dashes}${name}${value === undefined ? '' : `=${value}`}`, word: `${dashes}${name}` }));

/** A value that is not one of `choices` and does not look like an option. */
const arbBadValue = (choices: readonly string[]): fc.Arbitrary<string> => arbWord.filter((w) => !w.startsWith('-') && !choices.includes(w));

interface BadArgs {
  readonly args: readonly string[];
  /** The word the message must contain. */
  readonly word: string;
}

const ok = (args: readonly string[], word: string): BadArgs => ({ args, word });

/**
 * Bad arguments for `command`: an unknown option anywhere among valid ones; a value option
 * without its value, with one outside its choices, or given twice; a flag given a value; a stray
 * argument. Every diff case names a scenario file that does not exist, so that no case can
 * start a process even if it were valid.
 */
function arbBadArgs(command: string, base: readonly (readonly string[])[]): fc.Arbitrary<BadArgs> {
  const specs = OPTIONS[command]!;
  const valued = specs.filter((s) => s.value !== undefined);
  const flags = specs.filter((s) => s.value === undefined);
  const withBase = (bad: fc.Arbitrary<{ args: readonly string[]; word: string }>): fc.Arbitrary<BadArgs> =>
    fc.tuple(bad, fc.nat(base.length)).map(([b, at]) => ok([command, ...base.slice(0, at).flat(), ...b.args, ...base.slice(at).flat()], b.word));
  const cases: fc.Arbitrary<BadArgs>[] = [withBase(arbUnknownOption.map((u) => ({ args: [u.arg], word: u.word })))];
  if (valued.length > 0) {
    const spec = fc.constantFrom(...valued);
    // At the very end, or followed by another option: no value.
    cases.push(spec.map((s) => ok([command, ...base.flat(), `--${s.name}`], `--${s.name}`)));
    cases.push(fc.tuple(spec, fc.constantFrom('--json', '--x', '--')).map(([s, next]) => ok([command, `--${s.name}`, next, ...base.flat()], `--${s.name}`)));
    const chosen = valued.filter((s) => s.value!.choices !== undefined);
    if (chosen.length > 0) {
      cases.push(withBase(fc.constantFrom(...chosen).chain((s) => arbBadValue(s.value!.choices!).map((v) => ({ args: [`--${s.name}`, v], word: `'${v}' is not a valid --${s.name}` })))));
      // Given twice (a valid value both times).
      cases.push(withBase(fc.constantFrom(...chosen).map((s) => ({ args: [`--${s.name}=${s.value!.choices![0]!}`, `--${s.name}`, s.value!.choices![0]!], word: `--${s.name}' given twice` }))));
    }
  }
  if (flags.length > 0) {
    cases.push(withBase(fc.tuple(fc.constantFrom(...flags), arbWord).map(([s, v]) => ({ args: [`--${s.name}=${v}`], word: `'--${s.name}' takes no value` }))));
  }
  return fc.oneof(...cases);
}

const STRAY = arbWord.filter((w) => !w.startsWith('-'));

/** Values of diff's numeric options outside their ranges or formats (CLI-DIFF-1). */
const BAD_DIFF_VALUES: Readonly<Record<string, readonly string[]>> = {
  runs: ['0', '-5', '1.5', '1e3', '1000001', '99999999999999999999', ''],
  length: ['0', '10001', '-1', '2.5', ''],
  seed: ['2147483648', '-2147483649', '0x10', '1.5', ''],
  timeout: ['0', '0.05', '3601', '-1', '1e2', '.5', ''],
  path: ['x', '1::2', ':1', '1:', '-1', ''],
};

describe('bad command lines', () => {
  const scenarioPath = join(dir, 'valid-scenario.json');
  const tracePath = join(dir, 'valid-trace.json');
  writeFileSync(scenarioPath, JSON.stringify(MK_SCENARIO));
  writeFileSync(tracePath, JSON.stringify({ format: 'mkhv-trace', version: 1, events: [{ kind: 'exec', cpu: 0 }] }));
  const missing = join(dir, 'no-such-scenario.json');

  /** Per command: its valid arguments as units an option may go between, and its own kinds of bad arguments. */
  const perCommand: Readonly<Record<string, fc.Arbitrary<BadArgs>>> = {
    run: fc.oneof(
      arbBadArgs('run', [[scenarioPath], [tracePath], ['--json']]),
      fc.constantFrom(ok(['run'], 'give a scenario file and a trace file'), ok(['run', scenarioPath], 'give a scenario file and a trace file')),
      STRAY.map((w) => ok(['run', scenarioPath, tracePath, w], `unexpected argument '${w}'`)),
    ),
    serve: fc.oneof(arbBadArgs('serve', []), STRAY.map((w) => ok(['serve', w], `unexpected argument '${w}'`))),
    diff: fc.oneof(
      arbBadArgs('diff', [[missing], ['--impl', 'true']]),
      fc.constantFrom(ok(['diff', '--impl', 'true'], 'give a scenario file'), ok(['diff', missing], '--impl'), ok(['diff', missing, '--impl', ' '], '--impl')),
      fc
        .tuple(fc.constantFrom(...Object.keys(BAD_DIFF_VALUES)), fc.nat(), arbWord.filter((w) => /[^0-9:.-]/.test(w) && !w.startsWith('--')), fc.boolean())
        .map(([name, i, word, pick]) => {
          const listed = BAD_DIFF_VALUES[name]!;
          const v = pick ? listed[i % listed.length]! : word;
          return ok(['diff', missing, '--impl', 'true', `--${name}`, v], `--${name}`);
        }),
      fc.constant(ok(['diff', missing, '--impl', 'true', '--path', '1:2'], '--seed')),
      STRAY.map((w) => ok(['diff', missing, w, '--impl', 'true'], `unexpected argument '${w}'`)),
    ),
    cost: fc.oneof(
      arbBadArgs('cost', [['--op', 'ipc-call'], ['--arch', 'skylake']]),
      STRAY.map((w) => ok(['cost', w, '--all'], `unexpected argument '${w}'`)),
      fc.constantFrom(ok(['cost'], 'give exactly one of'), ok(['cost', '--all', '--compare'], 'give exactly one of'), ok(['cost', '--op', 'ipc-call'], "missing option '--arch'")),
    ),
    vectors: fc.oneof(arbBadArgs('vectors', [['--check']]), STRAY.map((w) => ok(['vectors', '--check', w], `unexpected argument '${w}'`))),
    demo: fc.oneof(
      arbBadArgs('demo', []),
      STRAY.filter((w) => !['hardware', 'microkernel', 'hypervisor'].includes(w)).map((w) => ok(['demo', w], `unknown demo '${w}'`)),
      STRAY.map((w) => ok(['demo', 'hardware', w], `unexpected argument '${w}'`)),
    ),
  };

  it('CLI-EXIT-1: every command mkhv lists is fuzzed below', () => {
    expect(LISTED).toEqual(expect.arrayContaining(COMMANDS));
  });

  for (const command of LISTED.filter((c) => !COMMANDS.includes(c))) {
    it(
      `CLI-EXIT-1: mkhv ${command} with an unknown option exits 2 with one line naming it`,
      async () => {
        await fc.assert(
          fc.asyncProperty(arbUnknownOption, async ({ arg, word }) => {
            expectUsageError(await mkhv([command, arg], []), word, `${command} ${arg}`);
          }),
          { numRuns: RUNS },
        );
      },
      TIMEOUT,
    );
  }

  for (const command of COMMANDS) {
    it(
      `CLI-EXIT-1: mkhv ${command} with an unknown option, a missing or bad option value, or a stray or missing argument exits 2 with one line naming it`,
      async () => {
        await fc.assert(
          fc.asyncProperty(perCommand[command]!, async ({ args, word }) => {
            expectUsageError(await mkhv(args, []), word, args.join(' '));
          }),
          { numRuns: RUNS * 2 },
        );
      },
      TIMEOUT,
    );
  }

  it(
    'CLI-EXIT-1: an unknown command or top-level option exits 2 with one line naming it',
    async () => {
      await fc.assert(
        fc.asyncProperty(arbWord.filter((w) => !LISTED.includes(w) && !COMMANDS.includes(w) && !['help', '--help', '-h', '--version'].includes(w)), async (w) => {
          expectUsageError(await mkhv([w, '--json']), `'${w}'`, w);
        }),
        { numRuns: RUNS * 2 },
      );
    },
    TIMEOUT,
  );
});
