/**
 * Cost tables and the cost fold (PERF-OP-1, PERF-TAB-1..4, PERF-COST-1..3).
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { builtinArchs, builtinTable } from '../../src/perf/builtin.ts';
import { DEFAULT_KNOBS, foldCost, unitCosts, type Knobs } from '../../src/perf/cost.ts';
import { PRIMITIVE_OPS, isPrimitiveOp, type PrimitiveOp } from '../../src/perf/ops.ts';
import { parseCostTable, type CostTable } from '../../src/perf/table.ts';

function table(arch: string): CostTable {
  const t = builtinTable(arch);
  if (E.isLeft(t)) throw new Error(t.left.message);
  return t.right;
}

const ARCHS = builtinArchs();

describe('built-in cost tables (PERF-TAB-1..2)', () => {
  it('PERF-TAB-1: at least haswell, broadwell, skylake, cortex-a57 and x-gene are built in and valid', () => {
    for (const arch of ['haswell', 'broadwell', 'skylake', 'cortex-a57', 'x-gene']) expect(ARCHS).toContain(arch);
    for (const arch of ARCHS) expect(table(arch).arch).toBe(arch);
  });

  it('PERF-TAB-2, PERF-OP-1: every table prices every primitive operation, each with a source', () => {
    for (const arch of ARCHS) {
      const t = table(arch);
      for (const op of PRIMITIVE_OPS) {
        const e = t.entries[op];
        expect(e, `${arch}.${op}`).toBeDefined();
        expect(e.cycles).toBeGreaterThanOrEqual(0);
        expect(e.source.length, `${arch}.${op} names no source`).toBeGreaterThan(10);
      }
    }
  });

  it('PERF-TAB-2: a measured figure in references/primitive-costs.md is carried exactly, and not marked an estimate', () => {
    // uops.info: INVLPG 208 (Haswell) / 211 (Skylake); WRMSR 137 / 135; RDMSR 92 / 87; XSAVE 40 / 61.
    const expected: Record<string, Partial<Record<PrimitiveOp, number>>> = {
      haswell: { tlbiVa: 208, sysregWrite: 137, sysregRead: 92, fpuSave: 40 },
      skylake: { tlbiVa: 211, sysregWrite: 135, sysregRead: 87, fpuSave: 61 },
    };
    for (const [arch, figures] of Object.entries(expected)) {
      for (const [op, cycles] of Object.entries(figures)) {
        const e = table(arch).entries[op as PrimitiveOp];
        expect(e.cycles, `${arch}.${op}`).toBe(cycles);
        expect(e.estimate ?? false, `${arch}.${op}`).toBe(false);
      }
    }
  });

  it('PERF-TAB-2: every estimate says how it was estimated', () => {
    for (const arch of ARCHS) {
      for (const [op, e] of Object.entries(table(arch).entries)) {
        if (e.estimate === true) expect(e.source, `${arch}.${op}`).toMatch(/\w+ \w+ \w+/);
      }
    }
  });
});

describe('table validation (PERF-TAB-3..4)', () => {
  const base = table('haswell');
  const clone = (): Record<string, unknown> & { entries: Record<string, Record<string, unknown>> } => JSON.parse(JSON.stringify(base));

  it('PERF-TAB-3: a corrupted entry is rejected with the JSON path of that entry', () => {
    const bad: fc.Arbitrary<unknown> = fc.oneof(fc.string(), fc.constant(-1), fc.constant(null), fc.constant(Number.NaN), fc.boolean(), fc.object());
    fc.assert(
      fc.property(fc.constantFrom(...PRIMITIVE_OPS), fc.constantFrom('cycles', 'source'), bad, (op, field, value) => {
        fc.pre(!(field === 'source' && typeof value === 'string' && value.trim() !== ''));
        const t = clone();
        t.entries[op]![field] = value;
        const r = parseCostTable(t);
        expect(E.isLeft(r)).toBe(true);
        if (E.isLeft(r)) expect(r.left.path).toBe(`entries.${op}.${field}`);
      }),
    );
  });

  it('PERF-TAB-3: a missing operation, an unknown operation, an unknown field or a bad parameter is named', () => {
    const cases: [string, (t: ReturnType<typeof clone>) => void][] = [
      ['entries.ipi', (t) => void delete t.entries['ipi']],
      ['entries.nullSyscall', (t) => void (t.entries['nullSyscall'] = { cycles: 1, source: 'a whole path' })],
      ['entries.eoi.extra', (t) => void (t.entries['eoi']!['extra'] = 1)],
      ['overlap.value', (t) => void ((t['overlap'] as Record<string, unknown>)['value'] = 1.5)],
      ['el2KernelFactor.value', (t) => void ((t['el2KernelFactor'] as Record<string, unknown>)['value'] = 0.5)],
      ['family', (t) => void (t['family'] = 'mips')],
      ['speed', (t) => void (t['speed'] = 3)],
    ];
    for (const [path, corrupt] of cases) {
      const t = clone();
      corrupt(t);
      const r = parseCostTable(t);
      expect(E.isLeft(r) && r.left.path, path).toBe(path);
      if (E.isLeft(r)) expect(r.left.message).toContain(path);
    }
  });

  it('PERF-TAB-3: parsing never throws on any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(E.isLeft(parseCostTable(v))).toBe(true);
      }),
    );
  });

  it('PERF-TAB-4: tables price primitives only: the entry names are exactly the closed list of primitive operations', () => {
    for (const arch of ARCHS) expect(Object.keys(table(arch).entries).sort()).toEqual([...PRIMITIVE_OPS].sort());
    expect(isPrimitiveOp('ipcCall')).toBe(false);
  });
});

describe('the cost fold (PERF-COST-1..3)', () => {
  const arbOps = fc.array(fc.constantFrom(...PRIMITIVE_OPS), { maxLength: 60 });
  const arbKnobs: fc.Arbitrary<Knobs> = fc.record({
    fpu: fc.constantFrom<'eager' | 'lazy'>('eager', 'lazy'),
    pti: fc.boolean(),
    kernelAt: fc.constantFrom<'el1' | 'el2'>('el1', 'el2'),
    overlap: fc.boolean(),
  });

  /** The rule, restated: each op's table cycles, adjusted by the knobs, summed, then scaled by overlap. */
  function reference(ops: readonly PrimitiveOp[], t: CostTable, k: Knobs): number {
    let sum = 0;
    for (const op of ops) {
      let c = t.entries[op].cycles;
      if (k.fpu === 'lazy' && (op === 'fpuSave' || op === 'fpuRestore')) c = 0;
      if (op === 'trapEntryEl1' || op === 'trapReturnEl1') {
        if (k.kernelAt === 'el2') c *= t.el2KernelFactor.value;
        if (k.pti) c += t.entries.addressSpaceSwitch.cycles;
      }
      sum += c;
    }
    return k.overlap ? sum * (1 - t.overlap.value) : sum;
  }

  it('PERF-COST-1, PERF-COST-2, PERF-COST-3: the fold equals the sum of the adjusted unit costs, scaled by the overlap', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ARCHS), arbOps, arbKnobs, (arch, ops, knobs) => {
        const t = table(arch);
        const c = foldCost(ops, t, knobs);
        expect(c.cycles).toBeCloseTo(reference(ops, t, knobs), 6);
        expect(c.byOp.reduce((n, o) => n + o.count, 0)).toBe(ops.length);
        expect(c.byOp.reduce((n, o) => n + o.cycles, 0)).toBeCloseTo(c.raw, 6);
      }),
    );
  });

  it('PERF-COST-2: PTI adds an address-space switch to each kernel entry and exit; lazy FPU costs nothing; EL2 scales the traps', () => {
    const t = table('skylake');
    const syscall: PrimitiveOp[] = ['trapEntryEl1', 'trapReturnEl1'];
    const plain = foldCost(syscall, t, { ...DEFAULT_KNOBS, overlap: false }).raw;
    expect(foldCost(syscall, t, { ...DEFAULT_KNOBS, pti: true, overlap: false }).raw).toBe(plain + 2 * t.entries.addressSpaceSwitch.cycles);
    expect(foldCost(['fpuSave', 'fpuRestore'], t, { ...DEFAULT_KNOBS, fpu: 'lazy' }).raw).toBe(0);
    const arm = table('cortex-a57');
    expect(unitCosts(arm, { ...DEFAULT_KNOBS, kernelAt: 'el2' }).trapEntryEl1).toBe(arm.entries.trapEntryEl1.cycles * arm.el2KernelFactor.value);
  });
});
