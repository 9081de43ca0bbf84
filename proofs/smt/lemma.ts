/**
 * What an SMT lemma is, and how one is run.
 *
 * A lemma states a property of some TypeScript code in src/ for all 32-bit inputs (and all
 * valid geometries). Its formula is built from a Z3 transcription of that code — the code
 * model — and three things are checked:
 * 1. the lemma is proved: the negation of its claim is unsat;
 * 2. each deliberately broken variant (the code model or an assumption changed the way a
 *    plausible bug would) is refuted, with its smallest counterexample — a lemma that cannot
 *    fail proves nothing;
 * 3. the code model agrees with the real function on a few hundred inputs, edge cases
 *    included (the mirror), so the formula cannot drift from the code it is about.
 *
 * @module
 */
import { k } from './bv.ts';
import { decide, evaluate, holds, showValue, type BV, type Counterexample, type Obligation, type Verdict, type Z } from './z3.ts';

/** A deliberately broken variant of a lemma. */
export interface BrokenVariant {
  readonly name: string;
  /** What was changed, in words. */
  readonly change: string;
  readonly obligation: (z: Z) => Obligation;
}

/** Ties a lemma's formula to the code: both are evaluated on the same inputs. */
export interface Mirror {
  readonly samples: readonly (readonly number[])[];
  /** The real function of src/ on one input; its outputs as unsigned integers. */
  readonly code: (input: readonly number[]) => readonly number[];
  /** The code model's terms for the same outputs on the same input (built from constants). */
  readonly formula: (z: Z, input: readonly number[]) => readonly BV[];
}

export interface Lemma {
  /** `group/name`, e.g. `page-table/indices`. */
  readonly name: string;
  /** The spec rule of this lemma group (spec/model-checking.md). */
  readonly group: string;
  /** The implementation rules the code under proof implements. */
  readonly rules: readonly string[];
  /** The code under proof, as `file: function`. */
  readonly code: readonly string[];
  /** The claim in words; the obligation says the same in Z3. */
  readonly claim: string;
  readonly obligation: (z: Z) => Obligation;
  readonly broken: readonly BrokenVariant[];
  /** Null only for a lemma about integers themselves, with no code to mirror. */
  readonly mirror: Mirror | null;
  /**
   * Whether the proof takes Z3 more than about a second. With SMT_QUICK=1 the test suite
   * checks these against the record instead of proving them again.
   */
  readonly costly?: boolean;
}

export interface MirrorResult {
  readonly samples: number;
  readonly disagreements: number;
  /** The first input on which code and formula differ, with both outputs. */
  readonly first: { readonly input: readonly number[]; readonly code: readonly string[]; readonly formula: readonly string[] } | null;
}

export interface BrokenResult {
  readonly name: string;
  readonly change: string;
  readonly verdict: Verdict;
  readonly counterexample: Counterexample | null;
}

export interface LemmaResult {
  readonly name: string;
  readonly group: string;
  readonly rules: readonly string[];
  readonly code: readonly string[];
  readonly claim: string;
  readonly verdict: Verdict;
  /** Only when the lemma itself is refuted. */
  readonly counterexample: Counterexample | null;
  readonly broken: readonly BrokenResult[];
  readonly mirror: MirrorResult | null;
}

/** Whether a result is what a sound lemma gives: proved, every broken variant refuted, the mirror agreeing. */
export function isSound(r: LemmaResult): boolean {
  return r.verdict === 'proved' && r.broken.length > 0 && r.broken.every((b) => b.verdict === 'refuted') && (r.mirror === null || r.mirror.disagreements === 0);
}

/** Compares the code with its model on every sample. */
export async function checkMirror(z: Z, mirror: Mirror): Promise<MirrorResult> {
  const rows = mirror.samples.map((input) => ({ input, code: mirror.code(input), formula: mirror.formula(z, input) }));
  const fits = (v: number, t: BV) => Number.isInteger(v) && v >= 0 && BigInt(v) < 1n << BigInt(t.size());
  const agrees = (row: (typeof rows)[number]) =>
    row.code.length === row.formula.length && row.code.every((v, i) => fits(v, row.formula[i]!));
  // One simplification for all samples; only on a disagreement are they evaluated one by one.
  const equalities = rows.flatMap((row) => (agrees(row) ? row.formula.map((t, i) => t.eq(k(z, row.code[i]!, t.size()))) : [z.Bool.val(false)]));
  if (await holds(z, z.And(...equalities))) return { samples: rows.length, disagreements: 0, first: null };
  let disagreements = 0;
  let first: MirrorResult['first'] = null;
  for (const row of rows) {
    const values = await evaluate(z, row.formula);
    const same = row.code.length === values.length && row.code.every((v, i) => values[i] !== null && BigInt(v) === values[i]);
    if (same) continue;
    disagreements++;
    first ??= {
      input: row.input,
      code: row.code.map((v) => showValue(BigInt(v))),
      formula: values.map((v) => (v === null ? '?' : showValue(v))),
    };
  }
  return { samples: rows.length, disagreements, first };
}

/** Runs one lemma: its proof, its broken variants and its mirror. */
export async function runLemma(z: Z, lemma: Lemma): Promise<LemmaResult> {
  const outcome = await decide(z, lemma.obligation(z));
  const broken: BrokenResult[] = [];
  for (const b of lemma.broken) {
    const o = await decide(z, b.obligation(z));
    broken.push({ name: b.name, change: b.change, verdict: o.verdict, counterexample: o.counterexample });
  }
  return {
    name: lemma.name,
    group: lemma.group,
    rules: lemma.rules,
    code: lemma.code,
    claim: lemma.claim,
    verdict: outcome.verdict,
    counterexample: outcome.counterexample,
    broken,
    mirror: lemma.mirror === null ? null : await checkMirror(z, lemma.mirror),
  };
}
