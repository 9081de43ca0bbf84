/**
 * The parallel search (CHK-PAR-1 in spec/model-checking.md). Every worker thread generates the
 * whole state graph — stepping and fingerprinting are the cheap part — and checks only its
 * share of the states, by fingerprint: the invariants, deadlock and the integrity of the
 * transitions leaving them, which are the expensive part. No state crosses between threads.
 * Since every worker runs the same deterministic search, a violation's position (the number
 * of transitions tried when it was found) means the same in each; the coordinator reports the
 * earliest, which is exactly the one the serial search reports, with the same counts.
 *
 * @module
 */
import { Worker } from 'node:worker_threads';
import * as E from 'fp-ts/lib/Either.js';
import { mkError, type MkhvError } from '../hw/index.ts';
import type { CheckResult, Progress } from './explore.ts';
import type { CheckTarget } from './target.ts';
import type { FromWorker, WorkerInit } from './worker.ts';
import type { SystemEvent } from '../system/index.ts';

export interface ParallelSearch {
  readonly target: CheckTarget;
  readonly alphabet: readonly SystemEvent[];
  readonly invariants: boolean;
  readonly integrity: boolean;
  readonly deadlock: boolean;
  readonly maxDepth: number;
  readonly maxStates: number;
  readonly workers: number;
  /** CHK-SYM-3: groups of interchangeable domains (already checked); each worker builds the same canonical fingerprint. */
  readonly symmetry?: readonly (readonly string[])[];
  readonly onProgress?: (p: Progress) => void;
  /** Polled on each progress report and every 200 ms: true stops every worker. */
  readonly shouldStop?: () => boolean;
}

/** Workers do not inherit the main thread's module loader: this entry registers tsx first. */
const WORKER_URL = new URL('./worker-entry.mjs', import.meta.url);

/** CHK-PAR-1: of the workers' results, the one the serial search gives. */
export function combine(results: readonly CheckResult[]): CheckResult {
  const violating = results.filter((r) => r.violation !== null);
  if (violating.length === 0) return results[0]!;
  return violating.reduce((best, r) => (r.transitions < best.transitions ? r : best));
}

export async function exploreParallel(search: ParallelSearch): Promise<E.Either<MkhvError, CheckResult>> {
  const shared = new SharedArrayBuffer(16);
  const stop = new Int32Array(shared, 0, 1);
  new BigInt64Array(shared, 8, 1)[0] = BigInt(Number.MAX_SAFE_INTEGER);
  const { onProgress, shouldStop, workers, ...rest } = search;
  const poll = () => {
    if (shouldStop?.() === true) Atomics.store(stop, 0, 1);
  };
  const timer = setInterval(poll, 200);
  const runs = Array.from({ length: workers }, (_, index) => {
    const init: WorkerInit = { ...rest, index, workers, shared };
    const worker = new Worker(WORKER_URL, { workerData: init });
    return new Promise<E.Either<string, CheckResult>>((resolve) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'progress') {
          onProgress?.(m.progress);
          poll();
        } else resolve(m.type === 'result' ? E.right(m.result) : E.left(m.message));
      });
      worker.on('error', (e) => resolve(E.left(e.message)));
      worker.on('exit', (code) => resolve(E.left(`worker ${index} exited with code ${code} before its result`)));
    }).finally(() => worker.terminate());
  });
  try {
    const results = await Promise.all(runs);
    const failed = results.find(E.isLeft);
    if (failed !== undefined && E.isLeft(failed)) return E.left(mkError('check.worker', `check: a worker failed (${failed.left})`, ''));
    return E.right(combine(results.flatMap((r) => (E.isRight(r) ? [r.right] : []))));
  } finally {
    clearInterval(timer);
  }
}
