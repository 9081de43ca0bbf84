/**
 * Builders for microkernel tests: a small machine, booting a scenario, setting a running
 * thread's registers and making a system call by instruction injection.
 */
import * as E from 'fp-ts/lib/Either.js';
import { encode, type MachineConfig } from '../../src/hw/index.ts';
import { encodeInfo, type KernelScenario, type KernelState } from '../../src/kernel/index.ts';
import { bootMicrokernel, microkernel, step, type MicrokernelSystem, type StepResult, type SystemEvent } from '../../src/system/index.ts';

/** 64 frames of 256 bytes, 2-level tables of 4 index bits (16 KiB address spaces), three devices. */
export const MK_MACHINE: MachineConfig = {
  cpus: 1,
  frames: 64,
  wordsPerFrame: 64,
  pageTableLevels: 2,
  pageTableIndexBits: 4,
  tlbEntries: 8,
  irqLines: 8,
  devices: [
    { kind: 'console', irq: 3 },
    { kind: 'block', irq: 4, sectors: 4 },
    { kind: 'nic', irq: 5, rxQueue: 2 },
  ],
};

export function boot(scenario: KernelScenario, config: MachineConfig = MK_MACHINE): MicrokernelSystem {
  const r = bootMicrokernel(config, scenario);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

export function stepMk(sys: MicrokernelSystem, event: SystemEvent): StepResult<KernelState> {
  return step(microkernel, sys, event);
}

/** The word of a valid instruction. */
export function insn(i: Parameters<typeof encode>[0]): number {
  const r = encode(i);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

export const svc = (n: number): number => insn({ op: 'svc', imm: n });

/** Sets registers of the thread running on CPU `cpu` (it must be at EL0). */
export function setRegs(sys: MicrokernelSystem, cpu: number, values: Readonly<Record<number, number>>): MicrokernelSystem {
  const c = sys.machine.cpus[cpu]!;
  if (c.el !== 0) throw new Error(`CPU ${cpu} is not running a thread`);
  const regs = c.regs.slice();
  for (const [r, v] of Object.entries(values)) if (Number(r) !== 0) regs[Number(r)] = v >>> 0;
  const cpus = sys.machine.cpus.slice();
  cpus[cpu] = { ...c, regs };
  return { ...sys, machine: { ...sys.machine, cpus } };
}

/** Makes system call `n` from the thread on `cpu` with registers `regs` (r1 cap, r2 info, r3.. MRs, r11). */
export function syscall(sys: MicrokernelSystem, cpu: number, n: number, regs: Readonly<Record<number, number>> = {}): StepResult<KernelState> {
  return stepMk(setRegs(sys, cpu, regs), { kind: 'exec', cpu, insn: svc(n) });
}

/** Message info for `label` and `length` words (and extraCaps). */
export function info(label: number, length = 0, extraCaps = 0): number {
  return encodeInfo({ label, capsUnwrapped: 0, extraCaps, length });
}

/** The name of the thread running on `cpu`, or null. */
export function running(sys: MicrokernelSystem, cpu = 0): string | null {
  const t = sys.state.cpus[cpu]?.current ?? null;
  if (t === null) return null;
  const o = sys.state.objects[t];
  return o?.type === 'tcb' ? o.name : null;
}

/** The TCB of thread `name`. */
export function tcbOf(sys: MicrokernelSystem, name: string) {
  const o = sys.state.objects.find((x) => x?.type === 'tcb' && x.name === name);
  if (o?.type !== 'tcb') throw new Error(`no thread ${name}`);
  return o;
}

/** All invariant violations, flattened. */
export function violations(sys: MicrokernelSystem): string[] {
  return microkernel.invariants(sys).flatMap((r) => r.violations.map((v) => `${r.name}: ${v}`));
}
