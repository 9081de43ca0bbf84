/**
 * MK-PROP-4 (confidentiality), as noninterference in unwinding form, with the domain schedule
 * on (MK-SCHED-5).
 *
 * A random plan has 2–3 domains, 1–3 threads in each — with random programs (and random
 * instruction words injected as the system runs), a private data page, caps only to their
 * own domain's endpoint and notification (the endpoint is also their fault handler) — on one
 * or two CPUs, and a random domain schedule. One domain, d, observes. The plan boots twice:
 * the public system and a secret variant that differs only in the other domains' private
 * state (their initial registers and their programs, of the same length). Both run the same
 * events: ticks, and steps of a CPU that execute the same instruction when that CPU runs a
 * thread of d, and anything else (another fetched or injected instruction) when it does not.
 * After every step d's view (`microkernel.view`, MK-ISO-2) must be the same in both, and so
 * must the thread of d on each CPU.
 *
 * Controls show the test can fail: with an endpoint or a writable frame shared between d and
 * another domain (an authority edge), or with no domain schedule (priorities across domains),
 * the same search finds a pair of systems whose d-views part.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SYS, type Instruction, type MachineConfig } from '../../src/hw/index.ts';
import type { KernelScenario, ThreadSpec } from '../../src/kernel/index.ts';
import { microkernel, type MicrokernelSystem, type SystemEvent } from '../../src/system/index.ts';
import { boot, insn, MK_MACHINE, stepMk, violations } from './fixtures.ts';

// ---------------------------------------------------------------------------------------
// Plans and their scenarios

/** Where each thread's program is loaded, its private data page, and a page shared for the frame control. */
const ORIGIN = 0x100;
const DATA_VA = 0x200;
const SHARED_VA = 0x300;
/** Registers that hold the data and shared page addresses, so loads and stores reach them. */
const DATA_REG = 12;
const SHARED_REG = 13;
/**
 * Cap slots: own endpoint (also the fault handler), own notification, the shared endpoint
 * (controls only), the TCB of the domain's first thread and the thread's own CNode — so
 * programs also invoke TCBs and CNodes of their own domain.
 */
const EP_SLOT = 0;
const NTFN_SLOT = 1;
const SHARED_EP_SLOT = 2;
const PEER_TCB_SLOT = 3;
const OWN_CNODE_SLOT = 4;

interface ThreadPlan {
  readonly domain: number;
  readonly priority: number;
  readonly cpu: number;
  readonly program: readonly number[];
  readonly regs: readonly number[];
  /** Used instead, in the secret system, for threads of domains other than the observer. */
  readonly secret: { readonly priority: number; readonly cpu: number; readonly program: readonly number[]; readonly regs: readonly number[] };
}

type Share = 'endpoint' | 'frame';

interface Plan {
  readonly cpus: number;
  readonly domains: number;
  /** The observing domain d. */
  readonly observer: number;
  /** The domain schedule, or null for none (MK-SCHED-5). */
  readonly schedule: readonly { readonly domain: number; readonly ticks: number }[] | null;
  readonly threads: readonly ThreadPlan[];
  /** An authority edge between d and every other domain, for the controls; null in the property. */
  readonly share: Share | null;
}

const domainName = (d: number): string => `d${d}`;
const threadNameOf = (plan: Plan, i: number): string => `${domainName(plan.threads[i]!.domain)}t${i}`;

function programSource(words: readonly number[]): string {
  // The program loops: a jump back to its first word follows the random ones.
  const back = insn({ op: 'jal', rd: 0, offset: -words.length });
  return `.word ${[...words, back].join(', ')}`;
}

function threadSpec(plan: Plan, t: ThreadPlan, i: number, secret: boolean): ThreadSpec {
  const hidden = secret && t.domain !== plan.observer;
  const mine = hidden ? t.secret : t;
  const regs: Record<string, number> = {};
  mine.regs.forEach((v, r) => {
    if (r >= 1) regs[`r${r}`] = v;
  });
  regs[`r${DATA_REG}`] = DATA_VA;
  regs[`r${SHARED_REG}`] = SHARED_VA;
  const own = domainName(t.domain);
  return {
    name: threadNameOf(plan, i),
    domain: own,
    priority: mine.priority,
    cpu: mine.cpu,
    program: programSource(mine.program),
    origin: ORIGIN,
    pages: [{ va: DATA_VA, write: true }, ...(plan.share === 'frame' ? [{ va: SHARED_VA, frame: 'shared', write: true }] : [])],
    caps: [
      { slot: EP_SLOT, object: `ep-${own}` },
      { slot: NTFN_SLOT, object: `ntfn-${own}`, rights: 'RW' },
      ...(plan.share === 'endpoint' ? [{ slot: SHARED_EP_SLOT, object: 'shared' }] : []),
      { slot: PEER_TCB_SLOT, object: `${threadNameOf(plan, plan.threads.findIndex((p) => p.domain === t.domain))}.tcb` },
      { slot: OWN_CNODE_SLOT, object: `${threadNameOf(plan, i)}.cspace` },
    ],
    faultEndpoint: EP_SLOT,
    regs,
  };
}

/** The scenario of `plan`: the public system, or the secret variant (other domains' programs and registers swapped). */
function scenario(plan: Plan, secret: boolean): KernelScenario {
  const names = Array.from({ length: plan.domains }, (_, d) => domainName(d));
  return {
    domains: names,
    ...(plan.schedule === null ? {} : { kernel: { domainSchedule: plan.schedule.map((s) => ({ domain: domainName(s.domain), ticks: s.ticks })) } }),
    objects: [
      ...names.flatMap((n) => [
        { name: `ep-${n}`, type: 'endpoint' as const },
        { name: `ntfn-${n}`, type: 'notification' as const },
      ]),
      ...(plan.share === null ? [] : [{ name: 'shared', type: plan.share }]),
    ],
    threads: plan.threads.map((t, i) => threadSpec(plan, t, i, secret)),
  };
}

function machineFor(plan: Plan): MachineConfig {
  return { ...MK_MACHINE, cpus: plan.cpus };
}

// ---------------------------------------------------------------------------------------
// Arbitraries

const anyWord = fc.integer({ min: 0, max: 0xffffffff });
const dest = fc.integer({ min: 1, max: 11 });
const src = fc.integer({ min: 0, max: SHARED_REG });
/** Small word offsets, so that a load and a store often meet. */
const offset = fc.integer({ min: 0, max: 7 }).map((w) => w * 4);
const base = fc.constantFrom(DATA_REG, DATA_REG, SHARED_REG);

const enc = (i: Instruction): number => insn(i);

/**
 * Instructions a thread runs: arithmetic, loads and stores to its pages, choosing a cap and a
 * message length, every system call (and an unknown one), the user thread pointer and the
 * counter, WFI (a user exception), short branches, and any word at all.
 */
const arbInsn: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ rd: dest, rs1: src, imm: fc.integer({ min: -16, max: 300 }) }).map((x) => enc({ op: 'addi', ...x })) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('add', 'sub', 'xor', 'mul', 'slt') as fc.Arbitrary<'add'>, rd: dest, rs1: src, rs2: src }).map(enc) },
  { weight: 3, arbitrary: fc.record({ rd: dest, rs1: base, imm: offset }).map((x) => enc({ op: 'ld', ...x })) },
  { weight: 3, arbitrary: fc.record({ rs2: fc.integer({ min: 0, max: 11 }), rs1: base, imm: offset }).map((x) => enc({ op: 'st', ...x })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: OWN_CNODE_SLOT }).map((c) => enc({ op: 'addi', rd: 1, rs1: 0, imm: c })) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 3 }).map((n) => enc({ op: 'addi', rd: 2, rs1: 0, imm: n })) },
  // An invocation label (TCB 2..7, CNode 10..15) and a short length, in r2 (MK-ABI-3).
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 2, max: 15 }), fc.integer({ min: 0, max: 3 })).map(([l, n]) => enc({ op: 'addi', rd: 2, rs1: 0, imm: l * 4096 + n })) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 9 }).map((n) => enc({ op: 'svc', imm: n })) },
  { weight: 1, arbitrary: dest.map((rd) => enc({ op: 'mrs', rd, sysreg: SYS.TPIDR_EL0 })) },
  { weight: 1, arbitrary: src.map((rs) => enc({ op: 'msr', sysreg: SYS.TPIDR_EL0, rs })) },
  { weight: 1, arbitrary: dest.map((rd) => enc({ op: 'mrs', rd, sysreg: SYS.CNTVCT })) },
  { weight: 1, arbitrary: fc.constant(enc({ op: 'wfi' })) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constantFrom('beq', 'bne') as fc.Arbitrary<'beq'>, rs1: src, rs2: src, offset: fc.integer({ min: 1, max: 3 }) }).map(enc),
  },
  { weight: 1, arbitrary: anyWord },
);

/** r1 a cap slot, r2 a short message, r3..r11 anything (r0 is the zero register). */
const arbRegs = fc
  .tuple(fc.integer({ min: 0, max: OWN_CNODE_SLOT }), fc.integer({ min: 0, max: 3 }), fc.array(anyWord, { minLength: 9, maxLength: 9 }))
  .map(([r1, r2, rest]) => [0, r1, r2, ...rest]);

function arbThread(domain: number, cpus: number, length: number): fc.Arbitrary<ThreadPlan> {
  const own = { priority: fc.integer({ min: 1, max: 3 }), cpu: fc.integer({ min: 0, max: cpus - 1 }), program: fc.array(arbInsn, { minLength: length, maxLength: length }), regs: arbRegs };
  return fc.record({ domain: fc.constant(domain), ...own, secret: fc.record(own) });
}

interface PlanOptions {
  readonly share: Share | null;
  readonly schedule: boolean;
}

function arbPlan(o: PlanOptions): fc.Arbitrary<Plan> {
  return fc
    .record({
      // Two CPUs more often: the races between them (IPIs, a thread left on the other CPU) are the subtle cases.
      cpus: fc.oneof({ weight: 1, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.constant(2) }),
      domains: fc.integer({ min: 2, max: 3 }),
      length: fc.integer({ min: 4, max: 12 }),
    })
    .chain(({ cpus, domains, length }) =>
      fc.record({
        cpus: fc.constant(cpus),
        domains: fc.constant(domains),
        observer: fc.integer({ min: 0, max: domains - 1 }),
        schedule: o.schedule
          ? fc
              .tuple(
                fc.shuffledSubarray(Array.from({ length: domains }, (_, d) => d), { minLength: domains, maxLength: domains }),
                fc.array(fc.integer({ min: 1, max: 3 }), { minLength: domains, maxLength: domains }),
              )
              .map(([order, ticks]) => order.map((domain, i) => ({ domain, ticks: ticks[i]! })))
          : fc.constant(null),
        threads: fc
          .tuple(...Array.from({ length: domains }, (_, d) => fc.array(arbThread(d, cpus, length), { minLength: 1, maxLength: 3 })))
          .map((perDomain) => perDomain.flat()),
        share: fc.constant(o.share),
      }),
    );
}

/** An event as generated: for a step, the instruction of the public run and the one the secret run may use instead (null = fetch). */
type PairEvent =
  | { readonly kind: 'tick'; readonly cpu: number }
  | { readonly kind: 'exec'; readonly cpu: number; readonly pub: number | null; readonly sec: number | null }
  /** Domain `domain` (modulo the plan's domains) crashes, in both systems (SYS-2). */
  | { readonly kind: 'crash'; readonly domain: number };

const arbInjected = fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arbInsn });
const arbEvent: fc.Arbitrary<PairEvent> = fc.oneof(
  // CPU 0's ticks drive the domain schedule (MK-SCHED-5): most ticks are its.
  { weight: 20, arbitrary: fc.record({ kind: fc.constant('tick' as const), cpu: fc.constantFrom(0, 0, 0, 1) }) },
  { weight: 80, arbitrary: fc.record({ kind: fc.constant('exec' as const), cpu: fc.integer({ min: 0, max: 1 }), pub: arbInjected, sec: arbInjected }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), domain: fc.integer({ min: 0, max: 2 }) }) },
);
const arbEvents = fc.array(arbEvent, { minLength: 30, maxLength: 150 });

// ---------------------------------------------------------------------------------------
// Running a pair

interface PairRun {
  public: MicrokernelSystem;
  secret: MicrokernelSystem;
}

function observerName(plan: Plan): string {
  return domainName(plan.observer);
}

/** The events each system gets: one instruction for both while either CPU runs a thread of d. */
function concreteEvents(ev: PairEvent, plan: Plan, run: PairRun, d: string): [SystemEvent, SystemEvent] {
  if (ev.kind === 'crash') {
    const crash: SystemEvent = { kind: 'inject', fault: { kind: 'crash', domain: domainName(ev.domain % plan.domains) } };
    return [crash, crash];
  }
  const cpu = ev.cpu % plan.cpus;
  if (ev.kind === 'tick') return [{ kind: 'tick', cpu }, { kind: 'tick', cpu }];
  const exec = (w: number | null): SystemEvent => (w === null ? { kind: 'exec', cpu } : { kind: 'exec', cpu, insn: w });
  const dRuns = microkernel.runningDomain(run.public, cpu) === d || microkernel.runningDomain(run.secret, cpu) === d;
  return [exec(ev.pub), exec(dRuns ? ev.pub : ev.sec)];
}

/** The thread of domain `d` on each CPU (null when the CPU runs another domain or idles). */
function dOnCpus(sys: MicrokernelSystem, d: string): (string | null)[] {
  return sys.state.cpus.map((c) => {
    const o = c.current === null ? null : sys.state.objects[c.current];
    return o?.type === 'tcb' && sys.state.config.domainNames[o.domain] === d ? o.name : null;
  });
}

/**
 * MK-PROP-4's conclusion after one step: d sees the same in both systems. With `onCpus`, also
 * the same thread of d on each CPU (MK-SCHED-5) — not part of the view (MK-ISO-2), but a
 * difference there parts the views a step later, and is reported a step earlier.
 */
function expectSameForD(run: PairRun, d: string, when: string, onCpus: boolean): void {
  const a = microkernel.view(run.public, d);
  const b = microkernel.view(run.secret, d);
  if (JSON.stringify(a) !== JSON.stringify(b)) expect(b, `MK-PROP-4: view of ${d} ${when}`).toEqual(a);
  if (onCpus) expect(dOnCpus(run.secret, d), `MK-SCHED-5: the thread of ${d} on each CPU ${when}`).toEqual(dOnCpus(run.public, d));
}

function bootPair(plan: Plan): PairRun {
  return { public: boot(scenario(plan, false), machineFor(plan)), secret: boot(scenario(plan, true), machineFor(plan)) };
}

/** The authority edges that touch d (MK-ISO-3). */
function edgesOfD(sys: MicrokernelSystem, d: string): string[] {
  return microkernel
    .authority(sys)
    .filter((e) => e.from === d || e.to === d)
    .map((e) => `${e.from}->${e.to} via ${e.via}`);
}

/** Runs both systems through the events, checking d's view after every step; returns the final pair. */
function runPair(plan: Plan, events: readonly PairEvent[], onCpus = true): PairRun {
  const d = observerName(plan);
  const run = bootPair(plan);
  expectSameForD(run, d, 'at boot', onCpus);
  events.forEach((ev, i) => {
    const [ea, eb] = concreteEvents(ev, plan, run, d);
    run.public = stepMk(run.public, ea).system;
    run.secret = stepMk(run.secret, eb).system;
    expectSameForD(run, d, `after step ${i} (${JSON.stringify(ea)} / ${JSON.stringify(eb)})`, onCpus);
  });
  return run;
}

/** The property: premises (no edge touching d), then the unwinding check, then both runs were of valid systems. */
function nonInterference(plan: Plan, events: readonly PairEvent[]): void {
  const d = observerName(plan);
  const run0 = bootPair(plan);
  expect(edgesOfD(run0.public, d), 'premise: no authority between d and the other domains').toEqual([]);
  expect(edgesOfD(run0.secret, d), 'premise: no authority between d and the other domains').toEqual([]);
  const run = runPair(plan, events);
  expect(violations(run.public), 'MK-PROP-1 along the way: invariants of the public run').toEqual([]);
  expect(violations(run.secret), 'MK-PROP-1 along the way: invariants of the secret run').toEqual([]);
}

/** Whether the unwinding check fails for some plan and events of `arb` (a control must). */
function findsLeak(arb: fc.Arbitrary<Plan>, numRuns: number, seed: number): fc.RunDetails<[Plan, PairEvent[]]> {
  return fc.check(
    fc.property(arb, arbEvents, (plan, events) => void runPair(plan, events)),
    { numRuns, seed, endOnFailure: true },
  );
}

function failureSummary(r: fc.RunDetails<[Plan, PairEvent[]]>): string {
  if (!r.failed) return `no failure in ${r.numRuns} runs`;
  const message = r.errorInstance instanceof Error ? r.errorInstance.message.split('\n')[0] : String(r.errorInstance);
  return `failed after ${r.numRuns} runs: ${message}`;
}

// ---------------------------------------------------------------------------------------
// Directed pairs: the smallest cases of the leaks this property found (kept as regressions)

const ZERO_REGS: readonly number[] = new Array<number>(12).fill(0);

/** A thread whose program (and registers) the secret run keeps, or replaces by `secret`. */
function directed(domain: number, cpu: number, program: readonly Instruction[], regs: readonly number[] = ZERO_REGS, secret?: { program: readonly Instruction[]; regs?: readonly number[] }): ThreadPlan {
  const words = program.map(enc);
  return {
    domain,
    priority: 1,
    cpu,
    program: words,
    regs,
    secret: { priority: 1, cpu, program: secret === undefined ? words : secret.program.map(enc), regs: secret?.regs ?? regs },
  };
}

function withReg(r: number, v: number): number[] {
  const regs = ZERO_REGS.slice();
  regs[r] = v;
  return regs;
}

const exec = (cpu: number): PairEvent => ({ kind: 'exec', cpu, pub: null, sec: null });
const tick = (cpu: number): PairEvent => ({ kind: 'tick', cpu });

// ---------------------------------------------------------------------------------------

describe('MK-PROP-4: confidentiality (noninterference, unwinding form) with the domain schedule', () => {
  it('MK-PROP-4, MK-SCHED-5, MK-ISO-2: with no authority between d and the others, d sees the same in both systems after every step', () => {
    fc.assert(fc.property(arbPlan({ share: null, schedule: true }), arbEvents, nonInterference));
  });

  it('MK-PROP-4: the secrets matter — the other domains run and their views part — and d runs too (the check is not vacuous)', () => {
    let othersParted = 0;
    let dStepped = 0;
    const samples = fc.sample(fc.tuple(arbPlan({ share: null, schedule: true }), arbEvents), { numRuns: 40, seed: 4242 });
    for (const [plan, events] of samples) {
      const d = observerName(plan);
      const run = bootPair(plan);
      let parted = false;
      let stepped = false;
      for (const ev of events) {
        const [ea, eb] = concreteEvents(ev, plan, run, d);
        stepped ||= ea.kind === 'exec' && microkernel.runningDomain(run.public, ea.cpu) === d && run.public.machine.cpus[ea.cpu]!.el === 0;
        run.public = stepMk(run.public, ea).system;
        run.secret = stepMk(run.secret, eb).system;
      }
      for (let o = 0; o < plan.domains; o++) {
        if (o !== plan.observer && JSON.stringify(microkernel.view(run.public, domainName(o))) !== JSON.stringify(microkernel.view(run.secret, domainName(o)))) parted = true;
      }
      if (parted) othersParted++;
      if (stepped) dStepped++;
    }
    expect(othersParted, 'runs in which some other domain ends in different states').toBeGreaterThanOrEqual(samples.length * 0.75);
    expect(dStepped, 'runs in which d executes').toBeGreaterThanOrEqual(samples.length * 0.75);
  });

  it('MK-PROP-4 control: an endpoint shared between d and the others (an authority edge) lets a secret reach d', () => {
    const plan = fc.sample(arbPlan({ share: 'endpoint', schedule: true }), { numRuns: 1, seed: 1 })[0]!;
    expect(edgesOfD(bootPair(plan).public, observerName(plan)).length, 'premise: the shared endpoint is an authority edge').toBeGreaterThan(0);
    const r = findsLeak(arbPlan({ share: 'endpoint', schedule: true }), 300, 11);
    expect(r.failed, failureSummary(r)).toBe(true);
  });

  it('MK-PROP-4 control: a writable frame shared between d and the others lets a secret reach d', () => {
    const plan = fc.sample(arbPlan({ share: 'frame', schedule: true }), { numRuns: 1, seed: 1 })[0]!;
    expect(edgesOfD(bootPair(plan).public, observerName(plan)).length, 'premise: the shared frame is an authority edge').toBeGreaterThan(0);
    const r = findsLeak(arbPlan({ share: 'frame', schedule: true }), 300, 12);
    expect(r.failed, failureSummary(r)).toBe(true);
  });

  it('MK-OBJ-4, MK-SCHED-6: TPIDR_EL0 written by another domain\'s thread does not reach d (it is saved and restored with the registers)', () => {
    const plan: Plan = {
      cpus: 1,
      domains: 2,
      observer: 0,
      schedule: [
        { domain: 0, ticks: 1 },
        { domain: 1, ticks: 1 },
      ],
      threads: [
        directed(0, 0, [{ op: 'mrs', rd: 5, sysreg: SYS.TPIDR_EL0 }]),
        directed(1, 0, [{ op: 'msr', sysreg: SYS.TPIDR_EL0, rs: 3 }], withReg(3, 1234), { program: [{ op: 'msr', sysreg: SYS.TPIDR_EL0, rs: 3 }], regs: withReg(3, 99) }),
      ],
      share: null,
    };
    const run = runPair(plan, [exec(0), tick(0), exec(0), exec(0), tick(0), exec(0), exec(0), exec(0)]);
    const d0 = microkernel.view(run.public, 'd0') as { threads: { regs: number[] }[] };
    expect(d0.threads[0]!.regs[5], 'd0 read its own TPIDR_EL0 (0), not d1\'s').toBe(0);
  });

  it('MK-SCHED-2, MK-SCHED-5: a thread preempted by the end of its domain\'s slot runs again in its next slot', () => {
    const loop: Instruction[] = [{ op: 'addi', rd: 5, rs1: 5, imm: 1 }];
    const plan: Plan = {
      cpus: 1,
      domains: 2,
      observer: 0,
      schedule: [
        { domain: 0, ticks: 1 },
        { domain: 1, ticks: 1 },
      ],
      threads: [directed(0, 0, loop), directed(1, 0, loop)],
      share: null,
    };
    const run = runPair(plan, [exec(0), tick(0), exec(0), exec(0), tick(0), exec(0), exec(0)]);
    expect(microkernel.runningDomain(run.public, 0), 'd0 has its CPU back').toBe('d0');
    expect(violations(run.public), 'MK-INV-3: the preempted thread stayed in the ready queue').toEqual([]);
  });

  it('MK-SCHED-5: an IPI caused by another domain does not hold back the domain switch by a step', () => {
    // d0: `b` (CPU 0) blocks in Recv; `a` (CPU 1) sends it a message in the public run — which
    // wakes `b` and sends CPU 0 an IPI — and only counts in the secret run. CPU 0's tick ends
    // d0's slot; d1's `c` must start on the same step in both runs.
    const recv: Instruction[] = [{ op: 'svc', imm: 4 }];
    const plan: Plan = {
      cpus: 2,
      domains: 2,
      observer: 1,
      schedule: [
        { domain: 0, ticks: 1 },
        { domain: 1, ticks: 1 },
      ],
      threads: [
        directed(0, 0, recv),
        directed(0, 1, [{ op: 'svc', imm: 1 }], ZERO_REGS, { program: [{ op: 'addi', rd: 5, rs1: 5, imm: 1 }] }),
        directed(1, 0, [{ op: 'addi', rd: 6, rs1: 6, imm: 1 }]),
      ],
      share: null,
    };
    const woken = runPair(plan, [exec(0), exec(1)]);
    expect(woken.public.machine.gic.ipiPending & 1, 'the public run sends CPU 0 an IPI').toBe(1);
    expect(woken.secret.machine.gic.ipiPending & 1, 'the secret run does not').toBe(0);
    const run = runPair(plan, [exec(0), exec(1), tick(0), exec(0), exec(0), exec(0)]);
    expect(microkernel.runningDomain(run.public, 0)).toBe('d1');
  });

  it('MK-PROP-4 needs the domain schedule: scheduling by priority across domains leaks which thread runs', () => {
    const r = findsLeak(arbPlan({ share: null, schedule: false }), 300, 13);
    expect(r.failed, failureSummary(r)).toBe(true);
  });

  it('MK-PROP-4 needs the domain schedule: whether a high-priority thread of another domain blocks decides whether d runs', () => {
    // d1's thread outranks d0's; in the public run it loops, in the secret run it blocks in
    // Recv on its own endpoint. By priority alone, d0 runs only in the secret run; with a
    // domain schedule, d0 runs in its own slot either way.
    const count: Instruction[] = [{ op: 'addi', rd: 5, rs1: 5, imm: 1 }];
    const loopsOrBlocks = directed(1, 0, count, ZERO_REGS, { program: [{ op: 'svc', imm: 4 }] });
    const high: ThreadPlan = { ...loopsOrBlocks, priority: 2, secret: { ...loopsOrBlocks.secret, priority: 2 } };
    const events = [exec(0), exec(0), exec(0), tick(0), exec(0), exec(0), exec(0), tick(0), exec(0), exec(0)];
    const byPriority: Plan = { cpus: 1, domains: 2, observer: 0, schedule: null, threads: [directed(0, 0, count), high], share: null };
    expect(() => runPair(byPriority, events, false), 'without a domain schedule').toThrow(/MK-PROP-4: view of d0 after step 1 /);
    const partitioned: Plan = { ...byPriority, schedule: [{ domain: 1, ticks: 1 }, { domain: 0, ticks: 1 }] };
    expect(() => runPair(partitioned, events, false), 'with a domain schedule').not.toThrow();
  });
});
