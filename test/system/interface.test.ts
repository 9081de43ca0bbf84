/**
 * SYS-1..6: the one interface both supervisors present. Each property is checked on the same
 * footing for the microkernel and the hypervisor, over runs of random event sequences from a
 * booted scenario, so that a supervisor which bends the interface fails here and not in the
 * model checker or the oracle that rely on it.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { FIRST_SHARED_IRQ } from '../../src/hw/index.ts';
import type { HypervisorScenario } from '../../src/hypervisor/index.ts';
import type { KernelScenario } from '../../src/kernel/index.ts';
import { bootHypervisorSystem, bootMicrokernel, fingerprint, hypervisor, microkernel, step, type Supervisor, type System, type SystemEvent } from '../../src/system/index.ts';
import { HV_SCENARIO, MK_SCENARIO } from '../oracle/fixtures.ts';

interface Subject {
  readonly sup: Supervisor<unknown>;
  readonly boot: System<unknown>;
}

function subjects(): readonly Subject[] {
  const mk = bootMicrokernel(MK_SCENARIO.machine, MK_SCENARIO.boot as KernelScenario);
  const hv = bootHypervisorSystem(HV_SCENARIO.machine, HV_SCENARIO.boot as HypervisorScenario);
  if (E.isLeft(mk) || E.isLeft(hv)) throw new Error('fixture scenarios must boot');
  return [
    { sup: microkernel as Supervisor<unknown>, boot: mk.right as System<unknown> },
    { sup: hypervisor as Supervisor<unknown>, boot: hv.right as System<unknown> },
  ];
}

/** Valid events on the fixtures' machine: 2 CPUs, shared IRQ lines up to 7, a console. Mostly `exec`. */
const arbEvent: fc.Arbitrary<SystemEvent> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 1 }).map((cpu): SystemEvent => ({ kind: 'exec', cpu })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 1 }).map((cpu): SystemEvent => ({ kind: 'tick', cpu })) },
  { weight: 1, arbitrary: fc.integer({ min: FIRST_SHARED_IRQ, max: 7 }).map((line): SystemEvent => ({ kind: 'irq', line })) },
);
const arbRun = fc.array(arbEvent, { minLength: 1, maxLength: 60 });

/** Every system a run passes through, boot first, with the step results. */
function trace(s: Subject, events: readonly SystemEvent[]) {
  const systems = [s.boot];
  const results = [];
  for (const ev of events) {
    const r = step(s.sup, systems[systems.length - 1]!, ev);
    results.push(r);
    systems.push(r.system);
  }
  return { systems, results };
}

for (const s of subjects()) {
  describe(`system interface: ${s.sup.name}`, () => {
    it('SYS-1: the supervisor is a set of pure functions over a system, trapping at its own level', () => {
      expect(s.sup.trapLevel).toBe(s.sup.name === 'microkernel' ? 1 : 2);
      const domains = s.sup.domains(s.boot);
      expect(domains.length).toBeGreaterThan(0);
      expect(new Set(domains).size).toBe(domains.length);
      const before = fingerprint(s.boot);
      // Asking never changes: the queries are functions of the system alone.
      for (const d of domains) expect(JSON.stringify(s.sup.view(s.boot, d))).toBe(JSON.stringify(s.sup.view(s.boot, d)));
      s.sup.authority(s.boot);
      s.sup.invariants(s.boot);
      for (let cpu = 0; cpu < s.boot.machine.cpus.length; cpu++) {
        const d = s.sup.runningDomain(s.boot, cpu);
        if (d !== null) expect(domains).toContain(d);
      }
      expect(fingerprint(s.boot)).toBe(before);
    });

    it('SYS-2: step is deterministic, and an invalid event returns the same system with an error', () => {
      fc.assert(
        fc.property(arbRun, (events) => {
          const a = trace(s, events);
          const b = trace(s, events);
          expect(a.systems.map(fingerprint)).toEqual(b.systems.map(fingerprint));
          const last = a.systems[a.systems.length - 1]!;
          for (const bad of [{ kind: 'exec', cpu: 2 }, { kind: 'irq', line: 99 }, { kind: 'inject', fault: { kind: 'crash', domain: 'nobody' } }] as SystemEvent[]) {
            const r = step(s.sup, last, bad);
            expect(r.error).not.toBeNull();
            expect(r.system).toBe(last);
            expect(r.ops).toEqual([]);
          }
        }),
        { numRuns: 20 },
      );
    });

    it('SYS-3: an exec step carries its hardware record and its trap, and observations and lifecycle changes concern known subjects', () => {
      fc.assert(
        fc.property(arbRun, (events) => {
          const { systems, results } = trace(s, events);
          results.forEach((r, i) => {
            const ev = events[i]!;
            expect(r.error).toBeNull();
            if (ev.kind === 'exec') {
              expect(r.record).not.toBeNull();
              // A trap moves the CPU to the level it names (before any supervisor return).
              if (r.trap !== null) expect(r.record!.nextEl).toBe(r.trap.to);
              expect(r.ops.length).toBeGreaterThan(0);
            } else {
              expect(r.record).toBeNull();
            }
            const domains = s.sup.domains(systems[i]!);
            for (const o of r.observations) expect(domains).toContain(o.domain);
            for (const l of r.lifecycle) {
              expect(l.from).not.toBe(l.to);
              expect(l.event.length).toBeGreaterThan(0);
            }
          });
        }),
        { numRuns: 20 },
      );
    });

    it('SYS-4: a view is canonical JSON, and equal systems give equal views', () => {
      fc.assert(
        fc.property(arbRun, (events) => {
          const { systems } = trace(s, events);
          const last = systems[systems.length - 1]!;
          const again = trace(s, events).systems[systems.length - 1]!;
          for (const d of s.sup.domains(last)) {
            const v = s.sup.view(last, d);
            expect(JSON.parse(JSON.stringify(v))).toEqual(v);
            expect(JSON.stringify(s.sup.view(again, d))).toBe(JSON.stringify(v));
          }
        }),
        { numRuns: 20 },
      );
    });

    it('SYS-5: every authority edge joins two domains and names what carries it', () => {
      fc.assert(
        fc.property(arbRun, (events) => {
          const { systems } = trace(s, events);
          for (const sys of systems) {
            const domains = s.sup.domains(sys);
            for (const e of s.sup.authority(sys)) {
              expect(domains).toContain(e.from);
              expect(domains).toContain(e.to);
              expect(e.via.length).toBeGreaterThan(0);
            }
          }
        }),
        { numRuns: 10 },
      );
    });

    it('SYS-6: the invariants have distinct names and hold on every reachable system', () => {
      fc.assert(
        fc.property(arbRun, (events) => {
          for (const sys of trace(s, events).systems) {
            const results = s.sup.invariants(sys);
            expect(results.length).toBeGreaterThan(0);
            expect(new Set(results.map((r) => r.name)).size).toBe(results.length);
            expect(results.filter((r) => r.violations.length > 0)).toEqual([]);
          }
        }),
        { numRuns: 10 },
      );
    });
  });
}
