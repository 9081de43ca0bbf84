/**
 * The microkernel (spec/microkernel.md): an seL4-like kernel as a pure state machine over the
 * hardware model. `boot.ts` builds it from a scenario, `entry.ts` handles a trap; the rest are
 * its objects and operations.
 *
 * @module
 */
export * from './abi.ts';
export * from './types.ts';
export * from './scenario.ts';
export { bootKernel, DEFAULT_TIMESLICE, DEFAULT_CNODE_BITS, IDLE_PC, parseRights } from './boot.ts';
export { handleTrap } from './entry.ts';
export { checkInvariants, KERNEL_INVARIANTS, type NamedInvariant } from './invariants.ts';
export { authorityEdges, domainView, threads, vspaceMappings, liveContext } from './views.ts';
export { THREAD_TRANSITIONS, threadChart, nextThreadState, type ThreadEvent, type ThreadTransitionTable } from './thread.chart.ts';
export { allCaps, lookupCap, type SlotRef, type KResult } from './cspace.ts';
export type { World, Log, KernelObservation, ThreadTransition } from './world.ts';
