/**
 * Inductive checks (CHK-IND-1..2 in spec/model-checking.md): where a universe of states is
 * small enough to enumerate, check that every event preserves the invariants from every
 * *well-formed* state of it — every state the supervisor's own invariants accept, reachable
 * from boot or not — instead of only from the states a search from boot happens to reach.
 *
 * A universe is a base system and a list of dimensions; each dimension is a short list of
 * labelled edits of the system (a thread's state, a queue's contents and order, which thread
 * is current...). The candidates are the cartesian product of the dimensions; the well-formed
 * states are the candidates on which every invariant holds. Then, for each well-formed state
 * and each event of its alphabet, one `step` must lead to a state on which every invariant
 * still holds, and must not throw.
 *
 * The product is walked depth first. A dimension may name invariants it *settles*: invariants
 * that no later dimension can repair — each later dimension either leaves alone what the
 * invariant reads, or starts from the base's value, the one that satisfies it most — so that
 * a partial candidate failing one fails with every completion, and the whole subtree is
 * rejected at once. That is only a shortcut: every candidate kept is checked against every
 * invariant, and the tests check each universe's claims on samples of the full product.
 *
 * @module
 */
import { step, type StepResult, type Supervisor, type System, type SystemEvent } from '../system/index.ts';

/** One value of a dimension: an edit of the system, with a label for descriptions. */
export interface Choice<S> {
  readonly label: string;
  readonly apply: (system: System<S>) => System<S>;
}

export interface Dimension<S> {
  readonly name: string;
  readonly choices: readonly Choice<S>[];
  /**
   * Invariants (by name) that no later dimension can repair: checked as soon as this
   * dimension is fixed (later ones at the base's values), to reject a whole subtree at once.
   */
  readonly settles?: readonly string[];
}

/** An event of a state's alphabet, with a label for descriptions. */
export interface LabelledEvent {
  readonly label: string;
  readonly event: SystemEvent;
}

export interface Universe<S> {
  readonly name: string;
  readonly supervisor: Supervisor<S>;
  /** The system every candidate is built from by applying one choice of each dimension, in order. */
  readonly base: System<S>;
  readonly dimensions: readonly Dimension<S>[];
  /** The violations of one named invariant (for `settles`). */
  readonly invariant: (system: System<S>, name: string) => readonly string[];
  /** The events tried in a well-formed state (which may depend on its coordinates: a call it is about to make). */
  readonly events: (system: System<S>, coordinates: readonly number[]) => readonly LabelledEvent[];
}

/** A well-formed state of a universe, with its coordinates (one choice index per dimension). */
export interface WellFormedState<S> {
  readonly system: System<S>;
  readonly coordinates: readonly number[];
}

export interface InductiveViolation {
  /** The state, as its dimension labels. */
  readonly state: string;
  readonly event: string;
  /** The invariant that failed after the event, or `exception` when the step threw. */
  readonly invariant: string;
  readonly details: readonly string[];
}

export interface InductiveResult {
  /** The size of the cartesian product of the dimensions. */
  readonly candidates: number;
  /** The candidates every invariant accepts. */
  readonly wellFormed: number;
  /** Steps taken: one per well-formed state and event of its alphabet. */
  readonly transitions: number;
  /** Every violation, up to `maxViolations`. */
  readonly violations: readonly InductiveViolation[];
  /** How many transitions violated an invariant (or threw), counting those not listed. */
  readonly violationCount: number;
}

/** The number of candidates: the product of the dimensions' sizes. */
export function candidateCount<S>(u: Universe<S>): number {
  return u.dimensions.reduce((n, d) => n * d.choices.length, 1);
}

/** A state's description: `dimension=label` for each dimension. */
export function describeState<S>(u: Universe<S>, coordinates: readonly number[]): string {
  return u.dimensions.map((d, i) => `${d.name}=${d.choices[coordinates[i]!]!.label}`).join(' ');
}

/** The candidate at `coordinates`: the base with one choice of each dimension applied, in order. */
export function candidate<S>(u: Universe<S>, coordinates: readonly number[]): System<S> {
  return u.dimensions.reduce((sys, d, i) => d.choices[coordinates[i]!]!.apply(sys), u.base);
}

/** The names of the invariants that fail on `system`, with their violations. */
export function failedInvariants<S>(sup: Supervisor<S>, system: System<S>): { name: string; violations: readonly string[] }[] {
  return sup.invariants(system).filter((r) => r.violations.length > 0);
}

/** Whether every invariant of the universe's supervisor holds on `system`. */
export function isWellFormed<S>(u: Universe<S>, system: System<S>): boolean {
  return failedInvariants(u.supervisor, system).length === 0;
}

/** Every well-formed state of the universe, in the product's order (CHK-IND-1). */
export function* wellFormedStates<S>(u: Universe<S>): Generator<WellFormedState<S>> {
  const dims = u.dimensions;
  const coordinates: number[] = [];
  function* walk(sys: System<S>, depth: number): Generator<WellFormedState<S>> {
    if (depth === dims.length) {
      if (isWellFormed(u, sys)) yield { system: sys, coordinates: coordinates.slice() };
      return;
    }
    const dim = dims[depth]!;
    for (let i = 0; i < dim.choices.length; i++) {
      const next = dim.choices[i]!.apply(sys);
      if (dim.settles !== undefined && dim.settles.some((name) => u.invariant(next, name).length > 0)) continue;
      coordinates[depth] = i;
      yield* walk(next, depth + 1);
    }
  }
  yield* walk(u.base, 0);
}

/**
 * One step from a well-formed state, checked: the invariants that fail after it, or the
 * exception it threw. A step that returns the very same machine and supervisor state (a CPU
 * waiting with nothing pending) leaves a well-formed state well-formed, so it is not checked
 * again.
 */
function checkStep<S>(sup: Supervisor<S>, system: System<S>, event: SystemEvent, onStep: ((r: StepResult<S>) => void) | undefined): { name: string; violations: readonly string[] }[] {
  try {
    const r = step(sup, system, event);
    onStep?.(r);
    if (r.system.machine === system.machine && r.system.state === system.state) return [];
    return failedInvariants(sup, r.system);
  } catch (e) {
    return [{ name: 'exception', violations: [e instanceof Error ? e.message : String(e)] }];
  }
}

export interface InductiveOptions<S> {
  /** Violations listed at most (default 20); all are counted. */
  readonly maxViolations?: number;
  /** Stop at the first violating transition (to show a broken model is caught, quickly). */
  readonly stopAtFirst?: boolean;
  /** Called with each well-formed state, before its events are tried. */
  readonly onWellFormed?: (state: WellFormedState<S>) => void;
  /** Called with the result of each step (to see which paths the check exercised). */
  readonly onStep?: (result: StepResult<S>, event: LabelledEvent) => void;
}

/**
 * The inductive check (CHK-IND-1..2): from every well-formed state of the universe, every
 * event of its alphabet leads, without throwing, to a state on which every invariant holds.
 */
export function checkInductive<S>(u: Universe<S>, options: InductiveOptions<S> = {}): InductiveResult {
  const max = options.maxViolations ?? 20;
  const violations: InductiveViolation[] = [];
  let wellFormed = 0;
  let transitions = 0;
  let violationCount = 0;
  const result = (): InductiveResult => ({ candidates: candidateCount(u), wellFormed, transitions, violations, violationCount });
  for (const state of wellFormedStates(u)) {
    wellFormed++;
    options.onWellFormed?.(state);
    for (const e of u.events(state.system, state.coordinates)) {
      transitions++;
      const onStep = options.onStep;
      const failed = checkStep(u.supervisor, state.system, e.event, onStep === undefined ? undefined : (r) => onStep(r, e));
      if (failed.length === 0) continue;
      violationCount++;
      for (const f of failed) {
        if (violations.length < max) violations.push({ state: describeState(u, state.coordinates), event: e.label, invariant: f.name, details: f.violations });
      }
      if (options.stopAtFirst === true) return result();
    }
  }
  return result();
}
