/**
 * The parallel search (CHK-PAR-1 in spec/model-checking.md): worker threads, one `Partition`
 * each, driven level by level. The coordinator routes the states each worker hands to the
 * others, in worker order, and stops at the end of the level in which a bound is reached or a
 * violation found — so a violation reported is one of the least depth, like the serial
 * search's, and a run without one counts the same states and transitions.
 *
 * @module
 */
import { Worker } from 'node:worker_threads';
import * as E from 'fp-ts/lib/Either.js';
import { mkError, type MkhvError } from '../hw/index.ts';
import type { CheckResult, Progress, Violation } from './explore.ts';
import { betterViolation, type Handed, type PartitionOptions } from './partition.ts';
import type { CheckTarget } from './target.ts';
import type { FromWorker, ToWorker, WorkerInit } from './worker.ts';

export interface ParallelBounds {
  readonly maxDepth: number;
  readonly maxStates: number;
  readonly onProgress?: (p: Progress) => void;
  readonly shouldStop?: () => boolean;
}

/** A worker and its answers, in order: one may arrive before it is awaited. */
class Peer {
  private readonly answers: FromWorker[] = [];
  private waiting: ((m: FromWorker) => void) | null = null;
  private failure: string | null = null;
  constructor(readonly worker: Worker) {
    worker.on('message', (m: FromWorker) => this.answer(m));
    worker.on('error', (e) => this.fail(e.message));
    worker.on('exit', (code) => this.fail(`worker exited with code ${code}`));
  }
  next(): Promise<FromWorker> {
    const m = this.answers.shift();
    if (m !== undefined) return Promise.resolve(m);
    // A worker that has failed will not answer: the failure is its answer.
    if (this.failure !== null) return Promise.resolve({ type: 'ready', error: this.failure });
    return new Promise((resolve) => (this.waiting = resolve));
  }
  ask(m: ToWorker): Promise<FromWorker> {
    this.worker.postMessage(m);
    return this.next();
  }
  private answer(m: FromWorker): void {
    const w = this.waiting;
    this.waiting = null;
    if (w !== null) w(m);
    else this.answers.push(m);
  }
  private fail(why: string): void {
    this.failure ??= why;
    const w = this.waiting;
    this.waiting = null;
    w?.({ type: 'ready', error: this.failure });
  }
}

const WORKER_URL = new URL('./worker-entry.mjs', import.meta.url);

export async function exploreParallel(target: CheckTarget, options: PartitionOptions, workers: number, bounds: ParallelBounds): Promise<E.Either<MkhvError, CheckResult>> {
  const peers = Array.from({ length: workers }, (_, index) => new Peer(new Worker(WORKER_URL, { workerData: { target, options, index, workers } satisfies WorkerInit })));
  try {
    for (const p of peers) {
      const m = await p.next();
      if (m.type !== 'ready' || m.error !== null) return E.left(mkError('check.worker', `check: a worker could not start (${m.type === 'ready' ? m.error : m.type})`, ''));
    }
    return E.right(await levels(peers, bounds));
  } catch (e) {
    return E.left(mkError('check.worker', `check: a worker failed (${e instanceof Error ? e.message : String(e)})`, ''));
  } finally {
    await Promise.all(peers.map((p) => p.worker.terminate()));
  }
}

type Advanced = Extract<FromWorker, { type: 'advanced' }>;

async function levels(peers: readonly Peer[], bounds: ParallelBounds): Promise<CheckResult> {
  let depth = 0;
  let totals = { states: 1, transitions: 0, frontier: 1, bytes: 0 };
  const result = (violation: Violation | null, outcome: { exhausted?: boolean; depthBounded?: boolean; stopped?: boolean }): CheckResult => ({
    states: totals.states,
    transitions: totals.transitions,
    depth,
    exhausted: outcome.exhausted ?? false,
    depthBounded: outcome.depthBounded ?? false,
    stopped: outcome.stopped ?? false,
    violation,
    // Each trace a frontier state carries is not counted: it lives only as long as its level.
    bytesPerState: totals.bytes / Math.max(1, totals.states),
  });
  for (;;) {
    if (totals.frontier === 0) return result(null, { exhausted: true });
    if (depth >= bounds.maxDepth) return result(null, { depthBounded: true });
    const expanded = await Promise.all(peers.map((p) => p.ask({ type: 'expand' })));
    const inboxes: Handed<unknown>[][] = peers.map(() => []);
    for (const m of expanded) {
      if (m.type !== 'expanded') throw new Error(`expected the expanded states (${m.type === 'ready' ? m.error : m.type})`);
      m.out.forEach((items, owner) => inboxes[owner]!.push(...items));
    }
    await Promise.all(peers.map((p, i) => p.ask({ type: 'receive', items: inboxes[i]! })));
    const advanced = (await Promise.all(peers.map((p) => p.ask({ type: 'advance' })))) as Advanced[];
    depth++;
    totals = advanced.reduce((t, m) => ({ states: t.states + m.states, transitions: t.transitions + m.transitions, frontier: t.frontier + m.frontier, bytes: t.bytes + m.bytes }), { states: 0, transitions: 0, frontier: 0, bytes: 0 });
    if (totals.frontier === 0) depth--;
    let best: Advanced | null = null;
    for (const m of advanced) if (m.violation !== null && (best === null || betterViolation(best.violation, m.violation, best.violationTrace, m.violationTrace))) best = m;
    if (best !== null) {
      depth = best.violationTrace.length;
      return result(best.violation, {});
    }
    bounds.onProgress?.({ states: totals.states, transitions: totals.transitions, queue: totals.frontier, depth });
    if (totals.states >= bounds.maxStates) return result(null, {});
    if (bounds.shouldStop?.() === true) return result(null, { stopped: true });
  }
}
