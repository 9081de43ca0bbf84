/**
 * Benchmark of the hardware model's `execute`: a mixed ALU / load / store / branch loop at
 * EL0 with stage-1 translation on, on the 4-CPU, 4096-frame, 4 KiB-page demo geometry.
 * Prints instructions per second and memory; it is not a test and asserts nothing.
 *
 *   npm run bench:hw            (default 3 M instructions per case)
 *   BENCH_INSNS=10000000 npm run bench:hw
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  assemble,
  DEMO_MACHINE,
  execute,
  HCR,
  makeBase,
  mapPage,
  PTE,
  resetMachine,
  SCTLR_M,
  setSys,
  SYS,
  writeWords,
  type Machine,
} from '../src/hw/index.ts';
import { envCount, isMain, printTable, timeLoop, type BenchResult } from './harness.ts';

const CODE_VA = 0x0040_0000;
const DATA_VA = 0x0080_0000;

const LOOP = `
  li r1, ${DATA_VA}
loop:
  andi r6, r2, 0x1ffc     ; offset in an 8 KiB buffer (two pages)
  add r7, r1, r6
  ld r3, 0(r7)
  add r3, r3, r2
  xor r4, r3, r2
  st r4, 0(r7)
  addi r2, r2, 4
  shri r8, r2, 3
  sltu r9, r8, r2
  bne r9, r0, loop
  b loop
`;

function must<T>(e: E.Either<{ message: string }, T>): T {
  if (E.isLeft(e)) throw new Error(e.left.message);
  return e.right;
}

function mapOrDie(m: Machine, root: number, va: number, ppn: number, flags: number, spares: number[]): Machine {
  const r = mapPage(m.geometry, m.memory, root, va, ppn, flags, spares);
  if (!r.ok) throw new Error(r.error.message);
  for (const used of r.value.tablesUsed) spares.splice(spares.indexOf(used), 1);
  return { ...m, memory: r.value.memory };
}

/** Stage 1 only (a process under a kernel) or stage 1 + stage 2 (a guest process). */
function setup(stages: 1 | 2): Machine {
  let m = resetMachine(DEMO_MACHINE);
  const program = must(assemble(LOOP, CODE_VA));
  const codeFrame = 100;
  const dataFrames = [200, 201];
  m = { ...m, memory: writeWords(m.memory, (codeFrame * 4096) / 4, program.words) };
  const spares = [2, 3, 4, 5, 6, 7, 8, 9];
  // Stage 1 (root in frame 1) maps code and data; under stage 2 its output is an IPA equal
  // to the PA, and stage 2 (root in frame 50) maps those IPAs, including the tables'.
  m = mapOrDie(m, 1, CODE_VA, codeFrame, PTE.U | PTE.X, spares);
  m = mapOrDie(m, 1, DATA_VA, dataFrames[0]!, PTE.U | PTE.W, spares);
  m = mapOrDie(m, 1, DATA_VA + 4096, dataFrames[1]!, PTE.U | PTE.W, spares);
  let sys = m.cpus[0]!.sys;
  sys = setSys(sys, SYS.SCTLR_EL1, SCTLR_M);
  sys = setSys(sys, SYS.TTBR0_EL1, makeBase(1, 7));
  if (stages === 2) {
    const s2spares = [51, 52, 53, 54, 55, 56, 57, 58];
    for (const f of [1, 2, 3, 4, 5, 6, 7, 8, 9, codeFrame, ...dataFrames]) {
      m = mapOrDie(m, 50, f * 4096, f, PTE.W | PTE.X, s2spares);
    }
    sys = setSys(sys, SYS.HCR_EL2, HCR.VM);
    sys = setSys(sys, SYS.VTTBR_EL2, makeBase(50, 3));
  }
  const cpus = m.cpus.slice();
  cpus[0] = { ...m.cpus[0]!, sys, el: 0, irqMasked: false, pc: CODE_VA };
  return { ...m, cpus };
}

/** Executes `insns` instructions of the loop on CPU 0 with one or two translation stages. */
function executeCase(name: string, stages: 1 | 2, insns: number): BenchResult {
  let m = setup(stages);
  let traps = 0;
  return timeLoop(
    name,
    'insn',
    insns,
    () => {
      const r = execute(m, 0);
      if (r.trap !== null) traps++;
      m = r.machine;
    },
    100_000,
    () => `traps ${traps}`,
  );
}

/** The hardware benchmarks: instructions per second of `execute`. */
export function hwBenchmarks(insns = envCount('BENCH_INSNS', 3_000_000)): BenchResult[] {
  return [executeCase('hw execute: EL0, stage 1', 1, insns), executeCase('hw execute: EL0, stage 1 + stage 2', 2, insns)];
}

if (isMain(import.meta.url)) printTable('hw execute benchmark, 4 KiB pages', hwBenchmarks());
