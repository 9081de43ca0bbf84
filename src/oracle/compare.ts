/**
 * Comparing step records (ORC-DIFF-1 in spec/oracle.md): two records of the same step — the
 * oracle's and another implementation's — agree when every field both producers declare in
 * their capabilities (ORC-REC-2) is equal; otherwise the first difference, in the field order
 * of ORC-REC-3, is reported with a path into the record (`registers[2].value`, `trap.esr`,
 * `observations.dom1[0].values[1]`) and the two values found there.
 *
 * Records arrive as parsed JSON from another process, so every function here takes `unknown`
 * and is total: whatever the other side sent, the answer is "equal" or a difference.
 *
 * @module
 */
import { CAPABILITIES, type Capability } from './record.ts';

/**
 * The first difference between two records. `expected` is the oracle's value and `actual`
 * the implementation's; either is `undefined` when that side has nothing at `path` (a
 * missing field, or a list that ended early), which JSON output shows by leaving it out.
 */
export interface Difference {
  /** The step: the oracle's record's `index` (the implementation's if the oracle's has none; -1 if neither has). */
  readonly index: number;
  readonly path: string;
  readonly expected?: unknown;
  readonly actual?: unknown;
}

/**
 * ORC-DIFF-1: the capabilities two producers share, in the order of ORC-REC-3. Names that are
 * not capabilities of this record version are ignored: a newer minor version may add some
 * (ORC-REC-5), and a reader ignores what it does not know.
 */
export function sharedCapabilities(a: unknown, b: unknown): Capability[] {
  const names = (x: unknown): ReadonlySet<unknown> => new Set(Array.isArray(x) ? x : []);
  const left = names(a);
  const right = names(b);
  return CAPABILITIES.filter((c) => left.has(c) && right.has(c));
}

/**
 * ORC-DIFF-1: compares `actual` to `expected` over `index` and then each of `capabilities` in
 * the order of ORC-REC-3 (whatever order they are given in); null when they agree.
 */
export function compareRecords(expected: unknown, actual: unknown, capabilities: readonly Capability[]): Difference | null {
  const e = asObject(expected);
  const a = asObject(actual);
  const index = naturalOr(e?.['index'], naturalOr(a?.['index'], -1));
  if (e === null || a === null) {
    // Not even a record: nothing finer to point at.
    const found = firstDifference(expected, actual, 'record', false);
    return found === null ? null : { index, ...found };
  }
  const wanted = new Set<string>(capabilities);
  for (const field of ['index', ...CAPABILITIES]) {
    if (field !== 'index' && !wanted.has(field)) continue;
    const found = compareField(field, e, a);
    if (found !== null) return { index, ...found };
  }
  return null;
}

type Found = { readonly path: string; readonly expected?: unknown; readonly actual?: unknown };

/** One top-level field, with the two fields whose comparison is not plain structural equality. */
function compareField(field: string, e: Readonly<Record<string, unknown>>, a: Readonly<Record<string, unknown>>): Found | null {
  if (!has(a, field)) return has(e, field) ? { path: field, expected: e[field] } : null;
  if (!has(e, field)) return { path: field, actual: a[field] };
  const ev = e[field];
  const av = a[field];
  if (field === 'error') {
    // ORC-DIFF-1: a rejection is compared by its code; the message is prose for people, and
    // an implementation in another language need not word it as mkhv does.
    const ec = asObject(ev);
    const ac = asObject(av);
    if (ec !== null && ac !== null) return firstDifference(ec['code'], ac['code'], 'error.code', false);
    return firstDifference(ev, av, 'error', false);
  }
  // `observations` maps domain names to lists: a domain only one side reports is a
  // difference, not an unknown field, so its keys are compared both ways.
  return firstDifference(ev, av, field, field === 'observations');
}

/**
 * The first place where two JSON values differ, depth first in the expected value's order.
 * Keys only `actual` has are ignored (ORC-REC-5: a reader ignores fields it does not know)
 * unless `allKeys`, for the one map whose keys are data.
 */
function firstDifference(expected: unknown, actual: unknown, path: string, allKeys: boolean): Found | null {
  if (expected === actual) return null;
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const n = Math.max(expected.length, actual.length);
    for (let i = 0; i < n; i++) {
      const at = `${path}[${i}]`;
      if (i >= actual.length) return { path: at, expected: expected[i] };
      if (i >= expected.length) return { path: at, actual: actual[i] };
      const found = firstDifference(expected[i], actual[i], at, false);
      if (found !== null) return found;
    }
    return null;
  }
  const e = asObject(expected);
  const a = asObject(actual);
  if (e !== null && a !== null) {
    const keys = allKeys ? [...Object.keys(e), ...Object.keys(a).filter((k) => !has(e, k))] : Object.keys(e);
    for (const key of keys) {
      const at = `${path}${member(key)}`;
      if (!has(a, key)) return { path: at, expected: e[key] };
      if (!has(e, key)) return { path: at, actual: a[key] };
      const found = firstDifference(e[key], a[key], at, false);
      if (found !== null) return found;
    }
    return null;
  }
  return { path, expected, actual };
}

/** `.name` for identifier-like keys, `["a key"]` otherwise, so every path reads back unambiguously. */
function member(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Own fields only: a domain named `constructor` is data, not the prototype's. */
const has = (o: object, key: string): boolean => Object.hasOwn(o, key);

function asObject(v: unknown): Readonly<Record<string, unknown>> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function naturalOr(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fallback;
}
