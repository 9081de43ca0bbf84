/**
 * The JSON Schemas of spec/schema/ (ORC-SCHEMA-1..4), compiled once with Ajv's draft 2020-12
 * build in strict mode, as validators that say why a value was rejected.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';

export const SCHEMA_DIR = join(import.meta.dirname, '../../spec/schema');

export type SchemaName = 'scenario' | 'trace' | 'event' | 'record' | 'request' | 'response';

/** The schema documents by file name, as written. */
export function readSchemas(dir = SCHEMA_DIR): ReadonlyMap<string, Record<string, unknown>> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.schema.json')).sort();
  return new Map(files.map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>]));
}

export interface Validator {
  /** Whether `value` matches the schema (or the `$defs` entry named). */
  (value: unknown): boolean;
  /** Why the last value did not match, in one line. */
  readonly why: () => string;
}

/**
 * Compiles every schema document; `validator('record', 'header')` validates against
 * `#/$defs/header` of the record schema.
 */
export function compileSchemas(documents: ReadonlyMap<string, Record<string, unknown>> = readSchemas()): (name: SchemaName, def?: string) => Validator {
  // strict: unknown keywords and ambiguous schemas are errors; union types (["string", "number"]) are allowed.
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: false });
  for (const doc of documents.values()) ajv.addSchema(doc);
  return (name, def) => {
    const id = `urn:mkhv:schema:${name}${def === undefined ? '' : `#/$defs/${def}`}`;
    const validate = ajv.getSchema(id);
    if (validate === undefined) throw new Error(`no schema ${id}`);
    const v = (value: unknown): boolean => validate(value) as boolean;
    const why = (): string => (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('; ');
    return Object.assign(v, { why });
  };
}
