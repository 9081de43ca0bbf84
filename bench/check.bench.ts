/**
 * `npm run bench:check`: the model checker's throughput — distinct states per second, bytes
 * per state in the visited set and peak memory — on a microkernel IPC scenario and a
 * hypervisor grant scenario, serial and with 2 worker threads. Each run is a fresh
 * `mkhv check --json` process, so that its peak memory is its own. BENCH_CHECK_WORKERS sets the
 * parallel run's worker count.
 */
import { spawnSync } from 'node:child_process';
import { envCount, isMain } from './harness.ts';

const SCENARIOS = [
  { name: 'microkernel IPC, 4 threads, 3 CPUs', path: 'proofs/scenarios/mk-ipc-3cpu.json' },
  { name: 'hypervisor grant + event channel, 4 domains', path: 'proofs/scenarios/hv-grant-evtchn.json' },
];

interface CheckJson {
  readonly verdict: string;
  readonly states: number;
  readonly transitions: number;
  readonly depth: number;
  readonly seconds: number;
  readonly statesPerSecond: number;
  readonly bytesPerState: number;
  readonly peakRssBytes: number;
}

function run(path: string, workers: number): CheckJson {
  const r = spawnSync(process.execPath, ['bin/mkhv.js', 'check', path, '--json', '--workers', String(workers), '--progress', '0'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mkhv check ${path} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as CheckJson;
}

export function checkBenchmarks(): void {
  const parallel = envCount('BENCH_CHECK_WORKERS', 2);
  console.log(`mkhv check benchmarks (node ${process.version})`);
  console.log(`${'scenario'.padEnd(44)}  ${'workers'.padStart(7)}  ${'states'.padStart(8)}  ${'transitions'.padStart(11)}  ${'time'.padStart(7)}  ${'states/s'.padStart(9)}  ${'B/state'.padStart(8)}  ${'peak RSS'.padStart(9)}`);
  for (const s of SCENARIOS) {
    for (const workers of [1, parallel]) {
      const r = run(s.path, workers);
      console.log(
        `${s.name.padEnd(44)}  ${String(workers).padStart(7)}  ${String(r.states).padStart(8)}  ${String(r.transitions).padStart(11)}  ${(r.seconds.toFixed(2) + ' s').padStart(7)}  ${String(r.statesPerSecond).padStart(9)}  ${String(r.bytesPerState).padStart(8)}  ${((r.peakRssBytes / 2 ** 20).toFixed(0) + ' MiB').padStart(9)}`,
      );
    }
  }
}

if (isMain(import.meta.url)) checkBenchmarks();
