/**
 * Benchmark of the microkernel's `step` (the system step with the microkernel as supervisor),
 * on the 2-CPU test machine: (1) a client and a server in two address spaces on CPU 0
 * exchanging one-word Calls and ReplyRecvs, while a thread computes on CPU 1; (2) a thread
 * making the Null system call every few instructions on each CPU. Timer ticks arrive on each
 * CPU every 128 execs. Prints steps per second and peak RSS; asserts nothing.
 *
 *   npm run bench:mk            (default 200 000 steps per case; `npm run bench` runs every benchmark)
 *   BENCH_STEPS=1000000 npm run bench:mk
 */
import * as E from 'fp-ts/lib/Either.js';
import { encodeInfo, SYSCALL, type KernelScenario, type KernelState } from '../src/kernel/index.ts';
import { bootMicrokernel, microkernel, step, type MicrokernelSystem, type SystemEvent } from '../src/system/index.ts';
import { MK_MACHINE } from '../test/kernel/fixtures.ts';
import { envCount, isMain, printTable, timeLoop, type BenchResult } from './harness.ts';

const IPC_CASE: KernelScenario = {
  objects: [{ name: 'ep', type: 'endpoint' }],
  threads: [
    { name: 'server', priority: 20, caps: [{ slot: 1, object: 'ep', rights: 'RWGP' }], program: `
      addi r1, r0, 1
      svc ${SYSCALL.RECV}
loop: addi r3, r3, 1
      addi r1, r0, 1
      svc ${SYSCALL.REPLY_RECV}
      b loop` },
    { name: 'client', priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'WGP' }], program: `
loop: addi r1, r0, 1
      addi r2, r0, ${encodeInfo({ label: 0, capsUnwrapped: 0, extraCaps: 0, length: 1 })}
      svc ${SYSCALL.CALL}
      b loop` },
    { name: 'compute', cpu: 1, program: 'loop: addi r2, r2, 1\n mul r3, r2, r2\n b loop' },
  ],
};

const NULL_LOOP = `loop: addi r2, r2, 1\n xor r3, r3, r2\n svc ${SYSCALL.NULL}\n b loop`;

const NULL_CASE: KernelScenario = {
  threads: [
    { name: 'a', program: NULL_LOOP },
    { name: 'b', cpu: 1, program: NULL_LOOP },
  ],
};

function boot(scenario: KernelScenario): MicrokernelSystem {
  const r = bootMicrokernel({ ...MK_MACHINE, cpus: 2, frames: 96 }, scenario);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

/** Step i of the event stream: exec on alternate CPUs, and every 128 execs a tick on each. */
function eventAt(i: number): SystemEvent {
  const slot = i % 130;
  if (slot >= 128) return { kind: 'tick', cpu: slot - 128 };
  return { kind: 'exec', cpu: slot % 2 };
}

function stepCase(name: string, scenario: KernelScenario, steps: number): BenchResult {
  let sys = boot(scenario);
  let i = 0;
  let syscalls = 0;
  return timeLoop(
    name,
    'step',
    steps,
    () => {
      const r = step<KernelState>(microkernel, sys, eventAt(i++));
      if (r.trap?.kind === 'svc') syscalls++;
      sys = r.system;
    },
    20_000,
    () => `${syscalls} system calls`,
  );
}

/** The microkernel benchmarks: steps per second of `step` with the microkernel as supervisor. */
export function mkBenchmarks(steps = envCount('BENCH_STEPS', 200_000)): BenchResult[] {
  return [stepCase('mk step: IPC call/reply, 1 word', IPC_CASE, steps), stepCase('mk step: null syscall every 4 insns', NULL_CASE, steps)];
}

if (isMain(import.meta.url)) printTable('mk step benchmark, 2 CPUs, a tick on each every 128 execs', mkBenchmarks());
