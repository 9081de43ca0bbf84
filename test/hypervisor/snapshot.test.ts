/**
 * HV-PROP-6 (snapshots and migration): restore(save(d)) and a migrated d give the same
 * observations — `hypervisor.view(sys, name)`, which is domain-id independent (HV-ISO-2) — as
 * the original, for any trace that follows.
 *
 * Guests are random kernels built from blocks: arithmetic, loads and stores to two data pages,
 * the emulated UART (HV-DEV-1), console hypercalls, populating a page and writing it, and
 * giving it back (HV-MEM-3), SVCs
 * taken to the guest's own EL1 vector (which fill ELR/SPSR/ESR_EL1), the thread registers, the
 * virtual counter, and blocking in WFI until a virtual timer a few ticks ahead fires (then
 * acknowledging it). Traces are random `exec` and `tick` events on both pCPUs.
 *
 * Alignment. Pausing, saving and restoring take the hypervisor's time and reorder who runs:
 * the guest `g` therefore runs alone on pCPU 0 and the control domain on pCPU 1, so that after
 * the split every pCPU-0 event is the guest's own in both systems, and the two are compared
 * in lockstep. The split is taken at a quiescent point — nothing pending for EL2 on pCPU 0
 * (`settle`) — and after the restore the copy is settled too: the IPI of the pause and the
 * ticks that passed while it was saved are handled before the comparison starts, so both
 * systems then execute the same guest instruction at the same event. Time passes while the
 * domain is saved (ticks on both pCPUs), so a restore that lost the virtual time shows.
 *
 * Migration: the pre-copy phase runs the source under dirty logging beside a third system
 * that never migrates; a store to a write-protected page faults to EL2 and is retried (HV-LIFE-5),
 * so that event is skipped in the third system, and the views are compared without the W bit
 * of stage-2 mappings (the one thing dirty logging changes in a view). After stop-and-copy the
 * destination and the third system are compared in lockstep, unchanged views.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readWords, type Trap } from '../../src/hw/index.ts';
import {
  beginMigration,
  dirtyCount,
  DOMCTL,
  finishMigration,
  HYPERCALL,
  pauseDomain,
  precopyRound,
  restoreDomain,
  saveDomain,
  type HvWorld,
  type HypervisorScenario,
  liveDomains,
  type Domain,
  type Migration,
} from '../../src/hypervisor/index.ts';
import { newHvLog } from '../../src/hypervisor/world.ts';
import { hypervisor, type HypervisorSystem, type SystemEvent } from '../../src/system/index.ts';
import { bootHv, HV_MACHINE, hvViolations, hypercall, result, stepHv, UART_IPA } from './fixtures.ts';

const PAGE_BYTES = HV_MACHINE.wordsPerFrame * 4;
const GUEST = 'g';
const GUEST_CPU = 0;
const CONTROL_CPU = 1;

// ---------------------------------------------------------------------------------------
// Guest programs
// ---------------------------------------------------------------------------------------

/** Data pages (gfn 3 and 4) after the code (gfn 0..1) and the vector page (gfn 2). */
const DATA_IPA = 3 * PAGE_BYTES;
/** A page the guest populates itself, beyond those it boots with. */
const EXTRA_GFN = 8;
const BOOT_PAGES = 5;

type Block =
  | { readonly kind: 'alu'; readonly imm: number }
  | { readonly kind: 'store'; readonly reg: 2 | 3 | 4; readonly offset: number }
  | { readonly kind: 'load'; readonly offset: number }
  | { readonly kind: 'uart' }
  | { readonly kind: 'uartStatus' }
  | { readonly kind: 'console' }
  | { readonly kind: 'populate' }
  | { readonly kind: 'balloon' }
  | { readonly kind: 'svc'; readonly imm: number }
  | { readonly kind: 'tpidr' }
  | { readonly kind: 'counter' }
  | { readonly kind: 'sleep'; readonly ticks: number };

const arbBlock: fc.Arbitrary<Block> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('alu' as const), imm: fc.integer({ min: 1, max: 999 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('store' as const), reg: fc.constantFrom(2 as const, 3 as const, 4 as const), offset: fc.integer({ min: 0, max: 2 * PAGE_BYTES / 4 - 1 }).map((w) => 4 * w) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('load' as const), offset: fc.integer({ min: 0, max: 2 * PAGE_BYTES / 4 - 1 }).map((w) => 4 * w) }) },
  fc.constant({ kind: 'uart' as const }),
  fc.constant({ kind: 'uartStatus' as const }),
  fc.constant({ kind: 'console' as const }),
  fc.constant({ kind: 'populate' as const }),
  fc.constant({ kind: 'balloon' as const }),
  fc.record({ kind: fc.constant('svc' as const), imm: fc.integer({ min: 0, max: 255 }) }),
  fc.constant({ kind: 'tpidr' as const }),
  fc.constant({ kind: 'counter' as const }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sleep' as const), ticks: fc.integer({ min: 1, max: 4 }) }) },
);

/** Assembly of one block. r2..r4 are the guest's state, r5 the data base, r6 the UART. */
function blockSource(b: Block): string {
  switch (b.kind) {
    case 'alu':
      return `addi r2, r2, ${b.imm}\n mul r3, r2, r2\n xor r4, r3, r2`;
    case 'store':
      return `st r${b.reg}, ${b.offset}(r5)`;
    case 'load':
      return `ld r9, ${b.offset}(r5)\n add r2, r2, r9`;
    case 'uart':
      // HV-DEV-1: a store to the UART's DATA register appends a character to the console.
      return `andi r9, r2, 0x3f\n addi r9, r9, 0x30\n st r9, 0(r6)`;
    case 'uartStatus':
      return 'ld r9, 4(r6)\n add r4, r4, r9';
    case 'console':
      return `andi r1, r3, 0x3f\n addi r1, r1, 0x40\n hvc #${HYPERCALL.CONSOLE_IO}`;
    case 'populate':
      // memory_op populate (r1 0, r2 gfn, r3 count): once; afterwards EEXIST, changing only r1.
      return `mov r10, r2\n li r1, 0\n li r2, ${EXTRA_GFN}\n li r3, 1\n hvc #${HYPERCALL.MEMORY_OP}\n mov r2, r10\n li r7, ${EXTRA_GFN * PAGE_BYTES}\n st r2, 8(r7)`;
    case 'balloon':
      // memory_op decrease_reservation (r1 1, r2 gfn, r3 count) of that page: EINVAL when it is not there.
      return `mov r10, r2\n li r1, 1\n li r2, ${EXTRA_GFN}\n li r3, 1\n hvc #${HYPERCALL.MEMORY_OP}\n mov r2, r10`;
    case 'svc':
      return `svc #${b.imm}`;
    case 'tpidr':
      return 'msr tpidr_el0, r2\n msr tpidr_el1, r3';
    case 'counter':
      return 'mrs r11, cntvct\n add r2, r2, r11';
    case 'sleep':
      // Arm the virtual timer a few ticks ahead and wait (WFI traps: the vCPU blocks until the
      // timer fires, HV-EXIT-4, HV-EXIT-6); then acknowledge the virtual interrupt and disarm.
      return [
        'mrs r7, cntvct',
        `addi r7, r7, ${b.ticks}`,
        'msr cntv_cval, r7',
        'li r8, 1',
        'msr cntv_ctl, r8',
        'wfi',
        'mrs r9, icc_iar',
        'msr icc_eoir, r9',
        'msr cntv_ctl, r0',
      ].join('\n');
  }
}

/** The guest kernel: set-up, the blocks in a loop, and its synchronous-exception vector at 0x200 (VBAR_EL1 0 + 0x200, HW-EXC-5). */
function guestKernel(blocks: readonly Block[], seed: number): string {
  return [
    `li r5, ${DATA_IPA}`,
    `li r6, ${UART_IPA}`,
    'msr vbar_el1, r0',
    `li r2, ${seed}`,
    'loop:',
    ...blocks.map(blockSource),
    'b loop',
    '.align 9',
    'sync:', // an SVC from the kernel itself: count it and return after it
    'mrs r12, esr_el1',
    'add r13, r13, r12',
    'eret',
  ].join('\n');
}

const arbProgram = fc.record({ blocks: fc.array(arbBlock, { minLength: 2, maxLength: 9, size: 'max' }), seed: fc.integer({ min: 0, max: 0xffff }) });

/** The control domain's kernel: a page of `b top`, so an injected hypercall returns into it anywhere. */
const CONTROL_KERNEL = Array.from({ length: HV_MACHINE.wordsPerFrame }, (_, i) => (i === 0 ? 'top: b top' : 'b top')).join('\n');

function scenario(program: { blocks: readonly Block[]; seed: number }): HypervisorScenario {
  return {
    domains: [
      { name: 'dom0', kernel: CONTROL_KERNEL, memory: 2, affinity: [CONTROL_CPU] },
      { name: GUEST, kernel: guestKernel(program.blocks, program.seed), memory: BOOT_PAGES + 2, pages: BOOT_PAGES, affinity: [GUEST_CPU] },
    ],
  };
}

/** A destination host: only its own control domain, on pCPU 1, so the migrated guest has pCPU 0 to itself. */
const DESTINATION: HypervisorScenario = { domains: [{ name: 'dom0', kernel: CONTROL_KERNEL, memory: 2, affinity: [CONTROL_CPU] }] };

// ---------------------------------------------------------------------------------------
// Traces
// ---------------------------------------------------------------------------------------

/** Mostly the guest's pCPU; the control domain's pCPU now and then. Ticks often enough for the guest's timers. */
const arbEvent: fc.Arbitrary<SystemEvent> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<SystemEvent>({ kind: 'exec', cpu: GUEST_CPU }) },
  { weight: 3, arbitrary: fc.constant<SystemEvent>({ kind: 'tick', cpu: GUEST_CPU }) },
  { weight: 1, arbitrary: fc.constant<SystemEvent>({ kind: 'exec', cpu: CONTROL_CPU }) },
  { weight: 1, arbitrary: fc.constant<SystemEvent>({ kind: 'tick', cpu: CONTROL_CPU }) },
);
/** Lengths spread over the whole range (fast-check's default size keeps arrays short, and a guest must run a while to have state worth saving). */
const arbTrace = (min: number, max: number) => fc.array(arbEvent, { minLength: min, maxLength: max, size: 'max' });

function run(sys: HypervisorSystem, events: readonly SystemEvent[]): HypervisorSystem {
  return events.reduce((s, e) => stepHv(s, e).system, sys);
}

/**
 * Handles whatever is pending for EL2 on `cpu` (an IPI, a due tick), so that the next `exec`
 * there runs the guest's next instruction — or waits, if it is blocked. A peeked step that
 * does not take an interrupt is discarded (steps are pure).
 */
function settle(sys: HypervisorSystem, cpu: number): HypervisorSystem {
  let s = sys;
  for (let i = 0; i < 8; i++) {
    const r = stepHv(s, { kind: 'exec', cpu });
    if (r.trap?.kind !== 'irq' || r.trap.to !== 2) return s;
    s = r.system;
  }
  throw new Error(`pCPU ${cpu} does not settle`);
}

/** The live guest (a saved one keeps its name until destroyed, but is not live, HV-ISO-1). */
function guest(sys: HypervisorSystem): Domain {
  const d = liveDomains(sys.state).find((x) => x.name === GUEST);
  if (d === undefined) throw new Error('no live guest');
  return d;
}

const viewOf = (sys: HypervisorSystem): string => JSON.stringify(hypervisor.view(sys, GUEST));

/** Steps both systems through `events`, expecting the guest's views equal before and after each step. */
function expectSameFrom(a0: HypervisorSystem, b0: HypervisorSystem, events: readonly SystemEvent[], what: string): void {
  let a = a0;
  let b = b0;
  expect(viewOf(b), `${what}: at the start`).toBe(viewOf(a));
  events.forEach((e, i) => {
    a = stepHv(a, e).system;
    b = stepHv(b, e).system;
    const [va, vb] = [viewOf(a), viewOf(b)];
    if (va !== vb) expect(JSON.parse(vb), `${what}: after event ${i} ${JSON.stringify(e)}`).toEqual(JSON.parse(va));
  });
  expect(hvViolations(b), `${what}: invariants`).toEqual([]);
}

// ---------------------------------------------------------------------------------------
// Save and restore
// ---------------------------------------------------------------------------------------

const world = (sys: HypervisorSystem): HvWorld => ({ m: sys.machine, h: sys.state });
const system = (w: HvWorld): HypervisorSystem => ({ machine: w.m, state: w.h });

function must<T>(r: T | number, what: string): T {
  if (typeof r === 'number') throw new Error(`${what} failed with errno ${r}`);
  return r;
}

/** A domctl by the control domain on its pCPU (HV-DOM-2): r1 of the result. */
function domctl(sys: HypervisorSystem, cmd: number, arg: number): { sys: HypervisorSystem; value: number } {
  const r = hypercall(settle(sys, CONTROL_CPU), CONTROL_CPU, HYPERCALL.DOMCTL, [cmd, arg]);
  expect(r.trap?.kind, 'the control domain runs the domctl').toBe('hvc');
  const value = result(r.system, CONTROL_CPU);
  expect(value, `domctl ${cmd} ${arg}`).toBeGreaterThanOrEqual(0);
  return { sys: r.system, value };
}

type Via = 'domctl' | 'lifecycle';

/**
 * Pauses, saves and restores the guest (HV-LIFE-3, HV-LIFE-4) — by the control domain's
 * domctls, or directly by the lifecycle functions — with `ticksSaved` ticks on each pCPU while
 * it is saved.
 */
function saveAndRestore(sys: HypervisorSystem, via: Via, ticksSaved: number): HypervisorSystem {
  const id = guest(sys).id;
  const passTime = (s: HypervisorSystem) => {
    let t = s;
    for (let i = 0; i < ticksSaved; i++) for (const cpu of [GUEST_CPU, CONTROL_CPU]) t = stepHv(t, { kind: 'tick', cpu }).system;
    return t;
  };
  if (via === 'domctl') {
    const paused = domctl(sys, DOMCTL.PAUSE, id).sys;
    const saved = domctl(paused, DOMCTL.SAVE, id);
    const restored = domctl(passTime(saved.sys), DOMCTL.RESTORE, saved.value).sys;
    return settle(settle(restored, CONTROL_CPU), GUEST_CPU);
  }
  const log = newHvLog(-1);
  const paused = must(pauseDomain(world(sys), log, id), 'pause');
  const saved = must(saveDomain(paused, log, id), 'save');
  const later = world(passTime(system(saved.w)));
  const restored = must(restoreDomain(later, log, saved.handle), 'restore');
  return settle(system(restored.w), GUEST_CPU);
}

const arbSaveCase = fc.record({
  program: arbProgram,
  before: arbTrace(10, 80),
  after: arbTrace(20, 100),
  via: fc.constantFrom<Via>('domctl', 'lifecycle'),
  ticksSaved: fc.integer({ min: 0, max: 6 }),
});

describe('HV-PROP-6: save and restore', () => {
  it('HV-PROP-6, HV-LIFE-3, HV-LIFE-4: a restored domain gives the same views as the original after every step of any trace', () => {
    fc.assert(
      fc.property(arbSaveCase, (c) => {
        const split = settle(run(bootHv(scenario(c.program)), c.before), GUEST_CPU);
        const restored = saveAndRestore(split, c.via, c.ticksSaved);
        expect(guest(restored).id, 'a new domain').not.toBe(guest(split).id);
        expectSameFrom(split, restored, c.after, `restored via ${c.via}`);
      }),
    );
  });

  it('HV-PROP-6: a worked case — the guest sleeps on its virtual timer across the save, time passes, and it wakes when the original would', () => {
    const program = { blocks: [{ kind: 'counter' }, { kind: 'sleep', ticks: 3 }, { kind: 'store', reg: 2, offset: 0 }, { kind: 'svc', imm: 5 }] as Block[], seed: 7 };
    const exec: SystemEvent = { kind: 'exec', cpu: GUEST_CPU };
    const tick: SystemEvent = { kind: 'tick', cpu: GUEST_CPU };
    // Run until the guest blocks in its WFI.
    let sys = bootHv(scenario(program));
    for (let i = 0; i < 40 && guest(sys).vcpus[0]!.state !== 'blocked'; i++) sys = stepHv(sys, exec).system;
    expect(guest(sys).vcpus[0]!.state).toBe('blocked');
    const split = settle(sys, GUEST_CPU);
    for (const via of ['domctl', 'lifecycle'] as const) {
      const restored = saveAndRestore(split, via, 5);
      expect(guest(restored).vcpus[0]!.state).toBe('blocked');
      expectSameFrom(split, restored, [exec, tick, exec, exec, tick, exec, tick, exec, exec, exec, exec, exec, exec, tick, exec, exec], `worked case via ${via}`);
    }
  });
});

// ---------------------------------------------------------------------------------------
// Migration
// ---------------------------------------------------------------------------------------

/** Whether a step was a store to a page write-protected for dirty logging (HV-LIFE-5): the store is retried. */
function isDirtyLogFault(trap: Trap | null): boolean {
  return trap?.kind === 'abort' && trap.stage === 2 && trap.fault === 'permission' && trap.access === 'store' && !trap.onWalk;
}

/** The view without the W bit of stage-2 mappings — the only thing dirty logging changes in it. */
function viewIgnoringWrite(sys: HypervisorSystem): string {
  return JSON.stringify(hypervisor.view(sys, GUEST), (key, value: unknown) => (key === 'flags' && typeof value === 'number' ? value & ~2 : value));
}

/** Page contents of the guest by gfn, read through its p2m. */
function guestPages(sys: HypervisorSystem): Map<number, readonly number[]> {
  const wpf = HV_MACHINE.wordsPerFrame;
  const pages = [...guest(sys).p2m].sort((x, y) => x[0] - y[0]);
  return new Map(pages.map(([gfn, mfn]) => [gfn, readWords(sys.machine.memory, mfn * wpf, wpf)]));
}

/**
 * A pre-copy segment on the migrating source, beside a system that never migrates: each event
 * goes to both, except a dirty-logging fault, which only the source takes. Returns both, and
 * the guest pages written — by stores that reached RAM or faulted for dirty logging — or
 * populated or given back.
 */
function precopySegment(
  mig: Migration,
  original: HypervisorSystem,
  events: readonly SystemEvent[],
): { mig: Migration; original: HypervisorSystem; written: Set<number> } {
  let src = system(mig.src);
  let orig = original;
  const written = new Set<number>();
  for (const e of events) {
    const had = new Set(guest(src).p2m.keys());
    const r = stepHv(src, e);
    src = r.system;
    // A page populated or given back under dirty logging changes the destination: dirty too (HV-LIFE-6).
    const has = new Set(guest(src).p2m.keys());
    for (const gfn of [...has, ...had]) if (has.has(gfn) !== had.has(gfn)) written.add(gfn);
    const m = r.record?.memAccess ?? null;
    if (e.kind === 'exec' && e.cpu === GUEST_CPU && r.record?.el !== 2 && m !== null && m.access === 'store' && m.device === null) {
      written.add(Math.floor(m.va / PAGE_BYTES));
    }
    // A faulting store marks its page dirty at once (HV-LIFE-5); it is retried at the next exec.
    if (e.kind === 'exec' && e.cpu === GUEST_CPU && isDirtyLogFault(r.trap) && r.trap?.kind === 'abort') written.add(Math.floor(r.trap.ipa! / PAGE_BYTES));
    else orig = stepHv(orig, e).system;
    expect(viewIgnoringWrite(src), `pre-copy: after ${JSON.stringify(e)}`).toBe(viewIgnoringWrite(orig));
  }
  return { mig: { ...mig, src: world(src) }, original: orig, written };
}

const arbMigrationCase = fc.record({
  program: arbProgram,
  before: arbTrace(5, 50),
  rounds: fc.array(arbTrace(5, 40), { minLength: 0, maxLength: 3 }),
  last: arbTrace(0, 40),
  after: arbTrace(10, 80),
  destinationTicks: fc.integer({ min: 0, max: 9 }),
});

describe('HV-PROP-6: live migration', () => {
  it('HV-PROP-6, HV-MEM-3, HV-LIFE-6: a page populated in one round and given back in the next is gone from the destination too', () => {
    const program = { blocks: [{ kind: 'populate' }, { kind: 'alu', imm: 3 }, { kind: 'balloon' }] as Block[], seed: 1 };
    const execs = (n: number): SystemEvent[] => Array.from({ length: n }, (): SystemEvent => ({ kind: 'exec', cpu: GUEST_CPU }));
    const original = settle(run(bootHv(scenario(program)), execs(12)), GUEST_CPU);
    let mig = must(beginMigration(world(original), world(bootHv(DESTINATION)), guest(original).id), 'beginMigration');
    // Round 2: the guest populates its extra page (and writes it); round 3: it gives it back.
    const populated = precopySegment(mig, original, execs(13));
    expect([...guest(system(populated.mig.src)).p2m.keys()]).toContain(EXTRA_GFN);
    mig = must(precopyRound(populated.mig), 'precopyRound');
    const ballooned = precopySegment(mig, populated.original, execs(10));
    expect([...guest(system(ballooned.mig.src)).p2m.keys()]).not.toContain(EXTRA_GFN);
    expect([...guest(system(ballooned.mig.src)).dirty!]).toEqual([EXTRA_GFN]);
    mig = must(precopyRound(ballooned.mig), 'precopyRound');
    expect(guestPages(system(mig.dst))).toEqual(guestPages(system(mig.src)));
    const moved = settle(system(must(finishMigration(mig), 'finishMigration').dst), GUEST_CPU);
    expectSameFrom(settle(ballooned.original, GUEST_CPU), moved, execs(30), 'ballooned during migration');
  });

  it('HV-PROP-6, HV-LIFE-5, HV-LIFE-6: pre-copy copies exactly the dirtied pages each round; the migrated domain then gives the same views as one that never moved', () => {
    fc.assert(
      fc.property(arbMigrationCase, (c) => {
        let original = settle(run(bootHv(scenario(c.program)), c.before), GUEST_CPU);
        // The destination's clock differs from the source's.
        let destination = bootHv(DESTINATION);
        for (let i = 0; i < c.destinationTicks; i++) destination = settle(stepHv(destination, { kind: 'tick', cpu: GUEST_CPU }).system, GUEST_CPU);
        const id = guest(original).id;
        let mig = must(beginMigration(world(original), world(destination), id), 'beginMigration');
        // Round 1 copies every page.
        expect(mig.rounds).toBe(1);
        expect(mig.pagesCopied).toBe(guest(original).p2m.size);
        expect(dirtyCount(mig)).toBe(0);
        const copiedSoFar = () => {
          const src = guestPages(system(mig.src));
          const dst = guestPages(system(mig.dst));
          expect(dst, 'after a round the destination holds the source memory').toEqual(src);
        };
        copiedSoFar();
        for (const events of c.rounds) {
          const seg = precopySegment(mig, original, events);
          original = seg.original;
          expect(dirtyCount(seg.mig), 'dirty pages: exactly those written since the last round').toBe(seg.written.size);
          expect([...guest(system(seg.mig.src)).dirty!].sort((x, y) => x - y)).toEqual([...seg.written].sort((x, y) => x - y));
          const next = must(precopyRound(seg.mig), 'precopyRound');
          expect(next.pagesCopied - seg.mig.pagesCopied, 'a round copies the dirty pages, no more').toBe(seg.written.size);
          expect(dirtyCount(next)).toBe(0);
          mig = next;
          copiedSoFar();
        }
        const seg = precopySegment(mig, original, c.last);
        original = settle(seg.original, GUEST_CPU);
        const before = seg.mig.pagesCopied;
        const done = must(finishMigration({ ...seg.mig, src: world(settle(system(seg.mig.src), GUEST_CPU)) }), 'finishMigration');
        expect(done.pagesCopied - before, 'stop-and-copy copies the pages still dirty').toBe(seg.written.size);
        expect(hypervisor.domains(system(done.src))).not.toContain(GUEST);
        const moved = settle(system(done.dst), GUEST_CPU);
        expect(guestPages(moved)).toEqual(guestPages(original));
        expectSameFrom(original, moved, c.after, 'migrated');
      }),
    );
  });
});
