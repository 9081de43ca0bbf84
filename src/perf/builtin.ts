/**
 * The built-in cost tables (PERF-TAB-1), read from src/perf/tables/ and validated once.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { mkError, type MkhvError } from '../hw/index.ts';
import { parseCostTable, type CostTable } from './table.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'tables');

/** The ids of the built-in tables, sorted. */
export function builtinArchs(): string[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** A built-in table by architecture id, validated; an unknown id or a bad file is an error value. */
export function builtinTable(arch: string): E.Either<MkhvError, CostTable> {
  if (!builtinArchs().includes(arch)) {
    return E.left(mkError('table.unknown', `unknown architecture '${arch}' (known: ${builtinArchs().join(', ')})`, 'arch'));
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(join(DIR, `${arch}.json`), 'utf8'));
  } catch (e) {
    return E.left(mkError('table.unreadable', `cost table ${arch}: ${e instanceof Error ? e.message : String(e)}`, arch));
  }
  return parseCostTable(json);
}
