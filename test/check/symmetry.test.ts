/**
 * Symmetry reduction (CHK-SYM-1..4): the relabelling of two interchangeable guests is faithful
 * (an involution that keeps invariants, views and authority, and commutes with `step`), and the
 * reduced search gives the verdict of the full one — on the real hypervisor and on a mutant —
 * with fewer states.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { bootTarget, checkTarget, explore, symmetryOf, type Canonical, type CheckOptions, type CheckTarget } from '../../src/check/index.ts';
import type { HypervisorState } from '../../src/hypervisor/types.ts';
import { decodeScenario } from '../../src/oracle/formats.ts';
import { fingerprint, hypervisor, step, type Supervisor, type System, type SystemEvent } from '../../src/system/index.ts';

const GUEST = 'loop: addi r1, r0, 3\n addi r2, r0, 1\n hvc 6\n addi r1, r0, 0\n hvc 2\n b loop';
const SCENARIO = {
  format: 'mkhv-scenario',
  version: 1,
  name: 'hypervisor: two interchangeable guests signalling each other',
  supervisor: 'hypervisor',
  machine: { cpus: 2, frames: 32, wordsPerFrame: 16, pageTableLevels: 2, pageTableIndexBits: 4, tlbEntries: 1, irqLines: 8, devices: [{ kind: 'console', irq: 3 }] },
  boot: {
    domains: [
      { name: 'dom0', memory: 1, affinity: [1], kernel: 'loop: addi r1, r0, 0\n hvc 2\n b loop' },
      { name: 'g1', memory: 2, pages: 2, affinity: [0], kernel: GUEST },
      { name: 'g2', memory: 2, pages: 2, affinity: [0], kernel: GUEST },
    ],
    channels: [{ from: 'g1', to: 'g2' }],
    grants: [
      { from: 'g1', to: 'dom0', gfn: 1 },
      { from: 'g2', to: 'dom0', gfn: 1 },
    ],
  },
  check: {
    alphabet: [
      { kind: 'exec', cpu: 0 },
      { kind: 'exec', cpu: 1 },
      { kind: 'inject', fault: { kind: 'crash', domain: 'g1' } },
      { kind: 'inject', fault: { kind: 'crash', domain: 'g2' } },
    ],
    symmetry: [['g1', 'g2']],
  },
};

type Json = Record<string, unknown>;
function load(patch: (j: Json) => Json = (j) => j) {
  const s = decodeScenario(patch(structuredClone(SCENARIO) as Json));
  if (E.isLeft(s)) throw new Error(s.left.message);
  const target = { supervisor: s.right.supervisor, machine: s.right.machine, boot: s.right.boot } as CheckTarget;
  const booted = bootTarget(target);
  if (E.isLeft(booted)) throw new Error(booted.left.message);
  return { spec: s.right.check!, target, sup: booted.right.sup, boot: booted.right.boot };
}
const base = load();
const sup = base.sup;
const PAIR = ['g1', 'g2'] as const;
const swapEvent = (e: SystemEvent): SystemEvent =>
  e.kind === 'inject' ? { ...e, fault: { kind: 'crash', domain: e.fault.domain === 'g1' ? 'g2' : e.fault.domain === 'g2' ? 'g1' : e.fault.domain } } : e;
const rename = (n: string) => (n === 'g1' ? 'g2' : n === 'g2' ? 'g1' : n);

/** Reachable states: a deterministic pseudo-random walk from boot, restarted now and then. */
function walk(n: number, alphabet: readonly SystemEvent[]): System<unknown>[] {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out: System<unknown>[] = [];
  let s = base.boot;
  for (let k = 0; k < n; k++) {
    out.push(s);
    // Crashes are rarer than steps, so that most walks get far.
    const e = alphabet[Math.floor(rnd() * (k % 40 === 39 ? alphabet.length : 2))]!;
    s = step(sup, s, e).system;
    if (k % 150 === 149) s = base.boot;
  }
  return out;
}
const STATES = walk(900, base.spec.alphabet);

const freesFrames = (before: System<unknown>, after: System<unknown>) => {
  const a = (before.state as HypervisorState).frameOwner;
  return (after.state as HypervisorState).frameOwner.some((o, i) => o === -1 && a[i] !== -1);
};

type Permute = (s: System<unknown>) => System<unknown> | null;

/** Every way `permute` fails to be a faithful relabelling on the walk's states (CHK-SYM-1). */
function unfaithful(permute: Permute): string[] {
  const out: string[] = [];
  STATES.forEach((s, k) => {
    if (out.length > 5) return;
    const p = permute(s);
    if (p === null) return;
    const back = permute(p);
    if (back === null || fingerprint(back) !== fingerprint(s)) out.push(`state ${k}: not an involution`);
    const inv = (x: System<unknown>) => sup.invariants(x).map((r) => `${r.name}:${r.violations.length}`);
    if (JSON.stringify(inv(p)) !== JSON.stringify(inv(s))) out.push(`state ${k}: invariants differ`);
    for (const d of ['dom0', 'g1', 'g2']) {
      if (JSON.stringify(sup.view(p, rename(d))) !== JSON.stringify(sup.view(s, d))) out.push(`state ${k}: view of ${d} not carried to ${rename(d)}`);
    }
    const edges = (x: System<unknown>, f: (n: string) => string) => sup.authority(x).map((e) => `${f(e.from)}>${f(e.to)}`).sort();
    if (JSON.stringify(edges(p, (n) => n)) !== JSON.stringify(edges(s, rename))) out.push(`state ${k}: authority not renamed`);
    for (const e of base.spec.alphabet) {
      const next = step(sup, s, e).system;
      // Freeing frames renumbers free frames: the images agree only up to that (CHK-SYM-1).
      if (freesFrames(s, next)) continue;
      const image = permute(next);
      if (image !== null && fingerprint(image) !== fingerprint(step(sup, p, swapEvent(e)).system)) out.push(`state ${k}: does not commute with ${JSON.stringify(e)}`);
    }
  });
  return out;
}

const realPermute: Permute = (s) => sup.permute!(s, PAIR);

describe('the relabelling', () => {
  it('CHK-SYM-1: exchanging two guests is an involution that keeps invariants, views and authority and commutes with step', () => {
    expect(STATES.filter((s) => realPermute(s) !== null).length).toBeGreaterThan(800);
    expect(unfaithful(realPermute)).toEqual([]);
  });

  it('CHK-SYM-1: teeth — a relabelling that forgets the VMIDs in VTTBR_EL2 and the TLBs is caught', () => {
    const broken: Permute = (s) => {
      const p = realPermute(s);
      return p === null ? null : { ...p, machine: { ...p.machine, cpus: s.machine.cpus } };
    };
    expect(unfaithful(broken).length).toBeGreaterThan(0);
  });

  it('CHK-SYM-1: teeth — a relabelling that forgets which domain each pCPU runs is caught', () => {
    const broken: Permute = (s) => {
      const p = realPermute(s);
      return p === null ? null : { ...p, state: { ...(p.state as HypervisorState), pcpus: (s.state as HypervisorState).pcpus } };
    };
    expect(unfaithful(broken).length).toBeGreaterThan(0);
  });

  it('CHK-SYM-1: teeth — a relabelling that forgets the run queue is caught', () => {
    const broken: Permute = (s) => {
      const p = realPermute(s);
      return p === null ? null : { ...p, state: { ...(p.state as HypervisorState), runq: (s.state as HypervisorState).runq } };
    };
    expect(unfaithful(broken).length).toBeGreaterThan(0);
  });
});

const optionsOf = (canonical?: Canonical): CheckOptions<unknown> => ({
  alphabet: base.spec.alphabet,
  maxDepth: Infinity,
  maxStates: Infinity,
  invariants: true,
  integrity: true,
  deadlock: false,
  ...(canonical === undefined ? {} : { canonical }),
});
const canonicalOf = (s: Supervisor<unknown>) => {
  const c = symmetryOf(base.target, s, base.spec.symmetry, base.spec.alphabet);
  if (E.isLeft(c) || c.right === undefined) throw new Error('no symmetry');
  return c.right;
};

describe('the reduced search', () => {
  it('CHK-SYM-2: explores fewer states than the full search, exhaustively, with the same verdict', () => {
    const full = explore(sup, base.boot, optionsOf());
    const reduced = explore(sup, base.boot, optionsOf(canonicalOf(sup)));
    expect(full.exhausted).toBe(true);
    expect(reduced.exhausted).toBe(true);
    expect(full.violation).toBeNull();
    expect(reduced.violation).toBeNull();
    expect(reduced.states).toBeLessThan(full.states);
    expect(reduced.depth).toBe(full.depth);
  });

  it('CHK-SYM-2: checkTarget uses the scenario\'s symmetry, serially and with workers alike', async () => {
    const serial = await checkTarget(base.target, base.spec, { maxDepth: Infinity, maxStates: Infinity, workers: 1 });
    const parallel = await checkTarget(base.target, base.spec, { maxDepth: Infinity, maxStates: Infinity, workers: 2 });
    const plain = await checkTarget(base.target, { ...base.spec, symmetry: [] }, { maxDepth: Infinity, maxStates: Infinity, workers: 1 });
    if (E.isLeft(serial) || E.isLeft(parallel) || E.isLeft(plain)) throw new Error('check failed');
    expect(serial.right.result.states).toBeLessThan(plain.right.result.states);
    expect(parallel.right.result).toEqual(serial.right.result);
  });

  /**
   * A mutant (as proofs/mutants.ts): once both guests' port 1 is pending, an entry frees the
   * running guest's page 0 without taking it from the guest — a leaked reference, caught by
   * frame_ownership. It is symmetric in the two guests.
   */
  const leaky: Supervisor<HypervisorState> = {
    ...hypervisor,
    handleTrap(system, cpu, trap) {
      const r = hypervisor.handleTrap(system, cpu, trap);
      const h = r.system.state;
      const running = system.state.pcpus[cpu]?.current?.dom;
      const guests = h.domains.filter((d) => d !== null && !d.privileged && d.lifecycle === 'running');
      if (running === undefined || guests.length < 2 || !guests.every((d) => d!.ports[1]?.pending === true)) return r;
      const mfn = h.domains[running]?.p2m.get(0);
      if (mfn === undefined || h.frameOwner[mfn] !== running) return r;
      const frameOwner = h.frameOwner.slice();
      frameOwner[mfn] = -1;
      return { ...r, system: { ...r.system, state: { ...h, frameOwner } } };
    },
  };

  it('CHK-SYM-4: on a mutant the reduced search finds a violation of the same kind, with a trace as short, that replays to it', () => {
    const mutant = leaky as Supervisor<unknown>;
    const full = explore(mutant, base.boot, optionsOf());
    const reduced = explore(mutant, base.boot, optionsOf(canonicalOf(mutant)));
    expect(full.violation).not.toBeNull();
    expect(reduced.violation).not.toBeNull();
    expect(reduced.violation!.kind).toBe(full.violation!.kind);
    expect(reduced.violation!.name).toBe(full.violation!.name);
    expect(reduced.violation!.trace.length).toBe(full.violation!.trace.length);
    let s = base.boot;
    for (const e of reduced.violation!.trace) s = step(mutant, s, e).system;
    expect(fingerprint(s)).toBe(reduced.violation!.fingerprint);
    expect(mutant.invariants(s).find((r) => r.name === reduced.violation!.name)!.violations.length).toBeGreaterThan(0);
  });
});

describe('declaring a symmetry', () => {
  const errorOf = (patch: (j: Json) => Json) => {
    const l = load(patch);
    const r = symmetryOf(l.target, l.sup, l.spec.symmetry, l.spec.alphabet);
    return E.isLeft(r) ? r.left : null;
  };
  const withSymmetry = (groups: unknown, more: (j: Json) => void = () => {}) => (j: Json) => {
    (j['check'] as Json)['symmetry'] = groups;
    more(j);
    return j;
  };

  it('CHK-SYM-3: a name that is not a boot domain is rejected, naming check.symmetry[i][j]', () => {
    expect(errorOf(withSymmetry([['g1', 'g3']]))?.path).toBe('check.symmetry[0][1]');
  });

  it('CHK-SYM-3: the control domain is not interchangeable', () => {
    expect(errorOf(withSymmetry([['dom0', 'g1']]))?.path).toBe('check.symmetry[0][0]');
  });

  it('CHK-SYM-3: domains declared differently (but for the name) are rejected', () => {
    const e = errorOf(withSymmetry([['g1', 'g2']], (j) => {
      ((j['boot'] as Json)['domains'] as Json[])[2]!['weight'] = 512;
    }));
    expect(e?.path).toBe('check.symmetry[0][1]');
  });

  it('CHK-SYM-3: an alphabet that crashes one domain of a group but not another is rejected', () => {
    const e = errorOf(withSymmetry([['g1', 'g2']], (j) => {
      const check = j['check'] as Json;
      check['alphabet'] = (check['alphabet'] as Json[]).slice(0, 3);
    }));
    expect(e?.path).toBe('check.symmetry[0][1]');
  });

  it('CHK-SYM-3: the decoder rejects a group of one and a name in two groups', () => {
    for (const groups of [[['g1']], [['g1', 'g2'], ['g2', 'dom0']], [['g1', 'g1']]]) {
      const s = decodeScenario({ ...structuredClone(SCENARIO), check: { ...SCENARIO.check, symmetry: groups } });
      expect(E.isLeft(s)).toBe(true);
    }
  });

  it('CHK-SYM-3: the microkernel offers no symmetry', () => {
    const mk: CheckTarget = { supervisor: 'microkernel', machine: base.target.machine, boot: { threads: [] } as never };
    const r = symmetryOf(mk, { ...sup, permute: undefined } as Supervisor<unknown>, [['a', 'b']], []);
    expect(E.isLeft(r) && r.left.path).toBe('check.symmetry');
  });
});
