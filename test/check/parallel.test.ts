/**
 * CHK-PAR-1: the parallel search — every worker generating the whole graph and checking its
 * share of the states — gives exactly the serial search's result: counts, depth, verdict and
 * counterexample.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkTarget, explore, type CheckOptions } from '../../src/check/index.ts';
import { combine } from '../../src/check/parallel.ts';
import { ownerOf } from '../../src/check/worker.ts';
import type { Supervisor } from '../../src/system/index.ts';
import { MUTANTS } from '../../proofs/mutants.ts';
import { HV_GRANT, loadScenario, MK_IPC, type Loaded } from './fixtures.ts';

const mk = loadScenario(MK_IPC);
const hv = loadScenario(HV_GRANT);
const optionsOf = (l: Loaded, maxDepth = Infinity): CheckOptions => ({ alphabet: l.spec.alphabet, invariants: true, integrity: true, deadlock: false, maxDepth, maxStates: Infinity });
const serial = (l: Loaded, sup: Supervisor<unknown> = l.booted.sup, maxDepth = Infinity) => explore(sup, l.booted.boot, optionsOf(l, maxDepth));

/** The workers' searches run one after another in this thread, and combined. */
function shares(l: Loaded, n: number, sup: Supervisor<unknown> = l.booted.sup, maxDepth = Infinity) {
  const results = Array.from({ length: n }, (_, i) => explore(sup, l.booted.boot, { ...optionsOf(l, maxDepth), checks: (a, b) => ownerOf(a, b, n) === i }));
  return { results, combined: combine(results) };
}

describe('CHK-PAR-1: parallel exploration', () => {
  it('the shares of the checks partition the states, and combined give the serial result', () => {
    for (const [l, depth] of [[mk, Infinity], [hv, 20]] as const) {
      const s = serial(l, l.booted.sup, depth);
      for (const n of [2, 3]) {
        const p = shares(l, n, l.booted.sup, depth);
        expect(p.combined).toEqual(s);
        // Every worker generates the whole graph.
        for (const r of p.results) expect(r.states).toBe(s.states);
      }
    }
  });

  it('on a broken supervisor the combined result is the serial counterexample, found at the same point', () => {
    for (const [name, l] of [['mk-crash-leaves-waiter', mk], ['mk-misdelivery', mk], ['hv-unmap-skips-flush', hv], ['hv-stray-write', hv]] as const) {
      const sup = MUTANTS.get(name)!.supervisor;
      const s = serial(l, sup);
      expect(s.violation, name).not.toBeNull();
      expect(shares(l, 2, sup).combined, name).toEqual(s);
    }
  });

  it('worker threads give the serial result', async () => {
    for (const l of [mk, hv]) {
      const s = serial(l, l.booted.sup, 20);
      const r = await checkTarget(l.target, l.spec, { maxDepth: 20, maxStates: Infinity, workers: 2 });
      expect(E.isRight(r) && r.right.workers).toBe(2);
      expect(E.isRight(r) && r.right.result).toEqual(s);
    }
  }, 120_000);

  it('worker threads stop when the caller says so', async () => {
    const r = await checkTarget(hv.target, hv.spec, { maxDepth: Infinity, maxStates: Infinity, workers: 2, shouldStop: () => true });
    expect(E.isRight(r) && r.right.result.stopped).toBe(true);
  }, 120_000);
});
