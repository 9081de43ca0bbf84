/**
 * The whole machine as one immutable value: CPUs, physical memory, interrupt controller,
 * devices and IOMMU (HW-MACH-1). Every transition of the hardware model is a function from
 * a Machine to a new Machine; nothing is mutated, so any earlier state can be kept, compared
 * or replayed.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { geometryOf, validateMachineConfig, type Geometry, type MachineConfig } from './config.ts';
import { resetCpu, type Cpu } from './cpu.ts';
import { resetDevice, type DeviceState } from './devices/state.ts';
import type { MkhvError } from './error.ts';
import { resetGic, type Gic } from './gic.ts';
import { emptyStore, type WordStore } from './memory.ts';

/** The IOMMU: one translation-table root per device, or -1 for "no DMA at all" (HW-IOMMU-1). */
export interface Iommu {
  readonly roots: readonly number[];
}

export interface Machine {
  readonly geometry: Geometry;
  readonly cpus: readonly Cpu[];
  /** RAM, word-indexed: word i is at physical address 4i. */
  readonly memory: WordStore;
  readonly gic: Gic;
  readonly devices: readonly DeviceState[];
  readonly iommu: Iommu;
}

/** The machine at power-on for a configuration already validated (HW-MACH-2). */
export function resetMachine(config: MachineConfig): Machine {
  const geometry = geometryOf(config);
  return {
    geometry,
    cpus: Array.from({ length: config.cpus }, () => resetCpu(config.tlbEntries)),
    memory: emptyStore(geometry.ramWords),
    gic: resetGic(config.cpus, config.irqLines),
    devices: config.devices.map((d) => resetDevice(d, config.wordsPerFrame)),
    iommu: { roots: config.devices.map(() => -1) },
  };
}

/** Validates an untrusted configuration and powers the machine on. */
export function createMachine(config: unknown): E.Either<MkhvError, Machine> {
  return E.map(resetMachine)(validateMachineConfig(config));
}

/** Returns the machine with CPU `c` replaced. */
export function withCpu(m: Machine, c: number, cpu: Cpu): Machine {
  const cpus = m.cpus.slice();
  cpus[c] = cpu;
  return { geometry: m.geometry, cpus, memory: m.memory, gic: m.gic, devices: m.devices, iommu: m.iommu };
}

/** Returns the machine with device `d` replaced. */
export function withDevice(m: Machine, d: number, device: DeviceState): Machine {
  const devices = m.devices.slice();
  devices[d] = device;
  return { ...m, devices };
}

/** What a physical page number is (HW-MEM-4): RAM frame, a device's register page, or nothing. */
export function classifyPage(geo: Geometry, ppn: number): { kind: 'ram' } | { kind: 'device'; index: number } | { kind: 'none' } {
  if (ppn < geo.config.frames) return { kind: 'ram' };
  const index = ppn - geo.firstDevicePage;
  if (index >= 0 && index < geo.config.devices.length) return { kind: 'device', index };
  return { kind: 'none' };
}
