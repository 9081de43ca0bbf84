/**
 * Benchmark of the hypervisor's `step` (the system step with the hypervisor as supervisor), on
 * the small 2-pCPU test machine: (1) two guests, one per pCPU, in a tight loop making a
 * hypercall every few instructions, with scheduler ticks; (2) a grant-heavy loop — one guest
 * maps a page another granted it, writes it, unmaps it and grant-copies from it, over and over,
 * while the granter computes on the other pCPU. Prints steps per second, hypercalls per second
 * and peak RSS; it is not a test and asserts nothing (beyond the loops doing what they say).
 *
 *   npm run bench:hv            (default 200 000 steps per case; `npm run bench` runs every benchmark)
 *   BENCH_STEPS=1000000 npm run bench:hv
 */
import * as E from 'fp-ts/lib/Either.js';
import { EVTCHN, GNTTAB, HYPERCALL, type HypervisorScenario, type HypervisorState } from '../src/hypervisor/index.ts';
import { bootHypervisorSystem, hypervisor, step, type HypervisorSystem, type SystemEvent } from '../src/system/index.ts';
import { HV_MACHINE } from '../test/hypervisor/fixtures.ts';
import { envCount, isMain, printTable, timeLoop, type BenchResult } from './harness.ts';

/** A control domain that blocks at once, so the guests have the pCPUs. */
const IDLE = 'idle: wfi\n b idle';

/** Three ALU instructions, li (two words), then event_channel_op pending (r1 6) — a real hypercall that leaves no state behind — and the branch: 7 instructions. */
const HYPERCALL_LOOP = `
loop:
  addi r2, r2, 1
  xor r3, r3, r2
  add r4, r4, r3
  li r1, ${EVTCHN.PENDING}
  hvc #${HYPERCALL.EVENT_CHANNEL_OP}
  b loop
`;

const GRANTER = 1;
const GRANT_REF = 0;
const MAP_GFN = 0x10;
const PAGE_BYTES = HV_MACHINE.wordsPerFrame * 4;

/** Map the granted page, store to it, unmap it, then copy 16 words out of the grant into page 1. */
const GRANT_LOOP = `
loop:
  li r1, ${GNTTAB.MAP}
  li r2, ${GRANTER}
  li r3, ${GRANT_REF}
  li r4, ${MAP_GFN}
  li r5, 0
  hvc #${HYPERCALL.GRANT_TABLE_OP}
  mov r7, r1                 ; the maptrack handle
  li r8, ${MAP_GFN * PAGE_BYTES}
  addi r9, r9, 1
  st r9, 0(r8)
  li r1, ${GNTTAB.UNMAP}
  mov r2, r7
  hvc #${HYPERCALL.GRANT_TABLE_OP}
  li r1, ${GNTTAB.COPY}
  li r2, ${GRANTER}
  li r3, ${GRANT_REF}
  li r4, 1
  li r5, 0
  li r6, 16
  hvc #${HYPERCALL.GRANT_TABLE_OP}
  b loop
`;

const COMPUTE_LOOP = 'loop: addi r2, r2, 1\n mul r3, r2, r2\n b loop';

const HYPERCALL_CASE: HypervisorScenario = {
  domains: [
    { name: 'dom0', kernel: IDLE, memory: 2 },
    { name: 'a', kernel: HYPERCALL_LOOP, memory: 2, affinity: [0] },
    { name: 'b', kernel: HYPERCALL_LOOP, memory: 2, affinity: [1] },
  ],
};

const GRANT_CASE: HypervisorScenario = {
  domains: [
    { name: 'dom0', kernel: IDLE, memory: 2 },
    { name: 'granter', kernel: COMPUTE_LOOP, memory: 3, pages: 2, affinity: [0] },
    { name: 'grantee', kernel: GRANT_LOOP, memory: 3, pages: 2, affinity: [1] },
  ],
  grants: [{ from: 'granter', to: 'grantee', gfn: 1 }],
};

function boot(scenario: HypervisorScenario): HypervisorSystem {
  const r = bootHypervisorSystem(HV_MACHINE, scenario);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

/** Step i of the event stream: exec on alternate pCPUs, and every 128 execs a tick on each. */
function eventAt(i: number): SystemEvent {
  const slot = i % 130;
  if (slot >= 128) return { kind: 'tick', cpu: slot - 128 };
  return { kind: 'exec', cpu: slot % 2 };
}

/** Steps the system `steps` times over the event stream; counts hypercalls and failed ones. */
function stepCase(name: string, scenario: HypervisorScenario, steps: number): BenchResult {
  let sys = boot(scenario);
  let i = 0;
  let hypercalls = 0;
  let failed = 0;
  return timeLoop(
    name,
    'step',
    steps,
    () => {
      const r = step<HypervisorState>(hypervisor, sys, eventAt(i++));
      if (r.trap?.kind === 'hvc') {
        hypercalls++;
        // r1 after the hypercall: a negative errno means the loop is not doing what it says.
        if ((r.system.machine.cpus[r.record!.cpu]!.regs[1]! | 0) < 0) failed++;
      }
      sys = r.system;
    },
    20_000,
    () => `${hypercalls} hypercalls, ${failed} failed`,
  );
}

/** The hypervisor benchmarks: steps per second of `step` with the hypervisor as supervisor. */
export function hvBenchmarks(steps = envCount('BENCH_STEPS', 200_000)): BenchResult[] {
  return [stepCase('hv step: hypercall every 7 insns', HYPERCALL_CASE, steps), stepCase('hv step: grant map/store/unmap/copy', GRANT_CASE, steps)];
}

if (isMain(import.meta.url)) printTable('hv step benchmark, 2 pCPUs, a tick on each every 128 execs', hvBenchmarks());
