/**
 * Machine configuration: validation of untrusted input and the derived geometry
 * (HW-CFG-2..7).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import {
  DEMO_MACHINE,
  TINY_MACHINE,
  createMachine,
  geometryOf,
  validateMachineConfig,
  type MachineConfig,
  type MkhvError,
} from '../../src/hw/index.ts';

/** A JSON-like copy of a config that tests may break freely. */
type Raw = Record<string, unknown>;

function raw(config: MachineConfig = TINY_MACHINE): Raw {
  return JSON.parse(JSON.stringify(config)) as Raw;
}

/** TINY_MACHINE with `patch` applied at the top level. */
function tinyWith(patch: Raw): Raw {
  return { ...raw(), ...patch };
}

/** DEMO_MACHINE with `patch` applied at the top level. */
function demoWith(patch: Raw): Raw {
  return { ...raw(DEMO_MACHINE), ...patch };
}

function rejection(input: unknown): MkhvError {
  const r = validateMachineConfig(input);
  if (E.isRight(r)) throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
  return r.left;
}

/** The config is rejected with an error whose path is `path` and whose message names `name`. */
function expectRejected(input: unknown, path: string, name = path, code?: string): void {
  const e = rejection(input);
  expect(e.path).toBe(path);
  expect(e.message).toContain(name);
  if (code !== undefined) expect(e.code).toBe(code);
}

describe('the shipped machines (HW-CFG-6, HW-CFG-7)', () => {
  it('HW-CFG-7: TINY_MACHINE and DEMO_MACHINE are valid and come back unchanged', () => {
    for (const c of [TINY_MACHINE, DEMO_MACHINE]) {
      expect(validateMachineConfig(c)).toStrictEqual(E.right(c));
      expect(validateMachineConfig(raw(c))).toStrictEqual(E.right(c));
    }
  });

  it('HW-CFG-6: a 1-CPU, 4-frame machine powers on', () => {
    const config = { ...raw(), cpus: 1, frames: 4 };
    const m = createMachine(config);
    expect(E.isRight(m)).toBe(true);
    if (E.isRight(m)) {
      expect(m.right.cpus.length).toBe(1);
      expect(m.right.geometry.ramWords).toBe(4 * TINY_MACHINE.wordsPerFrame);
    }
  });

  it('HW-CFG-6: a 4-CPU, 4096-frame machine of 1024-word frames has 4 KiB pages and 16 MiB of RAM', () => {
    const m = createMachine(demoWith({ cpus: 4, frames: 4096, wordsPerFrame: 1024 }));
    expect(E.isRight(m)).toBe(true);
    if (E.isRight(m)) {
      const g = m.right.geometry;
      expect(m.right.cpus.length).toBe(4);
      expect(g.pageBytes).toBe(4096);
      expect(g.offsetBits).toBe(12);
      expect(g.ramBytes).toBe(16 * 1024 * 1024);
      expect(g.ramWords).toBe(4 * 1024 * 1024);
      expect(g.tableEntries).toBe(1024);
      expect(g.vaBits).toBe(32);
      expect(g.firstDevicePage).toBe(4096);
    }
  });

  it('HW-CFG-6: the geometry of the tiny machine', () => {
    expect(geometryOf(TINY_MACHINE)).toStrictEqual({
      config: TINY_MACHINE,
      pageBytes: 64,
      offsetBits: 6,
      vaBits: 6 + 2 * 2,
      tableEntries: 4,
      ramBytes: 256,
      ramWords: 64,
      firstDevicePage: 4,
    });
  });

  it('HW-CFG-2: the edges of every range are accepted', () => {
    const accepted: Raw[] = [
      tinyWith({ cpus: 8 }),
      tinyWith({ wordsPerFrame: 4, pageTableIndexBits: 2 }),
      tinyWith({ tlbEntries: 1 }),
      tinyWith({ tlbEntries: 256 }),
      tinyWith({ irqLines: 4, devices: [{ kind: 'console', irq: 3 }] }),
      tinyWith({ irqLines: 32, devices: [{ kind: 'nic', irq: 31, rxQueue: 1 }] }),
      tinyWith({ pageTableLevels: 1, pageTableIndexBits: 1 }),
      tinyWith({ pageTableLevels: 4, pageTableIndexBits: 4 }), // 6 + 16 bits
      tinyWith({ devices: [] }),
      // Exactly 64 MiB of RAM, and a 32-bit virtual address (12 + 2 × 10).
      demoWith({ frames: 16384 }),
      tinyWith({ wordsPerFrame: 4, pageTableIndexBits: 2, frames: (1 << 24) / 4 }),
      tinyWith({ devices: [{ kind: 'block', irq: 3, sectors: (1 << 24) / TINY_MACHINE.wordsPerFrame }] }),
    ];
    for (const c of accepted) {
      const r = validateMachineConfig(c);
      if (E.isLeft(r)) throw new Error(`${JSON.stringify(c)}: ${r.left.message}`);
      expect(r.right).toStrictEqual(c);
    }
  });
});

describe('bad configurations get an error naming the field (HW-CFG-2..5)', () => {
  it('HW-CFG-2: not an object', () => {
    for (const v of [null, undefined, 42, 'tiny', [], [TINY_MACHINE], true]) {
      const e = rejection(v);
      expect(e.code).toBe('config.type');
      expect(e.message).toContain('must be an object');
    }
  });

  it('HW-CFG-2: an unknown top-level field', () => {
    expectRejected(tinyWith({ ram: 4 }), 'ram', 'ram', 'config.unknown-field');
    expectRejected(tinyWith({ Cpus: 1 }), 'Cpus', 'Cpus', 'config.unknown-field');
  });

  it('HW-CFG-2: a missing field', () => {
    for (const field of ['cpus', 'frames', 'wordsPerFrame', 'pageTableLevels', 'pageTableIndexBits', 'tlbEntries', 'irqLines']) {
      const c = raw();
      delete c[field];
      expectRejected(c, field);
    }
    const c = raw();
    delete c['devices'];
    expectRejected(c, 'devices');
  });

  /** [field, bad value] pairs; each value is of the right JSON type or of none. */
  const outOfRange: ReadonlyArray<readonly [string, unknown]> = [
    ['cpus', 0], ['cpus', 9], ['cpus', 1.5], ['cpus', '1'], ['cpus', null], ['cpus', -1], ['cpus', Number.NaN],
    ['frames', 3], ['frames', 4.5], ['frames', (1 << 24) / 4 + 1], ['frames', true],
    ['wordsPerFrame', 2048], ['wordsPerFrame', 2], ['wordsPerFrame', 16.0001],
    ['pageTableLevels', 0], ['pageTableLevels', 5],
    ['pageTableIndexBits', 0], ['pageTableIndexBits', 11],
    ['tlbEntries', 0], ['tlbEntries', 257],
    ['irqLines', 3], ['irqLines', 33], ['irqLines', [8]],
  ];
  for (const [field, value] of outOfRange) {
    it(`HW-CFG-2: ${field} = ${JSON.stringify(value) ?? String(value)} is rejected naming '${field}'`, () => {
      expectRejected(tinyWith({ [field]: value }), field, field, 'config.range');
    });
  }

  it('HW-CFG-3: wordsPerFrame that is not a power of two (100)', () => {
    expectRejected(tinyWith({ wordsPerFrame: 100, pageTableIndexBits: 2 }), 'wordsPerFrame', 'power of two', 'config.relation');
    expectRejected(tinyWith({ wordsPerFrame: 100 }), 'wordsPerFrame', 'wordsPerFrame');
    for (const w of [12, 24, 1000, 1023]) expectRejected(tinyWith({ wordsPerFrame: w }), 'wordsPerFrame');
  });

  it('HW-CFG-4: index bits that make a page table larger than a frame', () => {
    // 16-word frames hold 16 entries: 4 bits fit, 5 do not.
    expect(E.isRight(validateMachineConfig(tinyWith({ pageTableIndexBits: 4 })))).toBe(true);
    expectRejected(tinyWith({ pageTableIndexBits: 5 }), 'pageTableIndexBits', 'pageTableIndexBits', 'config.relation');
    expectRejected(tinyWith({ wordsPerFrame: 4, pageTableIndexBits: 3 }), 'pageTableIndexBits');
  });

  it('HW-CFG-5: levels × index bits + offset bits beyond 32', () => {
    // 12 offset bits + 3 × 10 = 42; 12 + 2 × 10 = 32 is the largest that fits.
    expectRejected(demoWith({ pageTableLevels: 3 }), 'pageTableLevels', 'pageTableLevels', 'config.relation');
    // 6 offset bits + 4 × 7 = 34 (a 7-bit table needs 128-word frames: use those).
    expectRejected(tinyWith({ wordsPerFrame: 128, pageTableLevels: 4, pageTableIndexBits: 7 }), 'pageTableLevels');
    expect(E.isRight(validateMachineConfig(tinyWith({ wordsPerFrame: 128, pageTableLevels: 3, pageTableIndexBits: 7 })))).toBe(true);
  });

  it('HW-CFG-5: RAM larger than 64 MiB', () => {
    expectRejected(demoWith({ frames: 16385 }), 'frames', 'frames', 'config.relation');
    expectRejected(tinyWith({ frames: (1 << 24) / 4 }), 'frames');
  });

  it('HW-CFG-2: devices that are not an array', () => {
    for (const v of [{}, 'console', 3, null]) expectRejected(tinyWith({ devices: v }), 'devices', 'devices', 'config.type');
  });

  it('HW-CFG-2: more than 16 devices', () => {
    const devices = Array.from({ length: 17 }, (_, i) => ({ kind: 'console', irq: 3 + i }));
    expectRejected(tinyWith({ irqLines: 32, devices }), 'devices', 'devices', 'config.range');
    expect(E.isRight(validateMachineConfig(tinyWith({ irqLines: 32, devices: devices.slice(0, 16) })))).toBe(true);
  });

  it('HW-CFG-2: a device that is not an object, or of an unknown kind', () => {
    expectRejected(tinyWith({ devices: [{ kind: 'console', irq: 3 }, 'nic'] }), 'devices[1]', 'devices[1]', 'config.type');
    expectRejected(tinyWith({ devices: [{ kind: 'gpu', irq: 3 }] }), 'devices[0].kind', 'devices[0].kind', 'config.type');
    expectRejected(tinyWith({ devices: [{ irq: 3 }] }), 'devices[0].kind');
  });

  it('HW-CFG-2: an unknown device field, including a field of another kind', () => {
    expectRejected(tinyWith({ devices: [{ kind: 'console', irq: 3, baud: 9600 }] }), 'devices[0].baud', 'devices[0].baud', 'config.unknown-field');
    expectRejected(tinyWith({ devices: [{ kind: 'console', irq: 3, sectors: 4 }] }), 'devices[0].sectors');
    expectRejected(tinyWith({ devices: [{ kind: 'nic', irq: 3, rxQueue: 1, sectors: 4 }] }), 'devices[0].sectors');
  });

  it('HW-CFG-2: a device irq that is per-CPU (< 3), beyond irqLines, or missing', () => {
    for (const irq of [0, 1, 2, -1, 8, 9, 3.5, '3']) {
      expectRejected(tinyWith({ devices: [{ kind: 'console', irq }] }), 'devices[0].irq', 'devices[0].irq', 'config.range');
    }
    expectRejected(tinyWith({ devices: [{ kind: 'console' }] }), 'devices[0].irq');
    expect(E.isRight(validateMachineConfig(tinyWith({ devices: [{ kind: 'console', irq: 7 }] })))).toBe(true);
  });

  it('HW-CFG-2: two devices sharing an irq', () => {
    const devices = [
      { kind: 'console', irq: 3 },
      { kind: 'block', irq: 4, sectors: 1 },
      { kind: 'nic', irq: 3, rxQueue: 1 },
    ];
    const e = rejection(tinyWith({ devices }));
    expect(e.path).toBe('devices[2].irq');
    expect(e.message).toContain('devices[2].irq');
    expect(e.message).toContain('devices[0]');
  });

  it('HW-CFG-2: block sectors 0 or beyond 64 MiB, nic rxQueue out of range', () => {
    expectRejected(tinyWith({ devices: [{ kind: 'block', irq: 3, sectors: 0 }] }), 'devices[0].sectors');
    expectRejected(tinyWith({ devices: [{ kind: 'block', irq: 3 }] }), 'devices[0].sectors');
    expectRejected(demoWith({ devices: [{ kind: 'block', irq: 3, sectors: 16385 }] }), 'devices[0].sectors');
    expectRejected(tinyWith({ devices: [{ kind: 'nic', irq: 3, rxQueue: 0 }] }), 'devices[0].rxQueue');
    expectRejected(tinyWith({ devices: [{ kind: 'nic', irq: 3, rxQueue: 65 }] }), 'devices[0].rxQueue');
  });
});

// ---------------------------------------------------------------------------------------------

/** A well-formed error: a code, a non-empty message and, for a structured input, the path. */
function expectWellFormedError(e: MkhvError, input: unknown): void {
  expect(e.code).toMatch(/^config\./);
  expect(e.message.length).toBeGreaterThan(0);
  expect(e.path).toBeDefined();
  // Only "not an object" has the empty path (the whole input); an unknown field named by the
  // empty string is shown as [""] (HW-CFG-2).
  const isObject = typeof input === 'object' && input !== null && !Array.isArray(input);
  if (isObject) expect(e.path!.length).toBeGreaterThan(0);
}

/** Validates `input`: never throws, and an accepted config is accepted again unchanged. */
function expectTotal(input: unknown): void {
  let r: ReturnType<typeof validateMachineConfig> | undefined;
  expect(() => {
    r = validateMachineConfig(input);
  }).not.toThrow();
  if (r === undefined) return;
  if (E.isLeft(r)) {
    expectWellFormedError(r.left, input);
  } else {
    expect(validateMachineConfig(r.right)).toStrictEqual(r);
    expect(validateMachineConfig(JSON.parse(JSON.stringify(r.right)))).toStrictEqual(r);
  }
}

/** A valid config with one field (top-level or inside a device) replaced by a random value. */
interface Mutation {
  readonly config: Raw;
  /** Path of the replaced field, in the validator's notation. */
  readonly path: string;
  readonly field: string;
  readonly value: unknown;
}

const arbMutation: fc.Arbitrary<Mutation> = fc
  .tuple(fc.constantFrom(TINY_MACHINE, DEMO_MACHINE), fc.nat(), fc.nat(), fc.oneof(fc.jsonValue(), fc.integer({ min: -2, max: 40 })))
  .map(([base, pickField, pickDevice, value]): Mutation => {
    const c = raw(base);
    const devices = c['devices'] as Raw[];
    if (pickDevice % 3 === 0 && devices.length > 0) {
      const i = pickDevice % devices.length;
      const d = devices[i]!;
      const keys = [...Object.keys(d), 'extra'];
      const field = keys[pickField % keys.length]!;
      d[field] = value;
      return { config: c, path: `devices[${i}].${field}`, field, value };
    }
    const keys = [...Object.keys(c), 'extra'];
    const field = keys[pickField % keys.length]!;
    c[field] = value;
    return { config: c, path: field, field, value };
  });

/**
 * Whether the replacement is wrong whatever the rest of the config says, so that the error
 * must name exactly the replaced field: an unknown field, a non-number where a number is
 * due, a non-array for `devices`, an unknown device kind.
 */
function wrongInItself({ field, value }: Mutation): boolean {
  if (field === 'extra') return true;
  if (field === 'devices') return !Array.isArray(value);
  if (field === 'kind') return value !== 'console' && value !== 'block' && value !== 'nic';
  return typeof value !== 'number';
}

/** Mostly a value in [lo, hi], sometimes one just outside. */
function near(lo: number, hi: number): fc.Arbitrary<number> {
  return fc.oneof({ weight: 6, arbitrary: fc.integer({ min: lo, max: hi }) }, { weight: 1, arbitrary: fc.constantFrom(lo - 1, hi + 1) });
}

/** Valid-looking configs with every field drawn near its range, so that many are accepted. */
const arbNearConfig: fc.Arbitrary<Raw> = fc.record(
  {
    cpus: near(1, 8),
    frames: fc.oneof(near(4, 5000), fc.constantFrom(16384, 16385, 1 << 22)),
    wordsPerFrame: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(4, 16, 64, 256, 1024) }, { weight: 1, arbitrary: fc.constantFrom(2, 100, 1023, 2048) }),
    pageTableLevels: near(1, 4),
    pageTableIndexBits: near(1, 6),
    tlbEntries: near(1, 256),
    irqLines: near(4, 32),
    devices: fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('console'), irq: near(3, 12) }),
        fc.record({ kind: fc.constant('block'), irq: near(3, 12), sectors: near(1, 100) }),
        fc.record({ kind: fc.constant('nic'), irq: near(3, 12), rxQueue: near(1, 64) }),
      ),
      { maxLength: 3 },
    ),
  },
  { noNullPrototype: true },
);

describe('validateMachineConfig is total (HW-CFG-2)', () => {
  it('HW-CFG-2: never throws on fc.anything() or fc.jsonValue()', () => {
    fc.assert(fc.property(fc.anything(), (v) => expectTotal(v)));
    fc.assert(fc.property(fc.jsonValue(), (v) => expectTotal(v)));
  });

  it('HW-CFG-2: a valid config with one field replaced by a random value is rejected naming that field, or accepted', () => {
    fc.assert(
      fc.property(arbMutation, (m) => {
        expectTotal(m.config);
        if (wrongInItself(m)) {
          const e = rejection(m.config);
          expect(e.path).toBe(m.path);
          expect(e.message).toContain(m.path);
        }
      }),
    );
  });

  it('HW-CFG-2..5: configs near the ranges are accepted exactly when every rule holds', () => {
    fc.assert(
      fc.property(arbNearConfig, (c) => {
        expectTotal(c);
        expect(E.isRight(validateMachineConfig(c))).toBe(satisfiesRules(c));
      }),
    );
  });
});

/** The rules of HW-CFG-2..5, restated independently for configs of the right shape. */
function satisfiesRules(c: Raw): boolean {
  const n = (k: string): number => c[k] as number;
  const wpf = n('wordsPerFrame');
  const inRange = (k: string, lo: number, hi: number): boolean => n(k) >= lo && n(k) <= hi;
  const devices = c['devices'] as Raw[];
  const irqs = devices.map((d) => d['irq'] as number);
  const deviceOk = (d: Raw): boolean => {
    const irq = d['irq'] as number;
    if (irq < 3 || irq >= n('irqLines')) return false;
    if (d['kind'] === 'block') return (d['sectors'] as number) >= 1 && (d['sectors'] as number) * wpf <= 1 << 24;
    if (d['kind'] === 'nic') return (d['rxQueue'] as number) >= 1 && (d['rxQueue'] as number) <= 64;
    return true;
  };
  const isPow2 = [4, 8, 16, 32, 64, 128, 256, 512, 1024].includes(wpf);
  return (
    inRange('cpus', 1, 8) &&
    inRange('frames', 4, 1 << 22) &&
    isPow2 &&
    inRange('pageTableLevels', 1, 4) &&
    inRange('pageTableIndexBits', 1, 10) &&
    inRange('tlbEntries', 1, 256) &&
    inRange('irqLines', 4, 32) &&
    2 ** n('pageTableIndexBits') <= wpf &&
    Math.log2(wpf * 4) + n('pageTableLevels') * n('pageTableIndexBits') <= 32 &&
    n('frames') * wpf <= 1 << 24 &&
    devices.every(deviceOk) &&
    new Set(irqs).size === irqs.length
  );
}

describe('odd field names (HW-CFG-2)', () => {
  it('HW-CFG-2: an unknown field that is not a plain name is quoted in the path', () => {
    const top = validateMachineConfig({ ...TINY_MACHINE, '': 1 });
    expect(E.isLeft(top) && top.left.path).toBe('[""]');
    const nested = validateMachineConfig({ ...TINY_MACHINE, devices: [{ kind: 'console', irq: 3, 'a b': 0 }] });
    expect(E.isLeft(nested) && nested.left.path).toBe('devices[0]["a b"]');
  });
});
