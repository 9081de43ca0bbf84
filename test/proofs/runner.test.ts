/**
 * CHK-PROOF-4: `npm run proofs` — its options, and `--check` on a proof that reproduces.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const proofs = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'proofs/run.ts', ...args], { encoding: 'utf8', timeout: 120_000 });

describe('CHK-PROOF-4: the proof runner', () => {
  it('--check re-runs a proof, writes nothing and says whether it reproduces', () => {
    const r = proofs('--check', 'mk-ipc');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('mk-ipc: With 3 threads');
    expect(r.stdout).toMatch(/holds: \d+ states, \d+ transitions, depth \d+, exhaustive/);
    expect(r.stdout).toContain('mutant mk-crash-leaves-waiter: caught by invariant');
    expect(r.stdout).toContain('reproduces the recorded result');
  }, 120_000);

  it('an unknown option or proof exits 2 naming it', () => {
    const a = proofs('--bogus');
    expect(a.status).toBe(2);
    expect(a.stderr).toContain("unknown option '--bogus'");
    const b = proofs('no-such-proof');
    expect(b.status).toBe(2);
    expect(b.stderr).toContain("no proof 'no-such-proof'");
  }, 120_000);
});
