/**
 * Builders for hypervisor tests: a small machine, booting a scenario, and hypercalls by
 * instruction injection on the vCPU a pCPU is running.
 */
import * as E from 'fp-ts/lib/Either.js';
import { encode, type MachineConfig } from '../../src/hw/index.ts';
import type { HypervisorScenario, HypervisorState } from '../../src/hypervisor/index.ts';
import { bootHypervisorSystem, hypervisor, step, type HypervisorSystem, type StepResult, type SystemEvent } from '../../src/system/index.ts';

/** 2 pCPUs, 96 frames of 256 bytes, 2-level tables of 4 index bits (64 KiB guest-physical spaces), console, disk, NIC. */
export const HV_MACHINE: MachineConfig = {
  cpus: 2,
  frames: 96,
  wordsPerFrame: 64,
  pageTableLevels: 2,
  pageTableIndexBits: 4,
  tlbEntries: 8,
  irqLines: 8,
  devices: [
    { kind: 'console', irq: 3 },
    { kind: 'block', irq: 4, sectors: 16 },
    { kind: 'nic', irq: 5, rxQueue: 2 },
  ],
};

/** Guest-physical addresses of the emulated devices on HV_MACHINE (the last two pages). */
export const UART_IPA = 0xfe00;
export const VBLK_IPA = 0xff00;

export function bootHv(scenario: HypervisorScenario, config: MachineConfig = HV_MACHINE): HypervisorSystem {
  const r = bootHypervisorSystem(config, scenario);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

export function stepHv(sys: HypervisorSystem, event: SystemEvent): StepResult<HypervisorState> {
  return step(hypervisor, sys, event);
}

export function insn(i: Parameters<typeof encode>[0]): number {
  const r = encode(i);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

/** Sets registers of the vCPU running on pCPU `cpu` (it must be in a guest). */
export function setGuestRegs(sys: HypervisorSystem, cpu: number, values: Readonly<Record<number, number>>): HypervisorSystem {
  const c = sys.machine.cpus[cpu]!;
  if (c.el === 2) throw new Error(`pCPU ${cpu} is not running a guest`);
  const regs = c.regs.slice();
  for (const [r, v] of Object.entries(values)) if (Number(r) !== 0) regs[Number(r)] = v >>> 0;
  const cpus = sys.machine.cpus.slice();
  cpus[cpu] = { ...c, regs };
  return { ...sys, machine: { ...sys.machine, cpus } };
}

/** Hypercall `n` from the guest kernel on pCPU `cpu` with registers r1..r6. */
export function hypercall(sys: HypervisorSystem, cpu: number, n: number, args: readonly number[] = []): StepResult<HypervisorState> {
  const regs: Record<number, number> = {};
  args.forEach((a, i) => (regs[i + 1] = a));
  return stepHv(setGuestRegs(sys, cpu, regs), { kind: 'exec', cpu, insn: insn({ op: 'hvc', imm: n }) });
}

/** r1 of the vCPU on `cpu` after a hypercall, as a signed number (negative = -errno). */
export function result(sys: HypervisorSystem, cpu: number): number {
  return sys.machine.cpus[cpu]!.regs[1]! | 0;
}

/** The name of the domain running on `cpu`, or null. */
export function runningOn(sys: HypervisorSystem, cpu: number): string | null {
  return hypervisor.runningDomain(sys, cpu);
}

export function domainNamed(sys: HypervisorSystem, name: string) {
  // A saved domain's record keeps its name; the live domain is the restored copy (HV-ISO-1).
  const d = sys.state.domains.find((x) => x !== null && x.name === name && x.lifecycle !== 'destroyed' && x.lifecycle !== 'saved');
  if (d === undefined || d === null) throw new Error(`no domain ${name}`);
  return d;
}

export function hvViolations(sys: HypervisorSystem): string[] {
  return hypervisor.invariants(sys).flatMap((r) => r.violations.map((v) => `${r.name}: ${v}`));
}

/** A guest kernel that spins forever (for domains that only need to exist). */
export const SPIN = 'spin: b spin';
