/**
 * Decoding untrusted JSON with io-ts codecs into values or one readable error that names the
 * JSON path and the expected type (PERF-TAB-2; the oracle's formats use the same reporter).
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { mkError, type MkhvError } from '../hw/index.ts';

const NO_SUCH_FIELD = 'no such field';

/** A JSON path like `entries.tlbiVa.cycles` or `devices[2].irq`. */
function pathOf(context: t.Context): string {
  let path = '';
  for (let i = 1; i < context.length; i++) {
    const entry = context[i]!;
    const parent = context[i - 1]!.type as t.Mixed & { _tag?: string };
    // An array position whatever codec (refined or not) checked the array.
    const member = parent._tag === 'UnionType' || parent._tag === 'IntersectionType';
    const index = !member && Array.isArray(context[i - 1]!.actual) && /^\d+$/.test(entry.key);
    // Members of an intersection or a union appear under keys 0, 1, ...: not JSON positions.
    if (entry.key === '' || (!index && /^\d+$/.test(entry.key) && parent._tag !== 'DictionaryType')) continue;
    path += index ? `[${entry.key}]` : path === '' ? entry.key : `.${entry.key}`;
  }
  return path;
}

/** What was found, in at most 40 characters; never throws (JSON.stringify does on a value nested thousands deep). */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = Array.isArray(v) ? '[…]' : typeof v === 'object' && v !== null ? '{…}' : undefined;
  }
  return s === undefined ? String(v) : s.length > 40 ? s.slice(0, 40) + '…' : s;
}

/** Decodes `value` with `codec`; the first error names its path, the type expected and what was found. */
export function decodeWith<A, O>(codec: t.Type<A, O, unknown>, value: unknown, what: string, code: string): E.Either<MkhvError, A> {
  const r = codec.decode(value);
  if (E.isRight(r)) return E.right(r.right);
  const err = r.left[0]!;
  const path = pathOf(err.context);
  const where = path === '' ? what : `${what}: '${path}'`;
  if (err.message === NO_SUCH_FIELD) return E.left(mkError(code, `${where} is not a known field`, path));
  // A union's members each fail; say what the union accepts, not what its first member does.
  const union = [...err.context].reverse().find((c) => (c.type as { _tag?: string })._tag === 'UnionType');
  const expected = err.message ?? union?.type.name ?? err.context[err.context.length - 1]?.type.name ?? 'a valid value';
  return E.left(mkError(code, `${where} must be ${expected} (got ${describeValue(err.value)})`, path));
}

/** A codec refined by a predicate, with `name` as what the error says is expected. */
export function refine<A, O>(base: t.Type<A, O, unknown>, ok: (a: A) => boolean, name: string): t.Type<A, O, unknown> {
  return new t.Type<A, O, unknown>(
    name,
    (u): u is A => base.is(u) && ok(u),
    (u, c) => {
      const r = base.validate(u, c);
      return E.isLeft(r) || ok(r.right) ? r : t.failure<A>(u, c, name);
    },
    base.encode,
  );
}

/** An object codec that also rejects fields it does not name. */
export function strict<P extends t.Props, Q extends t.Props>(required: P, optional: Q, name: string) {
  const shape = t.intersection([t.type(required), t.partial(optional)]);
  const known = new Set([...Object.keys(required), ...Object.keys(optional)]);
  return new t.Type<t.TypeOf<typeof shape>, t.OutputOf<typeof shape>, unknown>(
    name,
    (u): u is t.TypeOf<typeof shape> => shape.is(u),
    (u, c) => {
      if (typeof u === 'object' && u !== null && !Array.isArray(u)) {
        const extra = Object.keys(u).find((k) => !known.has(k));
        if (extra !== undefined) return t.failure(u, [...c, { key: extra, type: t.never, actual: (u as Record<string, unknown>)[extra] }], NO_SUCH_FIELD);
      }
      // The intersection goes into the context so that path reporting sees its members as members.
      return shape.validate(u, [...c, { key: '', type: shape, actual: u }]);
    },
    shape.encode,
  );
}
