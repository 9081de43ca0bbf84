/**
 * The Z3 session the SMT lemmas run in (z3-solver, the official WebAssembly build), and the
 * three questions asked of it: is a claim valid (its negation unsat), what is the smallest
 * counterexample of a claim that is not, and what is a formula's value on constant inputs.
 *
 * Counterexamples are the lexicographically smallest (unsigned, in the order the variables
 * are declared), so that a recorded counterexample does not depend on the solver's search.
 *
 * @module
 */
import { init, killThreads, type BitVec, type Bool, type Context } from 'z3-solver';

/** The Z3 context every lemma builds its formulas in. */
export type Z = Context<'main'>;
/** A bit-vector term of any width. */
export type BV = BitVec<number, 'main'>;
/** A Boolean term. */
export type B = Bool<'main'>;

/** An open Z3 session. `close` ends its worker threads, so that the process can exit. */
export interface Session {
  readonly z: Z;
  /** Z3's own version string, e.g. "Z3 4.15.4.0". */
  readonly z3Version: string;
  close(): Promise<void>;
}

/** A FinalizationRegistry that never finalises anything. */
class KeepAlive<T> {
  register(_target: WeakKey, _held: T, _token?: WeakKey): void {}
  unregister(_token: WeakKey): boolean {
    return false;
  }
}

/**
 * Opens a session. z3-solver frees a term when its JavaScript wrapper is garbage-collected,
 * from a FinalizationRegistry callback on the main thread — which can run while a solver
 * check is running on a worker thread, and then corrupts Z3's heap (seen as random
 * "memory access out of bounds" aborts). So the session is created with a registry that keeps
 * every term alive; the few megabytes the lemmas build are freed with the process.
 */
export async function openSession(): Promise<Session> {
  const original = globalThis.FinalizationRegistry;
  globalThis.FinalizationRegistry = KeepAlive as unknown as FinalizationRegistryConstructor;
  let api: Awaited<ReturnType<typeof init>>;
  try {
    api = await init();
  } finally {
    globalThis.FinalizationRegistry = original;
  }
  const z = api.Context('main');
  return {
    z,
    z3Version: api.Z3.get_full_version(),
    close: () => killThreads(api.em),
  };
}

/** A named free variable of a claim. */
export interface Var {
  readonly name: string;
  readonly term: BV;
}

/** A universally quantified claim: for all values of `vars` satisfying `assume`, `claim` holds. */
export interface Obligation {
  /** Free variables, in the order a counterexample lists them and is minimised. */
  readonly vars: readonly Var[];
  /** The validated ranges the claim is stated for. */
  readonly assume: readonly B[];
  readonly claim: B;
}

export type Verdict = 'proved' | 'refuted' | 'unknown';

/** Free-variable values of a counterexample, written as numbers (decimal below 1024, else hex). */
export type Counterexample = Readonly<Record<string, string>>;

export interface Outcome {
  readonly verdict: Verdict;
  readonly counterexample: Counterexample | null;
}

/** Writes a value the way counterexamples show it. */
export function showValue(v: bigint): string {
  return v < 1024n ? v.toString() : `0x${v.toString(16)}`;
}

/**
 * Decides an obligation: `proved` when `assume ∧ ¬claim` is unsat; otherwise `refuted` with
 * the smallest counterexample (or `unknown` if Z3 cannot tell).
 */
export async function decide(z: Z, ob: Obligation): Promise<Outcome> {
  const solver = new z.Solver();
  solver.add(...ob.assume, z.Not(ob.claim));
  const result = await solver.check();
  if (result === 'unsat') return { verdict: 'proved', counterexample: null };
  if (result === 'unknown') return { verdict: 'unknown', counterexample: null };
  return { verdict: 'refuted', counterexample: await smallestCounterexample(z, ob) };
}

/**
 * The lexicographically smallest counterexample, found bit by bit from the first variable's
 * top bit down: each bit is 0 if some counterexample agrees with the bits fixed so far and
 * has it 0. A bit already 0 in the last model found needs no check, so small values are cheap.
 */
async function smallestCounterexample(z: Z, ob: Obligation): Promise<Counterexample | null> {
  const solver = new z.Solver();
  solver.add(...ob.assume, z.Not(ob.claim));
  if ((await solver.check()) !== 'sat') return null;
  let model = solver.model();
  const fixed: B[] = [];
  for (const v of ob.vars) {
    for (let i = v.term.size() - 1; i >= 0; i--) {
      const bit = z.Extract(i, i, v.term);
      const zero = bit.eq(z.BitVec.val(0, 1));
      const current = (model.eval(v.term, true).value() >> BigInt(i)) & 1n;
      if (current === 0n || (await solver.check(...fixed, zero)) === 'sat') {
        if (current !== 0n) model = solver.model();
        fixed.push(zero);
      } else {
        fixed.push(bit.eq(z.BitVec.val(1, 1)));
      }
    }
  }
  const out: Record<string, string> = {};
  for (const v of ob.vars) out[v.name] = showValue(model.eval(v.term, true).value());
  return out;
}

/** Reads a value as counterexamples show it. */
export function readValue(text: string): bigint {
  return BigInt(text);
}

/**
 * Whether `cex` is a counterexample of `ob`: with its values, the assumptions hold and the
 * claim does not. (How a recorded counterexample is checked without searching again.)
 */
export async function refutes(z: Z, ob: Obligation, cex: Counterexample): Promise<boolean> {
  const pairs: [BV, BV][] = [];
  for (const v of ob.vars) {
    const text = cex[v.name];
    if (text === undefined) return false;
    pairs.push([v.term, z.BitVec.val(readValue(text), v.term.size())]);
  }
  if (Object.keys(cex).length !== ob.vars.length) return false;
  const closed = z.substitute(z.And(...ob.assume, z.Not(ob.claim)), ...pairs);
  return z.isTrue(await z.simplify(closed));
}

/**
 * Evaluates terms built from constants (no free variables) to their values. Returns null for
 * a term Z3 does not reduce to a numeral.
 */
export async function evaluate(z: Z, terms: readonly BV[]): Promise<(bigint | null)[]> {
  const out: (bigint | null)[] = [];
  for (const t of terms) {
    const v = await z.simplify(t);
    out.push(z.isBitVecVal(v) ? v.value() : null);
  }
  return out;
}

/** Whether a closed Boolean term simplifies to true. */
export async function holds(z: Z, term: B): Promise<boolean> {
  return z.isTrue(await z.simplify(term));
}
