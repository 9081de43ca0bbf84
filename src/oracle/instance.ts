/**
 * A booted scenario as the oracle drives it (ORC-RUN-1): step it one event at a time and get
 * a record, look at a domain's view or the state's fingerprint, or go back to the boot state.
 * Instances are values: stepping returns a new one and leaves the old one as it was.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { mkError, type MkhvError } from '../hw/index.ts';
import type { HypervisorState } from '../hypervisor/types.ts';
import type { KernelState } from '../kernel/types.ts';
import type { CostTable } from '../perf/table.ts';
import { bootHypervisorSystem, bootMicrokernel, fingerprint, hypervisor, microkernel, step, type Supervisor, type System, type SystemEvent } from '../system/index.ts';
import type { Scenario } from './formats.ts';
import { pricer, recordHeader, stepRecord, type Pricer, type RecordHeader, type StepRecord } from './record.ts';

export interface Instance {
  readonly scenario: Scenario;
  readonly header: RecordHeader;
  /** Steps taken since boot: the index the next record gets. */
  readonly index: number;
  step(event: SystemEvent): { readonly instance: Instance; readonly record: StepRecord };
  /** Domain `domain`'s view (SYS-4), or an error naming an unknown domain. */
  view(domain: string): E.Either<MkhvError, unknown>;
  domains(): readonly string[];
  fingerprint(): string;
  /** The instance as booted. */
  reset(): Instance;
}

function instance<S>(scenario: Scenario, header: RecordHeader, sup: Supervisor<S>, booted: System<S>, system: System<S>, index: number, cost: Pricer): Instance {
  return {
    scenario,
    header,
    index,
    step(event) {
      const r = step(sup, system, event);
      const record = stepRecord(index, event, system, r, cost);
      return { instance: instance(scenario, header, sup, booted, r.system, index + 1, cost), record };
    },
    view(domain) {
      if (!sup.domains(system).includes(domain)) return E.left(mkError('view.domain', `view: unknown domain '${domain}' (domains: ${sup.domains(system).join(', ')})`, 'domain'));
      return E.right(sup.view(system, domain));
    },
    domains: () => sup.domains(system),
    fingerprint: () => fingerprint(system),
    reset: () => instance(scenario, header, sup, booted, booted, 0, cost),
  };
}

/** Boots `scenario`; records are priced under `table` (ORC-RUN-1). */
export function bootInstance(scenario: Scenario, table: CostTable): E.Either<MkhvError, Instance> {
  const header = recordHeader(scenario.supervisor, table.arch);
  const cost = pricer(table);
  if (scenario.supervisor === 'microkernel') {
    const sys = bootMicrokernel(scenario.machine, scenario.boot);
    return E.map((s: System<KernelState>) => instance(scenario, header, microkernel, s, s, 0, cost))(sys);
  }
  const sys = bootHypervisorSystem(scenario.machine, scenario.boot);
  return E.map((s: System<HypervisorState>) => instance(scenario, header, hypervisor, s, s, 0, cost))(sys);
}
