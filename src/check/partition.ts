/**
 * One worker's share of a parallel search (CHK-PAR-1 in spec/model-checking.md): the states
 * whose fingerprint it owns, its part of the visited set, and its part of each level's
 * frontier. The search is level-synchronous: every worker expands its frontier, keeps the
 * successors it owns, and hands the others to their owners; a level ends when every handed
 * state has been received. Ownership splits the visited set exactly, so the states of each
 * level — hence the counts — are those of the serial search.
 *
 * Pure of threads: `worker.ts` drives one of these from messages, and the tests can drive
 * several in one thread.
 *
 * @module
 */
import { fingerprintLanes, step, type Supervisor, type System, type SystemEvent } from '../system/index.ts';
import { hex, IntegrityContext, invariantViolation } from './properties.ts';
import type { Violation } from './explore.ts';
import { FingerprintSet } from './visited.ts';

/** The properties to check (CHK-PROP-1..3). */
export interface PartitionOptions {
  readonly alphabet: readonly SystemEvent[];
  readonly invariants: boolean;
  readonly integrity: boolean;
  readonly deadlock: boolean;
}

/** A state handed to its owner: its fingerprint lanes, the state, and the events from boot that reach it. */
export interface Handed<S> {
  readonly a: number;
  readonly b: number;
  readonly system: System<S>;
  readonly trace: Uint16Array;
}

/** Which of `workers` owns a fingerprint. */
export const ownerOf = (a: number, b: number, workers: number): number => ((a ^ b) >>> 0) % workers;

/** The shorter trace, or of equal length the lexicographically smaller: a deterministic choice of counterexample. */
function better(x: Violation | null, y: Violation | null, xTrace: readonly number[], yTrace: readonly number[]): boolean {
  if (y === null) return false;
  if (x === null) return true;
  if (yTrace.length !== xTrace.length) return yTrace.length < xTrace.length;
  for (let i = 0; i < xTrace.length; i++) if (yTrace[i] !== xTrace[i]) return yTrace[i]! < xTrace[i]!;
  return false;
}

export class Partition<S> {
  private readonly visited = new FingerprintSet();
  private frontier: Handed<S>[] = [];
  private next: Handed<S>[] = [];
  private violation: Violation | null = null;
  private violationTrace: number[] = [];
  transitions = 0;

  constructor(
    private readonly sup: Supervisor<S>,
    private readonly options: PartitionOptions,
    readonly index: number,
    readonly workers: number,
  ) {}

  get states(): number {
    return this.visited.size;
  }

  get frontierSize(): number {
    return this.frontier.length;
  }

  get bytes(): number {
    return this.visited.bytes;
  }

  /** The boot state, if this worker owns it: level 0. */
  seed(boot: System<S>): void {
    const [a, b] = fingerprintLanes(boot);
    if (ownerOf(a, b, this.workers) !== this.index) return;
    this.receive([{ a, b, system: boot, trace: new Uint16Array(0) }]);
    this.advance();
  }

  /**
   * Expands every state of this level's frontier by every event; keeps the new successors it
   * owns and returns the others, by owner, to be handed over (`receive`).
   */
  expand(): Handed<S>[][] {
    const out: Handed<S>[][] = Array.from({ length: this.workers }, () => []);
    const { alphabet } = this.options;
    for (const h of this.frontier) {
      const integrity = this.options.integrity ? new IntegrityContext(this.sup, h.system) : null;
      let moved = false;
      for (let e = 0; e < alphabet.length; e++) {
        const event = alphabet[e]!;
        const r = step(this.sup, h.system, event);
        this.transitions++;
        if (integrity !== null) {
          const details = integrity.violations(event, r.system);
          if (details.length > 0) this.report({ kind: 'integrity', name: 'integrity', details, trace: [], fingerprint: hex(...fingerprintLanes(r.system)) }, [...h.trace, e]);
        }
        if (r.system === h.system) continue;
        const [a, b] = fingerprintLanes(r.system);
        if (a === h.a && b === h.b) continue;
        moved = true;
        const handed = { a, b, system: r.system, trace: extend(h.trace, e) };
        const owner = ownerOf(a, b, this.workers);
        if (owner === this.index) this.receive([handed]);
        else out[owner]!.push(handed);
      }
      // CHK-PROP-3: no event of the alphabet leads anywhere else.
      if (this.options.deadlock && !moved) this.report({ kind: 'deadlock', name: 'deadlock', details: ['no event of the alphabet leaves this state'], trace: [], fingerprint: hex(h.a, h.b) }, [...h.trace]);
    }
    return out;
  }

  /** Takes states handed to this worker: the new ones join the next level, checked against the invariants. */
  receive(items: readonly Handed<S>[]): void {
    for (const h of items) {
      if (this.visited.add(h.a, h.b) < 0) continue;
      if (this.options.invariants) {
        const bad = invariantViolation(this.sup, h.system);
        if (bad !== null) this.report({ kind: 'invariant', name: bad.name, details: bad.details, trace: [], fingerprint: hex(h.a, h.b) }, [...h.trace]);
      }
      this.next.push(h);
    }
  }

  /** Ends the level: the new states become the frontier. */
  advance(): void {
    this.frontier = this.next;
    this.next = [];
  }

  /** The best violation found so far, with its trace as events. */
  found(): Violation | null {
    if (this.violation === null) return null;
    return { ...this.violation, trace: this.violationTrace.map((e) => this.options.alphabet[e]!) };
  }

  /** The event indices of the best violation's trace. */
  foundTrace(): readonly number[] {
    return this.violationTrace;
  }

  private report(v: Violation, trace: readonly number[]): void {
    if (better(this.violation, v, this.violationTrace, trace)) {
      this.violation = v;
      this.violationTrace = [...trace];
    }
  }
}

function extend(trace: Uint16Array, e: number): Uint16Array {
  const t = new Uint16Array(trace.length + 1);
  t.set(trace);
  t[trace.length] = e;
  return t;
}

export { better as betterViolation };
