/**
 * CHK-SMT-1: page-table arithmetic, for every valid geometry and every 32-bit address — the
 * geometry limits, the index fields of an address (HW-MMU-3), the walker's entry addresses
 * (HW-MMU-3, HW-CFG-4), the entry and base-register formats (HW-MMU-2) and the output
 * address (HW-MMU-10).
 *
 * @module
 */
import {
  baseRoot,
  baseTag,
  emptyStore,
  makeBase,
  mapPage,
  PTE,
  PTE_ALL,
  pte,
  ptePpn,
  resetCpu,
  SCTLR_M,
  setSys,
  SYS,
  tableIndices,
  translate,
  walk,
  writeWord,
  type Cpu,
} from '../../src/hw/index.ts';
import { declare, flag, jsShl, jsShr, k, obligation, pow2, wide, WIDE } from './bv.ts';
import {
  ALL_RULES,
  byShape,
  constGeo,
  geometryOfSample,
  hasLevel,
  indexMask,
  inInputRange,
  levelShift,
  pageBytes,
  vaBits,
  VALID_SHAPES,
  validGeometry,
  wideZero,
  type Geo,
  type GeometryRules,
} from './geometry.ts';
import type { Lemma } from './lemma.ts';
import { between, drawSamples, oneOf, word } from './samples.ts';
import type { B, BV, Z } from './z3.ts';

const GROUP = 'CHK-SMT-1';
const LEVELS = [0, 1, 2, 3] as const;

/** The geometry and extra variables of a page-table claim. */
function geoVars<N extends string>(z: Z, extra: Readonly<Record<N, number>>) {
  const d = declare(z, { offsetBits: 32, levels: 32, bits: 32, ...extra } as Record<'offsetBits' | 'levels' | 'bits' | N, number>);
  const g: Geo = { offsetBits: d.t.offsetBits, levels: d.t.levels, bits: d.t.bits };
  return { g, t: d.t as Readonly<Record<N, BV>>, vars: d.vars };
}

/** `tableIndices(geo, addr)[level]` (src/hw/paging.ts): `(addr >>> shift) & mask`. */
function tableIndex(z: Z, g: Geo, addr: BV, level: number, shiftOf = levelShift): BV {
  return jsShr(z, addr, shiftOf(z, g, level)).and(indexMask(z, g));
}

/** The index `walk` (src/hw/mmu.ts) uses: `Math.floor(addr / 2 ** shift) & mask`. */
function walkIndex(z: Z, g: Geo, addr: BV, level: number, round = false): BV {
  const s = levelShift(z, g, level);
  // Math.round(x / 2^s) = floor((x + 2^(s−1)) / 2^s): the broken variant.
  const numerator = round ? wide(addr).add(pow2(z, s.sub(k(z, 1)))) : wide(addr);
  return z.Extract(31, 0, numerator.udiv(pow2(z, s))).and(indexMask(z, g));
}

/** The address `walk` reads at one level: `table * pageBytes + index * 4`, exactly (`entryBytes` 8 is a broken model). */
function entryAddress(z: Z, g: Geo, table: BV, index: BV, entryBytes = 4): BV {
  return wide(table).mul(pageBytes(z, g)).add(wide(index).mul(k(z, entryBytes, WIDE)));
}

/** The page offset `va & (pageBytes − 1)` as translate computes it. */
function pageOffset(z: Z, g: Geo, va: BV): BV {
  return va.and(jsShl(z, k(z, 1), g.offsetBits).sub(k(z, 1)));
}

/** Samples [log2 wordsPerFrame, levels, bits, addr, ...rest] over the valid geometries. */
function geoSamples(seed: number, n: number, rest: (next: () => number, shape: readonly number[]) => number[]): (readonly number[])[] {
  return drawSamples(seed, n, (next) => {
    const shape = oneOf(next, VALID_SHAPES);
    return [...shape, ...rest(next, shape)];
  });
}

/** An address below 2^vaBits (or any 32-bit word, when `anyWord`). */
function address(next: () => number, shape: readonly number[], anyWord = false): number {
  const va = shape[0]! + 2 + shape[1]! * shape[2]!;
  const w = word(next);
  return anyWord || va >= 32 ? w : w % 2 ** va;
}

// ---------------------------------------------------------------------------------------

function geometryClaim(z: Z, rules: GeometryRules) {
  const { g, vars } = geoVars(z, {});
  const shifts = LEVELS.map((l) => levelShift(z, g, l));
  const perLevel: B[] = LEVELS.map((l) =>
    z.Implies(hasLevel(z, g, l), z.And(shifts[l]!.ule(k(z, 31)), shifts[l]!.add(g.bits).ule(k(z, 32)))),
  );
  const lastIsOffset: B[] = LEVELS.map((l) => z.Implies(g.levels.eq(k(z, l + 1)), shifts[l]!.eq(g.offsetBits)));
  const adjacent: B[] = [0, 1, 2].map((l) => z.Implies(hasLevel(z, g, l + 1), shifts[l]!.eq(shifts[l + 1]!.add(g.bits))));
  return obligation(
    vars,
    [validGeometry(z, g, rules)],
    z.And(vaBits(z, g).ule(k(z, 32)), pow2(z, g.bits.add(k(z, 2))).ule(pageBytes(z, g)), ...perLevel, ...lastIsOffset, ...adjacent),
  );
}

export const geometryLemma: Lemma = {
  name: 'page-table/geometry',
  group: GROUP,
  rules: ['HW-CFG-3', 'HW-CFG-4', 'HW-CFG-5', 'HW-CFG-6', 'HW-MMU-3'],
  code: ['src/hw/config.ts: validateMachineConfig, geometryOf'],
  claim:
    'For every geometry validateMachineConfig accepts: vaBits = offsetBits + levels × bits ≤ 32; a table (4 × 2^bits bytes) fits in a page (2^offsetBits bytes); ' +
    'each level l < levels has its index field at shift offsetBits + (levels − 1 − l) × bits ≤ 31 with shift + bits ≤ 32, the last level right above the page offset ' +
    'and each level right above the next — so no JavaScript shift count wraps and the fields tile the address.',
  obligation: (z) => geometryClaim(z, ALL_RULES),
  broken: [
    { name: 'no-table-fits-frame', change: 'validation without HW-CFG-4 (2^bits ≤ wordsPerFrame)', obligation: (z) => geometryClaim(z, { ...ALL_RULES, tableFitsFrame: false }) },
    { name: 'no-address-fits-word', change: 'validation without HW-CFG-5 (offsetBits + levels × bits ≤ 32)', obligation: (z) => geometryClaim(z, { ...ALL_RULES, addressFitsWord: false }) },
  ],
  mirror: {
    // Exhaustive: every log2(wordsPerFrame) 0..12, levels 0..5 and bits 0..11, valid or not.
    samples: Array.from({ length: 13 * 6 * 12 }, (_, i) => [Math.floor(i / 72), Math.floor(i / 12) % 6, i % 12]),
    code: (input) => {
      const geo = geometryOfSample(input);
      return geo === null ? [0, 0, 0, 0] : [1, geo.vaBits, geo.tableEntries, geo.pageBytes];
    },
    formula: (z, input) => {
      const g = constGeo(z, input);
      const valid = validGeometry(z, g);
      return [flag(z, valid), z.If(valid, vaBits(z, g), k(z, 0)), z.If(valid, jsShl(z, k(z, 1), g.bits), k(z, 0)), z.If(valid, pageBytes(z, g), wideZero(z))];
    },
  },
};

// ---------------------------------------------------------------------------------------

function indicesClaim(z: Z, shiftOf: typeof levelShift) {
  const { g, t, vars } = geoVars(z, { addr: 32 });
  const index = (l: number) => tableIndex(z, g, t.addr, l, shiftOf);
  const bounded: B[] = LEVELS.map((l) => z.Implies(hasLevel(z, g, l), wide(index(l)).ult(pow2(z, g.bits))));
  let sum = wide(pageOffset(z, g, t.addr));
  for (const l of LEVELS) sum = sum.add(z.If(hasLevel(z, g, l), wide(index(l)).mul(pow2(z, levelShift(z, g, l))), wideZero(z)));
  return obligation(vars, [validGeometry(z, g), inInputRange(z, g, t.addr)], z.And(...bounded, sum.eq(wide(t.addr))));
}

export const indicesLemma: Lemma = {
  name: 'page-table/indices',
  group: GROUP,
  rules: ['HW-MMU-3', 'HW-MMU-9'],
  code: ['src/hw/paging.ts: tableIndices'],
  claim:
    'For every valid geometry and every 32-bit address addr < 2^vaBits: each index tableIndices gives is < 2^bits, and ' +
    'Σ_l index_l × 2^(offsetBits + (levels − 1 − l) × bits) + (addr & (pageBytes − 1)) = addr — the indices and the page offset recompose the address exactly.',
  obligation: (z) => indicesClaim(z, levelShift),
  broken: [
    {
      name: 'level-off-by-one',
      change: 'index l taken at shift offsetBits + (levels − l) × bits (one level too high)',
      obligation: (z) => indicesClaim(z, (zz, g, l) => levelShift(zz, g, l - 1)),
    },
  ],
  mirror: {
    samples: geoSamples(0x1d1ce5, 300, (next, shape) => [address(next, shape, next() % 4 === 0)]),
    code: (input) => {
      const got = tableIndices(geometryOfSample(input)!, input[3]!);
      return LEVELS.map((l) => got[l] ?? 0);
    },
    formula: (z, input) => {
      const g = constGeo(z, input);
      return LEVELS.map((l) => z.If(hasLevel(z, g, l), tableIndex(z, g, k(z, input[3]!), l), k(z, 0)));
    },
  },
};

// ---------------------------------------------------------------------------------------

function walkClaim(z: Z, round: boolean, entryBytes: number) {
  const { g, t, vars } = geoVars(z, { addr: 32, table: 32 });
  const claim = (c: Geo): B => {
    const frameStart = wide(t.table).mul(pageBytes(z, c));
    const perLevel: B[] = LEVELS.map((l) => {
      const index = walkIndex(z, c, t.addr, l, round);
      const at = entryAddress(z, c, t.table, index, entryBytes);
      const inFrame = z.And(frameStart.ule(at), at.ult(frameStart.add(pageBytes(z, c))));
      return z.Implies(hasLevel(z, c, l), z.And(index.eq(tableIndex(z, c, t.addr, l)), inFrame));
    });
    return z.And(...perLevel);
  };
  return obligation(vars, [validGeometry(z, g), inInputRange(z, g, t.addr)], byShape(z, g, claim));
}

/** The entry addresses `walk` reads for `addr`, every table being frame `root`. */
function walkedEntries(input: readonly number[]): number[] {
  const geo = geometryOfSample(input)!;
  const [addr, root] = [input[3]!, input[4]!];
  const seen: number[] = [];
  // Every read goes to word 0, an entry naming `root` again: each level's table is `root`.
  const memory = writeWord(emptyStore(geo.ramWords), 0, pte(root, PTE.P));
  walk(geo, memory, root, addr, (entryAddr) => {
    seen.push(entryAddr);
    return 0;
  });
  return LEVELS.map((l) => seen[l] ?? 0);
}

export const walkLemma: Lemma = {
  name: 'page-table/walk-entry',
  costly: true,
  group: GROUP,
  rules: ['HW-MMU-3', 'HW-CFG-4'],
  code: ['src/hw/mmu.ts: walk'],
  claim:
    'For every valid geometry, every address addr < 2^vaBits and every 32-bit table frame number t: at each level the walker reads entry ' +
    't × pageBytes + 4 × index, where its index floor(addr / 2^shift) & (2^bits − 1) equals tableIndices(addr)[level], and that entry lies inside frame t ' +
    '(t × pageBytes ≤ entry < (t + 1) × pageBytes): a walk never indexes outside a page-table frame.',
  obligation: (z) => walkClaim(z, false, 4),
  broken: [
    { name: 'round-not-floor', change: 'index from Math.round(addr / 2^shift) instead of Math.floor', obligation: (z) => walkClaim(z, true, 4) },
    { name: 'eight-byte-entries', change: 'entry address table × pageBytes + 8 × index (entries taken as two words)', obligation: (z) => walkClaim(z, false, 8) },
  ],
  mirror: {
    samples: geoSamples(0x3a1c, 300, (next, shape) => [address(next, shape), between(next, 0, 2 ** (32 - shape[0]! - 2) - 1)]),
    code: walkedEntries,
    formula: (z, input) => {
      const g = constGeo(z, input);
      const addr = k(z, input[3]!);
      return LEVELS.map((l) => z.If(hasLevel(z, g, l), entryAddress(z, g, k(z, input[4]!), walkIndex(z, g, addr, l)), wideZero(z)));
    },
  },
};

// ---------------------------------------------------------------------------------------

/** pte(ppn, flags) = (ppn << 4 | flags & 0xf) >>> 0; the broken variant shifts by 3. */
function pteZ(z: Z, ppn: BV, flags: BV, shift = 4): BV {
  return jsShl(z, ppn, k(z, shift)).or(flags.and(k(z, 0xf)));
}
const ptePpnZ = (z: Z, e: BV): BV => jsShr(z, e, k(z, 4));
const baseRootZ = (z: Z, ttbr: BV): BV => ttbr.and(k(z, 0xffffff));
const baseTagZ = (z: Z, ttbr: BV): BV => jsShr(z, ttbr, k(z, 24));
const makeBaseZ = (z: Z, root: BV, tag: BV): BV => jsShl(z, tag, k(z, 24)).or(root.and(k(z, 0xffffff)));

function formatClaim(z: Z, shift: number) {
  const { t, vars } = declare(z, { ppn: 32, flags: 32, entry: 32, root: 32, tag: 32, ttbr: 32 });
  const e = pteZ(z, t.ppn, t.flags, shift);
  return obligation(
    vars,
    [],
    z.And(
      z.Implies(t.ppn.ult(k(z, 2 ** 28)), z.And(ptePpnZ(z, e).eq(t.ppn), e.and(k(z, 0xf)).eq(t.flags.and(k(z, 0xf))))),
      pteZ(z, ptePpnZ(z, t.entry), t.entry.and(k(z, 0xf)), shift).eq(t.entry),
      z.Implies(z.And(t.root.ult(k(z, 2 ** 24)), t.tag.ult(k(z, 256))), z.And(baseRootZ(z, makeBaseZ(z, t.root, t.tag)).eq(t.root), baseTagZ(z, makeBaseZ(z, t.root, t.tag)).eq(t.tag))),
      makeBaseZ(z, baseRootZ(z, t.ttbr), baseTagZ(z, t.ttbr)).eq(t.ttbr),
    ),
  );
}

export const formatLemma: Lemma = {
  name: 'page-table/entry-format',
  group: GROUP,
  rules: ['HW-MMU-2', 'HW-SYS-1'],
  code: ['src/hw/mmu.ts: pte, ptePpn, makeBase, baseRoot, baseTag'],
  claim:
    'For all 32-bit values: an entry built by pte(ppn, flags) with ppn < 2^28 gives back ppn (ptePpn) and flags & 0xf (low four bits), and every 32-bit entry is ' +
    'pte(ptePpn(e), e & 0xf); a base register built by makeBase(root, tag) with root < 2^24 and tag < 2^8 gives back root (baseRoot) and tag (baseTag), and every 32-bit ' +
    'value is makeBase(baseRoot(v), baseTag(v)). The fields never overlap and lose nothing.',
  obligation: (z) => formatClaim(z, 4),
  broken: [{ name: 'ppn-shift-3', change: 'pte shifts ppn left by 3, onto the U bit', obligation: (z) => formatClaim(z, 3) }],
  mirror: {
    samples: drawSamples(0xe7, 300, (next) => [word(next), word(next), word(next), word(next), word(next), word(next)]),
    code: ([ppn, flags, entry, root, tag, ttbr]) => [pte(ppn!, flags!), ptePpn(entry!), baseRoot(ttbr!), baseTag(ttbr!), makeBase(root!, tag!)],
    formula: (z, input) => {
      const [ppn, flags, entry, root, tag, ttbr] = input.map((v) => k(z, v));
      return [pteZ(z, ppn!, flags!), ptePpnZ(z, entry!), baseRootZ(z, ttbr!), baseTagZ(z, ttbr!), makeBaseZ(z, root!, tag!)];
    },
  },
};

// ---------------------------------------------------------------------------------------

/** walk's HW-MMU-10 check: a page number below 2^(32 − offsetBits) names an address below 2^32. */
function addressSizeOk(z: Z, g: Geo, ppn: BV): B {
  return wide(ppn).ult(pow2(z, k(z, 32).sub(g.offsetBits)));
}

/** translate's output: `ppn * pageBytes + (va & (pageBytes − 1))`, exactly. */
function outputAddress(z: Z, g: Geo, ppn: BV, va: BV): BV {
  return wide(ppn).mul(pageBytes(z, g)).add(wide(pageOffset(z, g, va)));
}

function outputClaim(z: Z, checked: boolean) {
  const { g, t, vars } = geoVars(z, { va: 32, ppn: 32 });
  const pa = outputAddress(z, g, t.ppn, t.va);
  const ok = checked ? addressSizeOk(z, g, t.ppn) : z.Bool.val(true);
  return obligation(
    vars,
    [validGeometry(z, g), inInputRange(z, g, t.va), t.ppn.ult(k(z, 2 ** 28))],
    z.Implies(ok, z.And(pa.ult(pow2(z, k(z, 32))), pa.udiv(pageBytes(z, g)).eq(wide(t.ppn)), pa.urem(pageBytes(z, g)).eq(wide(pageOffset(z, g, t.va))))),
  );
}

/** translate's result for a load at `va` mapped (one stage, EL1) to page `ppn`: [ok, pa]. */
function translated(input: readonly number[]): number[] {
  const geo = geometryOfSample(input)!;
  const [va, ppn] = [input[3]!, input[4]!];
  const mapped = mapPage(geo, emptyStore(geo.ramWords), 0, va, ppn, PTE_ALL, [1, 2, 3]);
  if (!mapped.ok) throw new Error(`mapPage failed for sample ${input.join(',')}`);
  const base = resetCpu(1);
  const cpu: Cpu = { ...base, sys: setSys(setSys(base.sys, SYS.SCTLR_EL1, SCTLR_M), SYS.TTBR0_EL1, makeBase(0, 1)) };
  const r = translate(geo, mapped.value.memory, cpu, va, 'load', []);
  return r.ok ? [1, r.pa] : [0, 0];
}

export const outputLemma: Lemma = {
  name: 'page-table/output-address',
  costly: true,
  group: GROUP,
  rules: ['HW-MMU-10', 'HW-MMU-6'],
  code: ['src/hw/mmu.ts: walk (address-size check)', 'src/hw/translate.ts: translate'],
  claim:
    'For every valid geometry, every address va < 2^vaBits and every 28-bit page number ppn that passes the walk\'s address-size check (ppn < 2^(32 − offsetBits)): ' +
    'the output address ppn × pageBytes + (va & (pageBytes − 1)) is below 2^32, lies in page ppn and keeps the page offset of va.',
  obligation: (z) => outputClaim(z, true),
  broken: [{ name: 'no-address-size-check', change: 'the walk accepts every page number an entry can hold (no HW-MMU-10 check)', obligation: (z) => outputClaim(z, false) }],
  mirror: {
    samples: geoSamples(0x0a7, 300, (next, shape) => [address(next, shape), next() % 2 === 0 ? word(next) % 2 ** 28 : between(next, 0, 2 ** (32 - shape[0]! - 2) - 1)]),
    code: translated,
    formula: (z, input) => {
      const g = constGeo(z, input);
      const ok = addressSizeOk(z, g, k(z, input[4]!));
      return [flag(z, ok), z.If(ok, outputAddress(z, g, k(z, input[4]!), k(z, input[3]!)), wideZero(z))];
    },
  },
};

export const PAGE_TABLE_LEMMAS: readonly Lemma[] = [geometryLemma, indicesLemma, walkLemma, formatLemma, outputLemma];
