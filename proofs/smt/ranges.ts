/**
 * CHK-SMT-3: range arithmetic, for all 32-bit bases, sizes and counts — the kernel's tests for
 * disjoint and nested memory (MK-INV-5, MK-INV-6), where Retype places objects (MK-OBJ-2), the
 * block device's sector check (HW-DEV-2) and the hypervisor's storage allowance (HV-MEM-5).
 *
 * The code adds with exact JavaScript numbers, so its ranges never wrap; each range lemma has
 * a broken variant that adds in 32-bit arithmetic, as a C port might, and is refuted by a
 * range that wraps past 2^32.
 *
 * @module
 */
import { BLOCK_CMD, BLOCK_REG, BLOCK_STATUS, deviceRead, deviceWrite, resetMachine } from '../../src/hw/index.ts';
import { storageSector } from '../../src/hypervisor/devices.ts';
import { carve } from '../../src/kernel/untyped.ts';
import { declare, flag, jsShl, k, member, nonEmpty, obligation, pow2, range, shared, umin, wide, WIDE, within, type Range } from './bv.ts';
import { stateWith, violations } from './kernel-state.ts';
import type { Lemma } from './lemma.ts';
import { between, drawSamples, EDGE_32, oneOf, word } from './samples.ts';
import type { B, BV, Z } from './z3.ts';

const GROUP = 'CHK-SMT-3';

/** How a variant adds a base and a size: exactly (the code) or modulo 2^32 (broken). */
type Sum = 'exact' | 'wrap32';

/** [base, base + size) as the code forms it; `wrap32` drops the carry out of bit 31. */
function span(base: BV, size32: BV, sum: Sum): Range {
  return sum === 'exact' ? range(wide(base), wide(base).add(wide(size32))) : range(wide(base), wide(base.add(size32)));
}

/** [base, base + 2^sizeBits): `region(o)` in src/kernel/invariants.ts, exact; `wrap32` adds modulo 2^32. */
function region(z: Z, base: BV, sizeBits: BV, sum: Sum = 'exact'): Range {
  return sum === 'exact' ? range(wide(base), wide(base).add(pow2(z, sizeBits))) : range(wide(base), wide(base.add(jsShl(z, k(z, 1), sizeBits))));
}

// ---------------------------------------------------------------------------------------

function pointsClaim(z: Z, lowest: boolean) {
  const { t, vars } = declare(z, { aLo: WIDE, aHi: WIDE, bLo: WIDE, bHi: WIDE, x: WIDE });
  const a = range(t.aLo, t.aHi);
  const b = range(t.bLo, t.bHi);
  // The broken variant looks for a common point at the lower of the two starts.
  const sharedAt = lowest ? z.And(member(z, umin(z, a.lo, b.lo), a), member(z, umin(z, a.lo, b.lo), b)) : shared(z, a, b);
  return obligation(
    vars,
    [nonEmpty(a), nonEmpty(b)],
    z.And(
      z.Implies(z.And(member(z, t.x, a), member(z, t.x, b)), sharedAt),
      z.Implies(z.And(within(z, a, b), member(z, t.x, a)), member(z, t.x, b)),
      member(z, a.lo, a),
      member(z, a.hi.sub(k(z, 1, WIDE)), a),
    ),
  );
}

export const pointsLemma: Lemma = {
  name: 'ranges/interval-points',
  group: GROUP,
  rules: [],
  code: [],
  claim:
    'For all non-empty ranges A = [a, a\'), B = [b, b\') of 64-bit integers and every x: if x is in both, max(a, b) is in both; if a and a\' − 1 are in B, x in A is in B; ' +
    'a and a\' − 1 are in A. So "shared" (max(a, b) in both) means A ∩ B ≠ ∅, and "within" (a and a\' − 1 in B) means A ⊆ B: the set meaning the other range lemmas use.',
  obligation: (z) => pointsClaim(z, false),
  broken: [{ name: 'min-start', change: 'look for the common point at min(a, b) instead of max(a, b)', obligation: (z) => pointsClaim(z, true) }],
  mirror: null,
};

// ---------------------------------------------------------------------------------------

type PairTest = 'code' | 'strict';

/** untypedNesting's tests on [a, b) and [c, d): disjoint `b <= c || d <= a`, nested `(a <= c && d <= b) || (c <= a && b <= d)`. */
function nestingTests(z: Z, x: Range, y: Range, test: PairTest): { disjoint: B; nested: B } {
  const le = (p: BV, q: BV) => (test === 'strict' ? p.ult(q) : p.ule(q));
  return {
    disjoint: z.Or(le(x.hi, y.lo), le(y.hi, x.lo)),
    nested: z.Or(z.And(x.lo.ule(y.lo), y.hi.ule(x.hi)), z.And(y.lo.ule(x.lo), x.hi.ule(y.hi))),
  };
}

function nestingClaim(z: Z, test: PairTest, sum: Sum) {
  const { t, vars } = declare(z, { a: 32, aBits: 32, b: 32, bBits: 32 });
  const [x, y] = [region(z, t.a, t.aBits), region(z, t.b, t.bBits)];
  const code = nestingTests(z, region(z, t.a, t.aBits, sum), region(z, t.b, t.bBits, sum), test);
  return obligation(
    vars,
    [t.aBits.ule(k(z, 32)), t.bBits.ule(k(z, 32))],
    z.And(code.disjoint.eq(z.Not(shared(z, x, y))), code.nested.eq(z.Or(within(z, x, y), within(z, y, x)))),
  );
}

export const nestingLemma: Lemma = {
  name: 'ranges/untyped-nesting',
  costly: true,
  group: GROUP,
  rules: ['MK-INV-5'],
  code: ['src/kernel/invariants.ts: untyped_nesting (region, untypedNesting)'],
  claim:
    'For all 32-bit bases a, b and sizes 2^0..2^32 of two untyped regions A = [a, a + 2^m), B = [b, b + 2^n): the invariant\'s test b_end <= b || a_end <= a holds iff A ∩ B = ∅, ' +
    'and its nesting test holds iff A ⊆ B or B ⊆ A; so it flags exactly the regions that overlap without nesting, wrap-around past 2^32 included.',
  obligation: (z) => nestingClaim(z, 'code', 'exact'),
  broken: [
    { name: 'strict-compare', change: '< instead of <= in the disjointness test', obligation: (z) => nestingClaim(z, 'strict', 'exact') },
    { name: 'wrap-32', change: 'region ends computed modulo 2^32', obligation: (z) => nestingClaim(z, 'code', 'wrap32') },
  ],
  mirror: {
    samples: drawSamples(0x7e57, 300, (next) => {
      const bits = () => (next() % 4 === 0 ? between(next, 0, 32) : between(next, 4, 12));
      const base = (m: number) => (next() % 2 === 0 ? word(next) : (between(next, 0, 64) * 2 ** m) % 2 ** 32);
      const [m, n] = [bits(), bits()];
      return [base(m), m, base(n), n];
    }),
    code: ([a, m, b, n]) => {
      const ut = (base: number, sizeBits: number) => ({ type: 'untyped' as const, base, sizeBits, watermark: 0, device: false });
      return [violations('untyped_nesting', stateWith([ut(a!, m!), ut(b!, n!)])).length > 0 ? 1 : 0];
    },
    formula: (z, [a, m, b, n]) => {
      const t = nestingTests(z, region(z, k(z, a!), k(z, m!)), region(z, k(z, b!), k(z, n!)), 'code');
      return [flag(z, z.And(z.Not(t.disjoint), z.Not(t.nested)))];
    },
  },
};

// ---------------------------------------------------------------------------------------

/** memoryOwnership's sweep over two objects: sorted by base (stably), flags `prev.end > cur.base`. */
function sweepFlags(z: Z, x: Range, y: Range, orEqual: boolean): B {
  const [first, second] = [x, y];
  const overlaps = (p: Range, q: Range) => (orEqual ? p.hi.uge(q.lo) : p.hi.ugt(q.lo));
  return z.If(first.lo.ule(second.lo), overlaps(first, second), overlaps(second, first));
}

function ownershipClaim(z: Z, orEqual: boolean, sum: Sum) {
  const { t, vars } = declare(z, { a: 32, aBits: 32, b: 32, bBits: 32 });
  const [x, y] = [region(z, t.a, t.aBits), region(z, t.b, t.bBits)];
  const flagged = sweepFlags(z, region(z, t.a, t.aBits, sum), region(z, t.b, t.bBits, sum), orEqual);
  return obligation(vars, [t.aBits.ule(k(z, 32)), t.bBits.ule(k(z, 32))], flagged.eq(shared(z, x, y)));
}

export const ownershipLemma: Lemma = {
  name: 'ranges/memory-ownership',
  group: GROUP,
  rules: ['MK-INV-6'],
  code: ['src/kernel/invariants.ts: memory_ownership (memoryOwnership)'],
  claim:
    'For all 32-bit bases and sizes 2^0..2^32 of two objects: the sweep\'s test — after sorting by base, the earlier object\'s end > the later one\'s base — ' +
    'holds iff their memory intersects, so objects that merely touch are not flagged and overlapping ones always are.',
  obligation: (z) => ownershipClaim(z, false, 'exact'),
  broken: [
    { name: 'touching-overlaps', change: '>= instead of > (an object ending where the next begins is flagged)', obligation: (z) => ownershipClaim(z, true, 'exact') },
    { name: 'wrap-32', change: 'object ends computed modulo 2^32', obligation: (z) => ownershipClaim(z, false, 'wrap32') },
  ],
  mirror: {
    samples: drawSamples(0x0b7, 300, (next) => {
      const bits = () => (next() % 4 === 0 ? between(next, 0, 32) : between(next, 4, 12));
      const [m, n] = [bits(), bits()];
      const a = next() % 2 === 0 ? word(next) : between(next, 0, 64) * 16;
      // Half the time the second object starts at, inside or right after the first.
      const b = next() % 2 === 0 ? (a + oneOf(next, [0, 1, 2 ** m - 1, 2 ** m, 2 ** m + 1])) % 2 ** 32 : word(next);
      return [a, m, b, n];
    }),
    code: ([a, m, b, n]) => {
      const ep = (base: number, sizeBits: number) => ({ type: 'endpoint' as const, base, sizeBits, queue: { kind: 'idle' as const } });
      return [violations('memory_ownership', stateWith([ep(a!, m!), ep(b!, n!)])).length > 0 ? 1 : 0];
    },
    formula: (z, [a, m, b, n]) => [flag(z, sweepFlags(z, region(z, k(z, a!), k(z, m!)), region(z, k(z, b!), k(z, n!)), false))],
  },
};

// ---------------------------------------------------------------------------------------

/**
 * `carve(ut, bits, count)` (src/kernel/untyped.ts), exactly, from `from = base + watermark` and
 * `top = base + 2^sizeBits`: start = ⌈from / size⌉ × size, end = start + count × size, placed
 * iff end ≤ top. `floor` is the broken model.
 */
function carveZ(z: Z, from: BV, top: BV, size: BV, count: BV, floor = false): { ok: B; start: BV; end: BV } {
  const start = (floor ? from : from.add(size).sub(k(z, 1, WIDE))).udiv(size).mul(size);
  const end = start.add(wide(count).mul(size));
  return { ok: end.ule(top), start, end };
}

/** carve's inputs from an untyped's fields: [from, top]. */
function carveBounds(z: Z, base: BV, sizeBits: BV, watermark: BV): [BV, BV] {
  return [wide(base).add(wide(watermark)), wide(base).add(pow2(z, sizeBits))];
}

function carveClaim(z: Z, floor: boolean) {
  const { t, vars } = declare(z, { from: WIDE, top: WIDE, bits: 32, count: 32 });
  // Case by case over the object size 2^0..2^32, so that dividing by it is a shift (a
  // symbolic 64-bit divider is far slower); the assumption bits ≤ 32 makes the cases complete.
  const forSize = (bits: number): B => {
    const size = k(z, 2 ** bits, WIDE);
    const c = carveZ(z, t.from, t.top, size, t.count, floor);
    const placed = z.And(t.from.ule(c.start), c.start.sub(t.from).ult(size), c.start.urem(size).eq(k(z, 0, WIDE)), c.end.ule(t.top));
    return z.Implies(t.bits.eq(k(z, bits)), z.Implies(c.ok, placed));
  };
  return obligation(
    vars,
    // from = base + watermark and top = base + 2^sizeBits for 32-bit base and watermark, sizeBits ≤ 32.
    [t.from.ult(k(z, 2n ** 33n, WIDE)), t.top.ult(k(z, 2n ** 33n, WIDE)), t.bits.ule(k(z, 32)), t.count.uge(k(z, 1)), t.count.ule(k(z, 16))],
    z.And(...Array.from({ length: 33 }, (_, bits) => forSize(bits))),
  );
}

export const carveLemma: Lemma = {
  name: 'ranges/retype-carve',
  costly: true,
  group: GROUP,
  rules: ['MK-OBJ-2', 'MK-INV-1', 'MK-INV-6'],
  code: ['src/kernel/untyped.ts: carve (Untyped_Retype)'],
  claim:
    'For every from = base + watermark and top = base + 2^sizeBits of a 32-bit base and watermark (both below 2^33), every object size 2^0..2^32 and count 1..16: ' +
    'when Retype places the objects, their start is the first multiple of the object size at or above from (from ≤ start < from + size, start aligned) ' +
    'and they end at start + count × size ≤ top — so they lie above everything retyped before and inside the untyped, the new watermark end − base is between ' +
    'the old one and 2^sizeBits, and Retype refuses only when even the first aligned place has no room.',
  obligation: (z) => carveClaim(z, false),
  broken: [{ name: 'floor-watermark', change: 'the watermark rounded down (Math.floor) instead of up', obligation: (z) => carveClaim(z, true) }],
  mirror: {
    samples: drawSamples(0xca7e, 300, (next) => {
      const sizeBits = next() % 4 === 0 ? between(next, 0, 32) : between(next, 4, 30);
      const base = next() % 2 === 0 ? (between(next, 0, 16) * 2 ** sizeBits) % 2 ** 32 : word(next);
      const watermark = Math.min(2 ** sizeBits, 2 ** 32 - 1, next() % 2 === 0 ? word(next) : oneOf(next, [0, 1, 2 ** sizeBits, 2 ** sizeBits - 1, 2 ** (sizeBits - 1)]));
      return [base, sizeBits, Math.floor(watermark), next() % 3 === 0 ? between(next, 0, 32) : between(next, 4, 12), between(next, 1, 16)];
    }),
    code: ([base, sizeBits, watermark, bits, count]) => {
      const place = carve({ type: 'untyped', base: base!, sizeBits: sizeBits!, watermark: watermark!, device: false }, bits!, count!);
      return place === null ? [0, 0, 0] : [1, place.start, place.end];
    },
    formula: (z, [base, sizeBits, watermark, bits, count]) => {
      const [from, top] = carveBounds(z, k(z, base!), k(z, sizeBits!), k(z, watermark!));
      const c = carveZ(z, from, top, pow2(z, k(z, bits!)), k(z, count!));
      return [flag(z, c.ok), z.If(c.ok, c.start, k(z, 0, WIDE)), z.If(c.ok, c.end, k(z, 0, WIDE))];
    },
  },
};

// ---------------------------------------------------------------------------------------

/** The block device's range check (src/hw/devices/block.ts runCommand): true = RANGE_ERROR. */
function blockRejects(z: Z, sector: BV, count: BV, sectors: BV, sum: Sum): B {
  const run = span(sector, count, sum);
  return z.Or(count.ult(k(z, 1)), count.ugt(k(z, 16)), run.hi.ugt(wide(sectors)));
}

function blockClaim(z: Z, sum: Sum) {
  const { t, vars } = declare(z, { sector: 32, count: 32, sectors: 32 });
  const run = span(t.sector, t.count, 'exact');
  const disk = range(k(z, 0, WIDE), wide(t.sectors));
  const fine = z.And(t.count.uge(k(z, 1)), t.count.ule(k(z, 16)), within(z, run, disk));
  return obligation(vars, [t.sectors.uge(k(z, 1)), t.sectors.ule(k(z, 2 ** 22))], z.Not(blockRejects(z, t.sector, t.count, t.sectors, sum)).eq(fine));
}

/** The STATUS after a READ of `count` sectors from `sector` on a disk of `sectors` (no IOMMU table: a DMA fault if in range). */
function blockStatus([sector, count, sectors]: readonly number[]): number[] {
  let m = resetMachine({ cpus: 1, frames: 4, wordsPerFrame: 4, pageTableLevels: 1, pageTableIndexBits: 2, tlbEntries: 1, irqLines: 4, devices: [{ kind: 'block', irq: 3, sectors: sectors! }] });
  for (const [reg, value] of [
    [BLOCK_REG.SECTOR, sector!],
    [BLOCK_REG.COUNT, count!],
    [BLOCK_REG.CMD, BLOCK_CMD.READ],
  ] as const) {
    m = deviceWrite(m, 0, reg, value).machine;
  }
  return [deviceRead(m, 0, BLOCK_REG.STATUS) === BLOCK_STATUS.RANGE_ERROR ? 1 : 0];
}

export const blockLemma: Lemma = {
  name: 'ranges/block-device',
  group: GROUP,
  rules: ['HW-DEV-2'],
  code: ['src/hw/devices/block.ts: runCommand (blockWrite)'],
  claim:
    'For all 32-bit SECTOR and COUNT registers and every disk of 1..2^22 sectors: a command passes the range check iff 1 ≤ COUNT ≤ 16 and every sector of ' +
    '[SECTOR, SECTOR + COUNT) is on the disk — including when SECTOR + COUNT passes 2^32.',
  obligation: (z) => blockClaim(z, 'exact'),
  broken: [{ name: 'wrap-32', change: 'SECTOR + COUNT computed modulo 2^32', obligation: (z) => blockClaim(z, 'wrap32') }],
  mirror: {
    samples: drawSamples(0xb10c, 300, (next) => {
      const sectors = oneOf(next, [1, 2, 7, 256, 4096, 2 ** 22]);
      const count = next() % 2 === 0 ? between(next, 0, 18) : word(next);
      const sector = next() % 2 === 0 ? between(next, 0, sectors + 2) : next() % 2 === 0 ? (2 ** 32 - between(next, 1, 20)) >>> 0 : word(next);
      return [sector, count, sectors];
    }),
    code: blockStatus,
    formula: (z, [sector, count, sectors]) => [flag(z, blockRejects(z, k(z, sector!), k(z, count!), k(z, sectors!), 'exact'))],
  },
};

// ---------------------------------------------------------------------------------------

/** `storageSector(storage, sector, count)` (src/hypervisor/devices.ts): [ok, first + sector]. */
function storageZ(z: Z, first: BV, n: BV, sector: BV, count: BV, sum: Sum): { ok: B; at: BV } {
  const run = span(sector, count, sum);
  return { ok: z.And(count.uge(k(z, 1)), run.hi.ule(wide(n))), at: wide(first).add(wide(sector)) };
}

function storageClaim(z: Z, sum: Sum) {
  const { t, vars } = declare(z, { first: 32, n: 32, sector: 32, count: 32, first2: 32, n2: 32, sector2: 32, count2: 32 });
  const one = storageZ(z, t.first, t.n, t.sector, t.count, sum);
  const two = storageZ(z, t.first2, t.n2, t.sector2, t.count2, sum);
  const reach1 = range(one.at, one.at.add(wide(t.count)));
  const reach2 = range(two.at, two.at.add(wide(t.count2)));
  return obligation(
    vars,
    // Allowances are laid out in order on a disk of at most 2^22 sectors (HV-MEM-5, HW-CFG-1).
    [wide(t.first).add(wide(t.n)).ule(wide(t.first2)), wide(t.first2).add(wide(t.n2)).ule(k(z, 2 ** 22, WIDE))],
    z.And(z.Implies(one.ok, within(z, reach1, range(wide(t.first), wide(t.first).add(wide(t.n))))), z.Implies(z.And(one.ok, two.ok), z.Not(shared(z, reach1, reach2)))),
  );
}

export const storageLemma: Lemma = {
  name: 'ranges/storage-allowance',
  costly: true,
  group: GROUP,
  rules: ['HV-MEM-5', 'HV-DEV-1'],
  code: ['src/hypervisor/devices.ts: storageSector (blockCommand)'],
  claim:
    'For all 32-bit SECTOR and COUNT registers of two domains whose allowances [first, first + n) and [first2, first2 + n2) lie in order on a disk of ' +
    'at most 2^22 sectors: a command the device model accepts reaches only disk sectors [first + SECTOR, first + SECTOR + COUNT) inside its own allowance, ' +
    'and the sectors two accepted commands of the two domains reach never meet.',
  obligation: (z) => storageClaim(z, 'exact'),
  broken: [{ name: 'wrap-32', change: 'SECTOR + COUNT computed modulo 2^32', obligation: (z) => storageClaim(z, 'wrap32') }],
  mirror: {
    samples: drawSamples(0x57a9, 300, (next) => {
      const n = oneOf(next, [0, 1, 8, 256, 2 ** 20]);
      const sector = next() % 2 === 0 ? between(next, 0, n + 2) : oneOf(next, EDGE_32);
      const count = next() % 2 === 0 ? between(next, 0, 20) : word(next);
      return [between(next, 0, 2 ** 21), n, sector, count];
    }),
    code: ([first, n, sector, count]) => {
      const at = storageSector({ first: first!, count: n! }, sector!, count!);
      return at === null ? [0, 0] : [1, at];
    },
    formula: (z, [first, n, sector, count]) => {
      const s = storageZ(z, k(z, first!), k(z, n!), k(z, sector!), k(z, count!), 'exact');
      return [flag(z, s.ok), z.If(s.ok, s.at, k(z, 0, WIDE))];
    },
  },
};

export const RANGE_LEMMAS: readonly Lemma[] = [pointsLemma, nestingLemma, ownershipLemma, carveLemma, blockLemma, storageLemma];
