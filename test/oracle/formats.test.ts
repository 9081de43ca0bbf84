/**
 * ORC-FMT-1..4: scenarios and traces decode from JSON, and every bad input is one error value
 * naming the JSON path, what was expected and what was found.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { decodeEvent, decodeScenario, decodeTrace, parseJson } from '../../src/oracle/formats.ts';
import { HV_SCENARIO, MK_SCENARIO } from './fixtures.ts';

const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
const messageOf = <A>(r: E.Either<{ message: string }, A>): string => (E.isLeft(r) ? r.left.message : 'accepted');

describe('scenario and trace formats', () => {
  it('ORC-FMT-2: both supervisors\' scenarios decode to what was written', () => {
    for (const s of [MK_SCENARIO, HV_SCENARIO]) {
      const r = decodeScenario(json(s));
      expect(E.isRight(r)).toBe(true);
      if (E.isRight(r)) expect(json(r.right)).toEqual(json(s));
    }
  });

  it('ORC-FMT-1: another format or version is rejected', () => {
    expect(messageOf(decodeScenario({ ...json(MK_SCENARIO) as object, format: 'mkhv-trace' }))).toMatch(/'format' must be 'mkhv-scenario'/);
    expect(messageOf(decodeScenario({ ...json(MK_SCENARIO) as object, version: 2 }))).toMatch(/'version' must be version 1/);
    expect(messageOf(decodeTrace({ format: 'mkhv-scenario', version: 1, events: [] }))).toMatch(/'format' must be 'mkhv-trace'/);
  });

  it('ORC-FMT-2, ORC-FMT-4: errors in the machine and the boot configuration name their path', () => {
    const mk = json(MK_SCENARIO) as { machine: Record<string, unknown>; boot: { threads: Record<string, unknown>[] } };
    expect(messageOf(decodeScenario({ ...mk, machine: { ...mk.machine, cpus: 0 } }))).toBe("scenario: 'machine.cpus' must be an integer from 1 to 8 (got 0)");
    const threads = mk.boot.threads.map((t, i) => (i === 1 ? { ...t, priority: -1 } : t));
    expect(messageOf(decodeScenario({ ...mk, boot: { ...mk.boot, threads } }))).toBe("scenario: 'boot.threads[1].priority' must be a non-negative integer (got -1)");
    const extra = mk.boot.threads.map((t, i) => (i === 0 ? { ...t, prio: 3 } : t));
    expect(messageOf(decodeScenario({ ...mk, boot: { ...mk.boot, threads: extra } }))).toBe("scenario: 'boot.threads[0].prio' is not a known field");
    expect(messageOf(decodeScenario({ ...mk, supervisor: 'exokernel' }))).toMatch(/'supervisor' must be 'microkernel' or 'hypervisor' \(got "exokernel"\)/);
    const hv = json(HV_SCENARIO) as { boot: { domains: Record<string, unknown>[] } };
    const domains = hv.boot.domains.map((d, i) => (i === 2 ? { ...d, memory: 'lots' } : d));
    expect(messageOf(decodeScenario({ ...hv, boot: { domains } }))).toBe('scenario: \'boot.domains[2].memory\' must be a non-negative integer (got "lots")');
  });

  it('ORC-FMT-3: every kind of event decodes; a bad one is named by its index and field', () => {
    const events = [
      { kind: 'exec', cpu: 0 },
      { kind: 'exec', cpu: 1, insn: 0xffffffff },
      { kind: 'tick', cpu: 0 },
      { kind: 'irq', line: 3 },
      { kind: 'device', device: 0, packet: [1, 2] },
      { kind: 'inject', fault: { kind: 'crash', domain: 'a' } },
    ];
    expect(decodeTrace({ format: 'mkhv-trace', version: 1, events })).toEqual(E.right({ format: 'mkhv-trace', version: 1, events }));
    expect(messageOf(decodeTrace({ format: 'mkhv-trace', version: 1, events: [...events, { kind: 'exec', cpu: 1.5 }] }))).toBe("trace: 'events[6].cpu' must be a non-negative integer (got 1.5)");
    expect(messageOf(decodeTrace({ format: 'mkhv-trace', version: 1, events: [{ kind: 'teleport' }] }))).toMatch(/^trace: 'events\[0\]\.kind' must be one of 'exec', 'tick', 'irq', 'device', 'inject' \(got "teleport"\)$/);
    expect(messageOf(decodeEvent({ kind: 'exec', cpu: 0, insn: 2 ** 32 }))).toBe("event: 'insn' must be a 32-bit unsigned integer (got 4294967296)");
    // A CPU the machine does not have is the model's to reject, not the format's (ORC-FMT-3).
    expect(E.isRight(decodeEvent({ kind: 'exec', cpu: 7 }))).toBe(true);
  });

  it('ORC-FMT-4: no JSON value makes a decoder throw; text that is not JSON is an error value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(() => [decodeScenario(v), decodeTrace(v), decodeEvent(v)]).not.toThrow();
      }),
    );
    expect(messageOf(parseJson('{"format":', 'scenario'))).toMatch(/^scenario: not JSON/);
  });
});
