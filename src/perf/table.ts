/**
 * Cost tables (PERF-TAB-1..4): for one microarchitecture, the cycles of every primitive
 * operation, each with its source, marked as an estimate where no published figure exists;
 * plus the table's modelling parameters — how much out-of-order overlap hides, and how much
 * dearer an EL2-resident kernel's traps are. Tables are data (src/perf/tables/*.json),
 * validated on load; only primitives are priced, never a whole path.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { mkError, type MkhvError } from '../hw/index.ts';
import { decodeWith, refine, strict } from './decode.ts';
import { PRIMITIVE_OPS, isPrimitiveOp, type PrimitiveOp } from './ops.ts';

const nonNegative = refine(t.number, (n) => Number.isFinite(n) && n >= 0, 'a non-negative number');
const fraction = refine(t.number, (n) => Number.isFinite(n) && n >= 0 && n < 1, 'a number from 0 up to (not including) 1');
const atLeastOne = refine(t.number, (n) => Number.isFinite(n) && n >= 1, 'a number of at least 1');
const source = refine(t.string, (s) => s.trim().length > 0, 'a non-empty source');

/** One priced primitive (PERF-TAB-2). */
export const CostEntryCodec = strict({ cycles: nonNegative, source }, { estimate: t.boolean }, 'a cost entry');

const Parameter = (value: t.Type<number, number, unknown>) => strict({ value, source }, { estimate: t.boolean }, 'a parameter');

export const CostTableCodec = strict(
  {
    arch: refine(t.string, (s) => /^[a-z0-9-]+$/.test(s), 'an architecture id (lower case, digits, dashes)'),
    name: source,
    family: t.union([t.literal('x86'), t.literal('arm')]),
    overlap: Parameter(fraction),
    el2KernelFactor: Parameter(atLeastOne),
    entries: t.record(t.string, CostEntryCodec),
  },
  { note: t.string },
  'a cost table',
);

export type CostEntry = t.TypeOf<typeof CostEntryCodec>;
export type CostTable = t.TypeOf<typeof CostTableCodec> & { readonly entries: Readonly<Record<PrimitiveOp, CostEntry>> };

/**
 * Validates a cost table (PERF-TAB-3): the shape, then that it prices exactly the primitive
 * operations — every one, and nothing else. Errors name the JSON path.
 */
export function parseCostTable(json: unknown): E.Either<MkhvError, CostTable> {
  const decoded = decodeWith(CostTableCodec, json, 'cost table', 'table.invalid');
  if (E.isLeft(decoded)) return decoded;
  const table = decoded.right;
  for (const key of Object.keys(table.entries)) {
    if (!isPrimitiveOp(key)) return E.left(mkError('table.invalid', `cost table: 'entries.${key}' is not a primitive operation`, `entries.${key}`));
  }
  for (const op of PRIMITIVE_OPS) {
    if (table.entries[op] === undefined) return E.left(mkError('table.invalid', `cost table: 'entries.${op}' is missing: every primitive operation needs a cost`, `entries.${op}`));
  }
  return E.right(table as CostTable);
}
