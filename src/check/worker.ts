/**
 * A worker thread of the parallel search (CHK-PAR-1): boots the target itself and drives one
 * `Partition` from the coordinator's messages.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as E from 'fp-ts/lib/Either.js';
import { Partition, type Handed, type PartitionOptions } from './partition.ts';
import { bootTarget, type CheckTarget } from './target.ts';

export interface WorkerInit {
  readonly target: CheckTarget;
  readonly options: PartitionOptions;
  readonly index: number;
  readonly workers: number;
}

/** Coordinator → worker. */
export type ToWorker = { readonly type: 'expand' } | { readonly type: 'receive'; readonly items: readonly Handed<unknown>[] } | { readonly type: 'advance' };

/** Worker → coordinator. */
export type FromWorker =
  | { readonly type: 'ready'; readonly error: string | null }
  | { readonly type: 'expanded'; readonly out: Handed<unknown>[][] }
  | { readonly type: 'received' }
  | { readonly type: 'advanced'; readonly states: number; readonly frontier: number; readonly transitions: number; readonly bytes: number; readonly violation: ReturnType<Partition<unknown>['found']>; readonly violationTrace: readonly number[] };

const port = parentPort!;
const init = workerData as WorkerInit;
const booted = bootTarget(init.target);
if (E.isLeft(booted)) {
  port.postMessage({ type: 'ready', error: booted.left.message } satisfies FromWorker);
} else {
  const partition = new Partition(booted.right.sup, init.options, init.index, init.workers);
  partition.seed(booted.right.boot);
  port.postMessage({ type: 'ready', error: null } satisfies FromWorker);
  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'expand':
        port.postMessage({ type: 'expanded', out: partition.expand() } satisfies FromWorker);
        return;
      case 'receive':
        partition.receive(m.items);
        port.postMessage({ type: 'received' } satisfies FromWorker);
        return;
      case 'advance':
        partition.advance();
        port.postMessage({
          type: 'advanced',
          states: partition.states,
          frontier: partition.frontierSize,
          transitions: partition.transitions,
          bytes: partition.bytes,
          violation: partition.found(),
          violationTrace: partition.foundTrace(),
        } satisfies FromWorker);
        return;
    }
  });
}
