/**
 * The machine geometry as the page-table lemmas quantify over it: `offsetBits` (log2 of the
 * page size in bytes), `levels` and `bits` (index bits per level) as symbolic 32-bit values,
 * constrained to what `validateMachineConfig` accepts (HW-CFG-1, -3, -4, -5), and the
 * quantities `geometryOf` derives from them (HW-CFG-6).
 *
 * A valid frame holds a power of two of words (HW-CFG-3), so `wordsPerFrame = 2^(offsetBits−2)`
 * and the page size `2^offsetBits` cover every valid frame size.
 *
 * @module
 */
import { geometryOf, validateMachineConfig, type Geometry, type MachineConfig } from '../../src/hw/index.ts';
import { jsShl, k, pow2, wide, WIDE } from './bv.ts';
import type { B, BV, Z } from './z3.ts';

/** A symbolic (or constant) geometry. */
export interface Geo {
  readonly levels: BV;
  readonly offsetBits: BV;
  readonly bits: BV;
}

/** Which validation rules the constraint keeps (a broken model drops one). */
export interface GeometryRules {
  /** HW-CFG-4: a table fits in one frame. */
  readonly tableFitsFrame: boolean;
  /** HW-CFG-5: offsetBits + levels × bits ≤ 32. */
  readonly addressFitsWord: boolean;
}

export const ALL_RULES: GeometryRules = { tableFitsFrame: true, addressFitsWord: true };

/** The geometry constraint of `validateMachineConfig` (HW-CFG-1, -3, -4, -5). */
export function validGeometry(z: Z, g: Geo, rules: GeometryRules = ALL_RULES): B {
  const c = (n: number) => k(z, n);
  return z.And(
    g.offsetBits.uge(c(4)), // wordsPerFrame 4..1024, a power of two (HW-CFG-1, HW-CFG-3)
    g.offsetBits.ule(c(12)),
    g.levels.uge(c(1)), // 1..4 levels
    g.levels.ule(c(4)),
    g.bits.uge(c(1)), // 1..10 index bits
    g.bits.ule(c(10)),
    // HW-CFG-4: 2^bits ≤ wordsPerFrame = 2^(offsetBits − 2).
    rules.tableFitsFrame ? g.bits.add(c(2)).ule(g.offsetBits) : z.Bool.val(true),
    // HW-CFG-5: offsetBits + levels × bits ≤ 32.
    rules.addressFitsWord ? vaBits(z, g).ule(c(32)) : z.Bool.val(true),
  );
}

/** vaBits = offsetBits + levels × bits (HW-CFG-6). */
export function vaBits(_z: Z, g: Geo): BV {
  return g.offsetBits.add(g.levels.mul(g.bits));
}

/** The shift of level `level`'s index field: offsetBits + (levels − 1 − level) × bits (HW-MMU-3). */
export function levelShift(z: Z, g: Geo, level: number): BV {
  return g.offsetBits.add(g.levels.sub(k(z, 1 + level)).mul(g.bits));
}

/** The index mask `(1 << bits) − 1`, as JavaScript computes it. */
export function indexMask(z: Z, g: Geo): BV {
  return jsShl(z, k(z, 1), g.bits).sub(k(z, 1));
}

/** pageBytes = 2^offsetBits, exact. */
export function pageBytes(z: Z, g: Geo): BV {
  return pow2(z, g.offsetBits);
}

/** addr < 2^vaBits, exactly (HW-MMU-9: only such addresses are walked). */
export function inInputRange(z: Z, g: Geo, addr: BV): B {
  return wide(addr).ult(pow2(z, vaBits(z, g)));
}

/** Level `level` exists: level < levels. */
export function hasLevel(z: Z, g: Geo, level: number): B {
  return k(z, level).ult(g.levels);
}

/** The constant geometry of a sample: [log2 wordsPerFrame, levels, bits, ...]. */
export function constGeo(z: Z, input: readonly number[]): Geo {
  return { offsetBits: k(z, input[0]! + 2), levels: k(z, input[1]!), bits: k(z, input[2]!) };
}

/** The machine configuration with `2^wpfLog` words per frame and the given table shape. */
export function configOf(wpfLog: number, levels: number, bits: number): MachineConfig {
  return { cpus: 1, frames: 4, wordsPerFrame: 2 ** wpfLog, pageTableLevels: levels, pageTableIndexBits: bits, tlbEntries: 1, irqLines: 4, devices: [] };
}

/** The validated geometry of a sample, or null if `validateMachineConfig` rejects it. */
export function geometryOfSample(input: readonly number[]): Geometry | null {
  const v = validateMachineConfig(configOf(input[0]!, input[1]!, input[2]!));
  return v._tag === 'Right' ? geometryOf(v.right) : null;
}

/** Every [log2 wordsPerFrame, levels, bits] that `validateMachineConfig` accepts (for drawing samples). */
export const VALID_SHAPES: readonly (readonly [number, number, number])[] = (() => {
  const out: [number, number, number][] = [];
  for (let w = 0; w <= 12; w++) for (let l = 0; l <= 5; l++) for (let b = 0; b <= 11; b++) if (geometryOfSample([w, l, b]) !== null) out.push([w, l, b]);
  return out;
})();

/**
 * `body` for the symbolic geometry `g`, case by case over the shapes `validateMachineConfig`
 * accepts (VALID_SHAPES): `g` is one of them, and if `g` is a given one, `body` holds of it as
 * constants. Stated under `validGeometry(g)`, the first part proves the list complete; the
 * cases let Z3 fold a division by 2^shift into a shift — a symbolic 64-bit divider is far
 * slower. `extra` adds shapes a broken geometry constraint lets in.
 */
export function byShape(z: Z, g: Geo, body: (c: Geo) => B, extra: readonly (readonly number[])[] = []): B {
  const is = ([w, l, b]: readonly number[]) => z.And(g.offsetBits.eq(k(z, w! + 2)), g.levels.eq(k(z, l!)), g.bits.eq(k(z, b!)));
  const shapes = [...VALID_SHAPES, ...extra];
  return z.And(z.Or(...shapes.map(is)), ...shapes.map((s) => z.Implies(is(s), body(constGeo(z, s)))));
}

/** Wide zero, for padding the outputs of levels a geometry does not have. */
export function wideZero(z: Z): BV {
  return k(z, 0, WIDE);
}
