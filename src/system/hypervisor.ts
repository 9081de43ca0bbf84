/**
 * The hypervisor as a {@link Supervisor} (SYS-1): boot from a scenario, VM exits, crash
 * injection, and the views, authority graph and invariants of `hypervisor/`.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { mkError, type MachineConfig, type MkhvError, type Trap } from '../hw/index.ts';
import { bootHypervisor } from '../hypervisor/boot.ts';
import { handleExit, notifyControl } from '../hypervisor/exits.ts';
import { checkHvInvariants } from '../hypervisor/invariants.ts';
import { destroyDomain } from '../hypervisor/lifecycle.ts';
import { kickPcpus } from '../hypervisor/sched.ts';
import type { HypervisorScenario } from '../hypervisor/scenario.ts';
import type { HypervisorState } from '../hypervisor/types.ts';
import { swapDomains } from '../hypervisor/symmetry.ts';
import { hvAuthority, hvDomainView, liveDomains } from '../hypervisor/views.ts';
import { newHvLog, type HvLog, type HvWorld } from '../hypervisor/world.ts';
import type { Supervisor, SupervisorEntry, System } from './types.ts';

export type HypervisorSystem = System<HypervisorState>;

function entry(w: HvWorld, log: HvLog, before: HypervisorState): SupervisorEntry<HypervisorState> {
  const name = (d: number) => w.h.domains[d]?.name ?? before.domains[d]?.name ?? `#${d}`;
  return {
    system: { machine: w.m, state: w.h },
    ops: log.ops,
    observations: log.observations.map((o) => ({ domain: name(o.dom), subject: `${name(o.dom)}.vcpu${o.vcpu}`, kind: o.kind, values: o.values })),
    lifecycle: log.transitions.map((t) => ({ subject: name(t.dom), from: t.from, to: t.to, event: t.event })),
  };
}

export const hypervisor: Supervisor<HypervisorState> = {
  name: 'hypervisor',
  trapLevel: 2,
  handleTrap(system: HypervisorSystem, cpu: number, trap: Trap) {
    const r = handleExit({ m: system.machine, h: system.state }, cpu, trap);
    return entry(r.w, r.log, system.state);
  },
  crash(system, domain) {
    const dom = liveDomains(system.state).find((d) => d.name === domain);
    if (dom === undefined) return E.left(mkError('event.domain', `inject: unknown domain '${domain}'`, 'fault.domain'));
    // SYS-2: a crashed domain is destroyed, and the control domain is told (as Xen's VIRQ_DOM_EXC).
    const log = newHvLog(-1);
    const r = destroyDomain({ m: system.machine, h: system.state }, log, dom.id);
    if (typeof r === 'number') return E.left(mkError('event.domain', `inject: domain '${domain}' cannot crash (errno ${r})`, 'fault.domain'));
    return E.right(entry(kickPcpus(notifyControl(r, log, dom.id), log), log, system.state));
  },
  domains: (system) => liveDomains(system.state).map((d) => d.name),
  view: (system, domain) => hvDomainView(system.machine, system.state, domain),
  authority: (system) => hvAuthority(system.state),
  invariants: (system) => checkHvInvariants(system.machine, system.state),
  runningDomain(system, cpu) {
    const cur = system.state.pcpus[cpu]?.current ?? null;
    return cur === null ? null : (system.state.domains[cur.dom]?.name ?? null);
  },
  permute(system, [a, b]) {
    const r = swapDomains({ m: system.machine, h: system.state }, a, b);
    return r === null ? null : { machine: r.m, state: r.h };
  },
};

/** Boots a hypervisor system (SYS-1). */
export function bootHypervisorSystem(config: MachineConfig, scenario: HypervisorScenario): E.Either<MkhvError, HypervisorSystem> {
  return E.map((w: HvWorld) => ({ machine: w.m, state: w.h }))(bootHypervisor(config, scenario));
}
