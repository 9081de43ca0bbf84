/**
 * What the model checker explores: a supervisor, a machine and a boot configuration — the
 * plain-data part of a scenario, which a worker thread can receive and boot for itself
 * (CHK-PAR-1).
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { MachineConfig, MkhvError } from '../hw/index.ts';
import type { HypervisorScenario } from '../hypervisor/scenario.ts';
import type { KernelScenario } from '../kernel/scenario.ts';
import { bootHypervisorSystem, bootMicrokernel, hypervisor, microkernel, type Supervisor, type System } from '../system/index.ts';

export type CheckTarget =
  | { readonly supervisor: 'microkernel'; readonly machine: MachineConfig; readonly boot: KernelScenario }
  | { readonly supervisor: 'hypervisor'; readonly machine: MachineConfig; readonly boot: HypervisorScenario };

/** A booted target: the supervisor's functions and the boot state, with the state type hidden. */
export interface Booted {
  readonly sup: Supervisor<unknown>;
  readonly boot: System<unknown>;
}

export function bootTarget(target: CheckTarget): E.Either<MkhvError, Booted> {
  if (target.supervisor === 'microkernel') {
    return E.map((boot: System<unknown>) => ({ sup: microkernel as Supervisor<unknown>, boot }))(bootMicrokernel(target.machine, target.boot));
  }
  return E.map((boot: System<unknown>) => ({ sup: hypervisor as Supervisor<unknown>, boot }))(bootHypervisorSystem(target.machine, target.boot));
}
