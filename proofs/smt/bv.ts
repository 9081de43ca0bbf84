/**
 * Bit-vector vocabulary shared by the lemmas: constants, variables, JavaScript's 32-bit
 * operators written as Z3 terms, and half-open ranges of integers.
 *
 * Two kinds of arithmetic appear in the code under proof, and the formulas keep them apart:
 * - JavaScript's bitwise operators (`&`, `|`, `<<`, `>>>`) work on 32-bit words, and take a
 *   shift count modulo 32; they are written on 32-bit vectors with the count masked (`jsShr`).
 * - `+`, `*`, `/` and comparisons on numbers are exact (below 2^53) and never wrap; they are
 *   written on 64-bit vectors of zero-extended 32-bit values (`wide`), which hold every sum and
 *   product the code forms without overflow.
 *
 * @module
 */
import type { B, BV, Obligation, Var, Z } from './z3.ts';

/** Width of the exact ("wide") arithmetic. */
export const WIDE = 64;

/** The constant `n` as a `width`-bit vector. */
export function k(z: Z, n: number | bigint, width = 32): BV {
  return z.BitVec.val(BigInt(n), width);
}

/** Declares free variables of the given widths, in order; returns them by name and as a list. */
export function declare<N extends string>(z: Z, widths: Readonly<Record<N, number>>): { readonly t: Readonly<Record<N, BV>>; readonly vars: readonly Var[] } {
  const t = {} as Record<N, BV>;
  const vars: Var[] = [];
  for (const name of Object.keys(widths) as N[]) {
    const term = z.BitVec.const(name, widths[name]);
    t[name] = term;
    vars.push({ name, term });
  }
  return { t, vars };
}

/** Builds an obligation. */
export function obligation(vars: readonly Var[], assume: readonly B[], claim: B): Obligation {
  return { vars, assume, claim };
}

/** A 32-bit value zero-extended to the wide width: an exact JavaScript number. */
export function wide(x: BV): BV {
  return x.size() === WIDE ? x : x.zeroExt(WIDE - x.size());
}

/** `x >>> s` in JavaScript: the count is taken modulo 32. */
export function jsShr(z: Z, x: BV, s: BV): BV {
  return x.lshr(s.and(k(z, 31)));
}

/** `x << s` in JavaScript (as a 32-bit pattern): the count is taken modulo 32. */
export function jsShl(z: Z, x: BV, s: BV): BV {
  return x.shl(s.and(k(z, 31)));
}

/** `2 ** s` exactly, for 0 ≤ s < 64, as a wide vector. */
export function pow2(z: Z, s: BV): BV {
  return k(z, 1, WIDE).shl(wide(s));
}

/** Whether any bit of `mask` is set in `x`. */
export function has(z: Z, x: BV, mask: number): B {
  return x.and(k(z, mask, x.size())).neq(k(z, 0, x.size()));
}

/** A Boolean as a 1-bit vector (for comparing with code that returns true/false as 1/0). */
export function flag(z: Z, b: B): BV {
  return z.If(b, k(z, 1, 1), k(z, 0, 1));
}

/** Unsigned minimum and maximum. */
export function umin(z: Z, a: BV, b: BV): BV {
  return z.If(a.ule(b), a, b);
}
export function umax(z: Z, a: BV, b: BV): BV {
  return z.If(a.uge(b), a, b);
}

/** The half-open range [lo, hi) of wide integers. */
export interface Range {
  readonly lo: BV;
  readonly hi: BV;
}

export function range(lo: BV, hi: BV): Range {
  return { lo, hi };
}

/** x ∈ [lo, hi). */
export function member(z: Z, x: BV, r: Range): B {
  return z.And(r.lo.ule(x), x.ult(r.hi));
}

export function nonEmpty(r: Range): B {
  return r.lo.ult(r.hi);
}

/**
 * The two ranges share a point. For non-empty ranges this is "some x lies in both", because
 * max(lo, lo') lies in both whenever any point does (lemma ranges/interval-points).
 */
export function shared(z: Z, a: Range, b: Range): B {
  const p = umax(z, a.lo, b.lo);
  return z.And(member(z, p, a), member(z, p, b));
}

/**
 * Non-empty range `a` lies inside `b`. This is "every x of a is in b", because a range holds
 * every point between its first and last (lemma ranges/interval-points).
 */
export function within(z: Z, a: Range, b: Range): B {
  return z.And(member(z, a.lo, b), member(z, a.hi.sub(k(z, 1, WIDE)), b));
}

/** x as an unsigned 32-bit number, for sample values and code outputs. */
export function u32(x: number): number {
  return x >>> 0;
}
