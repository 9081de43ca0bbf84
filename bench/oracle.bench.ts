/**
 * Benchmark of the oracle as another implementation uses it: (1) steps per second through
 * `mkhv serve` over a pipe — a load, then step requests, each answered with its record; (2) the
 * time to replay a 100 000-event trace with `mkhv run --json` to a pipe. Both run the real
 * command in a child process, start-up included in (2) and excluded from (1). Asserts nothing.
 *
 *   npm run bench:oracle        (BENCH_STEPS=n for the serve run, default 100 000)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { SystemEvent } from '../src/system/index.ts';
import { MK_SCENARIO } from '../test/oracle/fixtures.ts';
import { envCount, isMain, printTable, type BenchResult } from './harness.ts';

const MKHV = join(import.meta.dirname, '..', 'bin', 'mkhv.js');

/** Both CPUs busy, a tick on each every 64 execs. */
const eventAt = (i: number): SystemEvent => (i % 66 >= 64 ? { kind: 'tick', cpu: (i % 66) - 64 } : { kind: 'exec', cpu: i % 2 });

/** Steps/s through serve: the clock starts when the scenario has loaded. */
async function serveCase(steps: number): Promise<BenchResult> {
  const child = spawn(process.execPath, [MKHV, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done === true) throw new Error('serve exited early');
    return r.value;
  };
  child.stdin!.write(JSON.stringify({ type: 'load', scenario: MK_SCENARIO }) + '\n');
  await next();
  const t0 = process.hrtime.bigint();
  let peak = 0;
  // Write in batches so the pipe stays full without buffering every request at once.
  const BATCH = 1000;
  let errors = 0;
  for (let sent = 0; sent < steps; sent += BATCH) {
    let chunk = '';
    for (let i = sent; i < Math.min(steps, sent + BATCH); i++) chunk += `{"type":"step","event":${JSON.stringify(eventAt(i))}}\n`;
    child.stdin!.write(chunk);
    for (let i = sent; i < Math.min(steps, sent + BATCH); i++) if (!(await next()).startsWith('{"ok":true')) errors++;
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  child.stdin!.end();
  await new Promise((resolve) => child.on('close', resolve));
  return { name: 'oracle: serve over a pipe (client/server scenario)', unit: 'step', count: steps, seconds, peakRssMiB: peak / 2 ** 20, note: `${errors} error responses; RSS is the client's` };
}

/** `run --json` of a 100 000-event trace, from process start to the last record read. */
async function runCase(events: number): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mkhv-bench-'));
  writeFileSync(join(dir, 'scenario.json'), JSON.stringify(MK_SCENARIO));
  writeFileSync(join(dir, 'trace.json'), JSON.stringify({ format: 'mkhv-trace', version: 1, events: Array.from({ length: events }, (_, i) => eventAt(i)) }));
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [MKHV, 'run', join(dir, 'scenario.json'), join(dir, 'trace.json'), '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let records = -1;
  let bytes = 0;
  for await (const line of createInterface({ input: child.stdout! })) {
    records++;
    bytes += line.length + 1;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name: `oracle: run --json, ${events} events (with start-up)`, unit: 'step', count: records, seconds, peakRssMiB: process.memoryUsage().rss / 2 ** 20, note: `${(bytes / 2 ** 20).toFixed(1)} MiB of records; RSS is the reader's` };
}

/** The oracle benchmarks. */
export async function oracleBenchmarks(steps = envCount('BENCH_STEPS', 100_000)): Promise<BenchResult[]> {
  return [await serveCase(steps), await runCase(100_000)];
}

if (isMain(import.meta.url)) printTable('oracle benchmark (child processes over pipes)', await oracleBenchmarks());
