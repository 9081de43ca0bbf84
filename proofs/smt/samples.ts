/**
 * Sample inputs for tying a formula to the code it mirrors: the 32-bit edge cases (0, 1, the
 * top bit, all ones, every power of two and its neighbours) and a deterministic stream of
 * pseudo-random words, so that every run checks the same values.
 *
 * @module
 */

/** 0, 1, 2^k − 1, 2^k, 2^k + 1 for k = 1..31, 2^31 − 1, 2^32 − 2, 2^32 − 1; sorted, distinct. */
export const EDGE_32: readonly number[] = (() => {
  const out = new Set<number>([0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]);
  for (let s = 1; s < 32; s++) for (const d of [-1, 0, 1]) out.add((2 ** s + d) >>> 0);
  return [...out].sort((a, b) => a - b);
})();

/** A seeded generator of 32-bit words (mulberry32): the same seed gives the same stream. */
export function words(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A value of `gen` in [lo, hi]. */
export function between(next: () => number, lo: number, hi: number): number {
  return lo + (next() % (hi - lo + 1));
}

/** One element of `xs`. */
export function oneOf<T>(next: () => number, xs: readonly T[]): T {
  return xs[next() % xs.length]!;
}

/** A 32-bit value: an edge case half the time, a random word otherwise. */
export function word(next: () => number): number {
  return next() % 2 === 0 ? oneOf(next, EDGE_32) : next();
}

/** `n` samples drawn by `draw` from a stream seeded with `seed`, after the `fixed` ones. */
export function drawSamples(seed: number, n: number, draw: (next: () => number) => readonly number[], fixed: readonly (readonly number[])[] = []): (readonly number[])[] {
  const next = words(seed);
  const out: (readonly number[])[] = [...fixed];
  while (out.length < n) out.push(draw(next));
  return out;
}
