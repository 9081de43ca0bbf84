/**
 * Small builders for hardware-model tests: a machine with some CPU state set, a program
 * loaded, pages mapped. They fail loudly (tests only) rather than return errors.
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  assemble,
  encode,
  mapPage,
  resetMachine,
  writeWords,
  type Cpu,
  type Instruction,
  type Machine,
  type MachineConfig,
} from '../../src/hw/index.ts';

/**
 * The small machine most hardware suites use: 16 frames of 64 bytes, 2-level tables of 2 index
 * bits (10-bit addresses), a 4-entry TLB, IDs 0..7; a console at page 16, a block device at
 * 17 and a NIC at 18. Suites override what they need (`{ ...SMALL_MACHINE, cpus: 2 }`).
 */
export const SMALL_MACHINE: MachineConfig = {
  cpus: 1,
  frames: 16,
  wordsPerFrame: 16,
  pageTableLevels: 2,
  pageTableIndexBits: 2,
  tlbEntries: 4,
  irqLines: 8,
  devices: [
    { kind: 'console', irq: 3 },
    { kind: 'block', irq: 4, sectors: 4 },
    { kind: 'nic', irq: 5, rxQueue: 2 },
  ],
};

/** The word of an instruction known to be valid. */
export function word(insn: Instruction): number {
  return unwrap(encode(insn));
}

export function unwrap<L extends { message: string }, R>(e: E.Either<L, R>): R {
  if (E.isLeft(e)) throw new Error(e.left.message);
  return e.right;
}

/** Returns `m` with CPU `c` patched. */
export function patchCpu(m: Machine, c: number, patch: Partial<Cpu>): Machine {
  const cpus = m.cpus.slice();
  cpus[c] = { ...m.cpus[c]!, ...patch };
  return { ...m, cpus };
}

/** Returns `m` with system registers of CPU `c` set. */
export function setSysRegs(m: Machine, c: number, values: Readonly<Record<number, number>>): Machine {
  const sys = m.cpus[c]!.sys.slice();
  for (const [id, v] of Object.entries(values)) sys[Number(id)] = v >>> 0;
  return patchCpu(m, c, { sys });
}

/** Writes words at physical byte address `pa`. */
export function loadWords(m: Machine, pa: number, words: readonly number[]): Machine {
  return { ...m, memory: writeWords(m.memory, pa >>> 2, words) };
}

/** Assembles `source` for address `origin` and writes it at physical address `pa`. */
export function loadProgram(m: Machine, source: string, pa: number, origin = pa): Machine {
  return loadWords(m, pa, unwrap(assemble(source, origin)).words);
}

/** Maps one page in the table rooted at frame `root`, taking inner tables from `spares`. */
export function map(m: Machine, root: number, va: number, ppn: number, flags: number, spares: number[] = []): Machine {
  const r = mapPage(m.geometry, m.memory, root, va, ppn, flags, spares);
  if (!r.ok) throw new Error(r.error.message);
  for (const used of r.value.tablesUsed) spares.splice(spares.indexOf(used), 1);
  return { ...m, memory: r.value.memory };
}

export function machine(config: MachineConfig): Machine {
  return resetMachine(config);
}
