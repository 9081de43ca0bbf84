/**
 * Explicit-state exploration (CHK-BFS-1..5 in spec/model-checking.md): breadth-first search
 * over `system/step` from a boot state, with a bounded alphabet of events. Every distinct
 * state is checked against every invariant; every transition against the transition
 * properties; the first violation found comes back with the shortest trace from boot that
 * reaches it — an oracle trace that `mkhv run` replays to the same violation.
 *
 * The search is level by level, so the first violation found is at the least depth; within a
 * level states are expanded in discovery order and events in alphabet order, so the search,
 * its counts and its verdict are deterministic.
 *
 * @module
 */
import { fingerprintLanes, step, type Supervisor, type System, type SystemEvent } from '../system/index.ts';
import { hex, IntegrityContext, invariantViolation } from './properties.ts';
import { FingerprintSet } from './visited.ts';

/** What to check (CHK-PROP-1..3). */
export interface CheckOptions<S = unknown> {
  /** The events tried in every state, in this order. */
  readonly alphabet: readonly SystemEvent[];
  /** Most events from boot (default: unbounded). */
  readonly maxDepth: number;
  /** Most distinct states (default: unbounded). */
  readonly maxStates: number;
  readonly invariants: boolean;
  readonly integrity: boolean;
  readonly deadlock: boolean;
  /** Called every `progressEvery` distinct states (default 4096), and at the end of each level. */
  readonly onProgress?: (p: Progress) => void;
  readonly progressEvery?: number;
  /**
   * Asked at each progress call: true ends the search there, as a bound does (the caller's
   * time bound — the search itself reads no clock).
   */
  readonly shouldStop?: () => boolean;
  /**
   * CHK-PAR-1: this search's share of the checks — whether it checks the state with these
   * fingerprint lanes (its invariants, deadlock, and integrity of the transitions leaving it).
   * Default: every state.
   */
  readonly checks?: (a: number, b: number) => boolean;
  /**
   * Polled every 1024 transitions with the transitions so far: true abandons the search
   * (another worker has found a violation this one cannot precede).
   */
  readonly abandon?: (transitions: number) => boolean;
  /**
   * CHK-SYM-2: the fingerprint lanes the visited set keeps for a state — with symmetry
   * reduction, the least over its permutations. Default: the state's own (SYS-7). The frontier
   * keeps the states themselves, so traces stay real traces from boot.
   */
  readonly canonical?: (system: System<S>) => readonly [number, number];
}

export interface Progress {
  readonly states: number;
  readonly transitions: number;
  readonly queue: number;
  readonly depth: number;
}

export interface Violation {
  readonly kind: 'invariant' | 'integrity' | 'deadlock';
  /** The invariant's name, or the property's. */
  readonly name: string;
  readonly details: readonly string[];
  /** The shortest trace from boot to the violating state or transition. */
  readonly trace: readonly SystemEvent[];
  /** The fingerprint of the state the trace ends in (SYS-7): `mkhv run` prints the same. */
  readonly fingerprint: string;
}

export interface CheckResult {
  readonly states: number;
  readonly transitions: number;
  /** The deepest level reached (the boot state is depth 0). */
  readonly depth: number;
  /** Whether every reachable state within the depth bound was explored (no state bound hit). */
  readonly exhausted: boolean;
  /** Whether the depth bound cut the search (states beyond it exist). */
  readonly depthBounded: boolean;
  /** Whether `shouldStop` or `abandon` ended the search. */
  readonly stopped: boolean;
  readonly violation: Violation | null;
  /** Bytes of the visited set and parent links: the memory a state costs beyond its frontier copy. */
  readonly bytesPerState: number;
}

/** Parent links: for each state id, the id it was reached from and the event that did it. */
class Parents {
  parent = new Int32Array(1 << 16);
  event = new Uint16Array(1 << 16);
  set(id: number, parent: number, event: number): void {
    if (id >= this.parent.length) {
      const p = new Int32Array(this.parent.length * 2);
      p.set(this.parent);
      this.parent = p;
      const e = new Uint16Array(this.event.length * 2);
      e.set(this.event);
      this.event = e;
    }
    this.parent[id] = parent;
    this.event[id] = event;
  }
  trace(id: number, alphabet: readonly SystemEvent[]): SystemEvent[] {
    const out: SystemEvent[] = [];
    for (let at = id; at > 0; at = this.parent[at]!) out.push(alphabet[this.event[at]!]!);
    return out.reverse();
  }
}

/** Explores from `boot` (CHK-BFS-1..5). */
export function explore<S>(sup: Supervisor<S>, boot: System<S>, options: CheckOptions<S>): CheckResult {
  const visited = new FingerprintSet();
  const parents = new Parents();
  const canonical = options.canonical ?? fingerprintLanes;
  const [a0, b0] = fingerprintLanes(boot);
  const [ca0, cb0] = canonical(boot);
  visited.add(ca0, cb0);
  parents.set(0, -1, 0);
  let transitions = 0;
  let depth = 0;
  const every = options.progressEvery ?? 4096;
  const result = (violation: Violation | null, outcome: { exhausted?: boolean; depthBounded?: boolean; stopped?: boolean } = {}): CheckResult => ({
    states: visited.size,
    transitions,
    depth,
    exhausted: outcome.exhausted ?? false,
    depthBounded: outcome.depthBounded ?? false,
    stopped: outcome.stopped ?? false,
    violation,
    bytesPerState: (visited.bytes + parents.parent.byteLength + parents.event.byteLength) / Math.max(1, visited.size),
  });
  const progress = (queue: number, atDepth: number): boolean => {
    options.onProgress?.({ states: visited.size, transitions, queue, depth: atDepth });
    return options.shouldStop?.() === true;
  };

  const checks = options.checks ?? (() => true);
  const abandon = options.abandon;
  if (options.invariants && checks(ca0, cb0)) {
    const bad = invariantViolation(sup, boot);
    if (bad !== null) return result({ kind: 'invariant', name: bad.name, details: bad.details, trace: [], fingerprint: hex(a0, b0) });
  }

  let frontier: System<S>[] = [boot];
  let frontierIds: number[] = [0];
  while (frontier.length > 0) {
    // CHK-BFS-3: the depth bound; states at this depth are explored but not expanded.
    if (depth >= options.maxDepth) return result(null, { depthBounded: true });
    const next: System<S>[] = [];
    const nextIds: number[] = [];
    for (let i = 0; i < frontier.length; i++) {
      const sys = frontier[i]!;
      const id = frontierIds[i]!;
      const [sa, sb] = fingerprintLanes(sys);
      const [ka, kb] = options.canonical === undefined ? [sa, sb] : canonical(sys);
      const mine = checks(ka, kb);
      const integrity = options.integrity && mine ? new IntegrityContext(sup, sys) : null;
      let moved = false;
      for (let e = 0; e < options.alphabet.length; e++) {
        const event = options.alphabet[e]!;
        const r = step(sup, sys, event);
        transitions++;
        if (abandon !== undefined && (transitions & 1023) === 0 && abandon(transitions)) return result(null, { stopped: true });
        if (integrity !== null) {
          const details = integrity.violations(event, r.system);
          if (details.length > 0) {
            const [a, b] = fingerprintLanes(r.system);
            return result({ kind: 'integrity', name: 'integrity', details, trace: [...parents.trace(id, options.alphabet), event], fingerprint: hex(a, b) });
          }
        }
        // A rejected event leaves the very same system (SYS-2): nothing new.
        if (r.system === sys) continue;
        const [a, b] = fingerprintLanes(r.system);
        // CHK-SYM-2: the visited set keeps the canonical lanes; whether the event moved the
        // system, and the fingerprint reported, are the state's own.
        const [ca, cb] = options.canonical === undefined ? [a, b] : canonical(r.system);
        const added = visited.add(ca, cb);
        if (added < 0) {
          if (a !== sa || b !== sb) moved = true;
          continue;
        }
        moved = true;
        parents.set(added, id, e);
        if (options.invariants && checks(ca, cb)) {
          const bad = invariantViolation(sup, r.system);
          if (bad !== null) {
            depth++;
            return result({ kind: 'invariant', name: bad.name, details: bad.details, trace: parents.trace(added, options.alphabet), fingerprint: hex(a, b) });
          }
        }
        next.push(r.system);
        nextIds.push(added);
        if (visited.size >= options.maxStates) {
          depth++;
          return result(null);
        }
        if (visited.size % every === 0 && progress(frontier.length - i - 1 + next.length, depth + 1)) return result(null, { stopped: true });
      }
      // CHK-PROP-3: a state from which no event leads anywhere else.
      if (options.deadlock && mine && !moved) {
        return result({ kind: 'deadlock', name: 'deadlock', details: ['no event of the alphabet leaves this state'], trace: parents.trace(id, options.alphabet), fingerprint: hex(sa, sb) });
      }
    }
    frontier = next;
    frontierIds = nextIds;
    if (next.length > 0) depth++;
    if (progress(frontier.length, depth)) return result(null, { stopped: true });
  }
  return result(null, { exhausted: true });
}
