/**
 * ORC-DIFF-6, ORC-SRV-1, ORC-SRV-2: examples/python/client.py, a stdlib-only Python client
 * of the serve protocol, drives `mkhv serve` and prints one line per record. Skipped where
 * there is no python3.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLIENT = fileURLToPath(new URL('../../examples/python/client.py', import.meta.url));
const python = spawnSync('python3', ['--version'], { encoding: 'utf8' });
const hasPython = python.error === undefined && python.status === 0;

describe.skipIf(!hasPython)('examples/python/client.py', () => {
  it('ORC-DIFF-6, ORC-SRV-1, ORC-SRV-2: says hello, loads the example scenario, prints one line per exec record and the view keys', () => {
    // No arguments, run from elsewhere: the client finds the repository, mkhv and its default
    // scenario from its own location, and steps 10 times.
    const r = spawnSync('python3', [CLIENT], { cwd: '/', encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^server: mkhv [\d.]+, records mkhv-record 1\.\d+$/);
    expect(lines[1]).toMatch(/^loaded two counters: microkernel, domains left, right, boot fingerprint [0-9a-f]{16}$/);
    const records = lines.filter((l) => l.startsWith('#'));
    expect(records).toHaveLength(10);
    records.forEach((l, i) => expect(l).toMatch(new RegExp(`^#${i} +trap \\S+ +\\d+ registers changed +[0-9a-f]{16}$`)));
    // Thread a's loop is addi, st, svc, b: its third instruction traps to the kernel.
    expect(records[2]).toMatch(/trap svc/);
    expect(lines[lines.length - 1]).toBe('view of left: threads, memory');
  });

  it('ORC-SRV-3: a scenario that does not load is reported in one line and a non-zero exit', () => {
    const r = spawnSync('python3', [CLIENT, fileURLToPath(new URL('../../package.json', import.meta.url)), '2'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^client\.py: load: scenario\.invalid: /);
  });
});
