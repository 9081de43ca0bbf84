/**
 * The events that come from outside a CPU's instruction stream: time passing, an external
 * interrupt line, a packet from the network (HW-EVT-1..3). Like `execute`, each is a total
 * function from a machine to a machine; an out-of-range argument leaves it unchanged and
 * says why.
 *
 * @module
 */
import type { PrimitiveOp } from '../perf/ops.ts';
import { FIRST_SHARED_IRQ } from './config.ts';
import { nicReceive } from './devices/nic.ts';
import { mkError, type MkhvError } from './error.ts';
import { raiseLine } from './gic.ts';
import { withCpu, type Machine } from './machine.ts';

export interface EventResult {
  readonly machine: Machine;
  readonly ops: readonly PrimitiveOp[];
  readonly error: MkhvError | null;
}

const ok = (machine: Machine, ops: readonly PrimitiveOp[] = []): EventResult => ({ machine, ops, error: null });
const rejected = (machine: Machine, error: MkhvError): EventResult => ({ machine, ops: [], error });

/** One tick of CPU `c`'s counter (HW-EVT-1); its timers may assert as a result. */
export function tick(m: Machine, c: number): EventResult {
  const cpu = m.cpus[c];
  if (!Number.isInteger(c) || cpu === undefined) {
    return rejected(m, mkError('event.cpu', `tick: cpu must be an integer from 0 to ${m.cpus.length - 1} (got ${String(c)})`, 'cpu'));
  }
  return ok(withCpu(m, c, { ...cpu, counter: (cpu.counter + 1) >>> 0 }));
}

/** An external device raises shared interrupt line `id` (HW-EVT-2). */
export function raiseIrq(m: Machine, id: number): EventResult {
  if (!Number.isInteger(id) || id < FIRST_SHARED_IRQ || id >= m.geometry.config.irqLines) {
    return rejected(
      m,
      mkError('event.irq', `irq: line must be a shared interrupt ID from ${FIRST_SHARED_IRQ} to ${m.geometry.config.irqLines - 1} (got ${String(id)})`, 'line'),
    );
  }
  return ok({ ...m, gic: raiseLine(m.gic, id) });
}

/** A packet of words arrives at network device `device` (HW-EVT-3). */
export function receivePacket(m: Machine, device: number, packet: readonly number[]): EventResult {
  if (m.devices[device]?.kind !== 'nic') {
    return rejected(m, mkError('event.device', `device: ${String(device)} is not a network device`, 'device'));
  }
  const r = nicReceive(m, device, packet);
  return ok(r.machine, r.ops);
}
