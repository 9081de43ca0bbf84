/**
 * `npm run proofs [-- --check] [-- --ci] [name …]` (CHK-PROOF-4): runs the proof files, with
 * progress, and writes their results to proofs/results/ — or, with `--check`, writes nothing
 * and exits 1 if a result no longer reproduces. `--ci` runs only the proofs marked small
 * enough for CI. Exits 1 as well if a claim does not hold or a mutant is not caught.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { loadProof, proofNames, resultPath, resultText, RESULTS_DIR, runProof } from './proofs.ts';

const args = process.argv.slice(2);
const check = args.includes('--check');
const ciOnly = args.includes('--ci');
const bad = args.find((a) => a.startsWith('--') && a !== '--check' && a !== '--ci');
const all = proofNames();
const named = args.filter((a) => !a.startsWith('--'));
const unknown = named.find((n) => !all.includes(n));
if (bad !== undefined || unknown !== undefined) {
  console.error(`proofs: ${bad !== undefined ? `unknown option '${bad}'` : `no proof '${unknown}' (proofs: ${all.join(', ')})`}`);
  console.error('usage: npm run proofs [-- --check] [-- --ci] [name …]');
  process.exit(2);
}

let failures = 0;
for (const name of named.length > 0 ? named : all) {
  const loaded = loadProof(name);
  if (E.isLeft(loaded)) {
    console.error(`proofs: ${loaded.left.message}`);
    process.exit(2);
  }
  if (ciOnly && !loaded.right.proof.ci) continue;
  console.log(`${name}: ${loaded.right.proof.claim}`);
  const started = Date.now();
  let last = started;
  const result = runProof(loaded.right, (what, p) => {
    if (Date.now() - last < 3000) return;
    last = Date.now();
    console.log(`  ${what}: ${p.states} states, ${p.transitions} transitions, queue ${p.queue}, depth ${p.depth}, ${Math.round(p.states / ((last - started) / 1000))} states/s`);
  });
  if (E.isLeft(result)) {
    console.error(`proofs: ${result.left.message}`);
    process.exit(2);
  }
  const r = result.right;
  const seconds = (Date.now() - started) / 1000;
  console.log(`  ${r.verdict}: ${r.states} states, ${r.transitions} transitions, depth ${r.depth}${r.exhaustive ? ', exhaustive' : ', bounded'} (${seconds.toFixed(1)} s with mutants)`);
  for (const m of r.mutants) console.log(`  mutant ${m.name}: ${m.verdict === 'violated' ? `caught by ${m.caughtBy} after ${m.events} events` : 'NOT CAUGHT'}`);
  if (r.verdict !== 'holds' || r.mutants.some((m) => m.verdict !== 'violated')) failures++;
  const text = resultText(r);
  const path = resultPath(name);
  if (check) {
    const recorded = existsSync(path) ? readFileSync(path, 'utf8') : null;
    if (recorded !== text) {
      console.log(`  DIFFERS from the recorded ${path}${recorded === null ? ' (none recorded)' : ''}`);
      failures++;
    } else console.log('  reproduces the recorded result');
  } else {
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(path, text);
  }
}
process.exit(failures === 0 ? 0 : 1);
