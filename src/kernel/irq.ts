/**
 * Interrupts (MK-IRQ-1..4): the timer drives scheduling, an IPI asks a CPU to reschedule, and
 * a device line signals the notification its IRQHandler is bound to, then stays masked until
 * the user-level driver acknowledges it — as seL4 does.
 *
 * @module
 */
import { acknowledge, configureLine, endOfInterrupt, IRQ_IPI, IRQ_PHYS_TIMER, setSys, SPURIOUS_IRQ, SYS } from '../hw/index.ts';
import { signal } from './ipc.ts';
import type { ObjId } from './types.ts';
import type { Log, World } from './world.ts';

/** Interrupt lines are routed to this CPU (MK-IRQ-1). */
export const IRQ_CPU = 0;

/** Releases line `line`: no handler, masked (MK-IRQ-4). */
export function disableIrqLine(w: World, _log: Log, line: number): World {
  const irqs = w.k.irqs.slice();
  irqs[line] = { issued: false, target: null };
  return { m: { ...w.m, gic: configureLine(w.m.gic, line, false, IRQ_CPU) }, k: { ...w.k, irqs } };
}

/** Binds line `line` to signal `notification` with `badge`, and unmasks it (MK-IRQ-2). */
export function setIrqNotification(w: World, line: number, notification: ObjId, badge: number): World {
  const irqs = w.k.irqs.slice();
  irqs[line] = { issued: true, target: { notification, badge } };
  return { m: { ...w.m, gic: configureLine(w.m.gic, line, true, IRQ_CPU) }, k: { ...w.k, irqs } };
}

/** Unbinds line `line` from its notification and masks it. */
export function clearIrqNotification(w: World, line: number): World {
  const irqs = w.k.irqs.slice();
  irqs[line] = { issued: true, target: null };
  return { m: { ...w.m, gic: configureLine(w.m.gic, line, false, IRQ_CPU) }, k: { ...w.k, irqs } };
}

/** IRQHandler_Ack (MK-IRQ-3): the driver is done; unmask the line. */
export function ackIrq(w: World, line: number): World {
  const bound = w.k.irqs[line]?.target !== null;
  return { ...w, m: { ...w.m, gic: configureLine(w.m.gic, line, bound, IRQ_CPU) } };
}

/** What an interrupt entry found. */
export type InterruptKind = 'timer' | 'ipi' | 'device' | 'spurious';

/**
 * Handles the interrupt CPU `c` took (MK-IRQ-2): acknowledge it; for the timer, program the
 * next tick; for a device line, signal its notification and mask the line until the driver
 * acknowledges it; then end the interrupt.
 */
export function handleInterrupt(w: World, log: Log, c: number): { w: World; kind: InterruptKind } {
  const cpu = w.m.cpus[c]!;
  const acked = acknowledge(w.m.gic, c, cpu);
  log.ops.push('irqAck');
  let world: World = { ...w, m: { ...w.m, gic: acked.gic } };
  const id = acked.id;
  if (id === SPURIOUS_IRQ) return { w: world, kind: 'spurious' };
  let kind: InterruptKind = 'device';
  if (id === IRQ_PHYS_TIMER) {
    // The next tick: the timer asserts again when the counter passes this one.
    const cpus = world.m.cpus.slice();
    cpus[c] = { ...cpu, sys: setSys(cpu.sys, SYS.CNTP_CVAL, cpu.counter + 1) };
    log.ops.push('sysregWrite');
    world = { ...world, m: { ...world.m, cpus } };
    kind = 'timer';
  } else if (id === IRQ_IPI) {
    kind = 'ipi';
  } else {
    const line = world.k.irqs[id];
    world = { ...world, m: { ...world.m, gic: configureLine(world.m.gic, id, false, IRQ_CPU) } };
    if (line?.target) world = signal(world, log, line.target.notification, line.target.badge);
  }
  log.ops.push('eoi');
  return { w: { ...world, m: { ...world.m, gic: endOfInterrupt(world.m.gic, c, id) } }, kind };
}
