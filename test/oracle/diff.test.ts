/**
 * The differential driver (ORC-DIFF-1..6) and `mkhv diff` (CLI-DIFF-1), run in-process with
 * the implementation as a real child process: mkhv against its own `serve` agrees; against
 * examples/faulty-impl/faulty.mjs it finds the planted bug and shrinks the trace; bad usage
 * and broken implementations exit 2 with one line naming the problem.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { inProcessClient, spawnClient } from '../../src/oracle/client.ts';
import { decodeEvent, decodeScenario, decodeTrace } from '../../src/oracle/formats.ts';
import { traceShape, eventArbitrary } from '../../src/oracle/traces.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCENARIO = join(ROOT, 'examples/scenarios/two-counters.json');
const MKHV_SERVE = `node ${join(ROOT, 'bin/mkhv.js')} serve`;
const FAULTY = `node ${join(ROOT, 'examples/faulty-impl/faulty.mjs')}`;
const scratch = mkdtempSync(join(tmpdir(), 'mkhv-diff-test-'));

async function run(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** The trace a mismatch report prints: from its first line to the end of the output. */
function printedTrace(out: readonly string[]): unknown {
  const start = out.findIndex((l) => l.startsWith('{"format":"mkhv-trace"'));
  return JSON.parse(out.slice(start).join('\n'));
}

/** A stand-in implementation: answers `hello` with the given fields (an `id` among them overrides the echo) and everything else with an error. */
function fakeImpl(name: string, hello: Record<string, unknown>): string {
  const file = join(scratch, `${name}.mjs`);
  writeFileSync(
    file,
    [
      "import { createInterface } from 'node:readline';",
      `const hello = ${JSON.stringify(hello)};`,
      'for await (const line of createInterface({ input: process.stdin })) {',
      '  const r = JSON.parse(line);',
      "  const body = r.type === 'hello' ? { ok: true, type: 'hello', ...hello } : { ok: false, error: { code: 'nope', message: 'not implemented' } };",
      '  console.log(JSON.stringify({ id: r.id, ...body }));',
      '}',
    ].join('\n'),
  );
  return `node ${file}`;
}

describe('ORC-DIFF-2: traces for a scenario', () => {
  it('ORC-DIFF-2, ORC-FMT-3: generated events all decode; mostly in range, every kind present, a few out of range', () => {
    const scenario = decodeScenario(JSON.parse(readFileSync(SCENARIO, 'utf8')));
    if (E.isLeft(scenario)) throw new Error(scenario.left.message);
    const shape = traceShape(scenario.right.machine, ['left', 'right']);
    const events = fc.sample(eventArbitrary(shape), { numRuns: 4000, seed: 42 });
    for (const e of events) expect(E.isRight(decodeEvent(e))).toBe(true);
    const kinds = new Set(events.map((e) => e.kind + ('insn' in e && e.insn !== undefined ? '+insn' : '')));
    expect([...kinds].sort()).toEqual(['device', 'exec', 'exec+insn', 'inject', 'irq', 'tick']);
    const outOfRange = events.filter((e) => {
      switch (e.kind) {
        case 'exec':
        case 'tick':
          return e.cpu >= 2;
        case 'irq':
          return e.line < 3 || e.line >= 8;
        case 'device':
          return e.device !== 1;
        case 'inject':
          return !['left', 'right'].includes(e.fault.domain);
      }
    }).length;
    expect(outOfRange).toBeGreaterThan(0);
    expect(outOfRange / events.length).toBeLessThan(0.1);
    expect(events.filter((e) => e.kind === 'exec' && e.insn === undefined).length / events.length).toBeGreaterThan(0.4);
  });
});

describe('mkhv diff', () => {
  it('ORC-DIFF-1, ORC-DIFF-3, ORC-DIFF-4, CLI-DIFF-1: mkhv against its own serve process finds no difference and says so in one line', async () => {
    const r = await run('diff', SCENARIO, '--impl', MKHV_SERVE, '--runs', '10', '--length', '20', '--seed', '7');
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(1);
    expect(r.out[0]).toMatch(/^mkhv diff: no difference in 10 runs, \d+ steps compared over index, event, error, trap, registers, memory, observations, lifecycle, ops, cycles, fingerprint \(seed 7\)$/);
    const json = await run('diff', SCENARIO, '--impl', MKHV_SERVE, '--runs', '10', '--length', '20', '--seed', '7', '--json');
    expect(json.code).toBe(0);
    expect(json.out).toHaveLength(1);
    const summary = JSON.parse(json.out[0]!);
    expect(summary).toMatchObject({ result: 'same', seed: 7, runs: 10, capabilities: ['event', 'error', 'trap', 'registers', 'memory', 'observations', 'lifecycle', 'ops', 'cycles', 'fingerprint'] });
    expect(summary.steps).toBeGreaterThan(10);
  });

  it('ORC-DIFF-3, ORC-DIFF-4, ORC-DIFF-6, CLI-DIFF-1: against the faulty implementation it finds the planted bug, shrinks the trace and prints it replayable', async () => {
    const r = await run('diff', SCENARIO, '--impl', FAULTY, '--seed', '4');
    expect(r.err).toEqual([]);
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/^mkhv diff: '.*faulty\.mjs' differs from mkhv at step 3 /);
    // The planted field: a write to a 64-byte-aligned word (thread a's store to 0x300), missing.
    expect(r.out).toContain('  field:     memory[0]');
    expect(r.out.find((l) => l.startsWith('  mkhv:'))).toMatch(/^ {2}mkhv: +\{"address":768,"value":\d+\}$/);
    expect(r.out).toContain('  impl:      (absent)');
    expect(r.out.find((l) => l.startsWith('  reproduce:'))).toMatch(/--seed 4 --path \d+(:\d+)*/);

    const trace = decodeTrace(printedTrace(r.out));
    if (E.isLeft(trace)) throw new Error(trace.left.message);
    const events = trace.right.events;
    // The bug needs a store to 0x300 at index >= 3, so no trace under 4 events shows it. Four
    // suffice (exec cpu0, two events that leave CPU 0 alone, the store), and a trace of only
    // fetched execs on CPU 0 needs 6 (the loop's second store is at index 5) with none
    // removable: a shrunk trace, from which no event can be dropped, has 4 to 6 events.
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(events.length).toBeLessThanOrEqual(6);
    expect(events[events.length - 1]).toEqual({ kind: 'exec', cpu: 0 });

    // Replayed with `mkhv run`, the last step is the store the implementation left out.
    const file = join(scratch, 'shrunk.json');
    writeFileSync(file, JSON.stringify(trace.right));
    const replay = await run('run', SCENARIO, file, '--json');
    expect(replay.code).toBe(0);
    const last = JSON.parse(replay.out[replay.out.length - 1]!);
    expect(last.index).toBe(events.length - 1);
    expect(last.memory.some((m: { address: number }) => m.address % 64 === 0)).toBe(true);
  });

  it('ORC-DIFF-4, ORC-REC-4: the same seed gives the same report, and --seed with --path replays the shrunk trace directly', async () => {
    const a = await run('diff', SCENARIO, '--impl', FAULTY, '--seed', '3', '--json');
    const b = await run('diff', SCENARIO, '--impl', FAULTY, '--seed', '3', '--json');
    expect(a.code).toBe(1);
    expect(b.out).toEqual(a.out);
    const report = JSON.parse(a.out[0]!);
    expect(report).toMatchObject({ result: 'different', seed: 3, difference: { path: 'memory[0]', expected: { address: 768 } } });
    expect(report.difference).not.toHaveProperty('actual');
    expect(report.trace.format).toBe('mkhv-trace');
    const again = await run('diff', SCENARIO, '--impl', FAULTY, '--seed', '3', '--path', report.path, '--json');
    expect(again.code).toBe(1);
    const replayed = JSON.parse(again.out[0]!);
    expect(replayed.trace).toEqual(report.trace);
    expect(replayed.difference).toEqual(report.difference);
  });

  it('ORC-DIFF-3, ORC-SRV-2: an implementation that refuses a valid step has a difference at `ok`, shrunk to one event', async () => {
    // mkhv behind a filter that garbles injected instructions: every `exec` with `insn` is refused.
    const r = await run('diff', SCENARIO, '--impl', `sed -u 's/"insn"/"insm"/' | ${MKHV_SERVE}`, '--seed', '2');
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/differs from mkhv at step 0 .* to 1 event\)$/);
    expect(r.out).toContain('  field:     ok');
    expect(r.out).toContain('  mkhv:      true');
    expect(r.out.find((l) => l.startsWith('  impl:'))).toMatch(/"code":"event\.invalid"/);
    // Shrunk to the simplest such event: CPU 0, instruction word 0.
    expect(printedTrace(r.out)).toEqual({ format: 'mkhv-trace', version: 1, events: [{ kind: 'exec', cpu: 0, insn: 0 }] });
  });

  it('CLI-DIFF-1, CLI-EXIT-1: bad usage exits 2 with a one-line mkhv: message naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['diff', SCENARIO], /--impl/],
      [['diff', '--impl', MKHV_SERVE], /scenario/],
      [['diff', SCENARIO, '--impl', MKHV_SERVE, '--frob'], /unknown option '--frob'/],
      [['diff', SCENARIO, '--impl', MKHV_SERVE, '--runs', 'many'], /--runs .*'many'/],
      [['diff', SCENARIO, '--impl', MKHV_SERVE, '--length', '0'], /--length .*'0'/],
      [['diff', SCENARIO, '--impl', MKHV_SERVE, '--path', '1:2'], /--path needs the --seed/],
      [['diff', SCENARIO, '--impl', MKHV_SERVE, '--arch', 'pdp11'], /pdp11/],
      [['diff', join(scratch, 'missing.json'), '--impl', MKHV_SERVE], /missing\.json.*no such file/],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err[0]).toMatch(/^mkhv: diff: /);
      expect(r.err[0]).toMatch(message);
      expect(r.out).toEqual([]);
    }
    // A scenario that does not decode is named with its file and JSON path, as `mkhv run` does.
    const bad = join(scratch, 'bad-scenario.json');
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(SCENARIO, 'utf8')), machine: { ...JSON.parse(readFileSync(SCENARIO, 'utf8')).machine, cpus: 0 } }));
    const r = await run('diff', bad, '--impl', MKHV_SERVE);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/^mkhv: diff: .*bad-scenario\.json: .*'machine\.cpus'/);
  });

  it('ORC-DIFF-5, CLI-DIFF-1: an implementation that does not exist, prints garbage, dies mid-run or stalls exits 2 naming it', async () => {
    const truncating = `i=0; while [ $i -lt 8 ] && IFS= read -r l; do printf '%s\\n' "$l"; i=$((i+1)); done | ${MKHV_SERVE}`;
    const cases: [string, string[], RegExp][] = [
      ['no-such-implementation-xyz', [], /implementation 'no-such-implementation-xyz' could not be run/],
      ['echo hello', [], /implementation 'echo hello' wrote a line that is not JSON: hello/],
      ['cat', [], /implementation 'cat' wrote a response without a boolean "ok"/],
      // It answers hello, load, reset and five steps, then its input ends and it exits.
      [truncating, ['--seed', '4'], /implementation 'i=0; .*' exited with code 0/],
      ['sleep 30', ['--timeout', '0.5'], /implementation 'sleep 30' did not answer a 'hello' request within 0\.5 s/],
      [fakeImpl('v2', { format: 'mkhv-record', version: '2.0', capabilities: [] }), [], /speaks "mkhv-record" version "2\.0"; mkhv diff needs 'mkhv-record' version 1\.x/],
      [fakeImpl('other', { format: 'rvfi', version: '1.0', capabilities: [] }), [], /speaks "rvfi" version "1\.0"/],
      // Its responses carry another request's id: the streams are out of step.
      [fakeImpl('wrongid', { format: 'mkhv-record', version: '1.0', capabilities: [], id: 99 }), [], /wrongid\.mjs' answered request 1 \('hello'\) with a response for request 99/],
      [fakeImpl('noload', { format: 'mkhv-record', version: '1.3', capabilities: [] }), [], /noload\.mjs' rejected the scenario: not implemented/],
    ];
    for (const [impl, extra, message] of cases) {
      const r = await run('diff', SCENARIO, '--impl', impl, '--runs', '3', ...extra);
      expect(r.code, impl).toBe(2);
      expect(r.err, impl).toHaveLength(1);
      expect(r.err[0]).toMatch(/^mkhv: diff: /);
      expect(r.err[0]).toMatch(message);
      expect(r.out).toEqual([]);
    }
  });

  it('CLI-DIFF-1, CLI-EXIT-1: the overview lists diff and diff --help describes every option', async () => {
    const overview = await run('--help');
    expect(overview.out.join('\n')).toMatch(/\n {2}diff +drive another implementation/);
    const help = await run('diff', '--help');
    expect(help.code).toBe(0);
    const text = help.out.join('\n');
    expect(text).toMatch(/usage: mkhv diff <scenario.json> --impl/);
    for (const option of ['--impl', '--runs', '--length', '--seed', '--path', '--arch', '--timeout', '--json']) expect(text).toContain(option);
  });
});

describe('ORC-DIFF-5: serve clients', () => {
  it('ORC-DIFF-5, ORC-SRV-1: the in-process client and a serve process give the same responses; a failed process stays failed', async () => {
    const here = inProcessClient();
    const there = spawnClient(MKHV_SERVE);
    const scenario = JSON.parse(readFileSync(SCENARIO, 'utf8'));
    try {
      for (const request of [{ type: 'hello' }, { type: 'load', scenario }, { type: 'step', event: { kind: 'exec', cpu: 1 } }, { type: 'view', domain: 'right' }, { type: 'frob' }]) {
        const a = await here.request(request);
        const b = await there.request(request);
        if (E.isLeft(a) || E.isLeft(b)) throw new Error('request failed');
        const { id: _id, ...rest } = b.right;
        expect(rest).toEqual(a.right);
      }
    } finally {
      await there.close();
    }
    const after = await there.request({ type: 'hello' });
    expect(E.isLeft(after) && after.left.code).toBe('impl.closed');
    const dead = spawnClient('exit 3');
    const first = await dead.request({ type: 'hello' });
    const second = await dead.request({ type: 'hello' });
    expect(E.isLeft(first) && first.left.message).toMatch(/'exit 3' exited with code 3/);
    expect(second).toEqual(first);
    await dead.close();
  });
});
