/**
 * The model checker (spec/model-checking.md): breadth-first exploration of a booted scenario
 * under a bounded alphabet of events, serial or across worker threads.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { MkhvError } from '../hw/index.ts';
import { explore, type CheckResult, type Progress } from './explore.ts';
import { exploreParallel } from './parallel.ts';
import type { CheckSpec } from './spec.ts';
import { symmetryOf } from './symmetry.ts';
import { bootTarget, type CheckTarget } from './target.ts';

export { explore, type CheckOptions, type CheckResult, type Progress, type Violation } from './explore.ts';
export { type CheckSpec, CHECKER_VERSION, MAX_ALPHABET } from './spec.ts';
export { bootTarget, type Booted, type CheckTarget } from './target.ts';
export { canonicalFingerprint, symmetryOf, type Canonical } from './symmetry.ts';

export interface CheckBounds {
  readonly maxDepth: number;
  readonly maxStates: number;
  /** 1: in this thread; more: worker threads (CHK-PAR-1). */
  readonly workers: number;
  readonly onProgress?: (p: Progress) => void;
  readonly shouldStop?: () => boolean;
}

export interface CheckRun {
  readonly result: CheckResult;
  readonly workers: number;
  readonly integrity: boolean;
  readonly deadlock: boolean;
}

/** Boots `target` and explores it under `spec` within `bounds`. */
export async function checkTarget(target: CheckTarget, spec: CheckSpec, bounds: CheckBounds): Promise<E.Either<MkhvError, CheckRun>> {
  const options = { alphabet: spec.alphabet, invariants: spec.invariants, integrity: spec.integrity, deadlock: spec.deadlock };
  const meta = { workers: bounds.workers, integrity: spec.integrity, deadlock: spec.deadlock };
  const booted = bootTarget(target);
  if (E.isLeft(booted)) return booted;
  // CHK-SYM-3: a declared symmetry is checked before any search starts.
  const canonical = symmetryOf(target, booted.right.sup, spec.symmetry, spec.alphabet);
  if (E.isLeft(canonical)) return canonical;
  if (bounds.workers > 1) {
    const r = await exploreParallel({ target, ...options, ...bounds, ...(spec.symmetry === undefined ? {} : { symmetry: spec.symmetry }) });
    return E.map((result: CheckResult) => ({ result, ...meta }))(r);
  }
  const result = explore(booted.right.sup, booted.right.boot, { ...options, ...bounds, ...(canonical.right === undefined ? {} : { canonical: canonical.right }) });
  return E.right({ result, ...meta });
}
