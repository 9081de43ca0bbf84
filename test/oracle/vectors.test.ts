/**
 * ORC-VEC-1..6 and CLI-VECTORS-1: the conformance vectors in spec/vectors/ are exactly what the
 * definitions give, byte for byte; each is a well-formed vector whose records `mkhv run` gives
 * again; together they cover every item that is not excluded, and no excluded one.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { decodeScenario, decodeTrace } from '../../src/oracle/formats.ts';
import { generateVectors, VECTOR_DIR, VECTOR_FORMAT, VECTOR_VERSION, VECTORS, vectorDirectory, type GeneratedVector, type VectorFile } from '../../src/oracle/vectors.ts';
import { COVERAGE_EXCLUSIONS, coverageReport } from '../../src/oracle/vectors/coverage.ts';

const generated: GeneratedVector[] = (() => {
  const g = generateVectors();
  if (E.isLeft(g)) throw new Error(g.left.message);
  return g.right;
})();
const expectedFiles = vectorDirectory(generated);
const covered = (gs: readonly GeneratedVector[]): Set<string> => new Set(gs.flatMap((g) => [...g.coverage]));

const tmp = mkdtempSync(join(tmpdir(), 'mkhv-vectors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('conformance vectors', () => {
  it('ORC-VEC-2, CLI-VECTORS-1: spec/vectors/ holds exactly the regenerated files, byte for byte', () => {
    const onDisk = readdirSync(VECTOR_DIR).sort();
    expect(onDisk).toEqual([...expectedFiles.keys()].sort());
    for (const [name, text] of expectedFiles) expect(readFileSync(join(VECTOR_DIR, name), 'utf8'), name).toBe(text);
  });

  it('ORC-VEC-2: generation is deterministic', () => {
    const again = generateVectors();
    expect(E.isRight(again) && again.right.map((g) => g.text)).toEqual(generated.map((g) => g.text));
  });

  it('ORC-VEC-1: at least 40 vectors, uniquely named, each a well-formed file whose scenario and trace decode', () => {
    expect(generated.length).toBeGreaterThanOrEqual(40);
    expect(new Set(VECTORS.map((v) => v.name)).size).toBe(VECTORS.length);
    for (const g of generated) {
      const f = JSON.parse(g.text) as VectorFile;
      expect(f.format).toBe(VECTOR_FORMAT);
      expect(f.version).toBe(VECTOR_VERSION);
      expect(f.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(f.description.length).toBeGreaterThan(20);
      expect(E.isRight(decodeScenario(f.scenario))).toBe(true);
      expect(E.isRight(decodeTrace(f.trace))).toBe(true);
      expect(f.records.map((r) => r.index)).toEqual(f.trace.events.map((_, i) => i));
      expect(g.text.endsWith('}\n')).toBe(true);
    }
  });

  it('ORC-VEC-4: only a vector declared to be about rejected events has records with an error', () => {
    for (const g of generated) {
      const rejected = g.file.records.filter((r) => r.error !== undefined && r.error !== null);
      if (g.definition.rejects === true) expect(rejected.length, g.file.name).toBeGreaterThan(0);
      else expect(rejected, g.file.name).toEqual([]);
    }
  });

  it('ORC-VEC-3, ORC-VEC-5: together the vectors cover every item but the excluded ones, and no excluded one', () => {
    const report = coverageReport(covered(generated));
    expect(report.flatMap((g) => g.missing)).toEqual([]);
    const all = covered(generated);
    expect(Object.keys(COVERAGE_EXCLUSIONS).filter((i) => all.has(i))).toEqual([]);
    // Every exclusion is an item the coverage requires, and says why.
    const required = new Set(report.flatMap((g) => g.required));
    for (const [item, why] of Object.entries(COVERAGE_EXCLUSIONS)) {
      expect(required.has(item), item).toBe(true);
      expect(why.length).toBeGreaterThan(30);
    }
  });

  it('ORC-VEC-3: coverage is computed from the runs — leaving out the only vector that produces an item uncovers it', () => {
    const all = covered(generated);
    let checked = 0;
    for (const item of all) {
      const producers = generated.filter((g) => g.coverage.has(item));
      if (producers.length !== 1) continue;
      const without = generated.filter((g) => g !== producers[0]);
      expect(coverageReport(covered(without)).flatMap((g) => g.missing), item).toContain(item);
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('ORC-VEC-6, CLI-RUN-1: `mkhv run --json` on a vector\'s own scenario and trace prints its header and records', async () => {
    for (const g of generated) {
      const scenario = join(tmp, `${g.file.name}.scenario.json`);
      const trace = join(tmp, `${g.file.name}.trace.json`);
      writeFileSync(scenario, JSON.stringify(g.file.scenario));
      writeFileSync(trace, JSON.stringify(g.file.trace));
      const r = await cli(['run', scenario, trace, '--json']);
      expect(r.code, g.file.name).toBe(0);
      expect(r.out.map((l) => JSON.parse(l) as unknown)).toEqual([g.file.header, ...g.file.records]);
    }
  });

  describe('CLI-VECTORS-1: mkhv vectors', () => {
    const dir = join(tmp, 'out');

    it('writes every file, then --check finds them unchanged', async () => {
      const w = await cli(['vectors', '--out', dir]);
      expect(w.code).toBe(0);
      expect(readdirSync(dir).sort()).toEqual([...expectedFiles.keys()].sort());
      const c = await cli(['vectors', '--out', dir, '--check']);
      expect(c.code).toBe(0);
      expect(c.out.join('\n')).toMatch(/coverage \(computed from the records\)/);
    });

    it('--check fails naming a changed, a missing and a stale file, and writes nothing', async () => {
      const first = generated[0]!.file.name + '.json';
      const second = generated[1]!.file.name + '.json';
      writeFileSync(join(dir, first), readFileSync(join(dir, first), 'utf8').replace('"records"', '"records" '));
      rmSync(join(dir, second));
      writeFileSync(join(dir, 'old-vector.json'), JSON.stringify({ format: VECTOR_FORMAT }));
      const c = await cli(['vectors', '--out', dir, '--check']);
      expect(c.code).toBe(1);
      expect(c.err.join('\n')).toContain(`differs ${first}`);
      expect(c.err.join('\n')).toContain(`missing ${second}`);
      expect(c.err.join('\n')).toContain('stale old-vector.json');
      expect(readdirSync(dir)).toContain('old-vector.json');
      // Writing repairs the directory and removes the vector no longer defined.
      expect((await cli(['vectors', '--out', dir])).code).toBe(0);
      expect(readdirSync(dir).sort()).toEqual([...expectedFiles.keys()].sort());
    });

    it('leaves alone files that are not vectors and refuses to replace a README it did not write', async () => {
      const own = join(tmp, 'project');
      const notes = join(own, 'notes.json');
      rmSync(own, { recursive: true, force: true });
      expect((await cli(['vectors', '--out', own])).code).toBe(0);
      writeFileSync(notes, '{"format":"something-else"}');
      expect((await cli(['vectors', '--out', own])).code).toBe(0);
      expect(readFileSync(notes, 'utf8')).toBe('{"format":"something-else"}');
      writeFileSync(join(own, 'README.md'), '# My project\n');
      const r = await cli(['vectors', '--out', own]);
      expect(r.code).toBe(2);
      expect(r.err[0]).toMatch(/^mkhv: vectors: .*README.md' is not a generated vectors README/);
      expect(readFileSync(join(own, 'README.md'), 'utf8')).toBe('# My project\n');
    });

    it('CLI-EXIT-1: an unknown option or a missing value exits 2 naming it', async () => {
      const a = await cli(['vectors', '--bogus']);
      expect(a.code).toBe(2);
      expect(a.err[0]).toMatch(/^mkhv: .*--bogus/);
      const b = await cli(['vectors', '--out']);
      expect(b.code).toBe(2);
      expect(b.err[0]).toMatch(/^mkhv: .*--out/);
    });
  });
});
