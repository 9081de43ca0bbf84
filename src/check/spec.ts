/**
 * What a scenario asks the model checker to explore (CHK-SCN-1 in spec/model-checking.md): the
 * bounded alphabet of events tried in every state, the bounds, and which properties to check.
 * The scenario format carries it as its optional `check` field (spec/oracle.md, ORC-FMT-2),
 * decoded with the rest of the scenario.
 *
 * @module
 */
import type { SystemEvent } from '../system/index.ts';

export interface CheckSpec {
  /** The events tried in every state, in this order (an `asm` entry is decoded to its `insn`). */
  readonly alphabet: readonly SystemEvent[];
  /** Most events from boot; absent: unbounded. */
  readonly depth?: number;
  /** Most distinct states; absent: unbounded. */
  readonly states?: number;
  /** Check every invariant on every state (CHK-PROP-1); default true. */
  readonly invariants: boolean;
  /** Check integrity on every transition (CHK-PROP-2); default true. */
  readonly integrity: boolean;
  /** Report a state no event leaves (CHK-PROP-3); default false. */
  readonly deadlock: boolean;
  /** Groups of interchangeable domains, by name (CHK-SYM-3); absent: no symmetry reduction. */
  readonly symmetry?: readonly (readonly string[])[];
}

/** The most events an alphabet may have: event indices are stored in 16 bits. */
export const MAX_ALPHABET = 4096;

/**
 * The checker's version, recorded with every proof result (CHK-PROOF-2). It changes when what
 * the checker counts or checks changes — the states, the transitions, the properties — so that
 * a recorded result is compared only with a run of the same checker.
 */
export const CHECKER_VERSION = '1.0';
