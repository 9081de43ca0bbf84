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

/** A class rather than closures: one is made per step, and the oracle steps a lot. */
class SupervisedInstance<S> implements Instance {
  constructor(
    readonly scenario: Scenario,
    readonly header: RecordHeader,
    private readonly sup: Supervisor<S>,
    private readonly booted: System<S>,
    private readonly system: System<S>,
    readonly index: number,
    private readonly cost: Pricer,
  ) {}

  step(event: SystemEvent): { readonly instance: Instance; readonly record: StepRecord } {
    const r = step(this.sup, this.system, event);
    const record = stepRecord(this.index, event, this.system, r, this.cost);
    return { instance: new SupervisedInstance(this.scenario, this.header, this.sup, this.booted, r.system, this.index + 1, this.cost), record };
  }

  view(domain: string): E.Either<MkhvError, unknown> {
    const domains = this.sup.domains(this.system);
    if (!domains.includes(domain)) return E.left(mkError('view.domain', `view: unknown domain '${domain}' (domains: ${domains.join(', ')})`, 'domain'));
    return E.right(this.sup.view(this.system, domain));
  }

  domains(): readonly string[] {
    return this.sup.domains(this.system);
  }

  fingerprint(): string {
    return fingerprint(this.system);
  }

  reset(): Instance {
    return new SupervisedInstance(this.scenario, this.header, this.sup, this.booted, this.booted, 0, this.cost);
  }
}

/** Boots `scenario`; records are priced under `table` (ORC-RUN-1). */
export function bootInstance(scenario: Scenario, table: CostTable): E.Either<MkhvError, Instance> {
  const header = recordHeader(scenario.supervisor, table.arch);
  const cost = pricer(table);
  if (scenario.supervisor === 'microkernel') {
    const sys = bootMicrokernel(scenario.machine, scenario.boot);
    return E.map((s: System<KernelState>) => new SupervisedInstance(scenario, header, microkernel, s, s, 0, cost))(sys);
  }
  const sys = bootHypervisorSystem(scenario.machine, scenario.boot);
  return E.map((s: System<HypervisorState>) => new SupervisedInstance(scenario, header, hypervisor, s, s, 0, cost))(sys);
}
