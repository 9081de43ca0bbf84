/**
 * Physical memory: an immutable array of 32-bit words, stored as a persistent radix tree.
 *
 * A write copies only the path from the root to one 64-word leaf (64 + 16·depth slots), so
 * every earlier machine state stays valid and shares everything else with the new one.
 * Untouched memory is one shared all-zero subtree per level, so a 16 MiB machine costs a few
 * hundred bytes until it is written (HW-MEM-1..3 in spec/hardware.md). The same structure
 * backs the block device's sectors.
 *
 * @module
 */

const LEAF_BITS = 6;
const LEAF_SIZE = 1 << LEAF_BITS;
const BRANCH_BITS = 4;
const BRANCH_SIZE = 1 << BRANCH_BITS;
const BRANCH_MASK = BRANCH_SIZE - 1;
const LEAF_MASK = LEAF_SIZE - 1;

/** A radix node: a leaf of words, or an inner node of 16 children. */
export type RadixNode = readonly number[] | readonly RadixNode[];

/** An immutable array of `size` words, all initially zero. */
export interface WordStore {
  /** Number of addressable words. */
  readonly size: number;
  /** Inner levels above the leaves. */
  readonly depth: number;
  readonly root: RadixNode;
}

/** ZERO[d]: the all-zero subtree of height d, shared by every store (it is never mutated). */
const ZERO: readonly RadixNode[] = (() => {
  const levels: RadixNode[] = [new Array<number>(LEAF_SIZE).fill(0)];
  for (let d = 1; d <= 8; d++) levels.push(new Array<RadixNode>(BRANCH_SIZE).fill(levels[d - 1]!));
  return levels;
})();

/** A store of `size` zero words (HW-MEM-1: memory powers up zeroed). */
export function emptyStore(size: number): WordStore {
  size = Math.max(0, Math.min(size, LEAF_SIZE * BRANCH_SIZE ** (ZERO.length - 1)));
  let depth = 0;
  while (LEAF_SIZE * BRANCH_SIZE ** depth < size) depth++;
  return { size, depth, root: ZERO[depth]! };
}

/** Reads word `index`; outside [0, size) reads 0 (callers check bounds first). */
export function readWord(store: WordStore, index: number): number {
  if (index < 0 || index >= store.size) return 0;
  let node: RadixNode = store.root;
  for (let shift = LEAF_BITS + BRANCH_BITS * (store.depth - 1); shift >= LEAF_BITS; shift -= BRANCH_BITS) {
    node = (node as readonly RadixNode[])[(index >>> shift) & BRANCH_MASK]!;
  }
  return (node as readonly number[])[index & LEAF_MASK]!;
}

function setPath(node: RadixNode, index: number, shift: number, value: number): RadixNode {
  if (shift < LEAF_BITS) {
    const leaf = (node as readonly number[]).slice();
    leaf[index & LEAF_MASK] = value;
    return leaf;
  }
  const inner = (node as readonly RadixNode[]).slice();
  const slot = (index >>> shift) & BRANCH_MASK;
  inner[slot] = setPath(inner[slot]!, index, shift - BRANCH_BITS, value);
  return inner;
}

/** Writes word `index` (as an unsigned 32-bit value); outside [0, size) is ignored. */
export function writeWord(store: WordStore, index: number, value: number): WordStore {
  if (index < 0 || index >= store.size) return store;
  value = value >>> 0;
  if (readWord(store, index) === value) return store;
  return {
    size: store.size,
    depth: store.depth,
    root: setPath(store.root, index, LEAF_BITS + BRANCH_BITS * (store.depth - 1), value),
  };
}

/** Reads `count` words from `index`. */
export function readWords(store: WordStore, index: number, count: number): number[] {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = readWord(store, index + i);
  return out;
}

/** Writes `words` from `index`. */
export function writeWords(store: WordStore, index: number, words: readonly number[]): WordStore {
  let s = store;
  for (let i = 0; i < words.length; i++) s = writeWord(s, index + i, words[i]!);
  return s;
}

/**
 * Calls `visit(index, value)` for every non-zero word in ascending order, skipping shared
 * zero subtrees (for canonical encodings and fingerprints of sparse memories).
 */
export function forEachNonZero(store: WordStore, visit: (index: number, value: number) => void): void {
  const walk = (node: RadixNode, level: number, base: number): void => {
    if (node === ZERO[level]) return;
    if (level === 0) {
      const leaf = node as readonly number[];
      for (let i = 0; i < LEAF_SIZE; i++) {
        const v = leaf[i]!;
        if (v !== 0 && base + i < store.size) visit(base + i, v);
      }
      return;
    }
    const span = LEAF_SIZE * BRANCH_SIZE ** (level - 1);
    const children = node as readonly RadixNode[];
    for (let i = 0; i < BRANCH_SIZE; i++) walk(children[i]!, level - 1, base + i * span);
  };
  walk(store.root, store.depth, 0);
}

/**
 * Calls `visit(index, before, after)` for every word that differs between two stores of the
 * same size, in ascending order. Subtrees the two share are skipped, so the cost is that of
 * the paths a step rewrote, not of the memory (HW-MEM-3: stores share what they did not change).
 */
export function forEachChange(a: WordStore, b: WordStore, visit: (index: number, before: number, after: number) => void): void {
  if (a.size !== b.size || a.depth !== b.depth) return;
  const walk = (x: RadixNode, y: RadixNode, level: number, base: number): void => {
    if (x === y) return;
    if (level === 0) {
      const lx = x as readonly number[];
      const ly = y as readonly number[];
      for (let i = 0; i < LEAF_SIZE; i++) {
        if (lx[i] !== ly[i] && base + i < a.size) visit(base + i, lx[i]!, ly[i]!);
      }
      return;
    }
    const span = LEAF_SIZE * BRANCH_SIZE ** (level - 1);
    const cx = x as readonly RadixNode[];
    const cy = y as readonly RadixNode[];
    for (let i = 0; i < BRANCH_SIZE; i++) walk(cx[i]!, cy[i]!, level - 1, base + i * span);
  };
  walk(a.root, b.root, a.depth, 0);
}
