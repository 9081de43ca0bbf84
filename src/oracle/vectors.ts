/**
 * Conformance vectors (ORC-VEC-1..6 in spec/oracle.md): fixed scenarios and traces with the
 * records mkhv gives for them — the first test suite another implementation runs against the
 * oracle. The definitions live in `vectors/microkernel.ts` and `vectors/hypervisor.ts`; this
 * module runs one under the default cost table, renders its file byte for byte, and computes
 * what it covers from its records (`vectors/coverage.ts`).
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { mkError, type MkhvError } from '../hw/index.ts';
import type { HypervisorState } from '../hypervisor/types.ts';
import type { KernelState } from '../kernel/types.ts';
import { builtinTable } from '../perf/builtin.ts';
import type { CostTable } from '../perf/table.ts';
import { bootHypervisorSystem, bootMicrokernel, fingerprint, hypervisor, microkernel, step, type Supervisor, type System } from '../system/index.ts';
import { decodeScenario, decodeTrace, type Scenario, type Trace } from './formats.ts';
import { bootInstance } from './instance.ts';
import type { RecordHeader, StepRecord } from './record.ts';
import { DEFAULT_ARCH } from './session.ts';
import { hypervisorStepCoverage, kernelStepCoverage, type ObservedStep } from './vectors/coverage.ts';
import type { VectorDefinition } from './vectors/define.ts';
import { renderVectorReadme } from './vectors/readme.ts';
import { HYPERVISOR_VECTORS } from './vectors/hypervisor.ts';
import { MICROKERNEL_VECTORS } from './vectors/microkernel.ts';

export type { VectorDefinition } from './vectors/define.ts';

/** ORC-VEC-1: the format tag and version of a vector file. */
export const VECTOR_FORMAT = 'mkhv-vector' as const;
export const VECTOR_VERSION = 1;

/** Where `mkhv vectors` writes them (CLI-VECTORS-1). */
export const VECTOR_DIR = 'spec/vectors';

/** Every vector, microkernel first, each group in the order it is defined. */
export const VECTORS: readonly VectorDefinition[] = [...MICROKERNEL_VECTORS, ...HYPERVISOR_VECTORS];

/** ORC-VEC-1: the contents of a vector file. */
export interface VectorFile {
  readonly format: typeof VECTOR_FORMAT;
  readonly version: number;
  readonly name: string;
  readonly description: string;
  readonly scenario: Scenario;
  readonly trace: Trace;
  readonly header: RecordHeader;
  readonly records: readonly StepRecord[];
}

/** A vector run: its file, the file's text, and what it covers. */
export interface GeneratedVector {
  readonly definition: VectorDefinition;
  readonly file: VectorFile;
  readonly text: string;
  readonly coverage: ReadonlySet<string>;
}

/** The table records are priced under (ORC-VEC-2): the oracle's default. */
export function vectorTable(): E.Either<MkhvError, CostTable> {
  return builtinTable(DEFAULT_ARCH);
}

/**
 * Runs vector `def` (ORC-VEC-2): boots its scenario as the oracle does (bootInstance under
 * `table`) and steps its trace for the records. For the coverage it replays the same trace
 * through the system's `step`, whose states say what a record does not (ORC-VEC-3); the two
 * replays must reach the same fingerprint at every step, or the coverage would describe
 * another run than the records.
 */
export function generateVector(def: VectorDefinition, table: CostTable): E.Either<MkhvError, GeneratedVector> {
  // ORC-VEC-1: the scenario and trace of a file are inputs of the oracle's formats; what runs is
  // what an implementation reads back from the file, decoded.
  const scenario = decodeScenario(JSON.parse(JSON.stringify(def.scenario)) as unknown);
  if (E.isLeft(scenario)) return E.left(mkError(scenario.left.code, `vector ${def.name}: ${scenario.left.message}`, scenario.left.path));
  const trace = decodeTrace(JSON.parse(JSON.stringify(def.trace)) as unknown);
  if (E.isLeft(trace)) return E.left(mkError(trace.left.code, `vector ${def.name}: ${trace.left.message}`, trace.left.path));
  const booted = bootInstance(scenario.right, table);
  if (E.isLeft(booted)) return E.left(mkError(booted.left.code, `vector ${def.name}: ${booted.left.message}`, booted.left.path));
  let inst = booted.right;
  const records: StepRecord[] = [];
  for (const event of trace.right.events) {
    const r = inst.step(event);
    records.push(r.record);
    inst = r.instance;
  }
  const s = scenario.right;
  const coverage =
    s.supervisor === 'microkernel'
      ? observe(microkernel, bootMicrokernel(s.machine, s.boot), def.name, trace.right, records, kernelStepCoverage)
      : observe(hypervisor, bootHypervisorSystem(s.machine, s.boot), def.name, trace.right, records, hypervisorStepCoverage);
  if (E.isLeft(coverage)) return coverage;
  const file: VectorFile = {
    format: VECTOR_FORMAT,
    version: VECTOR_VERSION,
    name: def.name,
    description: def.description,
    scenario: def.scenario,
    trace: def.trace,
    header: inst.header,
    records,
  };
  return E.right({ definition: def, file, text: renderVector(file), coverage: coverage.right });
}

function observe<S extends KernelState | HypervisorState>(
  sup: Supervisor<S>,
  booted: E.Either<MkhvError, System<S>>,
  name: string,
  trace: Trace,
  records: readonly StepRecord[],
  cover: (s: ObservedStep<S>, out: Set<string>) => void,
): E.Either<MkhvError, ReadonlySet<string>> {
  if (E.isLeft(booted)) return booted;
  let system = booted.right;
  const out = new Set<string>();
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const after = step(sup, system, trace.events[i]!).system;
    if (fingerprint(after) !== record.fingerprint) {
      return E.left(mkError('vector.replay', `vector ${name}: step ${i} reached another state than its record says`, `records[${i}]`));
    }
    cover({ record, before: system, after }, out);
    system = after;
  }
  return E.right(out);
}

/** Runs every vector under the default table. */
export function generateVectors(defs: readonly VectorDefinition[] = VECTORS): E.Either<MkhvError, GeneratedVector[]> {
  const table = vectorTable();
  if (E.isLeft(table)) return table;
  const out: GeneratedVector[] = [];
  for (const def of defs) {
    const g = generateVector(def, table.right);
    if (E.isLeft(g)) return g;
    out.push(g.right);
  }
  return E.right(out);
}

/**
 * ORC-VEC-2: the text of a vector file — pretty JSON (two-space indent) for everything but the
 * records, one record per line so that a regenerated vector diffs line by line; a final newline.
 */
export function renderVector(file: VectorFile): string {
  const { records, ...rest } = file;
  const head = JSON.stringify(rest, null, 2);
  const body = records.length === 0 ? '[]' : `[\n${records.map((r) => `    ${JSON.stringify(r)}`).join(',\n')}\n  ]`;
  // The head ends with "\n}"; the records go in as its last field.
  return `${head.slice(0, -2)},\n  "records": ${body}\n}\n`;
}

/** The file name of a vector. */
export const vectorFileName = (name: string): string => `${name}.json`;

/** The generated README beside the vectors (CLI-VECTORS-1). */
export const VECTOR_README = 'README.md';

/**
 * ORC-VEC-2, CLI-VECTORS-1: every file of the vectors directory, by file name — one per vector,
 * in definition order, then the README with the table of vectors and their coverage.
 */
export function vectorDirectory(generated: readonly GeneratedVector[]): ReadonlyMap<string, string> {
  const files = new Map<string, string>();
  for (const g of generated) files.set(vectorFileName(g.file.name), g.text);
  const summaries = generated.map((g) => ({
    name: g.file.name,
    description: g.file.description,
    supervisor: g.file.scenario.supervisor,
    events: g.file.trace.events.length,
    coverage: g.coverage,
  }));
  files.set(VECTOR_README, renderVectorReadme(summaries));
  return files;
}
