/**
 * `mkhv vectors [--out <dir>] [--check]` (CLI-VECTORS-1): runs every conformance vector
 * (spec/oracle.md, ORC-VEC-1..6) and writes its file, with the generated README, to
 * `spec/vectors/` — removing vector files no longer defined — or, with `--check`, writes nothing
 * and reports the files that differ, are missing or are stale. Either way it prints one line per
 * vector and the coverage computed from the records.
 *
 * @module
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { generateVectors, VECTOR_DIR, VECTOR_FORMAT, VECTOR_README, vectorDirectory, vectorFileName, type GeneratedVector } from '../oracle/vectors.ts';
import { README_TITLE } from '../oracle/vectors/readme.ts';
import { coverageReport } from '../oracle/vectors/coverage.ts';
import { describeOptions, parseOptions, type OptionSpec } from './args.ts';
import { EXIT, type Io } from './io.ts';

/** The repository's spec/vectors, wherever the command is run from. */
const DEFAULT_OUT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', VECTOR_DIR);

export const VECTORS_OPTIONS: readonly OptionSpec[] = [
  { name: 'out', value: { placeholder: 'dir' }, help: `the directory of the vector files (default: the repository's ${VECTOR_DIR})` },
  { name: 'check', help: 'write nothing: exit 1 listing the files that differ from the definitions, are missing or are stale' },
];

export const VECTORS_HELP = [
  'usage: mkhv vectors [--out <dir>] [--check]',
  '',
  'Runs every conformance vector — a scenario, a trace and the records mkhv gives for them — and',
  `writes each to <dir>/<name>.json (default ${VECTOR_DIR}/), with a README.md listing them and`,
  'their coverage; vector files in <dir> that are no longer defined are removed. Prints one line',
  'per vector and the coverage computed from the records: system calls, invocations and error',
  'codes of the microkernel; hypercalls, sub-commands, errnos and VM exits of the hypervisor.',
  'Exits 1 if an item that is not excluded is not covered. The format is in spec/oracle.md',
  '(section 5) and spec/vectors/README.md.',
  '',
  'options:',
  ...describeOptions(VECTORS_OPTIONS),
].join('\n');

/** Whether `text` is a vector file: only those are ever replaced or removed, whatever directory `--out` names. */
function isVectorFile(text: string): boolean {
  try {
    const json = JSON.parse(text) as unknown;
    return typeof json === 'object' && json !== null && (json as { format?: unknown }).format === VECTOR_FORMAT;
  } catch {
    return false;
  }
}

/**
 * What is in the directory now: its vector files and the README, by name. A README that is not
 * the generated one is an error, not something to overwrite (`--out .` must not replace a project's).
 */
function readDirectory(dir: string): E.Either<string, Map<string, string>> {
  const files = new Map<string, string>();
  if (!existsSync(dir)) return E.right(files);
  try {
    for (const name of readdirSync(dir).sort()) {
      if (!name.endsWith('.json') && name !== VECTOR_README) continue;
      const text = readFileSync(join(dir, name), 'utf8');
      if (name === VECTOR_README && !text.startsWith(README_TITLE)) return E.left(`vectors: '${join(dir, name)}' is not a generated vectors README; not replacing it`);
      if (name === VECTOR_README || isVectorFile(text)) files.set(name, text);
    }
    return E.right(files);
  } catch (e) {
    return E.left(`vectors: cannot read '${dir}' (${e instanceof Error ? e.message : String(e)})`);
  }
}

type Status = 'unchanged' | 'written' | 'differs' | 'missing';

function statusOf(expected: string, actual: string | undefined, check: boolean): Status {
  if (actual === expected) return 'unchanged';
  if (check) return actual === undefined ? 'missing' : 'differs';
  return 'written';
}

function vectorLine(g: GeneratedVector, status: Status, width: number): string {
  const f = g.file;
  return `  ${status.padEnd(9)}  ${f.name.padEnd(width)}  ${f.scenario.supervisor.padEnd(11)}  ${String(f.trace.events.length).padStart(3)} events`;
}

export function runVectors(args: readonly string[], io: Io): number {
  const parsed = parseOptions('vectors', args, VECTORS_OPTIONS);
  if (E.isLeft(parsed)) return usage(io, parsed.left);
  const check = parsed.right.flags.has('check');
  const out = parsed.right.values.get('out') ?? DEFAULT_OUT;
  const shown = relative(process.cwd(), out) || '.';
  const generated = generateVectors();
  // A definition that does not boot or replay is a defect of mkhv, not bad input.
  if (E.isLeft(generated)) {
    io.err(`mkhv: vectors: ${generated.left.message}`);
    return EXIT.FAILED;
  }
  const expected = vectorDirectory(generated.right);
  const present = readDirectory(out);
  if (E.isLeft(present)) return usage(io, present.left);
  const stale = [...present.right.keys()].filter((name) => !expected.has(name));
  const width = Math.max(...generated.right.map((g) => g.file.name.length));
  io.out(`${check ? 'checking' : 'writing'} ${generated.right.length} vectors in ${shown}`);
  const outdated: string[] = [];
  const writes: [string, string][] = [];
  for (const g of generated.right) {
    const name = vectorFileName(g.file.name);
    const status = statusOf(g.text, present.right.get(name), check);
    io.out(vectorLine(g, status, width));
    if (status === 'written') writes.push([name, g.text]);
    if (status === 'differs' || status === 'missing') outdated.push(`${status} ${name}`);
  }
  const readme = expected.get(VECTOR_README)!;
  const readmeStatus = statusOf(readme, present.right.get(VECTOR_README), check);
  io.out(`  ${readmeStatus.padEnd(9)}  ${VECTOR_README}`);
  if (readmeStatus === 'written') writes.push([VECTOR_README, readme]);
  if (readmeStatus === 'differs' || readmeStatus === 'missing') outdated.push(`${readmeStatus} ${VECTOR_README}`);
  for (const name of stale) {
    io.out(`  ${(check ? 'stale' : 'removed').padEnd(9)}  ${name}`);
    if (check) outdated.push(`stale ${name}`);
  }
  if (!check) {
    const written = writeDirectory(out, writes, stale);
    if (E.isLeft(written)) return usage(io, written.left);
  }
  const gaps = printCoverage(io, generated.right);
  if (check && outdated.length > 0) {
    const listed = outdated.length <= 5 ? outdated.join(', ') : `${outdated.slice(0, 5).join(', ')}, … (${outdated.length - 5} more above)`;
    io.err(`mkhv: vectors: ${outdated.length} file${outdated.length === 1 ? '' : 's'} in ${shown} not as the definitions give them (run 'mkhv vectors'): ${listed}`);
    return EXIT.FAILED;
  }
  if (gaps.length > 0) {
    io.err(`mkhv: vectors: not covered and not excluded: ${gaps.join(', ')}`);
    return EXIT.FAILED;
  }
  return EXIT.OK;
}

function writeDirectory(dir: string, writes: readonly (readonly [string, string])[], stale: readonly string[]): E.Either<string, void> {
  try {
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of writes) writeFileSync(join(dir, name), text);
    for (const name of stale) rmSync(join(dir, name));
    return E.right(undefined);
  } catch (e) {
    return E.left(`vectors: cannot write '${dir}' (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** Prints the coverage by group (ORC-VEC-3); returns the items neither covered nor excluded. */
function printCoverage(io: Io, generated: readonly GeneratedVector[]): string[] {
  const report = coverageReport(new Set(generated.flatMap((g) => [...g.coverage])));
  io.out('coverage (computed from the records):');
  const width = Math.max(...report.map((g) => g.label.length));
  for (const g of report) {
    const excluded = g.excluded.length === 0 ? '' : `, ${g.excluded.length} excluded (${g.excluded.join(', ')})`;
    const missing = g.missing.length === 0 ? '' : `, NOT COVERED: ${g.missing.join(', ')}`;
    io.out(`  ${g.label.padEnd(width)}  ${String(g.covered.length).padStart(3)}/${g.required.length}${excluded}${missing}`);
  }
  return report.flatMap((g) => g.missing);
}

function usage(io: Io, message: string): number {
  io.err(`mkhv: ${message}`);
  io.err(`Try 'mkhv vectors --help'.`);
  return EXIT.USAGE;
}
