/**
 * The serial search (CHK-BFS-1..4, CHK-PROP-1..3, CHK-FP-2), checked against a plain
 * breadth-first search and against the deliberately broken supervisors of proofs/mutants.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explore, type CheckOptions } from '../../src/check/index.ts';
import { FingerprintSet } from '../../src/check/visited.ts';
import { fingerprint, step, type Supervisor, type System } from '../../src/system/index.ts';
import { MUTANTS } from '../../proofs/mutants.ts';
import { HV_GRANT, loadScenario, MK_IPC, plainBfs, replay, type Loaded } from './fixtures.ts';

const mk = loadScenario(MK_IPC);
const hv = loadScenario(HV_GRANT);

const optionsOf = (l: Loaded, extra: Partial<CheckOptions> = {}): CheckOptions => ({
  alphabet: l.spec.alphabet,
  maxDepth: Infinity,
  maxStates: Infinity,
  invariants: true,
  integrity: true,
  deadlock: false,
  ...extra,
});

describe('the search', () => {
  for (const l of [mk, hv]) {
    it(`CHK-BFS-1: on ${l.scenario.name} it finds the states, levels and transitions of a plain breadth-first search`, () => {
      const ref = plainBfs(l.booted.sup, l.booted.boot, l.spec.alphabet);
      const r = explore(l.booted.sup, l.booted.boot, optionsOf(l, { invariants: false, integrity: false }));
      expect(r.states).toBe(ref.perLevel.reduce((a, b) => a + b, 0));
      expect(r.depth).toBe(ref.perLevel.length - 1);
      expect(r.transitions).toBe(ref.transitions);
      expect(r.exhausted).toBe(true);
      expect(r.violation).toBeNull();
    });
  }

  it('CHK-BFS-1: the search is deterministic: the same counts and the same progress reports', () => {
    const reports = (): string[] => {
      const out: string[] = [];
      explore(mk.booted.sup, mk.booted.boot, optionsOf(mk, { progressEvery: 16, onProgress: (p) => out.push(JSON.stringify(p)) }));
      return out;
    };
    const a = reports();
    expect(a.length).toBeGreaterThan(10);
    expect(reports()).toEqual(a);
  });

  it('CHK-BFS-3: a depth bound explores exactly the states within it, and says so', () => {
    const ref = plainBfs(hv.booted.sup, hv.booted.boot, hv.spec.alphabet, 12);
    const r = explore(hv.booted.sup, hv.booted.boot, optionsOf(hv, { maxDepth: 12 }));
    expect(r.states).toBe(ref.perLevel.reduce((a, b) => a + b, 0));
    expect(r.transitions).toBe(ref.transitions);
    expect(r.depth).toBe(12);
    expect(r).toMatchObject({ depthBounded: true, exhausted: false, stopped: false });
  });

  it('CHK-BFS-3: a state bound stops at that many states; a time bound at the next report', () => {
    const r = explore(hv.booted.sup, hv.booted.boot, optionsOf(hv, { maxStates: 500 }));
    expect(r.states).toBe(500);
    expect(r).toMatchObject({ depthBounded: false, exhausted: false, stopped: false });
    let asked = 0;
    const t = explore(hv.booted.sup, hv.booted.boot, optionsOf(hv, { progressEvery: 100, shouldStop: () => ++asked >= 3 }));
    expect(t.stopped).toBe(true);
    expect(t.states).toBeLessThan(400);
  });

  it('CHK-BFS-4: progress reports count up, and the last matches the result', () => {
    const seen: { states: number; transitions: number; depth: number }[] = [];
    const r = explore(mk.booted.sup, mk.booted.boot, optionsOf(mk, { progressEvery: 50, onProgress: (p) => seen.push(p) }));
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.states).toBeGreaterThanOrEqual(seen[i - 1]!.states);
      expect(seen[i]!.transitions).toBeGreaterThanOrEqual(seen[i - 1]!.transitions);
    }
    expect(seen[seen.length - 1]).toMatchObject({ states: r.states, transitions: r.transitions, depth: r.depth });
  });
});

/** The least depth at which a state of `sup` breaks an invariant, by plain search. */
function leastViolatingDepth<S>(sup: Supervisor<S>, boot: System<S>, l: Loaded, maxDepth: number): number {
  const seen = new Set([fingerprint(boot)]);
  let level = [boot];
  for (let d = 1; d <= maxDepth; d++) {
    const next: System<S>[] = [];
    for (const s of level) {
      for (const e of l.spec.alphabet) {
        const t = step(sup, s, e).system;
        const f = fingerprint(t);
        if (seen.has(f)) continue;
        seen.add(f);
        if (sup.invariants(t).some((r) => r.violations.length > 0)) return d;
        next.push(t);
      }
    }
    level = next;
  }
  return Infinity;
}

describe('counterexamples', () => {
  it('CHK-PROP-1, CHK-BFS-2: an invariant broken by a mutant is reported with a shortest trace that replays to it', () => {
    for (const [name, l] of [['mk-crash-leaves-waiter', mk], ['hv-unmap-skips-flush', hv]] as const) {
      const sup = MUTANTS.get(name)!.supervisor;
      const r = explore(sup, l.booted.boot, optionsOf(l, { integrity: false }));
      const v = r.violation!;
      expect(v.kind, name).toBe('invariant');
      expect(v.trace.length).toBe(leastViolatingDepth(sup, l.booted.boot, l, v.trace.length + 1));
      const end = replay(sup, l.booted.boot, v.trace).pop()!;
      expect(fingerprint(end)).toBe(v.fingerprint);
      expect(sup.invariants(end).find((x) => x.name === v.name)!.violations).toEqual(v.details);
      // The real supervisor, on the same trace, breaks nothing.
      const real = replay(l.booted.sup, l.booted.boot, v.trace).pop()!;
      expect(l.booted.sup.invariants(real).flatMap((x) => x.violations)).toEqual([]);
    }
  });

  it('CHK-PROP-2, CHK-BFS-2: a transition that changes the view of a domain with no authority edge to it is an integrity violation', () => {
    for (const [name, l, victim] of [['mk-misdelivery', mk, 'listener'], ['hv-stray-write', hv, 'front']] as const) {
      const sup = MUTANTS.get(name)!.supervisor;
      const r = explore(sup, l.booted.boot, optionsOf(l));
      const v = r.violation!;
      expect(v.kind, name).toBe('integrity');
      expect(v.details.join()).toContain(`view of ${victim}`);
      const systems = replay(sup, l.booted.boot, v.trace);
      const [before, after] = systems.slice(-2) as [System<unknown>, System<unknown>];
      expect(JSON.stringify(sup.view(after, victim))).not.toBe(JSON.stringify(sup.view(before, victim)));
      expect(fingerprint(after)).toBe(v.fingerprint);
      // No shorter trace: with integrity checked only up to one event less, nothing is found.
      expect(explore(sup, l.booted.boot, optionsOf(l, { maxDepth: v.trace.length - 1 })).violation).toBeNull();
    }
  });

  it('CHK-PROP-1: a boot state that breaks an invariant is reported with the empty trace', () => {
    const broken: Supervisor<unknown> = { ...mk.booted.sup, invariants: (s) => [...mk.booted.sup.invariants(s), { name: 'never', violations: ['planted'] }] };
    const r = explore(broken, mk.booted.boot, optionsOf(mk));
    expect(r.violation).toMatchObject({ kind: 'invariant', name: 'never', trace: [], fingerprint: fingerprint(mk.booted.boot) });
  });

  it('CHK-PROP-3: a state no event leaves is a deadlock, found only when asked for', () => {
    // One thread waits on an endpoint nobody else holds; once it blocks, the CPU idles for good.
    const l = loadScenario(MK_IPC, (json) => ({
      ...json,
      machine: { ...(json['machine'] as object), cpus: 1 },
      boot: { objects: [{ name: 'ep', type: 'endpoint' }], threads: [{ name: 'waiter', caps: [{ slot: 1, object: 'ep', rights: 'R' }], program: 'addi r1, r0, 1\n svc 4\nspin: b spin' }] },
      check: { alphabet: [{ kind: 'exec', cpu: 0 }], deadlock: true },
    }));
    const r = explore(l.booted.sup, l.booted.boot, optionsOf(l, { deadlock: true }));
    expect(r.violation?.kind).toBe('deadlock');
    const end = replay(l.booted.sup, l.booted.boot, r.violation!.trace).pop()!;
    expect(fingerprint(step(l.booted.sup, end, { kind: 'exec', cpu: 0 }).system)).toBe(fingerprint(end));
    expect(explore(l.booted.sup, l.booted.boot, optionsOf(l)).violation).toBeNull();
    // The proof scenarios never deadlock.
    expect(explore(mk.booted.sup, mk.booted.boot, optionsOf(mk, { deadlock: true })).violation).toBeNull();
  });
});

describe('CHK-FP-2: the visited set', () => {
  it('behaves as a set of 64-bit values, giving ids in the order of first insertion, across growth', () => {
    const lane = fc.oneof(fc.constantFrom(0, 1, 0xffffffff, 0x80000000), fc.integer({ min: 0, max: 0xffffffff }));
    fc.assert(
      fc.property(fc.array(fc.tuple(lane, lane), { maxLength: 3000 }), (pairs) => {
        const set = new FingerprintSet(4);
        const ref = new Map<string, number>();
        for (const [a, b] of pairs) {
          // The all-zero fingerprint marks an empty slot: it is stored as (0, 1), the one
          // collision the table adds to the hash's own.
          const key = a === 0 && b === 0 ? '0:1' : `${a}:${b}`;
          const got = set.add(a, b);
          if (ref.has(key)) expect(got).toBe(-1 - ref.get(key)!);
          else {
            expect(got).toBe(ref.size);
            ref.set(key, ref.size);
          }
        }
        expect(set.size).toBe(ref.size);
        for (const [a, b] of pairs) expect(set.has(a, b)).toBe(true);
        expect(set.has(12345, 67890)).toBe(ref.has('12345:67890'));
      }),
      { numRuns: 30 },
    );
  });

  it('costs at most 24 bytes a state when the table has just grown (two lanes and an id, half full)', () => {
    const set = new FingerprintSet(16);
    for (let i = 0; i < 1 << 20; i++) set.add(Math.imul(i, 0x9e3779b1) >>> 0, i);
    expect(set.size).toBe(1 << 20);
    expect(set.bytes / set.size).toBeLessThanOrEqual(24);
  });
});
