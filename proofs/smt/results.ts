/**
 * The recorded results of the SMT lemmas (proofs/results/smt.json): what each lemma claims,
 * its verdict, its broken variants' verdicts and counterexamples, and whether its formula
 * agreed with the code, with the Z3 version. Deterministic — no times, no dates — so that a
 * re-run can be compared with the record byte for byte.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { runLemma, type Lemma, type LemmaResult } from './lemma.ts';
import type { Session } from './z3.ts';

/** Where the results are recorded, relative to the repository root. */
export const RESULTS_FILE = 'proofs/results/smt.json';

export interface SmtResults {
  /** The z3-solver package and the Z3 inside it. */
  readonly solver: { readonly package: string; readonly z3: string };
  readonly lemmas: readonly LemmaResult[];
}

/** The version of the installed z3-solver package. */
export function z3SolverVersion(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('z3-solver');
  // build/node.js → the package root.
  const pkg = JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version: string };
  return `z3-solver ${pkg.version}`;
}

/** Runs `lemmas` in order, reporting each result and its time in milliseconds as it comes. */
export async function runLemmas(
  session: Session,
  lemmas: readonly Lemma[],
  report: (result: LemmaResult, ms: number) => void = () => {},
): Promise<SmtResults> {
  const out: LemmaResult[] = [];
  for (const lemma of lemmas) {
    const t0 = performance.now();
    const r = await runLemma(session.z, lemma);
    report(r, performance.now() - t0);
    out.push(r);
  }
  return { solver: { package: z3SolverVersion(), z3: session.z3Version }, lemmas: out };
}

/** The results as the recorded file's text. */
export function resultsText(results: SmtResults): string {
  return JSON.stringify(results, null, 2) + '\n';
}

/** What differs between two results files' texts: the solver, or the names of the lemmas that differ. */
export function differences(recorded: string, current: string): string[] {
  if (recorded === current) return [];
  let a: SmtResults;
  try {
    a = JSON.parse(recorded) as SmtResults;
  } catch {
    return ['the recorded file is not JSON'];
  }
  const b = JSON.parse(current) as SmtResults;
  const out: string[] = [];
  if (JSON.stringify(a.solver) !== JSON.stringify(b.solver)) out.push(`solver: recorded ${JSON.stringify(a.solver)}, now ${JSON.stringify(b.solver)}`);
  const byName = new Map((a.lemmas ?? []).map((l) => [l.name, JSON.stringify(l)]));
  for (const l of b.lemmas) {
    const before = byName.get(l.name);
    if (before === undefined) out.push(`${l.name}: not recorded`);
    else if (before !== JSON.stringify(l)) out.push(`${l.name}: differs from the record`);
    byName.delete(l.name);
  }
  for (const name of byName.keys()) out.push(`${name}: recorded but no longer run`);
  return out.length > 0 ? out : ['the files differ in layout only'];
}
