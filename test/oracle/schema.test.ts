/**
 * ORC-SCHEMA-1..4: the JSON Schemas in spec/schema/ agree with the oracle's codecs. On valid,
 * mutated and random inputs the scenario, trace and event schemas accept exactly what
 * decodeScenario, decodeTrace and decodeEvent accept — except the relations between fields
 * that the schemas leave to the decoder, which must then be the decoder's reason. Every
 * header and record `mkhv run --json` prints, every response of a serve session and every
 * request it accepts validate against the record, response and request schemas.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { SYSREGS } from '../../src/hw/index.ts';
import { decodeEvent, decodeScenario, decodeTrace } from '../../src/oracle/formats.ts';
import { bootInstance } from '../../src/oracle/instance.ts';
import { CAPABILITIES } from '../../src/oracle/record.ts';
import { EMPTY_SESSION, handleLine, type Session } from '../../src/oracle/session.ts';
import { builtinTable } from '../../src/perf/builtin.ts';
import { PRIMITIVE_OPS } from '../../src/perf/ops.ts';
import { HV_SCENARIO, MK_SCENARIO } from './fixtures.ts';
import { addKeyAt, arbEvent, arbRequest, arbScenario, arbTrace, asJson, BOUNDARY_NUMBERS, BOUNDARY_STRINGS, deleteAt, mutated, nodeAt, pathsOf, replaceAt, RUNS } from './json-arbitraries.ts';
import { compileSchemas, readSchemas, type SchemaName, type Validator } from './schemas.ts';

const schema = compileSchemas();
const scenarioSchema = schema('scenario');
const traceSchema = schema('trace');
const eventSchema = schema('event');
const requestSchema = schema('request');
const responseSchema = schema('response');
const headerSchema = schema('record', 'header');
const recordSchema = schema('record', 'record');

interface Machine {
  readonly frames: number;
  readonly wordsPerFrame: number;
  readonly pageTableLevels: number;
  readonly pageTableIndexBits: number;
  readonly irqLines: number;
  readonly devices: readonly { readonly kind: string; readonly irq: number; readonly sectors?: number }[];
}

/**
 * The paths of the machine's fields that break a relation the scenario schema leaves to the
 * decoder (its description lists them), for a machine the schema accepts.
 */
function relationalProblems(m: Machine): string[] {
  const problems: string[] = [];
  // HW-CFG-4: a page table fits in one frame.
  if (2 ** m.pageTableIndexBits > m.wordsPerFrame) problems.push('machine.pageTableIndexBits');
  // HW-CFG-5: addresses fit in 32 bits.
  if (Math.log2(4 * m.wordsPerFrame) + m.pageTableLevels * m.pageTableIndexBits > 32) problems.push('machine.pageTableLevels');
  // HW-CFG-1: at most 2^24 words of RAM; device lines below irqLines and distinct; disks of at most 2^24 words.
  if (m.frames * m.wordsPerFrame > 2 ** 24) problems.push('machine.frames');
  const used = new Set<number>();
  m.devices.forEach((d, i) => {
    if (d.irq >= m.irqLines || used.has(d.irq)) problems.push(`machine.devices[${i}].irq`);
    used.add(d.irq);
    if (d.sectors !== undefined && d.sectors * m.wordsPerFrame > 2 ** 24) problems.push(`machine.devices[${i}].sectors`);
  });
  return problems;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s.length > 600 ? `${s.slice(0, 600)}…` : s;
};

/** Fails with `message()` unless `ok`; the message is only built for a failure. */
function check(ok: boolean, message: () => string): void {
  if (!ok) expect.fail(message());
}

/** Checks that the scenario schema and decodeScenario agree on `v`; says how it was judged. */
function scenarioAgreement(v: unknown): 'accepted' | 'rejected' | 'relational' {
  const bySchema = scenarioSchema(v);
  const byCodec = decodeScenario(v);
  const codecSays = () => (E.isLeft(byCodec) ? `the decoder rejects (${byCodec.left.message})` : 'the decoder accepts');
  if (!bySchema) {
    check(E.isLeft(byCodec), () => `the schema rejects (${scenarioSchema.why()}) but ${codecSays()}: ${show(v)}`);
    return 'rejected';
  }
  const relations = relationalProblems((v as { machine: Machine }).machine);
  if (relations.length === 0) {
    check(E.isRight(byCodec), () => `the schema accepts but ${codecSays()}: ${show(v)}`);
    return 'accepted';
  }
  // A relational-only rejection: the decoder must reject, and for one of those relations.
  check(E.isLeft(byCodec) && relations.includes(byCodec.left.path ?? ''), () => `the machine breaks ${relations.join(', ')} and ${codecSays()}: ${show(v)}`);
  return 'relational';
}

/** Checks that `validate` and `decode` agree on `v`; returns whether they accept it. */
function agreement(validate: Validator, decode: (v: unknown) => E.Either<{ message: string }, unknown>, v: unknown): boolean {
  const bySchema = validate(v);
  const byCodec = decode(v);
  check(E.isRight(byCodec) === bySchema, () => `the schema ${bySchema ? 'accepts' : `rejects (${validate.why()})`} but the decoder ${E.isLeft(byCodec) ? `rejects (${byCodec.left.message})` : 'accepts'}: ${show(v)}`);
  return bySchema;
}
const traceAgreement = (v: unknown) => agreement(traceSchema, decodeTrace, v);
const eventAgreement = (v: unknown) => agreement(eventSchema, decodeEvent, v);

/** Counts outcomes, so a test can show both sides of the agreement were exercised. */
function tally<K extends string>(): { add: (k: K) => void; count: (k: K) => number } {
  const counts = new Map<K, number>();
  return { add: (k) => counts.set(k, (counts.get(k) ?? 0) + 1), count: (k) => counts.get(k) ?? 0 };
}

const fixtures = [MK_SCENARIO, HV_SCENARIO].map(asJson);

/** A machine with every kind of device. */
const FULL_MACHINE = {
  cpus: 2,
  frames: 64,
  wordsPerFrame: 64,
  pageTableLevels: 2,
  pageTableIndexBits: 4,
  tlbEntries: 8,
  irqLines: 8,
  devices: [{ kind: 'console', irq: 3 }, { kind: 'block', irq: 4, sectors: 4 }, { kind: 'nic', irq: 5, rxQueue: 2 }],
};

/** Scenarios and events in which every field of the formats appears once, for the sweep below. */
const FULL_INPUTS: readonly { readonly what: 'scenario' | 'trace' | 'event'; readonly value: unknown }[] = [
  {
    what: 'scenario',
    value: {
      format: 'mkhv-scenario',
      version: 1,
      name: 'every microkernel field',
      machine: FULL_MACHINE,
      supervisor: 'microkernel',
      boot: {
        kernel: { timeslice: 5, domainSchedule: [{ domain: 'red', ticks: 3 }] },
        domains: ['red', 'green'],
        objects: [{ name: 'ep', type: 'endpoint' }, { name: 'u', type: 'untyped', sizeBits: 10 }, { name: 'dev', type: 'frame', device: 0 }],
        threads: [
          {
            name: 't', domain: 'red', priority: 10, cpu: 0, cnodeBits: 4, vspace: true, program: 'b 0x100', origin: 256,
            pages: [{ va: 0x800, frame: 'dev', write: true, execute: false }], caps: [{ slot: 1, object: 'ep', rights: 'RW', badge: 7 }],
            faultEndpoint: 1, regs: { r1: 1, r15: 0xffffffff }, start: true,
          },
        ],
        untyped: [{ thread: 't', slot: 2, sizeBits: 8 }],
        irqs: [{ line: 4, notification: 'n', badge: 1 }],
      },
    },
  },
  {
    what: 'scenario',
    value: {
      format: 'mkhv-scenario',
      version: 1,
      machine: FULL_MACHINE,
      supervisor: 'hypervisor',
      boot: {
        hypervisor: { sliceTicks: 3, accountingTicks: 3, creditsPerTick: 100 },
        domains: [
          {
            name: 'dom0', control: true, kernel: 'wfi', origin: 0, memory: 4, pages: 1, vcpus: 1, weight: 256, cap: 0, storage: 1,
            affinity: [0], devices: [{ device: 2, gfn: 8 }], start: true, demandPaging: false, regs: { r2: 2 },
          },
        ],
        images: [{ name: 'img', kernel: 'b 0', origin: 0, memory: 2, pages: 1, vcpus: 1, weight: 128, cap: 50, storage: 0 }],
        channels: [{ from: 'dom0', to: 'img' }],
        grants: [{ from: 'dom0', to: 'img', gfn: 0, readonly: true }],
      },
    },
  },
  {
    what: 'trace',
    value: {
      format: 'mkhv-trace',
      version: 1,
      events: [
        { kind: 'exec', cpu: 0, insn: 0xffffffff },
        { kind: 'tick', cpu: 1 },
        { kind: 'irq', line: 3 },
        { kind: 'device', device: 2, packet: [1, 0xffffffff] },
        { kind: 'inject', fault: { kind: 'crash', domain: 'dom0' } },
      ],
    },
  },
  { what: 'event', value: { kind: 'exec', cpu: 1, insn: 7 } },
];

/** Every number a schema names (bounds, enumerations, constants), with its neighbours. */
function schemaNumbers(node: unknown, out = new Set<number>()): Set<number> {
  if (Array.isArray(node)) node.forEach((n) => schemaNumbers(n, out));
  else if (typeof node === 'object' && node !== null) {
    for (const [k, v] of Object.entries(node)) {
      if (typeof v === 'number' && ['minimum', 'maximum', 'const', 'minLength', 'maxLength', 'maxItems'].includes(k)) [v - 1, v, v + 1].forEach((n) => out.add(n));
      if (k === 'enum' && Array.isArray(v)) v.filter((e) => typeof e === 'number').forEach((n: number) => [n - 1, n, n + 1].forEach((m) => out.add(m)));
      schemaNumbers(v, out);
    }
  }
  return out;
}

describe('JSON Schemas of the oracle formats', () => {
  it('ORC-SCHEMA-1: every schema is a strict draft 2020-12 schema with an $id, a title and descriptions', () => {
    const docs = readSchemas();
    const names: SchemaName[] = ['scenario', 'trace', 'event', 'record', 'request', 'response'];
    expect([...docs.keys()].sort()).toEqual(names.map((n) => `${n}.schema.json`).sort());
    for (const name of names) {
      const doc = docs.get(`${name}.schema.json`)!;
      expect(doc['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(doc['$id']).toBe(`urn:mkhv:schema:${name}`);
      expect(doc['title']).toMatch(/ORC-/);
      expect(doc['description']).toMatch(/ORC-/);
      // Compiled in strict mode (no unknown keyword, no ambiguity) by compileSchemas.
      expect(typeof schema(name)).toBe('function');
    }
    // ORC-SCHEMA-2: what is left to the decoder is listed where a reader of the schema looks.
    const scenario = docs.get('scenario.schema.json')!['description'] as string;
    for (const rule of ['HW-CFG-4', 'HW-CFG-5', 'frames × wordsPerFrame', 'irq', 'sectors × wordsPerFrame', 'Checked by the decoder, not the schema']) expect(scenario).toContain(rule);
  });

  it('ORC-SCHEMA-3: the record schema\'s closed lists are the model\'s: primitive operations and register names', () => {
    const record = readSchemas().get('record.schema.json')! as { $defs: Record<string, { enum?: unknown[]; properties?: Record<string, { description?: string }> }> };
    expect(record.$defs['op']!.enum).toEqual([...PRIMITIVE_OPS]);
    const registers = [...Array.from({ length: 15 }, (_, i) => `r${i + 1}`), 'pc', 'el', 'irqMasked', 'waiting', 'counter', ...SYSREGS.map((r) => r.name)];
    expect(record.$defs['register']!.enum).toEqual(registers);
    for (const c of CAPABILITIES) expect(record.$defs['header']!.properties!['capabilities']!.description).toContain(c);
  });

  it('ORC-SCHEMA-2, HW-CFG-3..5: each relation left to the decoder passes the schema alone and is the decoder\'s reason to reject', () => {
    const base = fixtures[0] as unknown as { machine: Record<string, unknown> };
    const console3 = { kind: 'console', irq: 3 };
    const cases: [Record<string, unknown>, string][] = [
      [{ wordsPerFrame: 16, pageTableIndexBits: 5 }, 'machine.pageTableIndexBits'],
      [{ wordsPerFrame: 1024, pageTableIndexBits: 10, pageTableLevels: 3 }, 'machine.pageTableLevels'],
      [{ wordsPerFrame: 1024, pageTableIndexBits: 4, frames: 2 ** 14 + 1 }, 'machine.frames'],
      [{ irqLines: 8, devices: [{ kind: 'console', irq: 8 }] }, 'machine.devices[0].irq'],
      [{ devices: [console3, { kind: 'nic', irq: 3, rxQueue: 1 }] }, 'machine.devices[1].irq'],
      [{ wordsPerFrame: 64, devices: [console3, { kind: 'block', irq: 4, sectors: 2 ** 18 + 1 }] }, 'machine.devices[1].sectors'],
    ];
    for (const [change, path] of cases) {
      const v = { ...base, machine: { ...base.machine, ...change } };
      expect(scenarioSchema(v), `${show(change)}: ${scenarioSchema.why()}`).toBe(true);
      const r = decodeScenario(v);
      expect(E.isLeft(r) ? r.left.path : 'accepted', show(change)).toBe(path);
      expect(relationalProblems(v.machine as unknown as Machine)).toEqual([path]);
    }
  });

  it('ORC-SCHEMA-2, ORC-FMT-4: around every field of the formats, each boundary number, near-miss string, wrong type, missing field and unknown field is judged alike by the schemas and the decoders', () => {
    const numbers = [...new Set([...BOUNDARY_NUMBERS, ...[...readSchemas().values()].flatMap((d) => [...schemaNumbers(d)])])];
    const wrongTypes: unknown[] = [null, true, 'x', 1, -1, [], {}, [1], { cpu: 0 }];
    const seen = tally<string>();
    for (const { what, value } of FULL_INPUTS) {
      const judge = (v: unknown): string =>
        what === 'scenario' ? scenarioAgreement(v) : (what === 'trace' ? traceAgreement(v) : eventAgreement(v)) ? 'accepted' : 'rejected';
      expect(judge(value), what).toBe('accepted');
      for (const path of pathsOf(value)) {
        const node = nodeAt(value, path);
        const candidates = typeof node === 'number' ? numbers : typeof node === 'string' ? BOUNDARY_STRINGS : wrongTypes;
        for (const c of candidates) seen.add(judge(replaceAt(value, path, c)));
        if (typeof node === 'object' && node !== null && !Array.isArray(node)) {
          for (const key of ['extra', '__proto__', 'constructor', '', 'r0', 'r16', 'Name']) seen.add(judge(addKeyAt(value, path, key, 1)));
        }
        if (Array.isArray(node) && node.length > 0) {
          // Lists other than a trace's events hold at most 4096 items.
          for (const length of [4096, 4097]) seen.add(judge(replaceAt(value, path, Array.from({ length }, (_, i) => node[i % node.length]))));
        }
        if (typeof path[path.length - 1] === 'string') seen.add(judge(deleteAt(value, path)));
      }
    }
    expect(seen.count('accepted') > 0 && seen.count('rejected') > 0 && seen.count('relational') > 0).toBe(true);
  });

  it('ORC-SCHEMA-2, ORC-FMT-2: random valid scenarios of both supervisors pass the schema and the decoder', () => {
    fc.assert(fc.property(arbScenario, (v) => {
      expect(scenarioAgreement(v)).toBe('accepted');
    }), { numRuns: RUNS * 2 });
  });

  it('ORC-SCHEMA-2, ORC-FMT-1, ORC-FMT-2, ORC-FMT-4: on mutated and random scenarios the schema accepts exactly when the decoder does, but for the relations it leaves to the decoder', () => {
    const seen = tally<'accepted' | 'rejected' | 'relational'>();
    const inputs = fc.oneof(
      { weight: 6, arbitrary: mutated(arbScenario) },
      { weight: 2, arbitrary: mutated(fc.constantFrom(...fixtures)) },
      { weight: 1, arbitrary: fc.jsonValue() },
    );
    fc.assert(fc.property(inputs, (v) => {
      seen.add(scenarioAgreement(v));
    }), { numRuns: RUNS * 8 });
    // Both sides of the agreement ran: mutations the formats tolerate, and ones they refuse.
    expect(seen.count('accepted')).toBeGreaterThan(0);
    expect(seen.count('rejected')).toBeGreaterThan(0);
  });

  it('ORC-SCHEMA-2, ORC-FMT-1, ORC-FMT-3, ORC-FMT-4: on valid, mutated and random traces and events the schemas accept exactly when the decoders do', () => {
    const seen = tally<'trace' | 'no trace' | 'event' | 'no event'>();
    fc.assert(fc.property(arbTrace(), (v) => {
      expect(traceAgreement(v)).toBe(true);
    }), { numRuns: RUNS });
    fc.assert(
      fc.property(fc.oneof({ weight: 4, arbitrary: mutated(arbTrace()) }, { weight: 1, arbitrary: fc.jsonValue() }), (v) => {
        seen.add(traceAgreement(v) ? 'trace' : 'no trace');
      }),
      { numRuns: RUNS * 3 },
    );
    fc.assert(
      fc.property(fc.oneof({ weight: 2, arbitrary: arbEvent }, { weight: 4, arbitrary: mutated(arbEvent) }, { weight: 1, arbitrary: fc.jsonValue() }), (v) => {
        seen.add(eventAgreement(v) ? 'event' : 'no event');
      }),
      { numRuns: RUNS * 3 },
    );
    for (const k of ['trace', 'no trace', 'event', 'no event'] as const) expect(seen.count(k), k).toBeGreaterThan(0);
  });

  describe('what the oracle writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mkhv-schema-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('ORC-SCHEMA-3, ORC-REC-1..3: every header and record `mkhv run --json` prints validates against record.schema.json', async () => {
      const events = [
        ...Array.from({ length: 40 }, (_, i) => ({ kind: 'exec', cpu: i % 2 })),
        { kind: 'tick', cpu: 0 },
        { kind: 'irq', line: 3 },
        { kind: 'exec', cpu: 0, insn: 0xffffffff },
        { kind: 'device', device: 0, packet: [1, 2] },
        { kind: 'inject', fault: { kind: 'crash', domain: 'b' } },
        { kind: 'inject', fault: { kind: 'crash', domain: 'nobody' } },
        { kind: 'exec', cpu: 7 },
      ];
      const trace = join(dir, 'trace.json');
      writeFileSync(trace, JSON.stringify({ format: 'mkhv-trace', version: 1, events }));
      for (const [i, s] of fixtures.entries()) {
        const file = join(dir, `scenario-${i}.json`);
        writeFileSync(file, JSON.stringify(s));
        const out: string[] = [];
        const err: string[] = [];
        expect(await main(['run', file, trace, '--json'], { out: (l) => out.push(l), err: (l) => err.push(l) })).toBe(0);
        expect(err).toEqual([]);
        expect(out).toHaveLength(events.length + 1);
        const [header, ...records] = out.map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(headerSchema(header), headerSchema.why()).toBe(true);
        for (const r of records) {
          expect(recordSchema(r), `${recordSchema.why()}: ${show(r)}`).toBe(true);
          // ORC-REC-2: mkhv declares every capability, so its records carry every field.
          expect(Object.keys(r).sort()).toEqual(['index', ...CAPABILITIES].sort());
        }
        expect(records.some((r) => r['error'] !== null) && records.some((r) => r['trap'] !== null)).toBe(true);
      }
    });

    it('ORC-SCHEMA-3, ORC-REC-3: records of random traces (injected words, any CPU, line, device or domain) validate against record.schema.json', () => {
      const table = builtinTable('cortex-a57');
      if (E.isLeft(table)) throw new Error(table.left.message);
      const instances = fixtures.map((s) => {
        const d = decodeScenario(s);
        const booted = E.isRight(d) ? bootInstance(d.right, table.right) : E.left(d.left);
        if (E.isLeft(booted)) throw new Error(booted.left.message);
        return booted.right;
      });
      const traps = new Set<string>();
      const trace = fc.array(arbEvent, { maxLength: 30 });
      fc.assert(
        fc.property(fc.nat(1), trace, (which, events) => {
          let inst = instances[which]!;
          for (const json of events) {
            const event = decodeEvent(json);
            if (E.isLeft(event)) throw new Error(event.left.message);
            const r = inst.step(event.right);
            inst = r.instance;
            const record = asJson(r.record);
            check(recordSchema(record), () => `${recordSchema.why()}: ${show(record)}`);
            if (r.record.trap !== null) traps.add(r.record.trap.kind);
          }
        }),
        { numRuns: RUNS },
      );
      // The schema's trap members were exercised, not only null.
      expect(traps.size).toBeGreaterThanOrEqual(3);
    });

    it('ORC-SCHEMA-4, ORC-SRV-1..3: every response of a scripted session validates against response.schema.json, and every request it accepts against request.schema.json', () => {
      const line = (v: unknown) => JSON.stringify(v);
      const step = (event: unknown, id?: unknown) => line({ type: 'step', event, ...(id === undefined ? {} : { id }) });
      const script = [
        'not json',
        '',
        line({ type: 'hello', id: 1 }),
        step({ kind: 'exec', cpu: 0 }, 's0'),
        line({ type: 'teleport', id: 'x' }),
        '[]',
        '"hello"',
        line({ type: 'fingerprint', id: { nested: true } }),
        line({ type: 'load' }),
        line({ type: 'load', scenario: { ...fixtures[0], machine: { cpus: 0 } } }),
        line({ type: 'load', scenario: fixtures[0], arch: 'no-such-arch' }),
        line({ type: 'load', scenario: fixtures[0], id: 'L1' }),
        ...Array.from({ length: 12 }, (_, i) => step({ kind: 'exec', cpu: i % 2 }, i)),
        step({ kind: 'tick', cpu: 1 }),
        step({ kind: 'irq', line: 3 }),
        step({ kind: 'exec', cpu: 0, insn: 0 }),
        step({ kind: 'inject', fault: { kind: 'crash', domain: 'nobody' } }),
        step({ kind: 'exec', cpu: 9 }),
        step({ kind: 'exec', cpu: -1 }, 'bad'),
        line({ type: 'step', event: { kind: 'exec', cpu: 0 }, extra: 1 }),
        line({ type: 'view', domain: 'default', id: null }),
        line({ type: 'view', domain: 'nobody' }),
        line({ type: 'fingerprint', id: 2.5 }),
        line({ type: 'reset' }),
        line({ type: 'fingerprint' }),
        line({ type: 'load', scenario: fixtures[1], arch: 'cortex-a57' }),
        ...Array.from({ length: 12 }, (_, i) => step({ kind: 'exec', cpu: i % 2 })),
        step({ kind: 'inject', fault: { kind: 'crash', domain: 'b' } }),
        line({ type: 'view', domain: 'a' }),
        line({ type: 'hello' }),
      ];
      let session: Session = EMPTY_SESSION;
      const seen = tally<string>();
      for (const text of script) {
        if (text.trim() === '') continue; // ORC-SRV-1: blank lines are ignored.
        const r = handleLine(session, text);
        session = r.session;
        const response = JSON.parse(JSON.stringify(r.response)) as Record<string, unknown>;
        expect(responseSchema(response), `${responseSchema.why()}: ${text} → ${show(response)}`).toBe(true);
        if (response['ok'] === true) {
          expect(requestSchema(JSON.parse(text)), `${requestSchema.why()}: ${text}`).toBe(true);
          seen.add(String(response['type']));
        } else {
          seen.add('error');
        }
      }
      for (const k of ['error', 'hello', 'load', 'step', 'view', 'fingerprint', 'reset']) expect(seen.count(k), k).toBeGreaterThan(0);
    });

    it('ORC-SCHEMA-4, ORC-SRV-2: the request schema accepts a step, view, hello, fingerprint or reset request exactly when the session can decode it', () => {
      const loaded = handleLine(EMPTY_SESSION, JSON.stringify({ type: 'load', scenario: fixtures[1] })).session;
      const notLoad = (v: unknown) => typeof v !== 'object' || v === null || (v as { type?: unknown }).type !== 'load';
      const seen = tally<'accepted' | 'rejected'>();
      const requests = fc.oneof(arbRequest(), mutated(arbRequest())).filter(notLoad);
      fc.assert(
        fc.property(requests, (v) => {
          const r = handleLine(loaded, JSON.stringify(v));
          // Decoded requests get an answer or an error about what they name (a domain the system lacks).
          const decoded = r.response.ok || r.response.error.code === 'view.domain';
          const bySchema = requestSchema(v);
          check(decoded === bySchema, () => `the schema ${bySchema ? 'accepts' : `rejects (${requestSchema.why()})`} but the session answers ${show(r.response)}: ${show(v)}`);
          seen.add(bySchema ? 'accepted' : 'rejected');
        }),
        { numRuns: RUNS * 3 },
      );
      expect(seen.count('accepted')).toBeGreaterThan(0);
      expect(seen.count('rejected')).toBeGreaterThan(0);
    });
  });
});

