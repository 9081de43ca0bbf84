/**
 * The benchmarks' shared harness: time a loop, track peak memory, print one table. Benchmarks
 * print figures; they are never tests and assert nothing about time.
 */
import { pathToFileURL } from 'node:url';

export interface BenchResult {
  readonly name: string;
  /** What is counted: "insn", "step", "op". */
  readonly unit: string;
  readonly count: number;
  readonly seconds: number;
  readonly peakRssMiB: number;
  /** Anything else worth printing (what the loop did, sanity counts). */
  readonly note: string;
}

/** Runs `body` `count` times after `warmup` untimed runs; returns the rate and the peak RSS. */
export function timeLoop(name: string, unit: string, count: number, body: (i: number) => void, warmup = Math.min(count, 20_000), note: () => string = () => ''): BenchResult {
  for (let i = 0; i < warmup; i++) body(i);
  let peak = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    body(i);
    if ((i & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  peak = Math.max(peak, process.memoryUsage().rss);
  return { name, unit, count, seconds, peakRssMiB: peak / 2 ** 20, note: note() };
}

const rate = (r: BenchResult): string => {
  const perSecond = r.count / r.seconds;
  return perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)} M ${r.unit}/s` : `${(perSecond / 1e3).toFixed(1)} k ${r.unit}/s`;
};

/** Prints results as one table. */
export function printTable(title: string, results: readonly BenchResult[]): void {
  console.log(`${title} (node ${process.version})`);
  const nameWidth = Math.max(9, ...results.map((r) => r.name.length));
  console.log(`${'benchmark'.padEnd(nameWidth)}  ${'throughput'.padStart(16)}  ${'count'.padStart(9)}  ${'time'.padStart(7)}  ${'peak RSS'.padStart(9)}  note`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(nameWidth)}  ${rate(r).padStart(16)}  ${String(r.count).padStart(9)}  ${(r.seconds.toFixed(2) + ' s').padStart(7)}  ${(r.peakRssMiB.toFixed(0) + ' MiB').padStart(9)}  ${r.note}`,
    );
  }
}

/** Whether the module at `url` is the one node was asked to run. */
export const isMain = (url: string): boolean => process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href;

export const envCount = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
};
