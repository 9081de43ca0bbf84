/**
 * Runs every SMT lemma (CHK-SMT-*) and records the results in proofs/results/smt.json.
 *
 *   npm run proofs:smt              prove, refute the broken variants, check the mirrors, record
 *   npm run proofs:smt -- --check   the same, and fail if the results differ from the record
 *
 * Prints one line per lemma (verdict, time, mirror) and one per broken variant. Exits 1 if a
 * lemma is not proved, a broken variant is not refuted, a formula disagrees with its code, or
 * (with --check) the record is stale.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LEMMAS } from './index.ts';
import { isSound, type LemmaResult } from './lemma.ts';
import { differences, resultsText, RESULTS_FILE, runLemmas } from './results.ts';
import { openSession, type Counterexample } from './z3.ts';

const check = process.argv.includes('--check');
const unknown = process.argv.slice(2).filter((a) => a !== '--check');
if (unknown.length > 0) {
  console.error(`proofs:smt: unknown argument ${unknown[0]} (only --check)`);
  process.exit(2);
}

const show = (c: Counterexample | null) => (c === null ? '' : Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' '));
const width = Math.max(...LEMMAS.map((l) => l.name.length));

function report(r: LemmaResult, ms: number): void {
  const mirror = r.mirror === null ? 'no code to mirror' : r.mirror.disagreements === 0 ? `agrees with the code on ${r.mirror.samples} inputs` : `DISAGREES with the code on ${r.mirror.disagreements}/${r.mirror.samples} inputs, first ${JSON.stringify(r.mirror.first)}`;
  console.log(`${r.verdict.padEnd(7)} ${r.name.padEnd(width)}  ${(ms / 1000).toFixed(2).padStart(6)} s  ${r.rules.join(', ') || r.group}; ${mirror}`);
  if (r.counterexample !== null) console.log(`        counterexample: ${show(r.counterexample)}`);
  for (const b of r.broken) console.log(`        broken ${b.name}: ${b.verdict}${b.counterexample === null ? '' : ` (${show(b.counterexample)})`}`);
}

const t0 = performance.now();
const session = await openSession();
let results;
try {
  results = await runLemmas(session, LEMMAS, report);
} finally {
  await session.close();
}
const unsound = results.lemmas.filter((r) => !isSound(r));
console.log(`${results.lemmas.length - unsound.length}/${results.lemmas.length} lemmas proved with every broken variant refuted, in ${((performance.now() - t0) / 1000).toFixed(1)} s (${results.solver.package}, ${results.solver.z3})`);

const text = resultsText(results);
let failed = unsound.length > 0;
if (check) {
  const recorded = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '';
  const diff = recorded === '' ? [`${RESULTS_FILE} is missing`] : differences(recorded, text);
  if (diff.length > 0) {
    failed = true;
    console.log(`${RESULTS_FILE} is out of date (run npm run proofs:smt):`);
    for (const d of diff) console.log(`  ${d}`);
  } else {
    console.log(`${RESULTS_FILE} is up to date`);
  }
} else {
  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, text);
  console.log(`wrote ${RESULTS_FILE}`);
}
process.exitCode = failed ? 1 : 0;
