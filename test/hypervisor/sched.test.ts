/**
 * Rule-by-rule tests of the credit scheduler (spec/hypervisor.md §8 HV-SCHED-1..7; fairness,
 * HV-PROP-5, is a property test elsewhere): the run queue, the choice by class (BOOST, UNDER,
 * OVER) and slice, credits burnt per tick, boost on wake, blocking, idling and IPIs, credit
 * accounting with weights, caps and water-filling — every expected share computed by hand
 * from the rule — parking of capped domains, and stopping vCPUs on other pCPUs.
 */
import { describe, expect, it } from 'vitest';
import { DOMCTL, EVTCHN, HYPERCALL, SCHED, VCPU, waterFill, type HypervisorScenario } from '../../src/hypervisor/index.ts';
import type { HypervisorSystem } from '../../src/system/index.ts';
import { bootHv, domainNamed, hvViolations, runningOn, stepHv } from './fixtures.ts';
import { idOf, inject, liveRegs, ok, PARK, run, savedContext, schedTick, schedTicks, settle, yieldTo } from './rule-helpers.ts';

function vcpu(sys: HypervisorSystem, name: string, v = 0) {
  return domainNamed(sys, name).vcpus[v]!;
}

/** dom0 alone on pCPU 0; a, b, c (in that order) on pCPU 1. */
function queue(extra: Partial<HypervisorScenario> = {}): HypervisorSystem {
  return bootHv({
    ...extra,
    domains: [
      { name: 'dom0', kernel: PARK, memory: 4 },
      { name: 'a', kernel: PARK, memory: 2, affinity: [1] },
      { name: 'b', kernel: PARK, memory: 2, affinity: [1] },
      { name: 'c', kernel: PARK, memory: 2, affinity: [1] },
    ],
  });
}

describe('HV-SCHED: the credit scheduler', () => {
  it('HV-SCHED-1: each vCPU is in one state; runnable ones off the pCPUs wait in one queue in the order they became runnable; a pCPU runs at most one', () => {
    let sys = queue();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => idOf(sys, n));
    expect(runningOn(sys, 1)).toBe('a');
    expect(sys.state.runq).toEqual([
      { dom: b, vcpu: 0 },
      { dom: c, vcpu: 0 },
    ]);
    expect(['a', 'b', 'c'].map((n) => vcpu(sys, n).state)).toEqual(['running', 'runnable', 'runnable']);
    // a yields: it goes to the tail, behind those that were waiting.
    sys = ok(sys, 1, HYPERCALL.SCHED_OP, [SCHED.YIELD]).sys;
    expect(runningOn(sys, 1)).toBe('b');
    expect(sys.state.runq).toEqual([
      { dom: c, vcpu: 0 },
      { dom: a, vcpu: 0 },
    ]);
    // b blocks: it leaves the pCPU and the queue.
    sys = ok(sys, 1, HYPERCALL.SCHED_OP, [SCHED.BLOCK]).sys;
    expect(vcpu(sys, 'b').state).toBe('blocked');
    expect(runningOn(sys, 1)).toBe('c');
    expect(sys.state.runq).toEqual([{ dom: a, vcpu: 0 }]);
    expect(sys.state.pcpus.map((p) => p.current)).toEqual([
      { dom: 0, vcpu: 0 },
      { dom: c, vcpu: 0 },
    ]);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-SCHED-2: within a class the first waiting runs next — yields go round robin', () => {
    let sys = queue();
    const order: (string | null)[] = [runningOn(sys, 1)];
    for (let i = 0; i < 4; i++) {
      sys = ok(sys, 1, HYPERCALL.SCHED_OP, [SCHED.YIELD]).sys;
      order.push(runningOn(sys, 1));
    }
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b']);
  });

  it('HV-SCHED-2, HV-SCHED-3: a vCPU of a better class preempts at the tick; within a class the running vCPU keeps its slice of 3 ticks', () => {
    // No accounting during the test: credits only burn.
    let sys = bootHv({
      hypervisor: { accountingTicks: 1000 },
      domains: [
        { name: 'dom0', kernel: PARK, memory: 4 },
        { name: 'a', kernel: PARK, memory: 2, affinity: [1] },
        { name: 'b', kernel: PARK, memory: 2, affinity: [1] },
      ],
    });
    expect([vcpu(sys, 'a').credit, vcpu(sys, 'a').priority]).toEqual([0, 'under']);
    // Tick 1: a burns 100 and is OVER; b (UNDER) is better and takes the pCPU.
    sys = schedTick(sys, 1).system;
    expect([vcpu(sys, 'a').credit, vcpu(sys, 'a').priority]).toEqual([-100, 'over']);
    expect(runningOn(sys, 1)).toBe('b');
    expect(sys.state.pcpus[1]!.sliceLeft).toBe(3);
    // Now both are OVER after b's first tick: b keeps its slice for 3 ticks, then a runs.
    const who: (string | null)[] = [];
    for (let i = 0; i < 6; i++) {
      sys = schedTick(sys, 1).system;
      who.push(runningOn(sys, 1));
    }
    expect(who).toEqual(['b', 'b', 'a', 'a', 'a', 'b']);
    expect(vcpu(sys, 'a').credit).toBe(-400);
    expect(vcpu(sys, 'b').credit).toBe(-300);
    expect(vcpu(sys, 'a').ticksRun + vcpu(sys, 'b').ticksRun).toBe(7);
  });

  it('HV-SCHED-2, HV-SCHED-4: a vCPU woken by an event with credit left is boosted and preempts the running one; the boost lasts until the next tick', () => {
    let sys = queue({ channels: [{ from: 'dom0', to: 'b' }] });
    // One accounting period: dom0 burns 300, a, b and c (idle) get 600 / 4 = 150 each.
    sys = schedTicks(sys, 0, 3);
    expect(['dom0', 'a', 'b', 'c'].map((n) => vcpu(sys, n).credit)).toEqual([-150, 150, 150, 150]);
    sys = yieldTo(sys, 1, 'b');
    sys = ok(sys, 1, HYPERCALL.SCHED_OP, [SCHED.BLOCK]).sys;
    expect(vcpu(sys, 'b').state).toBe('blocked');
    const running = runningOn(sys, 1);
    expect(running).not.toBe('b');
    const s = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]);
    expect([vcpu(s.sys, 'b').state, vcpu(s.sys, 'b').priority]).toEqual(['runnable', 'boost']);
    // pCPU 1 is told to choose again, and b, the only BOOST, goes first although it queued last.
    expect(s.sys.machine.gic.ipiPending & 0b10).toBe(0b10);
    sys = settle(s.sys);
    expect(runningOn(sys, 1)).toBe('b');
    sys = schedTick(sys, 1).system;
    expect([vcpu(sys, 'b').credit, vcpu(sys, 'b').priority]).toEqual([50, 'under']);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-SCHED-4: a vCPU woken with no credit left is not boosted', () => {
    let sys = bootHv({
      hypervisor: { accountingTicks: 1000 },
      domains: [{ name: 'dom0', kernel: PARK, memory: 4 }, { name: 'a', kernel: PARK, memory: 2, affinity: [1] }],
      channels: [{ from: 'dom0', to: 'a' }],
    });
    sys = schedTick(sys, 1).system;
    expect(vcpu(sys, 'a').credit).toBe(-100);
    sys = ok(sys, 1, HYPERCALL.SCHED_OP, [SCHED.BLOCK]).sys;
    sys = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]).sys;
    expect([vcpu(sys, 'a').state, vcpu(sys, 'a').priority]).toEqual(['runnable', 'over']);
    // It still runs on its idle pCPU, as OVER.
    sys = settle(sys);
    expect(runningOn(sys, 1)).toBe('a');
    expect(vcpu(sys, 'a').priority).toBe('over');
  });

  it('HV-SCHED-4: sched_op block with nothing pending leaves the pCPU; the pCPU idles if nothing else can run', () => {
    let sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }, { name: 'a', kernel: PARK, memory: 2, affinity: [1] }] });
    const b = ok(sys, 1, HYPERCALL.SCHED_OP, [SCHED.BLOCK]);
    sys = b.sys;
    expect(b.r1).toBe(0);
    expect(vcpu(sys, 'a').state).toBe('blocked');
    expect(runningOn(sys, 1)).toBeNull();
    expect(sys.state.runq).toEqual([]);
  });

  it('HV-SCHED-5: a pCPU with nothing to run waits at EL2 with interrupts unmasked, doing nothing until an interrupt', () => {
    const sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }] });
    const cpu = sys.machine.cpus[1]!;
    expect([cpu.el, cpu.irqMasked, cpu.waiting]).toEqual([2, false, true]);
    const r = stepHv(sys, { kind: 'exec', cpu: 1 });
    expect(r.record?.status).toBe('waiting');
    expect(r.system).toEqual(sys);
  });

  it('HV-SCHED-5: after an exit, a pCPU that should run something else gets an IPI — and only such a pCPU', () => {
    const sys = bootHv({
      domains: [
        { name: 'dom0', kernel: PARK, memory: 4 },
        { name: 'a', kernel: PARK, memory: 2, affinity: [1], start: false },
        { name: 'z', kernel: PARK, memory: 2, affinity: [0], start: false },
      ],
    });
    const z = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.UNPAUSE, idOf(sys, 'z')]);
    expect(z.sys.machine.gic.ipiPending).toBe(0);
    expect(z.res.ops).not.toContain('ipi');
    const a = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.UNPAUSE, idOf(sys, 'a')]);
    expect(a.sys.machine.gic.ipiPending).toBe(0b10);
    expect(a.res.ops).toContain('ipi');
    const s = settle(a.sys);
    expect(runningOn(s, 1)).toBe('a');
  });

  it('HV-SCHED-6: waterFill shares in proportion to weight, none beyond its cap, what a capped domain cannot take going to the others by weight', () => {
    const U = Infinity;
    // Hand-computed (max-min water-filling):
    expect(waterFill([{ weight: 1, cap: U }, { weight: 1, cap: U }], 10)).toEqual([5, 5]);
    expect(waterFill([{ weight: 256, cap: U }, { weight: 512, cap: U }], 600)).toEqual([200, 400]);
    // 150 / 300 / 150 by weight; the third is capped at 75, its 75 more go 1 : 2 to the others.
    expect(waterFill([{ weight: 256, cap: U }, { weight: 512, cap: U }, { weight: 256, cap: 75 }], 600)).toEqual([175, 350, 75]);
    // 30 / 30 / 60: both capped ones stop at their caps, the uncapped one takes the rest, 50.
    expect(waterFill([{ weight: 1, cap: U }, { weight: 1, cap: 30 }, { weight: 2, cap: 40 }], 120)).toEqual([50, 30, 40]);
    // Two rounds: 50 / 50 / 100 → the third stops at 50; 75 / 75 → the second stops at 70; the first gets 80.
    expect(waterFill([{ weight: 1, cap: U }, { weight: 1, cap: 70 }, { weight: 2, cap: 50 }], 200)).toEqual([80, 70, 50]);
    // Caps below the fair share leave credit unallocated rather than exceed a cap.
    expect(waterFill([{ weight: 1, cap: 10 }, { weight: 1, cap: 20 }], 100)).toEqual([10, 20]);
    expect(waterFill([], 100)).toEqual([]);
  });

  it('HV-SCHED-6: each period, the credits of both pCPUs are shared by weight among the busy domains, within caps, water-filled', () => {
    // Slices of 10 ticks so that no vCPU reaches the most it may bank (1000) here; periods of
    // 3 ticks of 100: 600 for the 2 pCPUs. dom0 runs alone on pCPU 0, whose ticks drive the
    // accounting, and burns 300 a period; a, b and c wait or run on pCPU 1, which never ticks.
    let sys = bootHv({
      hypervisor: { sliceTicks: 10, accountingTicks: 3, creditsPerTick: 100 },
      domains: [
        { name: 'dom0', kernel: PARK, memory: 4 },
        { name: 'a', kernel: PARK, memory: 2, affinity: [1] },
        { name: 'b', kernel: PARK, memory: 2, cap: 52, affinity: [1] },
        { name: 'c', kernel: PARK, memory: 2, cap: 30, affinity: [1] },
      ],
    });
    const credits = () => ['dom0', 'a', 'b', 'c'].map((n) => vcpu(sys, n).credit);
    sys = schedTicks(sys, 0, 2);
    expect(credits()).toEqual([-200, 0, 0, 0]);
    sys = schedTicks(sys, 0, 1);
    // Equal weights: 150 each of 600. c's cap is 30% of 300 = 90: it stops there, and the 510
    // left go 170 each to dom0, a and b — above b's cap of 52% of 300 = 156. b stops there, and
    // dom0 and a share the 354 left: 177 each.
    expect(credits()).toEqual([-300 + 177, 177, 156, 90]);
    sys = schedTicks(sys, 0, 3);
    expect(credits()).toEqual([-600 + 2 * 177, 2 * 177, 2 * 156, 2 * 90]);
    expect(['dom0', 'a', 'b', 'c'].map((n) => vcpu(sys, n).priority)).toEqual(['over', 'under', 'under', 'under']);
  });

  it('HV-SCHED-6: a domain\'s share is split among its busy vCPUs; a domain with none busy gets nothing; a vCPU banks at most one slice', () => {
    let sys = bootHv({
      domains: [
        { name: 'dom0', kernel: PARK, memory: 4 },
        { name: 'a', kernel: PARK, memory: 2, vcpus: 2, affinity: [1, 1] },
        { name: 'c', kernel: PARK, memory: 2, affinity: [1] },
      ],
    });
    sys = yieldTo(sys, 1, 'a');
    sys = ok(sys, 1, HYPERCALL.VCPU_OP, [VCPU.UP, 1, 0]).sys;
    sys = yieldTo(sys, 1, 'c');
    sys = ok(sys, 1, HYPERCALL.SCHED_OP, [SCHED.BLOCK]).sys;
    sys = schedTicks(sys, 0, 3);
    // dom0 (burning 300 on pCPU 0) and a share 600: 300 each; a's is split over its two
    // vCPUs; c, blocked, gets none.
    const all = () => [vcpu(sys, 'dom0').credit, vcpu(sys, 'a', 0).credit, vcpu(sys, 'a', 1).credit, vcpu(sys, 'c').credit];
    expect(all()).toEqual([0, 150, 150, 0]);
    sys = schedTicks(sys, 0, 3);
    expect(all()).toEqual([0, 300, 300, 0]);
    // a's vCPUs never run: period after period their credit stops growing once they have banked
    // a slice (300) — it never exceeds a slice plus one period's share.
    sys = schedTicks(sys, 0, 9);
    const settled = vcpu(sys, 'a', 0).credit;
    sys = schedTicks(sys, 0, 9);
    expect(vcpu(sys, 'a', 0).credit).toBe(settled);
    expect(settled).toBeGreaterThanOrEqual(300);
    expect(settled).toBeLessThanOrEqual(300 + 150);
  });

  it('HV-SCHED-7: a capped domain whose credit is negative is parked until the next period, even on an idle pCPU', () => {
    let sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }, { name: 'a', kernel: PARK, memory: 2, cap: 50, affinity: [1] }] });
    sys = schedTick(sys, 1).system;
    expect(vcpu(sys, 'a').credit).toBe(-100);
    expect(vcpu(sys, 'a').state).toBe('runnable');
    expect(runningOn(sys, 1)).toBeNull();
    sys = schedTicks(sys, 1, 2);
    expect(runningOn(sys, 1)).toBeNull();
    expect(vcpu(sys, 'a').credit).toBe(-100);
    // The period ends on pCPU 0: a's share is its cap, 50% of 300 = 150 (dom0 takes the other 450),
    // so its credit is back above zero and pCPU 1 is sent an IPI to run it.
    const t = schedTicks(sys, 0, 2);
    const last = schedTick(t, 0);
    expect(vcpu(last.system, 'a').credit).toBe(50);
    expect(last.system.machine.gic.ipiPending & 0b10).toBe(0b10);
    sys = settle(last.system);
    expect(runningOn(sys, 1)).toBe('a');
    // An uncapped domain is never parked: with credit -100 it still runs on an idle pCPU.
    let u = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }, { name: 'a', kernel: PARK, memory: 2, affinity: [1] }] });
    u = schedTick(u, 1).system;
    expect(vcpu(u, 'a').credit).toBe(-100);
    expect(runningOn(u, 1)).toBe('a');
  });

  it('HV-SCHED-7: before pausing a domain or taking a vCPU down, the hypervisor saves the live state of its vCPUs on other pCPUs and sends those pCPUs an IPI', () => {
    const loop = 'loop: addi r2, r2, 1\nb loop';
    let sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4, vcpus: 2 }, { name: 'a', kernel: loop, memory: 2, affinity: [1], start: false }] });
    sys = settle(ok(sys, 0, HYPERCALL.VCPU_OP, [VCPU.UP, 1, 0x40]).sys);
    sys = inject(sys, 1, { op: 'addi', rd: 9, rs1: 0, imm: 99 });
    const live = liveRegs(sys, 'dom0', 1);
    const d = ok(sys, 0, HYPERCALL.VCPU_OP, [VCPU.DOWN, 1]);
    expect(savedContext(d.sys, 'dom0', 1).regs).toEqual(live.regs);
    expect(savedContext(d.sys, 'dom0', 1).pc).toBe(live.pc);
    expect(d.sys.state.pcpus[1]!.current).toBeNull();
    expect(d.sys.machine.cpus[1]!.el).toBe(2);
    expect(d.sys.machine.gic.ipiPending).toBe(0b10);
    expect(d.res.ops).toContain('ipi');
    // The same for a pause of a domain running on pCPU 1.
    sys = settle(ok(settle(d.sys), 0, HYPERCALL.DOMCTL, [DOMCTL.UNPAUSE, idOf(d.sys, 'a')]).sys);
    sys = run(sys, 1, 7);
    const a = liveRegs(sys, 'a');
    expect(a.regs[2]).toBe(4);
    const p = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, idOf(sys, 'a')]);
    expect(savedContext(p.sys, 'a').regs).toEqual(a.regs);
    expect(savedContext(p.sys, 'a').pc).toBe(a.pc);
    expect(p.sys.machine.gic.ipiPending).toBe(0b10);
    expect(hvViolations(p.sys)).toEqual([]);
  });
});
