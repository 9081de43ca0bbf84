/**
 * CHK-PAR-1: the parallel search — worker threads, each owning a share of the states — counts
 * the same states and transitions as the serial one and reaches the same verdict.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkTarget, explore } from '../../src/check/index.ts';
import { Partition, type PartitionOptions } from '../../src/check/partition.ts';
import type { Supervisor, System } from '../../src/system/index.ts';
import { MUTANTS } from '../../proofs/mutants.ts';
import { HV_GRANT, loadScenario, MK_IPC, type Loaded } from './fixtures.ts';

const mk = loadScenario(MK_IPC);
const hv = loadScenario(HV_GRANT);
const partitionOptions = (l: Loaded): PartitionOptions => ({ alphabet: l.spec.alphabet, invariants: true, integrity: true, deadlock: false });
const serial = (l: Loaded, sup: Supervisor<unknown> = l.booted.sup, maxDepth = Infinity) =>
  explore(sup, l.booted.boot, { ...partitionOptions(l), maxDepth, maxStates: Infinity });

/** The parallel search's levels driven in this thread, over `n` partitions. */
function inThread(l: Loaded, n: number, sup: Supervisor<unknown> = l.booted.sup, maxDepth = Infinity) {
  const parts = Array.from({ length: n }, (_, i) => new Partition(sup, partitionOptions(l), i, n));
  parts.forEach((p) => p.seed(l.booted.boot as System<unknown>));
  for (let level = 0; ; level++) {
    const out = parts.map((p) => p.expand());
    parts.forEach((p, i) => p.receive(out.flatMap((o) => o[i]!)));
    parts.forEach((p) => p.advance());
    const found = parts.map((p) => p.found()).filter((v) => v !== null);
    const frontier = parts.reduce((t, p) => t + p.frontierSize, 0);
    if (found.length > 0 || frontier === 0 || level + 1 >= maxDepth) {
      return { states: parts.reduce((t, p) => t + p.states, 0), transitions: parts.reduce((t, p) => t + p.transitions, 0), found, shares: parts.map((p) => p.states) };
    }
  }
}

describe('CHK-PAR-1: parallel exploration', () => {
  it('partitions split the states between them and together count what the serial search counts', () => {
    for (const [l, depth] of [[mk, Infinity], [hv, 24]] as const) {
      const s = serial(l, l.booted.sup, depth);
      for (const n of [2, 3]) {
        const p = inThread(l, n, l.booted.sup, depth);
        expect(p.states, `${l.scenario.name}, ${n} partitions`).toBe(s.states);
        expect(p.transitions).toBe(s.transitions);
        expect(p.found).toEqual([]);
        // Every partition owns some of the states: the work is shared.
        for (const share of p.shares) expect(share).toBeGreaterThan(0);
      }
    }
  });

  it('on a broken supervisor the partitions find a violation of the same kind and least length as the serial search', () => {
    for (const [name, l] of [['mk-crash-leaves-waiter', mk], ['mk-misdelivery', mk], ['hv-unmap-skips-flush', hv], ['hv-stray-write', hv]] as const) {
      const sup = MUTANTS.get(name)!.supervisor;
      const s = serial(l, sup).violation!;
      const p = inThread(l, 2, sup);
      const best = p.found.reduce((a, b) => (b!.trace.length < a!.trace.length ? b : a));
      expect(best!.kind, name).toBe(s.kind);
      expect(best!.trace.length).toBe(s.trace.length);
    }
  });

  it('worker threads give the serial counts, depth and verdict', async () => {
    for (const l of [mk, hv]) {
      const s = serial(l, l.booted.sup, 20);
      const r = await checkTarget(l.target, l.spec, { maxDepth: 20, maxStates: Infinity, workers: 2 });
      expect(E.isRight(r)).toBe(true);
      if (E.isLeft(r)) return;
      expect(r.right.workers).toBe(2);
      expect({ states: r.right.result.states, transitions: r.right.result.transitions, depth: r.right.result.depth, depthBounded: r.right.result.depthBounded, violation: r.right.result.violation }).toEqual({
        states: s.states,
        transitions: s.transitions,
        depth: s.depth,
        depthBounded: s.depthBounded,
        violation: null,
      });
    }
  }, 120_000);
});
