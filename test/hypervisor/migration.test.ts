/**
 * Rule-by-rule tests of dirty logging and live migration (spec/hypervisor.md §9 HV-LIFE-5
 * and HV-LIFE-6, with the dirty-logging case of HV-EXIT-3): the pages a guest writes — and
 * only those — are recorded; pre-copy rounds copy them; after stop-and-copy the domain runs
 * on the destination with the same memory, registers and virtual time, and the source copy
 * is gone.
 */
import { describe, expect, it } from 'vitest';
import { SYS } from '../../src/hw/index.ts';
import {
  beginMigration,
  dirtyCount,
  ERRNO,
  finishMigration,
  precopyRound,
  startDirtyLog,
  takeDirty,
  type HvWorld,
  type Migration,
} from '../../src/hypervisor/index.ts';
import { newHvLog } from '../../src/hypervisor/world.ts';
import type { HypervisorSystem } from '../../src/system/index.ts';
import { bootHv, domainNamed, HV_MACHINE, hvViolations, insn, runningOn, stepHv } from './fixtures.ts';
import { counterTicks, frame, idOf, isZeroFrame, liveRegsById, PARK, runUntil, settle, stage2Of, tlbEntriesOf, words } from './rule-helpers.ts';

/** Stage-2 leaf flags (HW-MMU-2). */
const P = 1;
const W = 2;
const X = 4;

/**
 * A guest that writes 11 to page 2 (twice) and page 4, reads page 3, then counts in r2 and
 * stores the count to page 5 forever.
 */
const WRITER = [
  'li r1, 0x200',
  'addi r2, r0, 11',
  'st r2, 0(r1)',
  'st r2, 4(r1)',
  'li r1, 0x400',
  'st r2, 8(r1)',
  'li r1, 0x300',
  'ld r3, 0(r1)',
  'li r1, 0x500',
  'addi r2, r0, 0',
  'loop: addi r2, r2, 1',
  'st r2, 0(r1)',
  'b loop',
].join('\n');
/** Address of `loop` in WRITER (li is two words). */
const LOOP = 4 * (2 + 1 + 1 + 1 + 2 + 1 + 2 + 1 + 2 + 1);

function source(): HypervisorSystem {
  return bootHv({
    domains: [
      { name: 'dom0', kernel: PARK, memory: 4 },
      { name: 'g', kernel: WRITER, memory: 8, pages: 6, affinity: [1] },
    ],
  });
}

function world(sys: HypervisorSystem): HvWorld {
  return { m: sys.machine, h: sys.state };
}

function system(w: HvWorld): HypervisorSystem {
  return { machine: w.m, state: w.h };
}

/** Pages of domain `d` of world `w`, by gfn, with their contents. */
function pagesOf(w: HvWorld, d: number): Map<number, number[]> {
  const dom = w.h.domains[d]!;
  const sys = system(w);
  return new Map([...dom.p2m.entries()].sort((x, y) => x[0] - y[0]).map(([gfn, mfn]) => [gfn, frame(sys, mfn)]));
}

/** Runs pCPU 1 of the migration's source `n` steps. */
function runSource(mig: Migration, n: number): Migration {
  let sys = system(mig.src);
  for (let i = 0; i < n; i++) sys = stepHv(sys, { kind: 'exec', cpu: 1 }).system;
  return { ...mig, src: world(sys) };
}

function mustMigrate(r: Migration | number): Migration {
  if (typeof r === 'number') throw new Error(`migration failed with errno ${r}`);
  return r;
}

describe('HV-LIFE-5: dirty logging', () => {
  it('HV-LIFE-5: with dirty logging on, every page of the domain is read-only in stage 2', () => {
    const sys = source();
    const g = idOf(sys, 'g');
    const on = system(startDirtyLog(world(sys), newHvLog(-1), g));
    const dom = domainNamed(on, 'g');
    expect(stage2Of(on, dom)).toEqual(new Map([...dom.p2m].map(([gfn, mfn]) => [gfn, { mfn, flags: P | X }])));
    expect(dom.dirty).not.toBeNull();
    // Nothing cached from before stays writable.
    for (let c = 0; c < HV_MACHINE.cpus; c++) expect(tlbEntriesOf(on, c, dom.vmid).filter((e) => (e.s2 & W) !== 0)).toEqual([]);
    expect(hvViolations(on)).toEqual([]);
  });

  it('HV-LIFE-5, HV-EXIT-3: a store to a write-protected page faults, is recorded, the page made writable and the store retried; exactly the pages written are dirty', () => {
    const sys0 = source();
    const g = idOf(sys0, 'g');
    const first = takeDirty(startDirtyLog(world(sys0), newHvLog(-1), g), newHvLog(-1), g);
    expect(first.pages).toEqual([0, 1, 2, 3, 4, 5]);
    let sys = system(first.w);
    expect(domainNamed(sys, 'g').dirty).toEqual(new Set());
    // Up to the first store: it exits to EL2 and comes back to the same instruction.
    sys = runUntil(sys, 1, (s) => s.machine.cpus[1]!.pc === 12);
    const fault = stepHv(sys, { kind: 'exec', cpu: 1 });
    expect(fault.trap?.kind === 'abort' && fault.trap.fault === 'permission' && fault.trap.stage === 2).toBe(true);
    expect(fault.trap?.to).toBe(2);
    expect(fault.system.machine.cpus[1]!.pc).toBe(12);
    expect(domainNamed(fault.system, 'g').dirty).toEqual(new Set([2]));
    expect(stage2Of(fault.system, domainNamed(fault.system, 'g')).get(2)!.flags).toBe(P | W | X);
    const retried = stepHv(fault.system, { kind: 'exec', cpu: 1 });
    expect(retried.trap).toBeNull();
    expect(retried.system.machine.cpus[1]!.pc).toBe(16);
    // The rest: the second store to page 2 does not exit; page 4 is written, page 3 only read.
    sys = runUntil(retried.system, 1, (s) => s.machine.cpus[1]!.pc === LOOP);
    const dom = domainNamed(sys, 'g');
    expect(dom.dirty).toEqual(new Set([2, 4]));
    const s2 = stage2Of(sys, dom);
    expect([0, 1, 2, 3, 4, 5].map((p) => s2.get(p)!.flags)).toEqual([P | X, P | X, P | W | X, P | X, P | W | X, P | X]);
    expect(frame(sys, dom.p2m.get(2)!).slice(0, 2)).toEqual([11, 11]);
    expect(frame(sys, dom.p2m.get(4)!)[2]).toBe(11);
    expect(hvViolations(sys)).toEqual([]);
    // Taking the dirty set write-protects those pages again: the next store faults again.
    const taken = takeDirty(world(sys), newHvLog(-1), g);
    expect(taken.pages).toEqual([2, 4]);
    sys = system(taken.w);
    expect(stage2Of(sys, domainNamed(sys, 'g')).get(2)!.flags).toBe(P | X);
    sys = runUntil(sys, 1, (s) => (domainNamed(s, 'g').dirty?.size ?? 0) > 0);
    expect(domainNamed(sys, 'g').dirty).toEqual(new Set([5]));
    expect(hvViolations(sys)).toEqual([]);
  });
});

describe('HV-LIFE-6: live migration', () => {
  it('HV-LIFE-6: round 1 makes an empty domain of the same shape on the destination and copies every page while the guest runs on', () => {
    const src = source();
    const g = idOf(src, 'g');
    const dst = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }] });
    const mig = mustMigrate(beginMigration(world(src), world(dst), g));
    expect(mig.rounds).toBe(1);
    expect(mig.pagesCopied).toBe(6);
    const srcDom = mig.src.h.domains[g]!;
    const dstDom = mig.dst.h.domains[mig.dstDom]!;
    expect(srcDom.lifecycle).toBe('running');
    expect(dstDom.lifecycle).toBe('created');
    expect([dstDom.name, dstDom.maxPages, dstDom.weight, dstDom.cap, dstDom.vcpus.length]).toEqual(['g', 8, srcDom.weight, srcDom.cap, 1]);
    expect(pagesOf(mig.dst, mig.dstDom)).toEqual(pagesOf(mig.src, g));
    expect(frame(system(mig.dst), dstDom.p2m.get(0)!).slice(0, words(WRITER).length)).toEqual(words(WRITER));
    // The destination copy is not scheduled (it is only created); the source keeps running.
    expect(settle(counterTicks(system(mig.dst), 1, 1)).state.pcpus.every((p) => p.current?.dom !== mig.dstDom)).toBe(true);
    expect(runningOn(system(mig.src), 1)).toBe('g');
    expect(hvViolations(system(mig.src))).toEqual([]);
    expect(hvViolations(system(mig.dst))).toEqual([]);
  });

  it('HV-LIFE-6: each further round copies just the pages dirtied since the last', () => {
    const src = source();
    const g = idOf(src, 'g');
    const dst = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }] });
    let mig = mustMigrate(beginMigration(world(src), world(dst), g));
    mig = { ...mig, src: world(runUntil(system(mig.src), 1, (s) => s.machine.cpus[1]!.pc === LOOP + 8)) };
    expect(dirtyCount(mig)).toBe(3);
    mig = mustMigrate(precopyRound(mig));
    expect([mig.rounds, mig.pagesCopied, dirtyCount(mig)]).toEqual([2, 9, 0]);
    expect(pagesOf(mig.dst, mig.dstDom)).toEqual(pagesOf(mig.src, g));
    mig = runSource(mig, 6);
    expect(dirtyCount(mig)).toBe(1);
    const before = pagesOf(mig.dst, mig.dstDom);
    mig = mustMigrate(precopyRound(mig));
    expect([mig.rounds, mig.pagesCopied]).toEqual([3, 10]);
    const after = pagesOf(mig.dst, mig.dstDom);
    for (const gfn of [0, 1, 2, 3, 4]) expect(after.get(gfn)).toEqual(before.get(gfn));
    expect(after.get(5)).toEqual(pagesOf(mig.src, g).get(5));
    expect(after.get(5)).not.toEqual(before.get(5));
  });

  it('HV-LIFE-6: after stop-and-copy the domain runs on the destination with the same memory, registers and virtual time, and the source copy is destroyed', () => {
    let src = source();
    const g = idOf(src, 'g');
    // Five ticks of system time on the source (both pCPUs together) before the migration.
    src = settle(counterTicks(counterTicks(src, 0, 5), 1, 5));
    const dst = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }] });
    let mig = mustMigrate(beginMigration(world(src), world(dst), g));
    mig = runSource(mig, 40);
    mig = mustMigrate(precopyRound(mig));
    mig = runSource(mig, 9);
    const srcSys = system(mig.src);
    const live = liveRegsById(srcSys, g, 0);
    expect(live.regs[2]).toBeGreaterThan(0);
    const pages = pagesOf(mig.src, g);
    const srcDom = mig.src.h.domains[g]!;
    const frames = [...srcDom.p2m.values(), srcDom.s2root, ...srcDom.s2tables];
    const done = mustMigrate(finishMigration(mig));
    // The source copy is gone: destroyed, its frames scrubbed and free, its VMID out of every TLB.
    const after = system(done.src);
    expect(after.state.domains[g]!.lifecycle).toBe('destroyed');
    expect(after.state.pcpus[1]!.current).toBeNull();
    for (const f of frames) {
      expect(after.state.frameOwner[f]).toBe(-1);
      expect(isZeroFrame(after, f)).toBe(true);
    }
    for (let c = 0; c < HV_MACHINE.cpus; c++) expect(tlbEntriesOf(after, c, srcDom.vmid)).toEqual([]);
    expect(hvViolations(after)).toEqual([]);
    // The destination runs it, with the same pages and the same vCPU state.
    let there = system(done.dst);
    const d = done.dstDom;
    const dom = there.state.domains[d]!;
    expect(dom.lifecycle).toBe('running');
    expect(dom.dirty).toBeNull();
    expect(pagesOf(done.dst, d)).toEqual(pages);
    expect(dom.vcpus[0]!.context.regs).toEqual(live.regs);
    expect(dom.vcpus[0]!.context.pc).toBe(live.pc);
    expect(dom.vcpus[0]!.state).toBe('runnable');
    const s2 = stage2Of(there, dom);
    for (const gfn of pages.keys()) expect(s2.get(gfn)!.flags).toBe(P | W | X);
    expect(hvViolations(there)).toEqual([]);
    // Its pCPU on the destination picks it up at the next tick, and it goes on counting.
    there = settle(counterTicks(there, 1, 1));
    expect(there.state.pcpus[1]!.current).toEqual({ dom: d, vcpu: 0 });
    expect(there.machine.cpus[1]!.regs).toEqual(live.regs);
    there = runUntil(there, 1, (s) => s.machine.cpus[1]!.regs[2] === live.regs[2]! + 1);
    there = runUntil(there, 1, (s) => frame(s, dom.p2m.get(5)!)[0] === live.regs[2]! + 1);
    // Its virtual time continues from the source's (5), although the destination's counter was 0.
    const vt = stepHv(there, { kind: 'exec', cpu: 1, insn: insn({ op: 'mrs', rd: 7, sysreg: SYS.CNTVCT }) });
    expect(vt.system.machine.cpus[1]!.regs[7]).toBe(5 + 1);
    expect(vt.system.machine.cpus[1]!.sys[SYS.CNTVOFF_EL2]).toBe(((0 - 5) >>> 0));
  });

  it('HV-LIFE-6: only a running domain other than the control domain can be migrated', () => {
    const src = source();
    const dst = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }] });
    expect(beginMigration(world(src), world(dst), idOf(src, 'dom0'))).toBe(ERRNO.EINVAL);
    expect(beginMigration(world(src), world(dst), 9)).toBe(ERRNO.ESRCH);
  });
});
