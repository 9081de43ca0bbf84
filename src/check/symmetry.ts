/**
 * Symmetry reduction (CHK-SYM-1..4 in spec/model-checking.md): when a scenario declares groups
 * of interchangeable domains, the visited set holds the least fingerprint of the states got by
 * permuting each group's domains (through the supervisor's `permute`, SYS-1) instead of the
 * state's own, so that states which differ only in which of the interchangeable domains is
 * where are explored once.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { mkError, type MkhvError } from '../hw/index.ts';
import { fingerprintLanes, type Supervisor, type System, type SystemEvent } from '../system/index.ts';
import type { CheckTarget } from './target.ts';

/** A function from a state to the two lanes of the fingerprint the visited set keeps for it. */
export type Canonical = (system: System<unknown>) => readonly [number, number];

/** JSON with every object's keys sorted, so that declarations compare by content. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const less = (a: readonly [number, number], b: readonly [number, number]): boolean => a[0] >>> 0 < b[0] >>> 0 || (a[0] >>> 0 === b[0] >>> 0 && a[1] >>> 0 < b[1] >>> 0);

/**
 * CHK-SYM-2: the canonical fingerprint — the least (as an unsigned 64-bit number, high lane
 * first) of the fingerprints of the states got from `system` by every permutation of every
 * group, each permutation applied as a sequence of exchanges (Heap's algorithm: each differs
 * from the one before by one exchange). An exchange the supervisor declines (null) ends that
 * branch; the state itself always counts.
 */
export function canonicalFingerprint(sup: Supervisor<unknown>, groups: readonly (readonly string[])[]): Canonical {
  const permute = sup.permute;
  return (system) => {
    let best = fingerprintLanes(system);
    if (permute === undefined) return best;
    const visit = (s: System<unknown>, g: number): void => {
      if (g === groups.length) {
        const lanes = fingerprintLanes(s);
        if (less(lanes, best)) best = lanes;
        return;
      }
      // Heap's algorithm over the names of group g (iterative), each leaf continuing with group g + 1.
      const names = groups[g]!.slice();
      const n = names.length;
      const c = new Array<number>(n).fill(0);
      let cur: System<unknown> | null = s;
      visit(cur, g + 1);
      let i = 1;
      while (i < n) {
        if (c[i]! < i) {
          const j = i % 2 === 0 ? 0 : c[i]!;
          cur = permute(cur, [names[j]!, names[i]!]);
          if (cur === null) return;
          [names[j], names[i]] = [names[i]!, names[j]!];
          visit(cur, g + 1);
          c[i]!++;
          i = 1;
        } else {
          c[i] = 0;
          i++;
        }
      }
    };
    visit(system, 0);
    return best;
  };
}

/**
 * CHK-SYM-3: checks a declared symmetry against the scenario, and gives the canonical
 * fingerprint it asks for (or the state's own, with no groups). The domains of a group must be
 * boot domains of a hypervisor scenario, none the control domain, each declared exactly as the
 * others but for its name; and the alphabet must crash each of them if it crashes one.
 */
export function symmetryOf(target: CheckTarget, sup: Supervisor<unknown>, groups: readonly (readonly string[])[] | undefined, alphabet: readonly SystemEvent[]): E.Either<MkhvError, Canonical | undefined> {
  if (groups === undefined || groups.length === 0) return E.right(undefined);
  const bad = (path: string, message: string) => E.left(mkError('scenario.invalid', `scenario: '${path}' ${message}`, path));
  if (target.supervisor !== 'hypervisor' || sup.permute === undefined) return bad('check.symmetry', `is supported for the hypervisor only, not the ${target.supervisor}`);
  const domains = target.boot.domains;
  const controlIndex = Math.max(0, domains.findIndex((d) => d.control === true));
  const crashed = new Set(alphabet.flatMap((e) => (e.kind === 'inject' ? [e.fault.domain] : [])));
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!;
    let first: string | null = null;
    for (let j = 0; j < group.length; j++) {
      const path = `check.symmetry[${i}][${j}]`;
      const index = domains.findIndex((d) => d.name === group[j]);
      if (index < 0) return bad(path, `names '${group[j]}', which is not a boot domain`);
      if (index === controlIndex) return bad(path, `names the control domain '${group[j]}', which is not interchangeable`);
      const { name: _name, ...rest } = domains[index]!;
      const declared = stableJson(rest);
      if (first === null) first = declared;
      else if (declared !== first) return bad(path, `names '${group[j]}', which is not declared exactly as '${group[0]}' (only the name may differ)`);
      if (crashed.has(group[0]!) !== crashed.has(group[j]!)) return bad(path, `names '${group[j]}': the alphabet must crash every domain of the group or none`);
    }
  }
  return E.right(canonicalFingerprint(sup, groups));
}
