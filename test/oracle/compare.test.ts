/**
 * ORC-DIFF-1: comparing step records over the capabilities both producers declare, in the
 * field order of ORC-REC-3, reporting the first difference with its path and both values.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { compareRecords, sharedCapabilities } from '../../src/oracle/compare.ts';
import { decodeScenario } from '../../src/oracle/formats.ts';
import { bootInstance } from '../../src/oracle/instance.ts';
import { CAPABILITIES, type StepRecord } from '../../src/oracle/record.ts';
import { DEFAULT_ARCH } from '../../src/oracle/session.ts';
import { builtinTable } from '../../src/perf/builtin.ts';
import type { SystemEvent } from '../../src/system/index.ts';

const ALL = [...CAPABILITIES];

/** Real records of the example scenario, as they travel: through JSON. */
function records(events: readonly SystemEvent[]): Record<string, unknown>[] {
  const scenario = decodeScenario(JSON.parse(readFileSync(new URL('../../examples/scenarios/two-counters.json', import.meta.url), 'utf8')));
  const table = builtinTable(DEFAULT_ARCH);
  if (E.isLeft(scenario) || E.isLeft(table)) throw new Error('fixture');
  const booted = bootInstance(scenario.right, table.right);
  if (E.isLeft(booted)) throw new Error(booted.left.message);
  let inst = booted.right;
  return events.map((event) => {
    const r = inst.step(event);
    inst = r.instance;
    return JSON.parse(JSON.stringify(r.record)) as Record<string, unknown>;
  });
}

/** Step 1 of thread b on CPU 1 stores to memory; step 2 as well. */
const [first, second] = records([{ kind: 'exec', cpu: 1 }, { kind: 'exec', cpu: 1 }, { kind: 'exec', cpu: 1 }]).slice(1) as [StepRecord & Record<string, unknown>, StepRecord & Record<string, unknown>];
const edit = (r: Record<string, unknown>, f: (copy: Record<string, unknown>) => void): Record<string, unknown> => {
  const copy = structuredClone(r);
  f(copy);
  return copy;
};

const observed = (obs: Record<string, unknown>) => (r: Record<string, unknown>) => ({ ...r, observations: obs });

describe('ORC-DIFF-1: compareRecords', () => {
  it('ORC-DIFF-1, ORC-REC-4: a record agrees with itself and with a copy; different steps do not', () => {
    expect(compareRecords(first, first, ALL)).toBeNull();
    expect(compareRecords(first, structuredClone(first), ALL)).toBeNull();
    expect(compareRecords(first, second, ALL)).toMatchObject({ index: 1, path: 'index', expected: 1, actual: 2 });
  });

  it('ORC-DIFF-1, ORC-REC-2: the capabilities compared are those both declare, in ORC-REC-3 order, unknown names ignored', () => {
    expect(sharedCapabilities(['fingerprint', 'memory', 'trap', 'frobs'], ['trap', 'memory', 'cycles', 'frobs'])).toEqual(['trap', 'memory']);
    expect(sharedCapabilities(ALL, ALL)).toEqual(ALL);
    expect(sharedCapabilities(ALL, 'all of them')).toEqual([]);
    expect(sharedCapabilities(null, undefined)).toEqual([]);
  });

  it('ORC-DIFF-1, ORC-REC-2: fields outside the shared capabilities are not compared; the index always is', () => {
    const other = edit(first, (r) => {
      r['fingerprint'] = '0000000000000000';
      r['ops'] = [];
      r['cycles'] = 0;
    });
    expect(compareRecords(first, other, ALL)?.path).toBe('ops[0]');
    expect(compareRecords(first, other, ['event', 'error', 'trap', 'registers', 'memory'])).toBeNull();
    // An implementation that declares no capability at all is still held to the index.
    expect(compareRecords(first, { index: 1 }, [])).toBeNull();
    expect(compareRecords(first, { index: 7 }, [])).toEqual({ index: 1, path: 'index', expected: 1, actual: 7 });
  });

  it('ORC-DIFF-1, ORC-REC-3: the first difference in field order wins, whatever order the capabilities are given in', () => {
    const trap = { kind: 'svc', imm: 9, from: 0, to: 1, esr: 0x54000009 };
    const expected = { ...first, trap, registers: [{ cpu: 1, reg: 'r2', value: 3 }, { cpu: 1, reg: 'pc', value: 0x104 }, { cpu: 1, reg: 'ESR_EL1', value: 0x54000009 }] };
    const actual = { ...expected, trap: { ...trap, esr: 0x54000008 }, registers: [...expected.registers.slice(0, 2), { cpu: 1, reg: 'ESR_EL1', value: 0x54000008 }], fingerprint: 'ffffffffffffffff' };
    const reversed = [...ALL].reverse();
    expect(compareRecords(expected, actual, reversed)).toEqual({ index: 1, path: 'trap.esr', expected: 0x54000009, actual: 0x54000008 });
    expect(compareRecords(expected, { ...actual, trap }, reversed)).toEqual({ index: 1, path: 'registers[2].value', expected: 0x54000009, actual: 0x54000008 });
    expect(compareRecords(expected, { ...actual, trap, registers: expected.registers }, reversed)?.path).toBe('fingerprint');
  });

  it('ORC-DIFF-1: paths name list items, nested fields and observation domains; a side with nothing there is absent', () => {
    const e = observed({ dom1: [{ subject: 't', kind: 'message', values: [1, 2] }] })(first);
    expect(compareRecords(e, observed({ dom1: [{ subject: 't', kind: 'message', values: [1, 3] }] })(first), ALL)).toEqual({ index: 1, path: 'observations.dom1[0].values[1]', expected: 2, actual: 3 });
    // A domain only the implementation reports is a difference (the map's keys are data)…
    const extra = compareRecords(e, observed({ dom1: [{ subject: 't', kind: 'message', values: [1, 2] }], 'dom-2': [] })(first), ALL);
    expect(extra).toEqual({ index: 1, path: 'observations["dom-2"]', actual: [] });
    expect(extra && 'expected' in extra).toBe(false);
    // …and so is one it leaves out, or a list that ends early.
    expect(compareRecords(e, observed({})(first), ALL)).toEqual({ index: 1, path: 'observations.dom1', expected: [{ subject: 't', kind: 'message', values: [1, 2] }] });
    expect(first.memory.length).toBeGreaterThan(0);
    expect(compareRecords(first, { ...first, memory: [] }, ALL)).toEqual({ index: 1, path: 'memory[0]', expected: first.memory[0] });
    expect(compareRecords(first, { ...first, memory: [...first.memory, { address: 4, value: 1 }] }, ALL)).toEqual({ index: 1, path: `memory[${first.memory.length}]`, actual: { address: 4, value: 1 } });
    // A declared field the implementation left out.
    const { trap: _trap, ...noTrap } = first;
    expect(compareRecords(first, noTrap, ALL)).toEqual({ index: 1, path: 'trap', expected: null });
    // A domain named like a prototype member is data too.
    expect(compareRecords(observed({})(first), observed({ constructor: [] })(first), ALL)?.path).toBe('observations.constructor');
  });

  it('ORC-DIFF-1, ORC-REC-5: fields the oracle does not know are ignored; rejections compare by code, not wording', () => {
    const newer = { ...first, trap: { kind: 'irq', virtual: false, from: 0, to: 1, esr: 0, vector: 0x480 }, shinyNewField: 1 };
    expect(compareRecords({ ...first, trap: { kind: 'irq', virtual: false, from: 0, to: 1, esr: 0 } }, newer, ALL)).toBeNull();
    const rejected = { ...first, error: { code: 'exec.cpu', message: 'execute: cpu must be an integer from 0 to 1 (got 5)' } };
    expect(compareRecords(rejected, { ...rejected, error: { code: 'exec.cpu', message: 'no such CPU: 5' } }, ALL)).toBeNull();
    expect(compareRecords(rejected, { ...rejected, error: { code: 'exec.range', message: 'no such CPU: 5' } }, ALL)).toEqual({ index: 1, path: 'error.code', expected: 'exec.cpu', actual: 'exec.range' });
    expect(compareRecords(rejected, { ...rejected, error: null }, ALL)).toEqual({ index: 1, path: 'error', expected: rejected.error, actual: null });
  });

  it('ORC-DIFF-1: total — any JSON on either side gives null or a difference, never an exception; equal values agree', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.subarray(ALL), (a, b, caps) => {
        const d = compareRecords(a, b, caps);
        expect(d === null || typeof d.path === 'string').toBe(true);
        expect(compareRecords(a, structuredClone(a), caps)).toBeNull();
        // Grafted onto a real record, the values are compared wherever they sit.
        const x = { ...first, trap: a };
        const y = { ...first, trap: b };
        const dt = compareRecords(x, y, ALL);
        if (dt !== null) expect(dt.path.startsWith('trap')).toBe(true);
      }),
    );
    expect(compareRecords('not a record', first, ALL)).toEqual({ index: 1, path: 'record', expected: 'not a record', actual: first });
    expect(compareRecords(undefined, null, ALL)).toEqual({ index: -1, path: 'record', expected: undefined, actual: null });
    expect(compareRecords(5, 5, ALL)).toBeNull();
  });
});
