/**
 * CLI-CHECK-1: `mkhv check` — the verdict and the counts, the exit codes, and a counterexample
 * that `mkhv run` replays to the state the checker reports.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { MK_IPC } from '../check/fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mkhv-check-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** The proof scenario for the microkernel, with its JSON changed by `patch`, written to a file. */
function scenarioFile(name: string, patch: (j: Record<string, unknown>) => Record<string, unknown>): string {
  const path = join(tmp, name);
  writeFileSync(path, JSON.stringify(patch(JSON.parse(readFileSync(MK_IPC, 'utf8')) as Record<string, unknown>)));
  return path;
}

/** One thread that blocks for good on an endpoint nobody else holds: a deadlock, when asked for. */
const deadlocking = (j: Record<string, unknown>) => ({
  ...j,
  machine: { ...(j['machine'] as object), cpus: 1 },
  boot: { objects: [{ name: 'ep', type: 'endpoint' }], threads: [{ name: 'waiter', caps: [{ slot: 1, object: 'ep', rights: 'R' }], program: 'addi r1, r0, 1\n svc 4\nspin: b spin' }] },
  check: { alphabet: [{ kind: 'exec', cpu: 0 }, { kind: 'exec', cpu: 0, asm: 'svc 8' }], deadlock: true },
});

describe('CLI-CHECK-1: mkhv check', () => {
  it('prints the counts and the verdict and exits 0 when every state and transition is as required', async () => {
    const r = await cli(['check', MK_IPC, '--progress', '0']);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^mkhv check: .*: \d+ distinct states, \d+ transitions, depth \d+ \(exhausted: every reachable state\)$/);
    expect(r.out.join('\n')).toContain('verdict: holds');
    const json = await cli(['check', MK_IPC, '--json', '--depth', '5']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out[0]!)).toMatchObject({ verdict: 'holds', depth: 5, depthBounded: true, exhausted: false, workers: 1 });
  });

  it('--depth and --states bound the search; --workers gives the same counts', async () => {
    const one = JSON.parse((await cli(['check', MK_IPC, '--json', '--depth', '12'])).out[0]!) as { states: number; transitions: number };
    const two = JSON.parse((await cli(['check', MK_IPC, '--json', '--depth', '12', '--workers', '2'])).out[0]!) as { states: number; transitions: number; workers: number };
    expect(two).toMatchObject({ states: one.states, transitions: one.transitions, workers: 2 });
    const capped = JSON.parse((await cli(['check', MK_IPC, '--json', '--states', '10'])).out[0]!) as { states: number };
    expect(capped.states).toBe(10);
  }, 60_000);

  it('on a violation exits 1 and writes the shortest trace, which mkhv run replays to the reported state', async () => {
    const scenario = scenarioFile('deadlock.json', deadlocking);
    const trace = join(tmp, 'counterexample.json');
    const r = await cli(['check', scenario, '--trace-out', trace]);
    expect(r.code).toBe(1);
    expect(r.out.join('\n')).toMatch(/verdict: VIOLATED — deadlock after \d+ events?, in state ([0-9a-f]{16})/);
    const state = /in state ([0-9a-f]{16})/.exec(r.out.join('\n'))![1]!;
    const replay = await cli(['run', scenario, trace, '--json']);
    expect(replay.code).toBe(0);
    const last = JSON.parse(replay.out[replay.out.length - 1]!) as { fingerprint: string };
    expect(last.fingerprint).toBe(state);
    // Without --trace-out the trace is printed, as a trace file.
    const printed = await cli(['check', scenario]);
    const start = printed.out.findIndex((l) => l === '{');
    expect(JSON.parse(printed.out.slice(start).join('\n'))).toEqual(JSON.parse(readFileSync(trace, 'utf8')));
  });

  it('CLI-EXIT-1: a scenario without a check section, a bad one, a bad option or a missing file exits 2 naming it', async () => {
    const cases: [string[], RegExp][] = [
      [['check', scenarioFile('none.json', ({ check: _, ...j }) => j)], /has no 'check' section/],
      [['check', scenarioFile('empty.json', (j) => ({ ...j, check: { alphabet: [] } }))], /'check\.alphabet' must be an array of 1 to 4096 events/],
      [['check', scenarioFile('asm.json', (j) => ({ ...j, check: { alphabet: [{ kind: 'exec', cpu: 0, asm: 'frobnicate r1' }] } }))], /'check\.alphabet\[0\]\.asm'/],
      [['check', scenarioFile('cpu.json', (j) => ({ ...j, check: { alphabet: [{ kind: 'exec', cpu: -1 }] } }))], /'check\.alphabet\[0\]\.cpu' must be a non-negative integer/],
      [['check', scenarioFile('field.json', (j) => ({ ...j, check: { alphabet: [{ kind: 'tick', cpu: 0 }], depht: 3 } }))], /'check\.depht' is not a known field/],
      [['check', MK_IPC, '--depth', 'ten'], /--depth must be an integer/],
      [['check', MK_IPC, '--workers', '0'], /--workers must be an integer from 1/],
      [['check', MK_IPC, '--bogus'], /--bogus/],
      [['check'], /give a scenario file/],
      [['check', join(tmp, 'missing.json')], /no such file/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err[0]).toMatch(/^mkhv: /);
      expect(r.err[0]).toMatch(message);
    }
  });
});
