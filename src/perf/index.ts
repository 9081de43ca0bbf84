/**
 * The performance layer (spec/performance.md): primitive operations, cost tables, the fold
 * that prices a path, the named operations measured by running the model, the closed-form
 * overhead models, and the comparison of the two designs.
 *
 * @module
 */
export * from './ops.ts';
export * from './table.ts';
export { builtinArchs, builtinTable } from './builtin.ts';
export * from './cost.ts';
export * from './operations.ts';
export * from './models.ts';
export * from './compare.ts';
