/**
 * The properties checked during exploration (CHK-PROP-1..3 in spec/model-checking.md), shared
 * by the serial search and the parallel workers.
 *
 * @module
 */
import { fingerprintLanes, type Supervisor, type System, type SystemEvent } from '../system/index.ts';

/** The fingerprint of a view, as one string, for comparing views before and after a step. */
function viewPrint<S>(sup: Supervisor<S>, sys: System<S>, d: string): string {
  const [a, b] = fingerprintLanes(sup.view(sys, d));
  return `${a}:${b}`;
}

/** The fingerprint as printed (SYS-7): 16 hexadecimal digits. */
export const hex = (a: number, b: number): string => a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');

/**
 * What integrity needs of a state, computed once per state rather than once per event: who
 * may affect whom, and each domain's view.
 */
export class IntegrityContext<S> {
  private reach: Map<string, Set<string>> | null = null;
  private views: Map<string, string> | null = null;
  constructor(
    private readonly sup: Supervisor<S>,
    private readonly before: System<S>,
  ) {}

  /**
   * CHK-PROP-2 (integrity): "after any event caused by domain a, the view of every domain b
   * with no a→b authority edge is unchanged". The domain that causes an `exec` event is the
   * one running on that CPU; other events are the environment's, not a domain's.
   */
  violations(event: SystemEvent, after: System<S>): string[] {
    if (event.kind !== 'exec' || after === this.before) return [];
    const actor = this.sup.runningDomain(this.before, event.cpu);
    if (actor === null) return [];
    if (this.reach === null) {
      this.reach = new Map();
      for (const e of this.sup.authority(this.before)) {
        let to = this.reach.get(e.from);
        if (to === undefined) this.reach.set(e.from, (to = new Set()));
        to.add(e.to);
      }
    }
    const reach = this.reach.get(actor);
    const out: string[] = [];
    for (const d of this.sup.domains(this.before)) {
      if (d === actor || reach?.has(d) === true) continue;
      if (this.viewBefore(d) !== viewPrint(this.sup, after, d)) out.push(`${actor} changed the view of ${d} with no authority edge to it`);
    }
    return out;
  }

  private viewBefore(d: string): string {
    this.views ??= new Map();
    let v = this.views.get(d);
    if (v === undefined) this.views.set(d, (v = viewPrint(this.sup, this.before, d)));
    return v;
  }
}

/** CHK-PROP-1: the first invariant that fails on `sys`, with its violations. */
export function invariantViolation<S>(sup: Supervisor<S>, sys: System<S>): { name: string; details: readonly string[] } | null {
  for (const r of sup.invariants(sys)) if (r.violations.length > 0) return { name: r.name, details: r.violations };
  return null;
}

