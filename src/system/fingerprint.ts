/**
 * State fingerprints (SYS-7): a 64-bit hash of a canonical encoding of a whole system — the
 * machine (CPUs, TLBs, memory, interrupt controller, devices, IOMMU) and the supervisor's
 * state. Equal systems have equal fingerprints, whatever order their objects' keys were
 * built in; the model checker keeps fingerprints of visited states and the oracle prints the
 * fingerprint of every state it reaches.
 *
 * States are immutable and share structure from one step to the next (memory is a persistent
 * radix tree, the kernel's object table is copied on write), so the hash of every object is
 * cached by identity: a step rehashes only what it changed, and a 16 MiB machine costs its
 * zero pages once.
 *
 * This is a hot path (every oracle record, every state the model checker visits), so the two
 * 32-bit lanes of a hash travel in two module-level registers instead of a fresh pair per
 * value; they never hold anything between calls of `fingerprint`.
 *
 * @module
 */

/** Both lanes of every object hashed so far, by identity. */
const cache = new WeakMap<object, readonly [number, number]>();
/** Hashes of object keys: there are few distinct ones, met over and over. */
const keyA = new Map<string, number>();
const keyB = new Map<string, number>();

const SEED_A = 0x811c9dc5;
const SEED_B = 0x01000193;

/** The result lanes of the last hash* call. */
let outA = 0;
let outB = 0;

function mixA(h: number, v: number): number {
  return Math.imul(h ^ v, 0x01000193) >>> 0;
}

function mixB(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x5bd1e995);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Type tags keep values of different types that encode alike apart. */
const TAG = { undefined: 1, null: 2, false: 3, true: 4, int: 5, float: 6, string: 7, array: 8, object: 9, other: 10, map: 11, set: 12 } as const;

function hashString(s: string, tag: number): void {
  let a = mixA(mixA(SEED_A, tag), s.length);
  let b = mixB(mixB(SEED_B, tag), s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = mixA(a, c);
    b = mixB(b, c);
  }
  outA = a;
  outB = b;
}

function hashValue(v: unknown): void {
  switch (typeof v) {
    case 'number':
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff) {
        outA = mixA(mixA(SEED_A, TAG.int), v | 0);
        outB = mixB(mixB(SEED_B, TAG.int), v | 0);
      } else {
        hashString(String(v), TAG.float);
      }
      return;
    case 'object':
      if (v === null) {
        outA = mixA(SEED_A, TAG.null);
        outB = mixB(SEED_B, TAG.null);
      } else {
        hashObject(v);
      }
      return;
    case 'string':
      hashString(v, TAG.string);
      return;
    case 'boolean':
      outA = mixA(SEED_A, v ? TAG.true : TAG.false);
      outB = mixB(SEED_B, v ? TAG.true : TAG.false);
      return;
    case 'undefined':
      outA = mixA(SEED_A, TAG.undefined);
      outB = mixB(SEED_B, TAG.undefined);
      return;
    default:
      // Functions, symbols and bigints are not part of any state; hash their type only.
      hashString(typeof v, TAG.other);
  }
}

function hashKey(k: string): void {
  const a = keyA.get(k);
  if (a !== undefined) {
    outA = a;
    outB = keyB.get(k)!;
    return;
  }
  hashString(k, TAG.string);
  keyA.set(k, outA);
  keyB.set(k, outB);
}

/** The keys of `o` whose values are defined, sorted (canonical order). */
function sortedKeys(o: Record<string, unknown>): string[] {
  const keys: string[] = [];
  for (const k in o) if (Object.hasOwn(o, k) && o[k] !== undefined) keys.push(k);
  // Insertion sort: objects are small and their keys usually come in the same order.
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

/** A total order on Map keys and Set members: numbers numerically, then everything else by type and text. */
function compareKeys(x: unknown, y: unknown): number {
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  const tx = typeof x;
  const ty = typeof y;
  if (tx !== ty) return tx < ty ? -1 : 1;
  const sx = String(x);
  const sy = String(y);
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}

function hashObject(o: object): void {
  const cached = cache.get(o);
  if (cached !== undefined) {
    outA = cached[0];
    outB = cached[1];
    return;
  }
  let a: number;
  let b: number;
  if (Array.isArray(o)) {
    a = mixA(mixA(SEED_A, TAG.array), o.length);
    b = mixB(mixB(SEED_B, TAG.array), o.length);
    for (let i = 0; i < o.length; i++) {
      hashValue(o[i]);
      a = mixA(a, outA);
      b = mixB(b, outB);
    }
  } else if (o instanceof Map || o instanceof Set) {
    // Canonical: entries in the order of their keys, not of insertion (the hypervisor's p2m
    // and dirty-page set are a Map and a Set).
    const entries: [unknown, unknown][] = o instanceof Map ? [...(o as Map<unknown, unknown>)] : [...(o as Set<unknown>)].map((v) => [v, true]);
    entries.sort((x, y) => compareKeys(x[0], y[0]));
    const tag = o instanceof Map ? TAG.map : TAG.set;
    a = mixA(mixA(SEED_A, tag), entries.length);
    b = mixB(mixB(SEED_B, tag), entries.length);
    for (const [k, v] of entries) {
      hashValue(k);
      a = mixA(a, outA);
      b = mixB(b, outB);
      hashValue(v);
      a = mixA(a, outA);
      b = mixB(b, outB);
    }
  } else {
    // Canonical: keys in sorted order; a key whose value is undefined is as if absent.
    const record = o as Record<string, unknown>;
    const keys = sortedKeys(record);
    a = mixA(mixA(SEED_A, TAG.object), keys.length);
    b = mixB(mixB(SEED_B, TAG.object), keys.length);
    for (let i = 0; i < keys.length; i++) {
      hashKey(keys[i]!);
      a = mixA(a, outA);
      b = mixB(b, outB);
      hashValue(record[keys[i]!]);
      a = mixA(a, outA);
      b = mixB(b, outB);
    }
  }
  cache.set(o, [a, b]);
  outA = a;
  outB = b;
}

/** The fingerprint of any immutable JSON-like value, as 16 hex digits (SYS-7). */
export function fingerprint(value: unknown): string {
  hashValue(value);
  return outA.toString(16).padStart(8, '0') + outB.toString(16).padStart(8, '0');
}

/** The fingerprint as its two 32-bit lanes, for compact visited sets (SYS-7). */
export function fingerprintLanes(value: unknown): readonly [number, number] {
  hashValue(value);
  return [outA, outB];
}
