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
 * @module
 */

/** Two 32-bit lanes with different seeds and multipliers make one 64-bit hash. */
type Lanes = readonly [number, number];

const cache = new WeakMap<object, Lanes>();

const SEED_A = 0x811c9dc5;
const SEED_B = 0x01000193;

function mixA(h: number, v: number): number {
  return Math.imul(h ^ v, 0x01000193) >>> 0;
}

function mixB(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x5bd1e995);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Type tags keep values of different types that encode alike apart. */
const TAG = { undefined: 1, null: 2, false: 3, true: 4, int: 5, float: 6, string: 7, array: 8, object: 9 } as const;

function hashString(s: string, a: number, b: number): Lanes {
  a = mixA(a, TAG.string);
  b = mixB(b, TAG.string);
  a = mixA(a, s.length);
  b = mixB(b, s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = mixA(a, c);
    b = mixB(b, c);
  }
  return [a, b];
}

function hashValue(v: unknown): Lanes {
  switch (typeof v) {
    case 'undefined':
      return [mixA(SEED_A, TAG.undefined), mixB(SEED_B, TAG.undefined)];
    case 'boolean':
      return v ? [mixA(SEED_A, TAG.true), mixB(SEED_B, TAG.true)] : [mixA(SEED_A, TAG.false), mixB(SEED_B, TAG.false)];
    case 'number':
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff) {
        return [mixA(mixA(SEED_A, TAG.int), v | 0), mixB(mixB(SEED_B, TAG.int), v | 0)];
      }
      return hashString(String(v), mixA(SEED_A, TAG.float), mixB(SEED_B, TAG.float));
    case 'string':
      return hashString(v, SEED_A, SEED_B);
    case 'object':
      return v === null ? [mixA(SEED_A, TAG.null), mixB(SEED_B, TAG.null)] : hashObject(v);
    default:
      // Functions, symbols and bigints are not part of any state; hash their type only.
      return hashString(typeof v, SEED_A, SEED_B);
  }
}

function hashObject(o: object): Lanes {
  const cached = cache.get(o);
  if (cached !== undefined) return cached;
  let a: number;
  let b: number;
  if (Array.isArray(o)) {
    a = mixA(SEED_A, TAG.array);
    b = mixB(SEED_B, TAG.array);
    a = mixA(a, o.length);
    b = mixB(b, o.length);
    for (let i = 0; i < o.length; i++) {
      const [x, y] = hashValue(o[i]);
      a = mixA(a, x);
      b = mixB(b, y);
    }
  } else {
    a = mixA(SEED_A, TAG.object);
    b = mixB(SEED_B, TAG.object);
    // Canonical: keys in sorted order; a key whose value is undefined is as if absent.
    const record = o as Record<string, unknown>;
    const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
    a = mixA(a, keys.length);
    b = mixB(b, keys.length);
    for (const k of keys) {
      const [kx, ky] = hashString(k, SEED_A, SEED_B);
      const [x, y] = hashValue(record[k]);
      a = mixA(mixA(a, kx), x);
      b = mixB(mixB(b, ky), y);
    }
  }
  const lanes: Lanes = [a, b];
  cache.set(o, lanes);
  return lanes;
}

/** The fingerprint of any immutable JSON-like value, as 16 hex digits (SYS-7). */
export function fingerprint(value: unknown): string {
  const [a, b] = hashValue(value);
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}
