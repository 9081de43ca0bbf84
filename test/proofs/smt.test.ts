/**
 * The SMT lemmas (spec/model-checking.md, CHK-SMT-1..5; proofs/smt/): each lemma is proved for
 * all 32-bit values, each of its deliberately broken variants is refuted — by the
 * counterexample recorded in proofs/results/smt.json, checked here by evaluation — and its
 * formula agrees with the code of src/ it transcribes. Every lemma is re-proved (about 15 s
 * of Z3 in all); SMT_QUICK=1 skips the costly proofs and relies on the record for them.
 * `npm run proofs:smt -- --check` also re-derives the smallest counterexamples and compares
 * the whole record byte for byte.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEMMAS } from '../../proofs/smt/index.ts';
import { checkMirror, type Lemma } from '../../proofs/smt/lemma.ts';
import { RESULTS_FILE, z3SolverVersion, type SmtResults } from '../../proofs/smt/results.ts';
import { decide, openSession, refutes, type Session } from '../../proofs/smt/z3.ts';

/** One title per lemma, naming its group and the rules its code implements. */
const TITLES: Readonly<Record<string, string>> = {
  'page-table/geometry': 'CHK-SMT-1, HW-CFG-3, HW-CFG-4, HW-CFG-5, HW-CFG-6, HW-MMU-3: every accepted geometry keeps each index field inside a 32-bit address and a table inside a frame',
  'page-table/indices': 'CHK-SMT-1, HW-MMU-3, HW-MMU-9: tableIndices splits every address below 2^vaBits into indices below 2^bits that recompose it',
  'page-table/walk-entry': 'CHK-SMT-1, HW-MMU-3, HW-CFG-4: the walker reads the entry tableIndices names, inside the table frame',
  'page-table/entry-format': 'CHK-SMT-1, HW-MMU-2, HW-SYS-1: page-table entry and base-register fields round-trip',
  'page-table/output-address': 'CHK-SMT-1, HW-MMU-10, HW-MMU-6: an output address that passes the address-size check fits in 32 bits and keeps its page and offset',
  'permissions/two-stage': 'CHK-SMT-2, HW-MMU-5: stage 1 and stage 2 together grant the intersection of their rights',
  'permissions/frame-map': 'CHK-SMT-2, MK-VM-3, MK-INV-7, HW-MMU-5: a frame mapping is writable only through a cap with Write',
  'permissions/dma': 'CHK-SMT-2, HW-IOMMU-2, HW-IOMMU-3: a DMA needs P, W to write, and a RAM page',
  'ranges/interval-points': 'CHK-SMT-3: "shared" and "within" mean set intersection and inclusion',
  'ranges/untyped-nesting': 'CHK-SMT-3, MK-INV-5: the nesting invariant tests set disjointness and inclusion, wrap-around included',
  'ranges/memory-ownership': 'CHK-SMT-3, MK-INV-6: the ownership sweep flags exactly the objects whose memory intersects',
  'ranges/retype-carve': 'CHK-SMT-3, MK-OBJ-2, MK-INV-1, MK-INV-6: Retype places objects aligned, above the watermark, inside the untyped',
  'ranges/block-device': 'CHK-SMT-3, HW-DEV-2: the block device accepts exactly the commands whose sectors are on the disk',
  'ranges/storage-allowance': 'CHK-SMT-3, HV-MEM-5, HV-DEV-1: a domain reaches only the sectors of its own storage allowance',
  'rights/attenuation': 'CHK-SMT-4, MK-CAP-2, MK-INV-4: derived rights are parent ∩ requested, and the invariant tests inclusion',
  'rights/badge': 'CHK-SMT-4, MK-CAP-6: Mint sets a 28-bit badge once and never changes it',
};

const recorded = JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as SmtResults;
const quick = process.env['SMT_QUICK'] === '1';

let session: Session | undefined;
beforeAll(async () => {
  session = await openSession();
}, 60_000);
afterAll(async () => {
  await session?.close();
});
const z3 = () => session!.z;

describe('CHK-SMT-5: the recorded results (proofs/results/smt.json)', () => {
  it('CHK-SMT-5: record every lemma, in order, made with the installed z3-solver', () => {
    expect(recorded.lemmas.map((l) => l.name)).toEqual(LEMMAS.map((l) => l.name));
    expect(recorded.solver.package).toBe(z3SolverVersion());
    expect(recorded.solver.z3).toBe(session!.z3Version);
  });

  it('CHK-SMT-5: every lemma has a title here naming its group and its rules', () => {
    for (const lemma of LEMMAS) {
      const title = TITLES[lemma.name];
      expect(title, lemma.name).toBeDefined();
      for (const id of [lemma.group, ...lemma.rules]) expect(title, lemma.name).toMatch(new RegExp(`\\b${id}\\b`));
    }
  });

  it('CHK-SMT-5: record each lemma proved, each broken variant refuted with a counterexample, each formula agreeing with its code', () => {
    for (const r of recorded.lemmas) {
      expect(r.verdict, r.name).toBe('proved');
      expect(r.broken.length, r.name).toBeGreaterThan(0);
      for (const b of r.broken) {
        expect(b.verdict, `${r.name} ${b.name}`).toBe('refuted');
        expect(b.counterexample, `${r.name} ${b.name}`).not.toBeNull();
      }
      if (r.mirror !== null) expect(r.mirror.disagreements, r.name).toBe(0);
    }
  });
});

function checks(lemma: Lemma): void {
  const rec = recorded.lemmas.find((l) => l.name === lemma.name);
  const title = TITLES[lemma.name] ?? lemma.name;

  it(`${title} — the record states the lemma as defined`, () => {
    expect(rec).toBeDefined();
    expect({ group: rec!.group, rules: rec!.rules, code: rec!.code, claim: rec!.claim }).toEqual({ group: lemma.group, rules: lemma.rules, code: lemma.code, claim: lemma.claim });
    expect(rec!.broken.map((b) => [b.name, b.change])).toEqual(lemma.broken.map((b) => [b.name, b.change]));
  });

  const prove = !(quick && lemma.costly === true);
  it.runIf(prove)(`${title} — proved for all 32-bit values`, async () => {
    const outcome = await decide(z3(), lemma.obligation(z3()));
    expect(outcome).toEqual({ verdict: 'proved', counterexample: null });
  });

  for (const b of lemma.broken) {
    it(`${title} — broken variant ${b.name} is refuted by its recorded counterexample`, async () => {
      const cex = rec?.broken.find((x) => x.name === b.name)?.counterexample ?? null;
      expect(cex).not.toBeNull();
      expect(await refutes(z3(), b.obligation(z3()), cex!)).toBe(true);
    });
  }

  if (lemma.mirror !== null) {
    const mirror = lemma.mirror;
    it(`${title} — the formula agrees with ${lemma.code.join('; ')} on ${mirror.samples.length} inputs`, async () => {
      const result = await checkMirror(z3(), mirror);
      expect(result.first).toBeNull();
      expect(result).toEqual(rec!.mirror);
    });
  }
}

for (const lemma of LEMMAS) describe(`${lemma.group} ${lemma.name}`, () => checks(lemma));

describe('CHK-SMT-5: a recorded counterexample is checked, not trusted', () => {
  it('CHK-SMT-5: a counterexample of a broken variant does not refute the lemma itself', async () => {
    for (const lemma of LEMMAS) {
      const rec = recorded.lemmas.find((l) => l.name === lemma.name)!;
      for (const b of rec.broken) expect(await refutes(z3(), lemma.obligation(z3()), b.counterexample!), `${lemma.name} ${b.name}`).toBe(false);
    }
  });
});
