/**
 * Random event traces for a scenario (ORC-DIFF-2 in spec/oracle.md), as fast-check
 * arbitraries: mostly events the scenario's machine can take — instructions on its CPUs,
 * timer ticks, shared interrupt lines, packets for its network cards, crashes of its
 * domains — and, rarely, events naming a CPU, line, device or domain it does not have, which
 * every implementation must reject the same way (ORC-FMT-3). The differential driver uses
 * them; the model checker and fuzzers may too.
 *
 * Shrinking is fast-check's: a failing trace loses events and its events get simpler
 * (fetched instead of injected instructions, smaller numbers).
 *
 * @module
 */
import fc from 'fast-check';
import { FIRST_SHARED_IRQ, type MachineConfig } from '../hw/index.ts';
import type { SystemEvent } from '../system/index.ts';

/** What the generator needs to know about a booted scenario. */
export interface TraceShape {
  readonly cpus: number;
  readonly irqLines: number;
  /** Number of devices; only the network cards (`nics`) take packets. */
  readonly devices: number;
  readonly nics: readonly number[];
  /** The isolation domains, as the load response lists them. */
  readonly domains: readonly string[];
}

export function traceShape(machine: MachineConfig, domains: readonly string[]): TraceShape {
  const nics = machine.devices.flatMap((d, i) => (d.kind === 'nic' ? [i] : []));
  return { cpus: machine.cpus, irqLines: machine.irqLines, devices: machine.devices.length, nics, domains };
}

const word = fc.integer({ min: 0, max: 0xffffffff });

/**
 * ORC-DIFF-2: one event. Weights: fetched instructions dominate, because that is how programs
 * make progress and reach deep states; injected random words, ticks and interrupts come
 * often enough to interleave; packets and crashes occasionally; events out of range rarely.
 * The fetched `exec` comes first and cross-shrinking is on, so when shrinking fast-check also
 * tries a fetched `exec` in place of any other event: shrunk traces read simply.
 */
export function eventArbitrary(shape: TraceShape): fc.Arbitrary<SystemEvent> {
  const cpu = fc.integer({ min: 0, max: Math.max(0, shape.cpus - 1) });
  const choices: fc.WeightedArbitrary<SystemEvent>[] = [
    { weight: 12, arbitrary: cpu.map((c): SystemEvent => ({ kind: 'exec', cpu: c })) },
    { weight: 2, arbitrary: fc.tuple(cpu, word).map(([c, insn]): SystemEvent => ({ kind: 'exec', cpu: c, insn })) },
    { weight: 3, arbitrary: cpu.map((c): SystemEvent => ({ kind: 'tick', cpu: c })) },
  ];
  if (shape.irqLines > FIRST_SHARED_IRQ) {
    choices.push({ weight: 2, arbitrary: fc.integer({ min: FIRST_SHARED_IRQ, max: shape.irqLines - 1 }).map((line): SystemEvent => ({ kind: 'irq', line })) });
  }
  if (shape.nics.length > 0) {
    const packet = fc.array(word, { maxLength: 4 });
    choices.push({ weight: 1, arbitrary: fc.tuple(fc.constantFrom(...shape.nics), packet).map(([device, p]): SystemEvent => ({ kind: 'device', device, packet: p })) });
  }
  if (shape.domains.length > 0) {
    choices.push({ weight: 1, arbitrary: fc.constantFrom(...shape.domains).map((domain): SystemEvent => ({ kind: 'inject', fault: { kind: 'crash', domain } })) });
  }
  choices.push({ weight: 1, arbitrary: outOfRange(shape) });
  return fc.oneof({ withCrossShrink: true }, ...choices);
}

/** Events that decode but name what the system does not have: the model rejects them (ORC-FMT-3). */
function outOfRange(shape: TraceShape): fc.Arbitrary<SystemEvent> {
  const badCpu = fc.integer({ min: shape.cpus, max: shape.cpus + 3 });
  // Lines 0..2 are per-CPU (IPI and timers) and cannot be raised from outside (HW-IRQ-1).
  const badLine = fc.oneof(fc.integer({ min: 0, max: FIRST_SHARED_IRQ - 1 }), fc.integer({ min: shape.irqLines, max: shape.irqLines + 3 }));
  // A device that is not a network card, or no device at all.
  const notNics = Array.from({ length: shape.devices }, (_, i) => i).filter((i) => !shape.nics.includes(i));
  const badDevice = fc.oneof(fc.integer({ min: shape.devices, max: shape.devices + 3 }), ...(notNics.length > 0 ? [fc.constantFrom(...notNics)] : []));
  let stranger = 'nobody';
  while (shape.domains.includes(stranger)) stranger += '_';
  return fc.oneof(
    badCpu.map((c): SystemEvent => ({ kind: 'exec', cpu: c })),
    badCpu.map((c): SystemEvent => ({ kind: 'tick', cpu: c })),
    badLine.map((line): SystemEvent => ({ kind: 'irq', line })),
    fc.tuple(badDevice, fc.array(word, { maxLength: 2 })).map(([device, packet]): SystemEvent => ({ kind: 'device', device, packet })),
    fc.constant<SystemEvent>({ kind: 'inject', fault: { kind: 'crash', domain: stranger } }),
  );
}

/** ORC-DIFF-2: traces of 0 to `maxLength` events, spread over the whole range (not fast-check's small default). */
export function traceArbitrary(shape: TraceShape, maxLength: number): fc.Arbitrary<SystemEvent[]> {
  return fc.array(eventArbitrary(shape), { maxLength, size: 'max' });
}
