/**
 * The oracle (spec/oracle.md): the scenario and trace formats, versioned step records, the
 * serve protocol, the differential driver and the conformance vectors — what lets another
 * implementation, in any language, replay mkhv's traces and compare its records.
 *
 * @module
 */
export * from './formats.ts';
export * from './record.ts';
export { bootInstance, type Instance } from './instance.ts';
export { DEFAULT_ARCH, EMPTY_SESSION, handleLine, REQUESTS, type Response, type Session } from './session.ts';
export { runDiff, type DiffOptions, type DiffResult } from './diff.ts';
export type { Difference } from './compare.ts';
export type { ServeClient, ServeResponse } from './client.ts';
export { generateVectors, VECTOR_FORMAT, VECTOR_VERSION, VECTORS, type GeneratedVector, type VectorDefinition, type VectorFile } from './vectors.ts';
