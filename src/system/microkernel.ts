/**
 * The microkernel as a {@link Supervisor} (SYS-1): boot from a scenario, trap handling, crash
 * injection, and the isolation views, authority graph and invariants of `kernel/`.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { mkError, type MachineConfig, type MkhvError, type Trap } from '../hw/index.ts';
import { bootKernel } from '../kernel/boot.ts';
import { handleTrap } from '../kernel/entry.ts';
import { suspendThread } from '../kernel/ipc.ts';
import { checkInvariants } from '../kernel/invariants.ts';
import { kickOtherCpus, stopIfRunningElsewhere } from '../kernel/scheduler.ts';
import type { KernelScenario } from '../kernel/scenario.ts';
import type { KernelState, ObjId } from '../kernel/types.ts';
import { authorityEdges, domainView, threads } from '../kernel/views.ts';
import { getObject, newLog, type Log, type World } from '../kernel/world.ts';
import type { Observation, Supervisor, SupervisorEntry, System } from './types.ts';

export type MicrokernelSystem = System<KernelState>;

function threadName(k: KernelState, t: ObjId): string {
  const o = getObject(k, t);
  return o?.type === 'tcb' ? o.name : `#${t}`;
}

function domainOf(k: KernelState, t: ObjId): string {
  const o = getObject(k, t);
  return o?.type === 'tcb' ? (k.config.domainNames[o.domain] ?? '') : '';
}

function entry(w: World, log: Log, before: KernelState): SupervisorEntry<KernelState> {
  const observations: Observation[] = log.observations.map((o) => ({
    domain: domainOf(w.k, o.thread) || domainOf(before, o.thread),
    subject: threadName(w.k, o.thread) === `#${o.thread}` ? threadName(before, o.thread) : threadName(w.k, o.thread),
    kind: o.kind,
    values: o.values,
  }));
  const lifecycle = log.transitions.map((t) => ({
    subject: threadName(w.k, t.thread) === `#${t.thread}` ? threadName(before, t.thread) : threadName(w.k, t.thread),
    from: t.from,
    to: t.to,
    event: t.event,
  }));
  return { system: { machine: w.m, state: w.k }, ops: log.ops, observations, lifecycle };
}

export const microkernel: Supervisor<KernelState> = {
  name: 'microkernel',
  trapLevel: 1,
  handleTrap(system: MicrokernelSystem, cpu: number, trap: Trap) {
    const r = handleTrap({ m: system.machine, k: system.state }, cpu, trap);
    return entry(r.w, r.log, system.state);
  },
  crash(system, domain) {
    const k = system.state;
    const d = k.config.domainNames.indexOf(domain);
    if (d < 0) return E.left(mkError('event.domain', `inject: unknown domain '${domain}'`, 'fault.domain'));
    // SYS-2: a crash stops every thread of the domain, as if each were suspended at once.
    const log = newLog(-1);
    let w: World = { m: system.machine, k };
    for (const { id, tcb } of threads(k)) {
      if (tcb.domain !== d || tcb.state.kind === 'inactive') continue;
      w = stopIfRunningElsewhere(w, log, id);
      w = suspendThread(w, log, id);
    }
    return E.right(entry(kickOtherCpus(w, log), log, k));
  },
  domains: (system) => system.state.config.domainNames,
  view: (system, domain) => domainView(system.machine, system.state, domain),
  authority: (system) => authorityEdges(system.state),
  invariants: (system) => checkInvariants(system.machine, system.state),
  runningDomain(system, cpu) {
    const t = system.state.cpus[cpu]?.current ?? null;
    return t === null ? null : domainOf(system.state, t);
  },
};

/** Boots a microkernel system (SYS-1). */
export function bootMicrokernel(config: MachineConfig, scenario: KernelScenario): E.Either<MkhvError, MicrokernelSystem> {
  return E.map((w: World) => ({ machine: w.m, state: w.k }))(bootKernel(config, scenario));
}
