/**
 * Every SMT lemma, in the order the runner reports them (spec/model-checking.md, CHK-SMT-*).
 *
 * @module
 */
import type { Lemma } from './lemma.ts';
import { PAGE_TABLE_LEMMAS } from './page-table.ts';
import { PERMISSION_LEMMAS } from './permissions.ts';
import { RANGE_LEMMAS } from './ranges.ts';
import { RIGHTS_LEMMAS } from './rights.ts';

export const LEMMAS: readonly Lemma[] = [...PAGE_TABLE_LEMMAS, ...PERMISSION_LEMMAS, ...RANGE_LEMMAS, ...RIGHTS_LEMMAS];
