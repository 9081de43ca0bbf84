/**
 * Inductive checks (CHK-IND-1..2, src/check/inductive.ts): for every well-formed state of a
 * small enumerated universe — every state the supervisor's own invariants accept, reachable
 * or not — every event preserves the invariants. Each check is also shown to hold states no
 * run from boot reaches (else it would prove no more than a search from boot), to keep
 * exactly the candidates the invariants accept, and to fail on a deliberately broken model.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { candidate, checkInductive, failedInvariants, isWellFormed, type InductiveResult, type Universe } from '../../src/check/inductive.ts';
import { CALLS, HV_INDUCTIVE_MACHINE, HV_INDUCTIVE_SCENARIO, hypervisorUniverse, PORT } from '../../src/check/inductive/hypervisor.ts';
import { EP_SLOT, MK_INDUCTIVE_MACHINE, MK_INDUCTIVE_SCENARIO, microkernelUniverse, PLAIN_INFO } from '../../src/check/inductive/microkernel.ts';
import { EVTCHN, HYPERCALL, type HypervisorState } from '../../src/hypervisor/index.ts';
import { SYSCALL, type KernelState } from '../../src/kernel/index.ts';
import {
  bootHypervisorSystem,
  bootMicrokernel,
  fingerprint,
  hypervisor,
  microkernel,
  step,
  type HypervisorSystem,
  type MicrokernelSystem,
  type StepResult,
  type Supervisor,
  type System,
  type SystemEvent,
} from '../../src/system/index.ts';
import { insn, svc } from '../kernel/fixtures.ts';

/** The deep profile (FC_NUM_RUNS above the default, as `npm run test:deep`) checks the larger universes. */
const deep = (fc.readConfigureGlobal().numRuns ?? 100) > 100;

const key = (coordinates: readonly number[]): string => coordinates.join(',');

interface Checked<S> {
  readonly universe: Universe<S>;
  readonly result: InductiveResult;
  /** Every well-formed state's coordinates. */
  readonly wellFormed: number[][];
  /** What the steps did, as `pathsOf` names it. */
  readonly paths: ReadonlySet<string>;
}

/** The check of a universe, run once and shared by the tests below. */
function memoCheck<S>(universe: () => Universe<S>, pathsOf: (r: StepResult<S>) => readonly string[]): () => Checked<S> {
  let memo: Checked<S> | null = null;
  return () => {
    if (memo !== null) return memo;
    const u = universe();
    const wellFormed: number[][] = [];
    const paths = new Set<string>();
    const result = checkInductive(u, {
      onWellFormed: (s) => wellFormed.push(s.coordinates.slice()),
      onStep: (r) => {
        for (const p of pathsOf(r)) paths.add(p);
      },
    });
    memo = { universe: u, result, wellFormed, paths };
    return memo;
  };
}

/**
 * The settles shortcut and the filter together keep exactly the candidates every invariant
 * accepts: on random candidates of the whole product, and on neighbours of well-formed states
 * (one coordinate changed), which the invariants accept often enough for the sample to test
 * both answers. Returns how many of each answer the neighbours gave.
 */
function expectExactlyTheAcceptedCandidates<S>(u: Universe<S>, wellFormed: readonly number[][], seed: number): { accepted: number; rejected: number } {
  const kept = new Set(wellFormed.map(key));
  const sizes = u.dimensions.map((d) => d.choices.length);
  const random = fc.sample(fc.tuple(...sizes.map((n) => fc.nat(n - 1))), { numRuns: 1500, seed });
  const neighbours = fc
    .sample(fc.tuple(fc.nat(wellFormed.length - 1), fc.nat(sizes.length - 1), fc.nat(1_000_000)), { numRuns: 1500, seed: seed + 1 })
    .map(([i, d, v]) => wellFormed[i]!.map((c, j) => (j === d ? v % sizes[d]! : c)));
  let accepted = 0;
  let rejected = 0;
  for (const c of [...random, ...neighbours]) {
    const ok = isWellFormed(u, candidate(u, c));
    expect({ candidate: key(c), wellFormed: ok }).toEqual({ candidate: key(c), wellFormed: kept.has(key(c)) });
    if (ok) accepted++;
    else rejected++;
  }
  return { accepted, rejected };
}

/** An event of a search from boot: registers the running code sets (as instructions would), then one event. */
type Move<S> = (system: System<S>) => System<S>;

/** Breadth-first search from `boot` over `moves`, to `depth` moves: every state reached. */
function reachable<S>(boot: System<S>, moves: readonly Move<S>[], depth: number): System<S>[] {
  const seen = new Set([fingerprint(boot)]);
  const states = [boot];
  let frontier = [boot];
  for (let d = 0; d < depth; d++) {
    const next: System<S>[] = [];
    for (const sys of frontier) {
      for (const move of moves) {
        const after = move(sys);
        const fp = fingerprint(after);
        if (seen.has(fp)) continue;
        seen.add(fp);
        next.push(after);
      }
    }
    states.push(...next);
    frontier = next;
  }
  return states;
}

const stepping =
  <S>(sup: Supervisor<S>, event: SystemEvent): Move<S> =>
  (sys) =>
    step(sup, sys, event).system;

/** The coordinates of a state from its description (`dimension=label ...`, in order; a label may hold spaces). */
function coordinatesOf<S>(u: Universe<S>, description: string): number[] {
  return u.dimensions.map((d, i) => {
    const from = description.indexOf(`${d.name}=`) + d.name.length + 1;
    const next = u.dimensions[i + 1];
    const label = next === undefined ? description.slice(from) : description.slice(from, description.indexOf(` ${next.name}=`, from));
    return d.choices.findIndex((c) => c.label === label);
  });
}

/** The label of dimension `name` at `coordinates`. */
function labelOf<S>(u: Universe<S>, coordinates: readonly number[], name: string): string {
  const d = u.dimensions.findIndex((x) => x.name === name);
  return u.dimensions[d]!.choices[coordinates[d]!]!.label;
}

// --- CHK-IND-1: the microkernel ------------------------------------------------------------

/** Thread-state changes, as `from>to EVENT` (MK-OBJ-3). */
const threadTransitions = (r: StepResult<KernelState>): string[] => r.lifecycle.map((t) => `${t.from}>${t.to} ${t.event}`);

const mk = memoCheck(() => microkernelUniverse({ size: deep ? 'deep' : 'default' }), threadTransitions);

/** A CPU idle while a thread is ready: the kernel's invariants allow it (MK-INV-3 asks only that ready threads be runnable and not current). */
/** The running thread has a lower priority than a ready one (one CPU, no domain schedule). */
function priorityInverted(sys: MicrokernelSystem): boolean {
  const priority = (id: number | null): number => {
    const o = id === null ? null : sys.state.objects[id];
    return o?.type === 'tcb' ? o.priority : -1;
  };
  const current = sys.state.cpus[0]!.current;
  return current !== null && sys.state.ready.some((t) => priority(t) > priority(current));
}

/**
 * The Supervisor interface over a kernel with a bug: after a Send that blocks, the sender is
 * dropped from the endpoint queue but left blockedOnSend — a lost wake-up (MK-IPC-2).
 */
const losesQueuedSender: Supervisor<KernelState> = {
  ...microkernel,
  handleTrap(system, cpu, trap) {
    const entry = microkernel.handleTrap(system, cpu, trap);
    const sender = system.state.cpus[cpu]?.current ?? null;
    if (trap.kind !== 'svc' || trap.imm !== SYSCALL.SEND || sender === null) return entry;
    const objects = entry.system.state.objects.map((o) => {
      if (o?.type !== 'endpoint' || o.queue.kind !== 'send') return o;
      const threads = o.queue.threads.filter((t) => t !== sender);
      return { ...o, queue: threads.length === 0 ? ({ kind: 'idle' } as const) : { kind: 'send' as const, threads } };
    });
    return { ...entry, system: { ...entry.system, state: { ...entry.system.state, objects } } };
  },
};

describe('CHK-IND-1 the microkernel inductive check', () => {
  it('CHK-IND-1: from every well-formed state of the IPC universe, every event preserves every invariant (MK-INV-1..14)', () => {
    const { result } = mk();
    expect(result.violations).toEqual([]);
    expect(result.violationCount).toBe(0);
    // Non-trivial: thousands of well-formed states, a small fraction of the candidates, each with its events.
    expect(result.wellFormed).toBeGreaterThan(10_000);
    expect(result.candidates).toBeGreaterThan(100 * result.wellFormed);
    expect(result.transitions).toBeGreaterThanOrEqual(2 * result.wellFormed);
  });

  it('CHK-IND-1 exercises the IPC paths: blocking, delivery, call and reply, faults and scheduling (the thread statechart, MK-OBJ-3)', () => {
    const { paths } = mk();
    const expected = [
      'running>blockedOnSend BLOCK_SEND',
      'running>blockedOnReceive BLOCK_RECEIVE',
      'running>blockedOnNotification BLOCK_NOTIFICATION',
      'running>blockedOnReply BLOCK_REPLY',
      'blockedOnSend>blockedOnReply BLOCK_REPLY',
      'blockedOnSend>running COMPLETE',
      'blockedOnReceive>running COMPLETE',
      'blockedOnNotification>running COMPLETE',
      'blockedOnReply>running COMPLETE',
      'running>inactive CALL_WITHOUT_REPLY',
      'blockedOnSend>inactive CALL_WITHOUT_REPLY',
      'running>inactive FAULT_NO_HANDLER',
      'restart>running SCHEDULE',
      // MK-FAULT-3: replies to a faulted caller, whose states only the deep universe holds.
      ...(deep ? ['blockedOnReply>restart REPLY_RESTART', 'blockedOnReply>inactive REPLY_STOP'] : []),
    ];
    expect(expected.filter((t) => !paths.has(t))).toEqual([]);
  });

  it('CHK-IND-1: the well-formed states are exactly the candidates the invariants accept (MK-INV-2, MK-INV-3, MK-INV-9, MK-INV-10 settle early)', () => {
    const { universe, wellFormed } = mk();
    const { accepted, rejected } = expectExactlyTheAcceptedCandidates(universe, wellFormed, 1107);
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });

  it('CHK-IND-1: the universe holds well-formed states no run from boot reaches — a thread running while one of higher priority is ready (MK-SCHED-2)', () => {
    const { universe, wellFormed } = mk();
    const unreachable = wellFormed.filter((c) => ['a', 'b'].includes(labelOf(universe, c, 'current')) && labelOf(universe, c, 'ready').includes('c'));
    expect(unreachable.length).toBeGreaterThan(0);
    for (const c of unreachable.slice(0, 50)) {
      const sys = candidate(universe, c);
      expect(priorityInverted(sys)).toBe(true);
      expect(isWellFormed(universe, sys)).toBe(true);
    }
    // From boot, every kernel entry ends by scheduling the highest-priority ready thread
    // (MK-SCHED-2) and on one CPU nothing else changes the ready queue, so no run reaches a
    // lower-priority thread running while c (priority 20) is ready. A search from the
    // universe's boot (its threads started, r1 naming the endpoint, r2 a one-word message)
    // sees c ready and sees a or b running, but never both at once.
    const scenario = {
      ...MK_INDUCTIVE_SCENARIO,
      threads: MK_INDUCTIVE_SCENARIO.threads.map((t) => ({ ...t, start: true, regs: { r1: EP_SLOT, r2: PLAIN_INFO } })),
    };
    const booted = bootMicrokernel(MK_INDUCTIVE_MACHINE, scenario);
    if (E.isLeft(booted)) throw new Error(booted.left.message);
    const alphabet: SystemEvent[] = [
      ...[SYSCALL.SEND, SYSCALL.CALL, SYSCALL.RECV, SYSCALL.NB_RECV, SYSCALL.REPLY, SYSCALL.REPLY_RECV, SYSCALL.YIELD].map((n) => ({ kind: 'exec' as const, cpu: 0, insn: svc(n) })),
      { kind: 'exec', cpu: 0, insn: insn({ op: 'addi', rd: 1, rs1: 0, imm: EP_SLOT }) },
      { kind: 'exec', cpu: 0 },
      { kind: 'tick', cpu: 0 },
    ];
    const states = reachable(booted.right, alphabet.map((e) => stepping(microkernel, e)), 4);
    expect(states.filter((s) => s.state.ready.length > 0).length).toBeGreaterThan(0);
    expect(states.filter(priorityInverted)).toEqual([]);
  });

  it('CHK-IND-1 fails on a kernel that loses a queued sender: a Send leaves it blockedOnSend off the queue (MK-INV-2)', () => {
    const r = checkInductive(microkernelUniverse({ supervisor: losesQueuedSender }), { stopAtFirst: true, maxViolations: 1 });
    expect(r.violationCount).toBe(1);
    expect(r.violations[0]).toMatchObject({ event: 'svc SEND', invariant: 'symmetric_references' });
  });
});

// --- CHK-IND-2: the hypervisor -------------------------------------------------------------

/** Hypercalls that succeeded, as `number/sub-command` (HV-ABI-1, HV-ABI-3: a failure returns a negative errno). */
const hypercallsServed = (r: StepResult<HypervisorState>): string[] =>
  r.observations.filter((o) => o.kind === 'hypercall' && (o.values[2]! | 0) >= 0).map((o) => `${o.values[0]}/${o.values[1]}`);

const hv = memoCheck(() => hypervisorUniverse(), hypercallsServed);

/** The named invariants of `sup`, one at a time, for a universe checked under it (its settles shortcut must agree with it). */
const namedUnder =
  <S>(sup: Supervisor<S>) =>
  (sys: System<S>, name: string): readonly string[] =>
    sup.invariants(sys).find((r) => r.name === name)?.violations ?? [];

/**
 * A hypervisor with a bug: closing a port leaves the other end of its channel as it was,
 * connected to a port that no longer exists (HV-EVT-5).
 */
const closesOneEnd: Supervisor<HypervisorState> = {
  ...hypervisor,
  handleTrap(system, cpu, trap) {
    const entry = hypervisor.handleTrap(system, cpu, trap);
    const cur = system.state.pcpus[cpu]?.current ?? null;
    if (trap.kind !== 'hvc' || trap.imm !== HYPERCALL.EVENT_CHANNEL_OP || system.machine.cpus[cpu]!.regs[1] !== EVTCHN.CLOSE || cur === null) return entry;
    const domains = entry.system.state.domains.map((d) => (d === null || d.id === cur.dom ? d : (system.state.domains[d.id] ?? d)));
    return { ...entry, system: { ...entry.system, state: { ...entry.system.state, domains } } };
  },
};

/** HV-INV-3 as it was before CHK-IND-2: maptrack entries unchecked. */
const withoutMaptrackCheck: Supervisor<HypervisorState> = {
  ...hypervisor,
  invariants: (sys) =>
    hypervisor.invariants(sys).map((r) => (r.name === 'grant_counts' ? { ...r, violations: r.violations.filter((v) => !/'s mapping \d+ names grant/.test(v)) } : r)),
};

describe('CHK-IND-2 the hypervisor inductive check', () => {
  it('CHK-IND-2: from every well-formed state of the channel-and-grant universe, every hypercall preserves every invariant (HV-INV-1..10)', () => {
    const { result } = hv();
    expect(result.violations).toEqual([]);
    expect(result.violationCount).toBe(0);
    expect(result.wellFormed).toBeGreaterThan(10_000);
    expect(result.candidates).toBeGreaterThan(10 * result.wellFormed);
    expect(result.transitions).toBe(2 * result.wellFormed);
  });

  it('CHK-IND-2 exercises every hypercall of the universe: each succeeds from some well-formed state (HV-ABI-1)', () => {
    const { paths } = hv();
    const served = CALLS.map((c) => `${c.n}/${c.args(0)[0]}`);
    expect(served.filter((c) => !paths.has(c))).toEqual([]);
  });

  it('CHK-IND-2: the well-formed states are exactly the candidates the invariants accept (HV-INV-2..5 and HV-INV-10 settle early)', () => {
    const { universe, wellFormed } = hv();
    const { accepted, rejected } = expectExactlyTheAcceptedCandidates(universe, wellFormed, 2207);
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });

  it('CHK-IND-2: the universe holds well-formed states no run from boot reaches — an unbound port that is pending (HV-EVT-3, HV-EVT-5, HV-INV-4)', () => {
    const { universe, wellFormed } = hv();
    const pendingUnbound = (label: string): boolean => label.startsWith('u') && label.includes('P');
    const unreachable = wellFormed.filter((c) => pendingUnbound(labelOf(universe, c, 'g1:1')) || pendingUnbound(labelOf(universe, c, 'g2:1')));
    expect(unreachable.length).toBeGreaterThan(0);
    // Only the far end of an interdomain channel is made pending (HV-EVT-3), and closing a
    // channel unbinds the far end with its pending bit cleared (HV-EVT-5): from boot no
    // unbound port is ever pending. A search from the universe's boot, each guest making the
    // universe's hypercalls, opens unbound ports but never finds one pending.
    const booted = bootHypervisorSystem(HV_INDUCTIVE_MACHINE, HV_INDUCTIVE_SCENARIO);
    if (E.isLeft(booted)) throw new Error(booted.left.message);
    const ids = ['g1', 'g2'].map((n) => booted.right.state.domains.findIndex((d) => d?.name === n));
    const call =
      (c: (typeof CALLS)[number]): Move<HypervisorState> =>
      (sys) => {
        const cur = sys.state.pcpus[0]!.current;
        if (cur === null || sys.machine.cpus[0]!.el === 2) return step(hypervisor, sys, { kind: 'exec', cpu: 0 }).system;
        const regs = sys.machine.cpus[0]!.regs.slice();
        c.args(cur.dom === ids[0] ? ids[1]! : ids[0]!).forEach((a, i) => (regs[1 + i] = a >>> 0));
        const cpus = sys.machine.cpus.slice();
        cpus[0] = { ...cpus[0]!, regs };
        return step(hypervisor, { ...sys, machine: { ...sys.machine, cpus } }, { kind: 'exec', cpu: 0, insn: insn({ op: 'hvc', imm: c.n }) }).system;
      };
    const states: HypervisorSystem[] = reachable(booted.right, [...CALLS.map(call), stepping(hypervisor, { kind: 'exec', cpu: 0 })], 3);
    const ports = states.flatMap((s) => s.state.domains.flatMap((d) => (d === null ? [] : [d.ports[PORT] ?? null])));
    expect(ports.filter((p) => p?.binding.kind === 'unbound').length).toBeGreaterThan(0);
    expect(ports.filter((p) => p?.binding.kind === 'unbound' && p.pending)).toEqual([]);
  });

  it('CHK-IND-2 fails on a hypervisor whose close leaves the far end connected (HV-INV-4)', () => {
    const u = hypervisorUniverse({ supervisor: closesOneEnd });
    const r = checkInductive(u, { stopAtFirst: true, maxViolations: 1 });
    expect(r.violationCount).toBe(1);
    expect(r.violations[0]).toMatchObject({ event: 'hvc evtchn close 1', invariant: 'event_channels' });
  });

  it('CHK-IND-2 found HV-INV-3 too weak to be inductive: a maptrack entry naming no grant let a new grant inherit its mapping; HV-INV-3 now rejects that state', () => {
    const u = hypervisorUniverse({ supervisor: withoutMaptrackCheck });
    const r = checkInductive({ ...u, invariant: namedUnder(withoutMaptrackCheck) }, { stopAtFirst: true, maxViolations: 1 });
    expect(r.violationCount).toBe(1);
    expect(r.violations[0]).toMatchObject({ event: 'hvc gnttab grant other page 1 ro', invariant: 'grant_counts' });
    expect(r.violations[0]!.state).toMatch(/grant=- maptrack=r[ow]/);
    const dangling = candidate(u, coordinatesOf(u, r.violations[0]!.state));
    expect(failedInvariants(hypervisor, dangling).map((f) => f.name)).toEqual(['grant_counts']);
  });
});
