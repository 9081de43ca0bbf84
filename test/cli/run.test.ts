/**
 * CLI-RUN-1 and CLI-SERVE-1: `mkhv run` prints the records of a replay, readable or as JSON
 * lines; `mkhv serve` answers one line per request over standard input and output.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { builtinTable } from '../../src/perf/builtin.ts';
import { bootInstance } from '../../src/oracle/instance.ts';
import type { StepRecord } from '../../src/oracle/record.ts';
import type { SystemEvent } from '../../src/system/index.ts';
import { MK_SCENARIO } from '../oracle/fixtures.ts';

async function run(args: string[], input?: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  // Standard input in chunks that do not respect line boundaries.
  const text = input === undefined ? '' : input.join('\n') + '\n';
  const lines = input === undefined ? undefined : (async function* () {
    for (let i = 0; i < text.length; i += 7) yield text.slice(i, i + 7);
  })();
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), ...(lines === undefined ? {} : { input: lines }) });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'mkhv-run-'));
const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

const EVENTS: SystemEvent[] = [...Array.from({ length: 20 }, (_, i): SystemEvent => ({ kind: 'exec', cpu: i % 4 === 3 ? 1 : 0 })), { kind: 'tick', cpu: 0 }, { kind: 'exec', cpu: 5 }];
const scenarioFile = file('scenario.json', JSON.stringify(MK_SCENARIO));
const traceFile = file('trace.json', JSON.stringify({ format: 'mkhv-trace', version: 1, events: EVENTS }));

function expectedRecords(arch: string): StepRecord[] {
  const t = builtinTable(arch);
  if (E.isLeft(t)) throw new Error(t.left.message);
  const b = bootInstance(MK_SCENARIO, t.right);
  if (E.isLeft(b)) throw new Error(b.left.message);
  let inst = b.right;
  return EVENTS.map((e) => {
    const r = inst.step(e);
    inst = r.instance;
    return r.record;
  });
}

describe('mkhv run', () => {
  it('CLI-RUN-1: --json prints the header and then exactly the records of the replay', async () => {
    const r = await run(['run', scenarioFile, traceFile, '--json', '--arch', 'x-gene']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out[0]!)).toMatchObject({ format: 'mkhv-record', supervisor: 'microkernel', arch: 'x-gene' });
    expect(r.out.slice(1).map((l) => JSON.parse(l) as unknown)).toEqual(JSON.parse(JSON.stringify(expectedRecords('x-gene'))));
  });

  it('CLI-RUN-1: the readable form gives one line per record with its trap, changes and fingerprint', async () => {
    const r = await run(['run', scenarioFile, traceFile]);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(EVENTS.length + 1);
    expect(r.out[0]).toMatch(/^client and server: microkernel, 22 events, cycles under cortex-a57, boot state [0-9a-f]{16}$/);
    const records = expectedRecords('cortex-a57');
    r.out.slice(1).forEach((line, i) => {
      expect(line.startsWith(`#${i} `)).toBe(true);
      expect(line.endsWith(records[i]!.fingerprint)).toBe(true);
    });
    expect(r.out.some((l) => / SVC #3 EL0→EL1 /.test(l))).toBe(true);
    expect(r.out.at(-1)).toMatch(/rejected \(exec\.cpu\)/);
  });

  it('CLI-RUN-1, CLI-EXIT-1: missing, unreadable, non-JSON and invalid files exit 2 naming the file and the path', async () => {
    const cases: [string[], RegExp][] = [
      [['run', scenarioFile], /give a scenario file and a trace file/],
      [['run', join(dir, 'missing.json'), traceFile], /scenario '.*missing\.json': cannot read it \(no such file\)/],
      [['run', dir, traceFile], /cannot read it \(is a directory\)/],
      [['run', file('bad.json', '{"format": "mkhv-scen'), traceFile], /bad\.json': not JSON/],
      [['run', scenarioFile, file('t1.json', JSON.stringify({ format: 'mkhv-trace', version: 1, events: [{ kind: 'exec' }] }))], /t1\.json: trace: 'events\[0\]\.cpu' must be a non-negative integer \(got nothing\)/],
      [['run', file('s1.json', JSON.stringify({ ...MK_SCENARIO, boot: { threads: [{ name: 't', caps: [{ slot: 1, object: 'nothing' }] }] } })), traceFile], /s1\.json: .*nothing/],
      [['run', scenarioFile, traceFile, '--arch', 'pentium'], /pentium/],
      [['run', scenarioFile, traceFile, 'extra'], /unexpected argument 'extra'/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err[0], args.join(' ')).toMatch(/^mkhv: /);
      expect(r.err[0], args.join(' ')).toMatch(message);
      expect(r.out).toEqual([]);
    }
  });
});

describe('mkhv serve', () => {
  it('CLI-SERVE-1: one response per request line, blank lines ignored, bad lines answered with errors', async () => {
    const lines = ['{"type":"hello"}', '', 'garbage', JSON.stringify({ type: 'load', scenario: MK_SCENARIO }), '{"type":"step","event":{"kind":"exec","cpu":0}}'];
    const r = await run(['serve'], lines);
    expect(r.code).toBe(0);
    expect(r.out.map((l) => (JSON.parse(l) as { ok: boolean }).ok)).toEqual([true, false, true, true]);
  });

  it('CLI-SERVE-1: the real command over a pipe', () => {
    const input = ['{"type":"hello","id":1}', JSON.stringify({ type: 'load', scenario: MK_SCENARIO }), '{"type":"step","event":{"kind":"exec","cpu":0}}', '{"type":"fingerprint"}'].join('\n') + '\n';
    const p = spawnSync(process.execPath, ['bin/mkhv.js', 'serve'], { input, encoding: 'utf8', timeout: 30_000 });
    expect(p.status).toBe(0);
    const responses = p.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(responses).toHaveLength(4);
    expect(responses[0]).toMatchObject({ id: 1, ok: true, type: 'hello' });
    expect(responses[3]).toMatchObject({ ok: true, index: 1, fingerprint: (responses[2]!.record as { fingerprint: string }).fingerprint });
  });

  it('CLI-SERVE-1: serve takes no options', async () => {
    const r = await run(['serve', '--frob'], []);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/^mkhv: serve: unknown option '--frob'/);
  });
});
