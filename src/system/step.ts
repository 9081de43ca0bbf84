/**
 * `step`: the one transition function of every system (SYS-2). Hardware first — an
 * instruction, a tick, an interrupt line, a packet — then, if the hardware trapped to the
 * supervisor's level, the supervisor's entry, to completion. Total and deterministic.
 *
 * @module
 */
import { execute, mkError, raiseIrq, receivePacket, tick, type MkhvError } from '../hw/index.ts';
import type { StepResult, Supervisor, System, SystemEvent } from './types.ts';

function rejected<S>(system: System<S>, error: MkhvError): StepResult<S> {
  return { system, record: null, trap: null, ops: [], observations: [], lifecycle: [], error };
}

function hardwareOnly<S>(system: System<S>, machine: System<S>['machine'], ops: StepResult<S>['ops'], error: MkhvError | null): StepResult<S> {
  if (error !== null) return rejected(system, error);
  return { system: { machine, state: system.state }, record: null, trap: null, ops, observations: [], lifecycle: [], error: null };
}

/** Applies `event` to `system` under supervisor `sup` (SYS-2). Never throws on any event value. */
export function step<S>(sup: Supervisor<S>, system: System<S>, event: SystemEvent): StepResult<S> {
  switch (event?.kind) {
    case 'exec': {
      const r = execute(system.machine, event.cpu, event.insn);
      if (r.error !== null) return rejected(system, r.error);
      if (r.trap === null || r.trap.to !== sup.trapLevel) {
        return { system: { machine: r.machine, state: system.state }, record: r.record, trap: r.trap, ops: r.ops, observations: [], lifecycle: [], error: null };
      }
      const entry = sup.handleTrap({ machine: r.machine, state: system.state }, event.cpu, r.trap);
      return {
        system: entry.system,
        record: r.record,
        trap: r.trap,
        ops: [...r.ops, ...entry.ops],
        observations: entry.observations,
        lifecycle: entry.lifecycle,
        error: null,
      };
    }
    case 'tick': {
      const r = tick(system.machine, event.cpu);
      return hardwareOnly(system, r.machine, r.ops, r.error);
    }
    case 'irq': {
      const r = raiseIrq(system.machine, event.line);
      return hardwareOnly(system, r.machine, r.ops, r.error);
    }
    case 'device': {
      const packet = Array.isArray(event.packet) ? event.packet : [];
      const r = receivePacket(system.machine, event.device, packet);
      return hardwareOnly(system, r.machine, r.ops, r.error);
    }
    case 'inject': {
      if (event.fault?.kind !== 'crash') return rejected(system, mkError('event.inject', 'inject: fault.kind must be "crash"', 'fault.kind'));
      const r = sup.crash(system, event.fault.domain);
      if (r._tag === 'Left') return rejected(system, r.left);
      return { system: r.right.system, record: null, trap: null, ops: r.right.ops, observations: r.right.observations, lifecycle: r.right.lifecycle, error: null };
    }
    default:
      return rejected(system, mkError('event.kind', `event: kind must be exec, tick, irq, device or inject (got ${JSON.stringify((event as { kind?: unknown })?.kind)})`, 'kind'));
  }
}
