/**
 * Spec traceability: every rule defined in a spec chapter is named by at least one test,
 * and each chapter's rule index is up to date (regenerate it with `npm run spec:index`).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chapters, ruleReferences, rulesDefined, withIndex } from '../tools/spec-index.ts';

const root = process.cwd();
const refs = ruleReferences(root);

describe('spec traceability', () => {
  for (const file of chapters(root)) {
    const text = readFileSync(file, 'utf8');
    const rules = rulesDefined(text);
    if (rules.length === 0) continue;
    const name = relative(root, file);
    it(`every rule of ${name} is checked by a test`, () => {
      expect(rules.filter((id) => !refs.has(id))).toEqual([]);
    });
    it(`the rule index of ${name} is up to date (npm run spec:index)`, () => {
      expect(text).toBe(withIndex(text, refs));
    });
  }
});
