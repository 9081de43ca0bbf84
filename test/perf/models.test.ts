/**
 * PERF-MODEL-1..3: every closed-form overhead model equals the fold of what the model actually
 * did, on random workloads and under random cost tables. Because the tables' prices are drawn
 * independently per primitive, equality for all of them means the formula names exactly the
 * primitives the simulation performed, each the right number of times — a formula that
 * forgets a register save, or a simulation that skips one, is caught.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { HYPERCALL } from '../../src/hypervisor/abi.ts';
import { builtinTable } from '../../src/perf/builtin.ts';
import { foldCost, type Knobs } from '../../src/perf/cost.ts';
import { ioRequestModel, ipcModel, notifyBlockedModel, notifyRunningModel, virtualizationModel, type ExitKind, type GuestWorkload } from '../../src/perf/models.ts';
import { measure, measureIpc, OPERATION_MACHINE } from '../../src/perf/operations.ts';
import { PRIMITIVE_OPS, type PrimitiveOp } from '../../src/perf/ops.ts';
import type { CostTable } from '../../src/perf/table.ts';
import { bootHypervisorSystem, hypervisor, step, type System } from '../../src/system/index.ts';
import type { HypervisorState } from '../../src/hypervisor/types.ts';

const base = (() => {
  const t = builtinTable('skylake');
  if (E.isLeft(t)) throw new Error(t.left.message);
  return t.right;
})();

/** A cost table with an independent random price per primitive, and random parameters. */
const arbTable: fc.Arbitrary<CostTable> = fc
  .record({
    prices: fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: PRIMITIVE_OPS.length, maxLength: PRIMITIVE_OPS.length }),
    overlap: fc.double({ min: 0, max: 0.9, noNaN: true }),
    el2: fc.double({ min: 1, max: 4, noNaN: true }),
  })
  .map(({ prices, overlap, el2 }) => {
    const entries = {} as Record<PrimitiveOp, { cycles: number; source: string }>;
    PRIMITIVE_OPS.forEach((op, i) => (entries[op] = { cycles: prices[i]!, source: 'random' }));
    return { ...base, overlap: { value: overlap, source: 'random' }, el2KernelFactor: { value: el2, source: 'random' }, entries };
  });

const arbKnobs: fc.Arbitrary<Knobs> = fc.record({
  fpu: fc.constantFrom('eager' as const, 'lazy' as const),
  pti: fc.boolean(),
  kernelAt: fc.constantFrom('el1' as const, 'el2' as const),
  overlap: fc.boolean(),
});

/** Sums agree up to floating-point reassociation. */
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

describe('PERF-MODEL-1: one-way IPC of m words', () => {
  // The simulation runs once per message length; the tables and knobs vary freely over it.
  const calls = Array.from({ length: 9 }, (_, m) => measureIpc('ipc-call', m).ops);

  it('the formula equals the fold of the measured Call for every length, table and knob setting', () => {
    fc.assert(
      fc.property(fc.nat(8), arbTable, arbKnobs, (m, table, knobs) => {
        const folded = foldCost(calls[m]!, table, knobs).cycles;
        expect(close(folded, ipcModel(table, m, knobs))).toBe(true);
      }),
    );
  });

  it('each message word adds exactly one word copy', () => {
    for (let m = 1; m <= 8; m++) expect(calls[m]!.length - calls[m - 1]!.length).toBe(1);
  });
});

/** One action of a random guest workload. */
type Action = 'alu' | 'load' | 'store' | 'hypercall' | 'uart' | 'demandFault';

const arbActions = fc.array(fc.constantFrom<Action>('alu', 'load', 'store', 'hypercall', 'uart', 'demandFault'), { maxLength: 24 }).filter((as) => as.filter((a) => a === 'demandFault').length <= 4);

const PAGE = 1 << 8;
const UART = (1 << 16) - 2 * PAGE;
/** Guest-physical pages 4.. are unbacked: the guest's image fills pages 0..1. */
const FIRST_UNBACKED = 4 * PAGE;

/**
 * The guest's program for `actions`, and what it does by construction: the instructions that
 * do not exit, the data accesses of its own, and its exits by kind.
 */
function guest(actions: readonly Action[]): { source: string; expected: Omit<GuestWorkload, 'walkSteps' | 'nestedWalkSteps' | 'tlbMisses'> } {
  // `b start` jumps over 16 data words at 4..67; its own step carries the world switch into
  // the guest, so measurement starts after it.
  const lines = ['b start', '.zero 16', `start: addi r6, r0, 4`, `addi r7, r0, ${UART}`, `addi r9, r0, ${FIRST_UNBACKED}`];
  let instructions = 3;
  let dataAccesses = 0;
  const exits: Record<ExitKind, number> = { hypercall: 0, mmio: 0, demandFault: 0 };
  actions.forEach((a, i) => {
    switch (a) {
      case 'alu':
        lines.push('addi r5, r5, 1');
        instructions += 1;
        break;
      case 'load':
        lines.push(`ld r8, ${4 * (i % 16)}(r6)`);
        instructions += 1;
        dataAccesses += 1;
        break;
      case 'store':
        lines.push(`st r5, ${4 * (i % 16)}(r6)`);
        instructions += 1;
        dataAccesses += 1;
        break;
      case 'hypercall':
        lines.push(`hvc ${HYPERCALL.XEN_VERSION}`);
        exits.hypercall += 1;
        break;
      case 'uart':
        lines.push('st r5, 0(r7)');
        exits.mmio += 1;
        break;
      case 'demandFault':
        // The faulting load exits; once backed it is retried and completes; then the next page.
        lines.push('ld r8, 0(r9)', `addi r9, r9, ${PAGE}`);
        exits.demandFault += 1;
        instructions += 2;
        dataAccesses += 1;
        break;
    }
  });
  lines.push('done: b done');
  return { source: lines.join('\n'), expected: { instructions, dataAccesses, exits } };
}

const QUIET_DOM0 = `loop: addi r1, r0, 1\n hvc ${HYPERCALL.SCHED_OP}\n b loop`;

/** Runs the guest on pCPU 0 from its second instruction to `done`; returns the primitives of those steps. */
function runGuest(source: string): PrimitiveOp[] {
  const booted = bootHypervisorSystem(OPERATION_MACHINE, {
    domains: [
      { name: 'dom0', kernel: QUIET_DOM0, memory: 2, affinity: [1] },
      { name: 'g', kernel: source, memory: 12, demandPaging: true, affinity: [0] },
    ],
  });
  if (E.isLeft(booted)) throw new Error(booted.left.message);
  let sys: System<HypervisorState> = booted.right;
  const ops: PrimitiveOp[] = [];
  let started = false;
  for (let i = 0; i < 400; i++) {
    const r = step(hypervisor, sys, { kind: 'exec', cpu: 0 });
    sys = r.system;
    // `done: b done` is the only branch to itself.
    if (r.record?.status === 'retired' && r.record.pc === r.record.nextPc) return ops;
    if (started) ops.push(...r.ops);
    started = true;
  }
  throw new Error('the guest did not reach done');
}

const count = (ops: readonly PrimitiveOp[], op: PrimitiveOp) => ops.filter((o) => o === op).length;

describe('PERF-MODEL-2: virtualization overhead is the sum of the exits', () => {
  it('T_virt = T_native + Σ n_e (direct + handling_e) on random guest workloads and tables', () => {
    fc.assert(
      fc.property(arbActions, arbTable, arbKnobs, (actions, table, knobs) => {
        const { source, expected } = guest(actions);
        const ops = runGuest(source);
        // The hardware's translation behaviour (which accesses miss the TLB, how deep the walk
        // goes) is a parameter of the formula, read off the run; everything else is by construction.
        const workload: GuestWorkload = { ...expected, walkSteps: count(ops, 'pageWalkStep'), nestedWalkSteps: count(ops, 'nestedWalkStep'), tlbMisses: count(ops, 'tlbMiss') };
        const model = virtualizationModel(table, workload, OPERATION_MACHINE.pageTableLevels, knobs);
        expect(close(foldCost(ops, table, knobs).cycles, model.total)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});

describe('PERF-MODEL-3: event-channel notification', () => {
  const ioOut = measure('io-out').ops;
  const ioIn = measure('io-in').ops;
  const vipi = measure('virtual-ipi').ops;

  it('to a blocked vCPU on an idle pCPU: the formula equals the fold of io-out', () => {
    fc.assert(
      fc.property(arbTable, arbKnobs, (table, knobs) => {
        expect(close(foldCost(ioOut, table, knobs).cycles, notifyBlockedModel(table, knobs))).toBe(true);
      }),
    );
  });

  it('to a running vCPU: the formula equals the fold of io-in and of a virtual IPI', () => {
    fc.assert(
      fc.property(arbTable, arbKnobs, (table, knobs) => {
        expect(close(foldCost(ioIn, table, knobs).cycles, notifyRunningModel(table, knobs))).toBe(true);
        expect(close(foldCost(vipi, table, knobs).cycles, notifyRunningModel(table, knobs))).toBe(true);
      }),
    );
  });
});

describe('PERF-MODEL-4: one I/O request per path', () => {
  // What the servers of the named operations do per request, counted from their programs
  // (src/perf/operations.ts): the microkernel driver's `b loop`, `st` and the two `addi` that
  // set up its reply; the backend's `addi` before fetching its pending ports, its `st` (or
  // `nop`), and the two `addi` that set up its notification.
  const driverRequest = measure('driver-request').ops;
  const pvRequest = measure('pv-request').ops;
  const roundTrip = measure('evtchn-roundtrip').ops;

  it('microkernel: Call of one word + service + empty reply equals the fold of driver-request', () => {
    fc.assert(
      fc.property(arbTable, arbKnobs, (table, knobs) => {
        expect(close(foldCost(driverRequest, table, knobs).cycles, ioRequestModel(table, 'microkernel', 1, { instructions: 4, mmioAccesses: 1 }, knobs))).toBe(true);
      }),
    );
  });

  it('hypervisor: notify, acknowledge, fetch pending, service, notify back equals the fold of pv-request and evtchn-roundtrip', () => {
    fc.assert(
      fc.property(arbTable, arbKnobs, (table, knobs) => {
        expect(close(foldCost(pvRequest, table, knobs).cycles, ioRequestModel(table, 'hypervisor', 0, { instructions: 4, mmioAccesses: 1 }, knobs))).toBe(true);
        expect(close(foldCost(roundTrip, table, knobs).cycles, ioRequestModel(table, 'hypervisor', 0, { instructions: 4, mmioAccesses: 0 }, knobs))).toBe(true);
      }),
    );
  });
});
