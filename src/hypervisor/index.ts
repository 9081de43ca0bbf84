/**
 * The hypervisor (spec/hypervisor.md): a Xen-like type-1 hypervisor as a pure state machine
 * over the hardware model. `boot.ts` builds it from a scenario, `exits.ts` handles a trap to
 * EL2, `migration.ts` moves a domain between two hosts.
 *
 * @module
 */
export * from './abi.ts';
export * from './types.ts';
export * from './scenario.ts';
export { bootHypervisor, DEFAULT_WEIGHT, HV_IDLE_PC } from './boot.ts';
export { handleExit, notifyControl } from './exits.ts';
export { checkHvInvariants, HYPERVISOR_INVARIANTS } from './invariants.ts';
export { hvAuthority, hvDomainView, liveDomains, stage2Mappings } from './views.ts';
export { domainChart, DOMAIN_TRANSITIONS, nextLifecycle, type DomainEvent, type DomainTransitionTable } from './domain.chart.ts';
export { beginMigration, precopyRound, finishMigration, dirtyCount, type Migration } from './migration.ts';
export { createDomain, destroyDomain, pauseDomain, unpauseDomain, saveDomain, restoreDomain, snapshotOf, rebuild, startDirtyLog, takeDirty, type DomainSpec } from './lifecycle.ts';
export { waterFill, creditCeiling, pickNext } from './sched.ts';
export type { HvWorld, HvLog, HvObservation, DomainTransition } from './world.ts';
