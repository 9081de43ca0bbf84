/**
 * Proof runs (CHK-PROOF-1..4 in spec/model-checking.md). A proof file, `proofs/<name>.proof.json`,
 * states a claim and names the bounded configuration it is about: a scenario whose `check`
 * section gives the alphabet and the bounds. Running it explores that configuration with the
 * model checker and records the result in `proofs/results/<name>.json` — states, transitions,
 * depth, whether the search was exhaustive, the verdict, the checker's version and the
 * scenario's hash — and then runs the same search on each named mutant, a deliberately broken
 * supervisor, which must be caught.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { bootTarget, CHECKER_VERSION, explore, type CheckResult, type CheckTarget, type Progress } from '../src/check/index.ts';
import { mkError, type MkhvError } from '../src/hw/index.ts';
import { decodeScenario, parseJson, type Scenario } from '../src/oracle/formats.ts';
import { decodeWith, strict } from '../src/perf/decode.ts';
import { MUTANTS } from './mutants.ts';

export const PROOFS_DIR = dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = join(PROOFS_DIR, 'results');

/** CHK-PROOF-1: a proof file. */
export interface Proof {
  readonly name: string;
  readonly claim: string;
  /** The scenario, relative to proofs/. */
  readonly scenario: string;
  /** Small enough for CI to re-run on every change. */
  readonly ci: boolean;
  /** Mutants (proofs/mutants.ts) the same search must catch. */
  readonly mutants: readonly string[];
}

const ProofCodec = strict(
  { format: t.literal('mkhv-proof'), version: t.literal(1), claim: t.string, scenario: t.string, ci: t.boolean, mutants: t.readonlyArray(t.string) },
  {},
  'a proof file',
);

/** What a run of a proof records (CHK-PROOF-2): everything but how long it took. */
export interface ProofResult {
  readonly proof: string;
  readonly claim: string;
  readonly checker: string;
  /** SHA-256 of the scenario file's JSON, re-serialised with sorted keys. */
  readonly scenarioSha256: string;
  readonly verdict: 'holds' | 'violated';
  readonly states: number;
  readonly transitions: number;
  readonly depth: number;
  readonly exhaustive: boolean;
  readonly violation?: { readonly kind: string; readonly name: string; readonly events: number };
  /** Each mutant's verdict: each must be 'violated' for the proof to count (CHK-PROOF-3). */
  readonly mutants: readonly { readonly name: string; readonly bug: string; readonly verdict: 'holds' | 'violated'; readonly caughtBy?: string; readonly events?: number }[];
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

export const sha256OfJson = (json: unknown): string => createHash('sha256').update(JSON.stringify(sortKeys(json))).digest('hex');

/** Every proof file in proofs/, by name, in name order. */
export function proofNames(dir = PROOFS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.proof.json'))
    .map((f) => f.slice(0, -'.proof.json'.length))
    .sort();
}

function readJson(path: string, what: string): E.Either<MkhvError, unknown> {
  try {
    return parseJson(readFileSync(path, 'utf8'), what);
  } catch (e) {
    return E.left(mkError('file.read', `${what} '${path}': cannot read it (${(e as Error).message})`, ''));
  }
}

/** A proof, its scenario decoded, and the scenario's JSON for hashing. */
export interface LoadedProof {
  readonly proof: Proof;
  readonly scenario: Scenario & { readonly check: NonNullable<Scenario['check']> };
  readonly scenarioJson: unknown;
}

export function loadProof(name: string, dir = PROOFS_DIR): E.Either<MkhvError, LoadedProof> {
  const file = join(dir, `${name}.proof.json`);
  const json = readJson(file, 'proof');
  if (E.isLeft(json)) return json;
  const p = decodeWith(ProofCodec, json.right, `proof ${name}`, 'proof.invalid');
  if (E.isLeft(p)) return p;
  const unknown = p.right.mutants.find((m) => !MUTANTS.has(m));
  if (unknown !== undefined) return E.left(mkError('proof.invalid', `proof ${name}: no mutant '${unknown}' in proofs/mutants.ts`, 'mutants'));
  const scenarioJson = readJson(resolve(dir, p.right.scenario), 'scenario');
  if (E.isLeft(scenarioJson)) return scenarioJson;
  const scenario = decodeScenario(scenarioJson.right);
  if (E.isLeft(scenario)) return E.left(mkError(scenario.left.code, `proof ${name}: ${p.right.scenario}: ${scenario.left.message}`, scenario.left.path));
  const s = scenario.right;
  if (s.check === undefined) return E.left(mkError('proof.invalid', `proof ${name}: ${p.right.scenario} has no 'check' section`, 'scenario'));
  const proof: Proof = { name, claim: p.right.claim, scenario: p.right.scenario, ci: p.right.ci, mutants: p.right.mutants };
  return E.right({ proof, scenario: { ...s, check: s.check }, scenarioJson: scenarioJson.right });
}

const targetOf = (s: Scenario): CheckTarget => ({ supervisor: s.supervisor, machine: s.machine, boot: s.boot }) as CheckTarget;

/** Runs a proof and its mutants (CHK-PROOF-2, CHK-PROOF-3). */
export function runProof(loaded: LoadedProof, onProgress?: (what: string, p: Progress) => void): E.Either<MkhvError, ProofResult> {
  const { proof, scenario } = loaded;
  const booted = bootTarget(targetOf(scenario));
  if (E.isLeft(booted)) return E.left(mkError(booted.left.code, `proof ${proof.name}: ${booted.left.message}`, booted.left.path));
  const spec = scenario.check;
  const options = (what: string) => ({
    alphabet: spec.alphabet,
    maxDepth: spec.depth ?? Infinity,
    maxStates: spec.states ?? Infinity,
    invariants: spec.invariants,
    integrity: spec.integrity,
    deadlock: spec.deadlock,
    progressEvery: 16384,
    ...(onProgress === undefined ? {} : { onProgress: (p: Progress) => onProgress(what, p) }),
  });
  const r: CheckResult = explore(booted.right.sup, booted.right.boot, options(proof.name));
  const mutants = proof.mutants.map((name) => {
    const m = MUTANTS.get(name)!;
    const mr = explore(m.supervisor, booted.right.boot, options(name));
    const v = mr.violation;
    return v === null ? { name, bug: m.bug, verdict: 'holds' as const } : { name, bug: m.bug, verdict: 'violated' as const, caughtBy: v.kind === 'invariant' ? `invariant ${v.name}` : v.kind, events: v.trace.length };
  });
  const v = r.violation;
  return E.right({
    proof: proof.name,
    claim: proof.claim,
    checker: CHECKER_VERSION,
    scenarioSha256: sha256OfJson(loaded.scenarioJson),
    verdict: v === null ? 'holds' : 'violated',
    states: r.states,
    transitions: r.transitions,
    depth: r.depth,
    exhaustive: r.exhausted,
    ...(v === null ? {} : { violation: { kind: v.kind, name: v.name, events: v.trace.length } }),
    mutants,
  });
}

/** The text of a result file: pretty JSON and a final newline, so that a re-run diffs cleanly. */
export const resultText = (r: ProofResult): string => JSON.stringify(r, null, 2) + '\n';

export const resultPath = (name: string): string => join(RESULTS_DIR, `${name}.json`);
