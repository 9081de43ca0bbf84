/**
 * A worker thread of the parallel search (CHK-PAR-1): it boots the target itself and runs the
 * whole breadth-first search, checking only the states its share of the fingerprints names.
 * Three shared words coordinate the workers: a stop flag the coordinator raises (time bound),
 * and the least transition count at which any worker has found a violation, past which no
 * worker need go on.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as E from 'fp-ts/lib/Either.js';
import { explore, type CheckResult, type Progress } from './explore.ts';
import { symmetryOf } from './symmetry.ts';
import { bootTarget, type CheckTarget } from './target.ts';
import type { SystemEvent } from '../system/index.ts';

export interface WorkerInit {
  readonly target: CheckTarget;
  readonly alphabet: readonly SystemEvent[];
  readonly invariants: boolean;
  readonly integrity: boolean;
  readonly deadlock: boolean;
  readonly maxDepth: number;
  readonly maxStates: number;
  readonly index: number;
  readonly workers: number;
  /** CHK-SYM-3: groups of interchangeable domains; absent: none. */
  readonly symmetry?: readonly (readonly string[])[];
  /** Int32 [0]: stop (time bound); BigInt64 at byte 8: least transition count of a violation found. */
  readonly shared: SharedArrayBuffer;
}

/** Worker → coordinator. */
export type FromWorker =
  | { readonly type: 'progress'; readonly progress: Progress }
  | { readonly type: 'result'; readonly result: CheckResult }
  | { readonly type: 'error'; readonly message: string };

/** Which worker checks the state with these fingerprint lanes. */
export const ownerOf = (a: number, b: number, workers: number): number => ((a ^ b) >>> 0) % workers;

/** Lowers the shared least violation position to `at`, unless it is lower already. */
export function offerViolation(least: BigInt64Array, at: number): void {
  const mine = BigInt(at);
  for (;;) {
    const now = Atomics.load(least, 0);
    if (now <= mine || Atomics.compareExchange(least, 0, now, mine) === now) return;
  }
}

if (parentPort !== null) {
  const port = parentPort;
  const init = workerData as WorkerInit;
  const booted = bootTarget(init.target);
  const canonical = E.isLeft(booted) ? booted : symmetryOf(init.target, booted.right.sup, init.symmetry, init.alphabet);
  if (E.isLeft(booted) || E.isLeft(canonical)) {
    port.postMessage({ type: 'error', message: E.isLeft(booted) ? booted.left.message : E.isLeft(canonical) ? canonical.left.message : '' } satisfies FromWorker);
  } else {
    const stop = new Int32Array(init.shared, 0, 1);
    const least = new BigInt64Array(init.shared, 8, 1);
    const result = explore(booted.right.sup, booted.right.boot, {
      alphabet: init.alphabet,
      maxDepth: init.maxDepth,
      maxStates: init.maxStates,
      invariants: init.invariants,
      integrity: init.integrity,
      deadlock: init.deadlock,
      checks: (a, b) => ownerOf(a, b, init.workers) === init.index,
      // A violation found after `transitions` by another worker comes first: nothing this one finds later can.
      abandon: (transitions) => Atomics.load(least, 0) < BigInt(transitions) || Atomics.load(stop, 0) !== 0,
      shouldStop: () => Atomics.load(stop, 0) !== 0,
      ...(canonical.right === undefined ? {} : { canonical: canonical.right }),
      ...(init.index === 0 ? { onProgress: (progress: Progress) => port.postMessage({ type: 'progress', progress } satisfies FromWorker) } : {}),
    });
    if (result.violation !== null) offerViolation(least, result.transitions);
    port.postMessage({ type: 'result', result } satisfies FromWorker);
  }
}
