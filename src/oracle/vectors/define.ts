/**
 * The building blocks of the conformance vectors (ORC-VEC-1..6 in spec/oracle.md): what a
 * vector definition is, the small machines the vectors run on, and helpers that keep the
 * definitions short — traces as runs of events, message-info words, injected instructions.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { assemble, type MachineConfig } from '../../hw/index.ts';
import type { HypervisorScenario } from '../../hypervisor/scenario.ts';
import { encodeInfo } from '../../kernel/abi.ts';
import type { KernelScenario } from '../../kernel/scenario.ts';
import type { SystemEvent } from '../../system/index.ts';
import { INPUT_VERSION, SCENARIO_FORMAT, TRACE_FORMAT, type Scenario, type Trace } from '../formats.ts';

/** ORC-VEC-1: a conformance vector as defined here; running it gives the expected records. */
export interface VectorDefinition {
  /** Kebab-case, unique: the file is `spec/vectors/<name>.json`. */
  readonly name: string;
  /** One or two sentences: what the vector exercises and what the expected outcome is. */
  readonly description: string;
  readonly scenario: Scenario;
  readonly trace: Trace;
  /**
   * ORC-VEC-4: the vector's purpose is events the model rejects, so its records may carry
   * `error`; every other vector's records must not.
   */
  readonly rejects?: boolean;
}

/** One CPU, 32 frames of 256 bytes, two-level tables of 16 entries (64 KiB address spaces), a console. */
export const MK_MACHINE: MachineConfig = {
  cpus: 1,
  frames: 32,
  wordsPerFrame: 64,
  pageTableLevels: 2,
  pageTableIndexBits: 4,
  tlbEntries: 8,
  irqLines: 8,
  devices: [{ kind: 'console', irq: 3 }],
};

/** MK_MACHINE with two CPUs. */
export const MK_MACHINE_2CPU: MachineConfig = { ...MK_MACHINE, cpus: 2 };

/** Two pCPUs, 48 frames of 256 bytes, 64 KiB guest-physical spaces, a console and an 8-sector disk. */
export const HV_MACHINE: MachineConfig = {
  cpus: 2,
  frames: 48,
  wordsPerFrame: 64,
  pageTableLevels: 2,
  pageTableIndexBits: 4,
  tlbEntries: 8,
  irqLines: 8,
  devices: [
    { kind: 'console', irq: 3 },
    { kind: 'block', irq: 4, sectors: 8 },
  ],
};

/** HV_MACHINE with one pCPU. */
export const HV_MACHINE_1CPU: MachineConfig = { ...HV_MACHINE, cpus: 1 };

/** Bytes per page on the vector machines. */
export const PAGE = 256;
/** The emulated UART and block device of every domain: the last two pages of its 64 KiB space (HV-DEV-1). */
export const UART = 0x10000 - 2 * PAGE;
export const VBLK = 0x10000 - PAGE;

/** Traces are written as lists of runs: an event, or an array of events. */
export type Events = SystemEvent | readonly SystemEvent[];

/** `n` steps of CPU `cpu`. */
export function exec(cpu: number, n = 1): SystemEvent[] {
  return Array.from({ length: n }, () => ({ kind: 'exec' as const, cpu }));
}

/** One step of CPU `cpu` executing the instruction written in assembly `text` instead of fetching (RVFI-DII injection). */
export function inject(cpu: number, text: string): SystemEvent {
  return { kind: 'exec', cpu, insn: word(text) };
}

/** The word of one instruction in the model's assembly; a typo in a definition is a defect, so it throws. */
export function word(text: string): number {
  const r = assemble(text, 0);
  if (E.isLeft(r) || r.right.words.length !== 1) throw new Error(`vector: '${text}' is not one instruction`);
  return r.right.words[0]!;
}

export function tick(cpu: number, n = 1): SystemEvent[] {
  return Array.from({ length: n }, () => ({ kind: 'tick' as const, cpu }));
}

export function irq(line: number): SystemEvent {
  return { kind: 'irq', line };
}

export function packet(device: number, words: readonly number[]): SystemEvent {
  return { kind: 'device', device, packet: words };
}

export function crash(domain: string): SystemEvent {
  return { kind: 'inject', fault: { kind: 'crash', domain } };
}

/** A message-info word (MK-ABI-2): label, extra caps, length. */
export function info(label: number, length = 0, extraCaps = 0): number {
  return encodeInfo({ label, capsUnwrapped: 0, extraCaps, length });
}

function trace(events: readonly Events[]): Trace {
  return { format: TRACE_FORMAT, version: INPUT_VERSION, events: events.flat() };
}

interface Common {
  readonly name: string;
  readonly description: string;
  readonly events: readonly Events[];
  readonly rejects?: boolean;
}

/** A microkernel vector (on MK_MACHINE unless it says otherwise). */
export function mkVector(v: Common & { readonly machine?: MachineConfig; readonly boot: KernelScenario }): VectorDefinition {
  return {
    name: v.name,
    description: v.description,
    scenario: { format: SCENARIO_FORMAT, version: INPUT_VERSION, name: v.name, machine: v.machine ?? MK_MACHINE, supervisor: 'microkernel', boot: v.boot },
    trace: trace(v.events),
    ...(v.rejects === true ? { rejects: true } : {}),
  };
}

/** A hypervisor vector (on HV_MACHINE unless it says otherwise). */
export function hvVector(v: Common & { readonly machine?: MachineConfig; readonly boot: HypervisorScenario }): VectorDefinition {
  return {
    name: v.name,
    description: v.description,
    scenario: { format: SCENARIO_FORMAT, version: INPUT_VERSION, name: v.name, machine: v.machine ?? HV_MACHINE, supervisor: 'hypervisor', boot: v.boot },
    trace: trace(v.events),
    ...(v.rejects === true ? { rejects: true } : {}),
  };
}
