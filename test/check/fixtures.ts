/**
 * Scenarios for the model checker's tests: the proof scenarios, read from proofs/scenarios/,
 * booted; and a plain breadth-first search to check the checker against.
 */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { bootTarget, type Booted, type CheckTarget } from '../../src/check/index.ts';
import type { CheckSpec } from '../../src/check/spec.ts';
import { decodeScenario, type Scenario } from '../../src/oracle/formats.ts';
import { fingerprint, step, type Supervisor, type System, type SystemEvent } from '../../src/system/index.ts';

export interface Loaded {
  readonly path: string;
  readonly scenario: Scenario;
  readonly spec: CheckSpec;
  readonly target: CheckTarget;
  readonly booted: Booted;
}

export function loadScenario(path: string, patch: (json: Record<string, unknown>) => Record<string, unknown> = (j) => j): Loaded {
  const json = patch(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>);
  const s = decodeScenario(json);
  if (E.isLeft(s)) throw new Error(s.left.message);
  const target = { supervisor: s.right.supervisor, machine: s.right.machine, boot: s.right.boot } as CheckTarget;
  const booted = bootTarget(target);
  if (E.isLeft(booted)) throw new Error(booted.left.message);
  return { path, scenario: s.right, spec: s.right.check!, target, booted: booted.right };
}

export const MK_IPC = 'proofs/scenarios/mk-ipc.json';
export const HV_GRANT = 'proofs/scenarios/hv-grant-evtchn.json';

/**
 * The reference: breadth-first search written as plainly as possible — a Map of fingerprint
 * strings, whole levels at a time — returning the number of distinct states first reached at
 * each depth, and the transitions tried.
 */
export function plainBfs<S>(sup: Supervisor<S>, boot: System<S>, alphabet: readonly SystemEvent[], maxDepth = Infinity): { perLevel: number[]; transitions: number } {
  const seen = new Set([fingerprint(boot)]);
  let level: System<S>[] = [boot];
  const perLevel = [1];
  let transitions = 0;
  for (let d = 0; d < maxDepth && level.length > 0; d++) {
    const next: System<S>[] = [];
    for (const s of level) {
      for (const e of alphabet) {
        transitions++;
        const t = step(sup, s, e).system;
        const f = fingerprint(t);
        if (!seen.has(f)) {
          seen.add(f);
          next.push(t);
        }
      }
    }
    if (next.length > 0) perLevel.push(next.length);
    level = next;
  }
  return { perLevel, transitions };
}

/** Replays `events` from `boot`, returning every system on the way. */
export function replay<S>(sup: Supervisor<S>, boot: System<S>, events: readonly SystemEvent[]): System<S>[] {
  const out = [boot];
  for (const e of events) out.push(step(sup, out[out.length - 1]!, e).system);
  return out;
}
