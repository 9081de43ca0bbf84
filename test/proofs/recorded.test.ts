/**
 * CHK-PROOF-1..3: every proof file loads, and each marked `ci` reproduces its recorded result
 * byte for byte — the claim holds, the counts are the recorded ones, and every mutant named
 * is caught.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { CHECKER_VERSION } from '../../src/check/index.ts';
import { MUTANTS } from '../../proofs/mutants.ts';
import { loadProof, proofNames, resultPath, resultText, runProof, sha256OfJson } from '../../proofs/proofs.ts';

const names = proofNames();

describe('recorded proof runs', () => {
  it('CHK-PROOF-1: there are proofs for both supervisors, each naming mutants that exist', () => {
    const loaded = names.map((n) => loadProof(n));
    for (const l of loaded) expect(E.isRight(l)).toBe(true);
    const supervisors = new Set(loaded.flatMap((l) => (E.isRight(l) ? [l.right.scenario.supervisor] : [])));
    expect([...supervisors].sort()).toEqual(['hypervisor', 'microkernel']);
    for (const l of loaded) if (E.isRight(l)) for (const m of l.right.proof.mutants) expect(MUTANTS.has(m)).toBe(true);
  });

  it('CHK-PROOF-2: every proof has a recorded result for this checker and this scenario', () => {
    for (const name of names) {
      expect(existsSync(resultPath(name)), name).toBe(true);
      const recorded = JSON.parse(readFileSync(resultPath(name), 'utf8')) as { checker: string; scenarioSha256: string; verdict: string };
      const loaded = loadProof(name);
      if (E.isLeft(loaded)) throw new Error(loaded.left.message);
      expect(recorded.checker).toBe(CHECKER_VERSION);
      expect(recorded.scenarioSha256, `${name}: the scenario changed since the result was recorded (npm run proofs)`).toBe(sha256OfJson(loaded.right.scenarioJson));
      expect(recorded.verdict).toBe('holds');
    }
  });

  for (const name of names) {
    const loaded = loadProof(name);
    if (E.isLeft(loaded) || !loaded.right.proof.ci) continue;
    it(`CHK-PROOF-2, CHK-PROOF-3: ${name} reproduces its recorded result, and every mutant is caught`, () => {
      const r = runProof(loaded.right);
      if (E.isLeft(r)) throw new Error(r.left.message);
      expect(r.right.verdict).toBe('holds');
      expect(r.right.exhaustive).toBe(true);
      for (const m of r.right.mutants) expect(m.verdict, m.name).toBe('violated');
      expect(resultText(r.right)).toBe(readFileSync(resultPath(name), 'utf8'));
    }, 120_000);
  }

  it('CHK-PROOF-2: a changed scenario no longer matches its recorded hash', () => {
    const loaded = loadProof(names[0]!);
    if (E.isLeft(loaded)) throw new Error(loaded.left.message);
    const json = loaded.right.scenarioJson as { check: { alphabet: unknown[] } };
    const changed = { ...json, check: { ...json.check, alphabet: json.check.alphabet.slice(1) } };
    expect(sha256OfJson(changed)).not.toBe(sha256OfJson(json));
    // Key order is not a change.
    expect(sha256OfJson(Object.fromEntries(Object.entries(json).reverse()))).toBe(sha256OfJson(json));
  });
});
