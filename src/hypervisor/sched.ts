/**
 * The credit scheduler (HV-SCHED-1..7), after Xen's csched. Each vCPU has credits and a
 * priority class: BOOST (just woken, with credit) before UNDER (credit left) before OVER
 * (credit spent); first come, first served within a class. A running vCPU burns credits
 * every tick and is preempted at the end of its slice. Every accounting period the credits
 * the pCPUs can give out are shared among the domains with work, in proportion to their
 * weights, no domain getting more than its cap, what a capped domain cannot take going to
 * the others (water-filling); a capped domain whose credit is spent is parked until the next
 * period.
 *
 * @module
 */
import { sendIpi } from '../hw/index.ts';
import type { DomId, Domain, HypervisorState, Vcpu } from './types.ts';
import { enterGuest, idlePcpu, liveVcpuContext, loadVcpu, saveVcpuBank } from './vcpu.ts';
import { getDomain, updateVcpu, type HvLog, type HvWorld } from './world.ts';

/** Most credit a vCPU may bank (Xen clips at one slice's worth beyond zero). */
export function creditCeiling(h: HypervisorState): number {
  return h.config.creditsPerTick * h.config.sliceTicks;
}

const RANK = { boost: 0, under: 1, over: 2 } as const;

/** Whether vCPU `v` of `dom` may be chosen: runnable, its domain running, not parked by its cap. */
function eligible(dom: Domain, v: Vcpu): boolean {
  return dom.lifecycle === 'running' && v.state === 'runnable' && !(dom.cap > 0 && v.credit < 0);
}

/** The vCPU pCPU `c` should run next (HV-SCHED-2), and its place in the run queue. */
export function pickNext(h: HypervisorState, c: number): { dom: DomId; vcpu: number; index: number } | null {
  let best: { dom: DomId; vcpu: number; index: number } | null = null;
  let bestRank = 3;
  h.runq.forEach((q, index) => {
    const dom = getDomain(h, q.dom);
    const v = dom?.vcpus[q.vcpu];
    if (dom === null || v === undefined || v.affinity !== c || !eligible(dom, v)) return;
    const rank = RANK[v.priority];
    if (rank < bestRank) {
      best = { ...q, index };
      bestRank = rank;
    }
  });
  return best;
}

function setPcpu(w: HvWorld, c: number, current: { dom: DomId; vcpu: number } | null, sliceLeft: number): HvWorld {
  const pcpus = w.h.pcpus.slice();
  pcpus[c] = { current, sliceLeft };
  return { ...w, h: { ...w.h, pcpus } };
}

/** Takes the vCPU off pCPU `c` (saving its bank); it goes to the run-queue tail if still runnable. */
export function deschedule(w: HvWorld, log: HvLog, c: number): HvWorld {
  const cur = w.h.pcpus[c]!.current;
  if (cur === null) return w;
  let world = saveVcpuBank(w, log, c);
  world = setPcpu(world, c, null, 0);
  const v = getDomain(world.h, cur.dom)?.vcpus[cur.vcpu];
  if (v?.state === 'running') {
    world = updateVcpu(world, cur.dom, cur.vcpu, { state: 'runnable' });
    world = { ...world, h: { ...world.h, runq: [...world.h.runq, cur] } };
  }
  return world;
}

/**
 * Chooses and enters what pCPU `c` runs next (HV-SCHED-2): the current vCPU keeps the pCPU
 * while it may run and no vCPU of a better class waits; otherwise the best waiting vCPU is
 * switched in, or the pCPU idles.
 */
export function scheduleAndEnter(w: HvWorld, log: HvLog, c: number): HvWorld {
  let world = w;
  const cur = world.h.pcpus[c]!.current;
  const curDom = cur === null ? null : getDomain(world.h, cur.dom);
  const curVcpu = cur === null || curDom === null ? undefined : curDom.vcpus[cur.vcpu];
  const next = pickNext(world.h, c);
  const keep =
    cur !== null && curDom !== null && curVcpu !== undefined && curVcpu.state === 'running' && curDom.lifecycle === 'running' &&
    !(curDom.cap > 0 && curVcpu.credit < 0) && world.h.pcpus[c]!.sliceLeft > 0 &&
    (next === null || RANK[getDomain(world.h, next.dom)!.vcpus[next.vcpu]!.priority] >= RANK[curVcpu.priority]);
  if (keep) return enterGuest(world, log, c);
  world = deschedule(world, log, c);
  const chosen = pickNext(world.h, c);
  // PERF-OP-1: FPU and vector state moves only when the pCPU changes vCPU.
  const same = cur !== null && chosen !== null && chosen.dom === cur.dom && chosen.vcpu === cur.vcpu;
  if (cur !== null && !same) log.ops.push('fpuSave');
  if (chosen === null) return idlePcpu(world, c);
  if (!same) log.ops.push('fpuRestore');
  const runq = world.h.runq.slice();
  runq.splice(chosen.index, 1);
  world = { ...world, h: { ...world.h, runq } };
  world = updateVcpu(world, chosen.dom, chosen.vcpu, { state: 'running' });
  world = setPcpu(world, c, { dom: chosen.dom, vcpu: chosen.vcpu }, world.h.config.sliceTicks);
  world = loadVcpu(world, log, c, chosen.dom, chosen.vcpu);
  return enterGuest(world, log, c);
}

/**
 * A scheduler tick on pCPU `c` (HV-SCHED-3): the running vCPU burns its credits, a boost
 * lasts one tick, the slice shrinks; on pCPU 0 the accounting period advances.
 */
export function schedulerTick(w: HvWorld, c: number): HvWorld {
  let world = w;
  const p = world.h.pcpus[c]!;
  if (p.current !== null) {
    const v = getDomain(world.h, p.current.dom)?.vcpus[p.current.vcpu];
    if (v !== undefined) {
      const credit = v.credit - world.h.config.creditsPerTick;
      world = updateVcpu(world, p.current.dom, p.current.vcpu, {
        credit,
        ticksRun: v.ticksRun + 1,
        priority: credit > 0 ? 'under' : 'over',
      });
    }
    world = setPcpu(world, c, p.current, Math.max(0, p.sliceLeft - 1));
  }
  if (c !== 0) return world;
  const ticks = world.h.ticksSinceAccounting + 1;
  if (ticks < world.h.config.accountingTicks) return { ...world, h: { ...world.h, ticksSinceAccounting: ticks } };
  return account({ ...world, h: { ...world.h, ticksSinceAccounting: 0 } });
}

/**
 * The share of `total` each domain gets (HV-SCHED-6): proportional to weight, none above its
 * cap, what a capped domain cannot use shared again among the rest by weight (water-filling).
 */
export function waterFill(demands: readonly { weight: number; cap: number }[], total: number): number[] {
  const share = demands.map(() => 0);
  let open = demands.map((_, i) => i).filter((i) => demands[i]!.weight > 0);
  let left = total;
  while (open.length > 0 && left > 1e-9) {
    const weights = open.reduce((s, i) => s + demands[i]!.weight, 0);
    const capped = open.filter((i) => demands[i]!.cap !== Infinity && share[i]! + (left * demands[i]!.weight) / weights >= demands[i]!.cap);
    if (capped.length === 0) {
      for (const i of open) share[i] = share[i]! + (left * demands[i]!.weight) / weights;
      break;
    }
    for (const i of capped) {
      left -= demands[i]!.cap - share[i]!;
      share[i] = demands[i]!.cap;
    }
    open = open.filter((i) => !capped.includes(i));
  }
  return share;
}

function isBusy(v: Vcpu): boolean {
  return v.state === 'runnable' || v.state === 'running';
}

/** Credit accounting (HV-SCHED-6): domains with runnable or running vCPUs share this period's credits. */
function account(w: HvWorld): HvWorld {
  const h = w.h;
  const period = h.config.creditsPerTick * h.config.accountingTicks;
  const active = h.domains.filter((d): d is Domain => d !== null && d.lifecycle === 'running' && d.vcpus.some(isBusy));
  // HV-SCHED-6: a vCPU runs only on its own pCPU, so the credits to share are those of the
  // pCPUs busy vCPUs are pinned to, and a domain can use at most one pCPU per pCPU its busy
  // vCPUs are on (Xen's credit_peak). Counting every pCPU would hand out credit no vCPU can
  // burn: all stay UNDER and share round-robin, whatever their weights.
  const pcpusOf = (d: Domain) => new Set(d.vcpus.filter(isBusy).map((v) => v.affinity)).size;
  const total = period * new Set(active.flatMap((d) => d.vcpus.filter(isBusy).map((v) => v.affinity))).size;
  const shares = waterFill(
    active.map((d) => ({ weight: d.weight, cap: Math.min(d.cap > 0 ? (period * d.cap) / 100 : Infinity, period * pcpusOf(d)) })),
    total,
  );
  let world = w;
  active.forEach((d, i) => {
    const busy = d.vcpus.filter(isBusy);
    // Exact shares: rounding each period's share down (or up) misses the pCPUs' capacity by up
    // to a credit per vCPU per period, a bias that grows without bound over a long run.
    const each = shares[i]! / busy.length;
    for (const v of busy) {
      // HV-SCHED-6: what a vCPU banks — credit left from earlier periods — is at most one
      // slice; this period's share comes on top. Clipping the new share too would take credit
      // from a vCPU that has not yet been charged for the tick now ending on its pCPU (the
      // accounting runs on pCPU 0), or whose period's share exceeds a slice.
      const credit = Math.min(v.credit, creditCeiling(h)) + each;
      world = updateVcpu(world, d.id, v.id, { credit, priority: v.priority === 'boost' ? 'boost' : credit > 0 ? 'under' : 'over' });
    }
  });
  return world;
}

/** After an entry on pCPU `log.cpu`: sends an IPI to each other pCPU that should run something else (HV-SCHED-5). */
export function kickPcpus(w: HvWorld, log: HvLog): HvWorld {
  let world = w;
  w.h.pcpus.forEach((p, c) => {
    if (c === log.cpu || (world.m.gic.ipiPending & (1 << c)) !== 0) return;
    const next = pickNext(world.h, c);
    const cur = p.current;
    const curV = cur === null ? undefined : getDomain(world.h, cur.dom)?.vcpus[cur.vcpu];
    const stale = cur !== null && (curV?.state !== 'running' || getDomain(world.h, cur.dom)?.lifecycle !== 'running');
    const better = next !== null && (cur === null || (curV !== undefined && RANK[getDomain(world.h, next.dom)!.vcpus[next.vcpu]!.priority] < RANK[curV.priority]));
    if (stale || better) {
      log.ops.push('ipi');
      world = { ...world, m: { ...world.m, gic: sendIpi(world.m.gic, 1 << c, world.m.cpus.length) } };
    }
  });
  return world;
}

/**
 * Takes every vCPU of domain `d` off the pCPUs it runs on, other than the one handling this
 * entry (HV-SCHED-7): their live state is saved, those pCPUs idle and get an IPI to choose
 * again. The hypervisor does this before it pauses, saves or destroys a domain, as Xen's
 * vcpu_sleep_sync waits for them.
 */
export function stopDomainElsewhere(w: HvWorld, log: HvLog, d: DomId, only: number | null = null): HvWorld {
  let world = w;
  world.h.pcpus.forEach((p, c) => {
    if (c === log.cpu || p.current === null || p.current.dom !== d) return;
    if (only !== null && p.current.vcpu !== only) return;
    const v = p.current.vcpu;
    world = updateVcpu(world, d, v, { context: liveVcpuContext(world, d, v) });
    const pcpus = world.h.pcpus.slice();
    pcpus[c] = { current: null, sliceLeft: 0 };
    world = { ...world, h: { ...world.h, pcpus } };
    const vcpu = getDomain(world.h, d)!.vcpus[v]!;
    if (vcpu.state === 'running') {
      world = updateVcpu(world, d, v, { state: 'runnable' });
      world = { ...world, h: { ...world.h, runq: [...world.h.runq, { dom: d, vcpu: v }] } };
    }
    log.ops.push('vmExit', 'sysregBankSave', 'ipi');
    world = idlePcpu(world, c);
    world = { ...world, m: { ...world.m, gic: sendIpi(world.m.gic, 1 << c, world.m.cpus.length) } };
  });
  return world;
}
