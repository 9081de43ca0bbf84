/**
 * The domain lifecycle as a statechart (HV-LIFE-1): created → running ⇄ paused → saved →
 * (restored as a new, running domain), migrating, destroyed. Every lifecycle change the
 * hypervisor makes is a transition of this chart; `setLifecycle` consults it and the tests
 * replay every reported change through xstate.
 *
 * @module
 */
import { setup } from 'xstate';
import type { DomainLifecycle } from './types.ts';

export type DomainEvent = 'START' | 'PAUSE' | 'UNPAUSE' | 'SAVE' | 'MIGRATE' | 'MIGRATED' | 'ABORT_MIGRATION' | 'DESTROY' | 'RESTORE';

export const domainChart = setup({
  types: { events: {} as { type: DomainEvent } },
}).createMachine({
  id: 'domain',
  initial: 'created',
  states: {
    created: { on: { START: 'running', PAUSE: 'paused', DESTROY: 'destroyed', RESTORE: 'running' } },
    running: { on: { PAUSE: 'paused', MIGRATE: 'migrating', DESTROY: 'destroyed' } },
    paused: { on: { UNPAUSE: 'running', SAVE: 'saved', MIGRATE: 'migrating', DESTROY: 'destroyed' } },
    saved: { on: { DESTROY: 'destroyed' } },
    migrating: { on: { MIGRATED: 'destroyed', ABORT_MIGRATION: 'running', DESTROY: 'destroyed' } },
    destroyed: {},
  },
});

/** The chart's transitions: for each state, the state each event leads to. */
export type DomainTransitionTable = Readonly<Record<DomainLifecycle, Readonly<Partial<Record<DomainEvent, DomainLifecycle>>>>>;

/** The chart's transitions, read once from its definition. */
export const DOMAIN_TRANSITIONS: DomainTransitionTable = (() => {
  const table: Record<string, Record<string, DomainLifecycle>> = {};
  for (const [name, node] of Object.entries(domainChart.states)) {
    table[name] = {};
    for (const [event, transitions] of node.transitions) {
      const target = transitions[0]?.target?.[0]?.key;
      if (target !== undefined) table[name]![event] = target as DomainLifecycle;
    }
  }
  return table as DomainTransitionTable;
})();

export function nextLifecycle(from: DomainLifecycle, event: DomainEvent): DomainLifecycle | null {
  return DOMAIN_TRANSITIONS[from]?.[event] ?? null;
}
