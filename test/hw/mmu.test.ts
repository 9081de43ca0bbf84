/**
 * Address translation (HW-MMU-1..9) against the naive reference walker in
 * reference-walker.ts: random page tables on small geometries, random regimes, random
 * addresses and access kinds, checked both through `translate` (with an empty TLB) and end to
 * end through `execute` with injected loads and stores and real fetches.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import {
  encode,
  execute,
  HCR,
  makeBase,
  mapPage,
  unmapPage,
  pte,
  PTE,
  readWord,
  readWords,
  SCTLR_M,
  SYS,
  translate,
  writeWords,
  type Access,
  type ExecResult,
  type Instruction,
  type Machine,
  type MachineConfig,
  type Translated,
  type TranslationFault,
} from '../../src/hw/index.ts';
import type { PrimitiveOp } from '../../src/perf/ops.ts';
import { machine, map, patchCpu, setSysRegs } from './fixtures.ts';
import {
  ramReader,
  refGeometry,
  refInputSpan,
  refPermission,
  refTranslate,
  type RefControls,
  type RefGeometry,
  type RefTranslation,
} from './reference-walker.ts';

// ---------------------------------------------------------------------------------------------
// Geometries and generators

function config(frames: number, wordsPerFrame: number, levels: number, bits: number): MachineConfig {
  return {
    cpus: 1,
    frames,
    wordsPerFrame,
    pageTableLevels: levels,
    pageTableIndexBits: bits,
    tlbEntries: 8,
    irqLines: 8,
    // One device, so that some leaves land on a register page rather than a hole.
    devices: [{ kind: 'console', irq: 3 }],
  };
}

/**
 * Small geometries: 2 × 2 bits, 3 × 2 bits, 2 × 4 bits (tables fill the frame), 1 × 3 bits,
 * and 4 × 6 bits over 256-byte pages, whose addresses use all 32 bits.
 */
const GEOMETRIES: readonly MachineConfig[] = [
  config(16, 16, 2, 2),
  config(32, 16, 3, 2),
  config(24, 16, 2, 4),
  config(16, 8, 1, 3),
  config(8, 64, 4, 6),
];

/** A distinctive value for every data word, so a load from the wrong address shows. */
function dataWord(index: number): number {
  return Math.imul(index + 1, 0x9e3779b1) >>> 0;
}

/** A random page-table entry: mostly present, mostly pointing into RAM, sometimes beyond. */
function pteArb(frames: number): fc.Arbitrary<number> {
  const ppn = fc.oneof(
    { weight: 12, arbitrary: fc.nat(frames - 1) },
    // The device page right after RAM, and holes after it.
    { weight: 2, arbitrary: fc.integer({ min: frames, max: frames + 2 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 28 - 1 }) },
  );
  const bit = (percent: number) => fc.integer({ min: 0, max: 99 }).map((n) => n < percent);
  return fc
    .record({ ppn, p: bit(88), w: bit(70), x: bit(70), u: bit(70) })
    .map(({ ppn, p, w, x, u }) => pte(ppn, (p ? PTE.P : 0) | (w ? PTE.W : 0) | (x ? PTE.X : 0) | (u ? PTE.U : 0)));
}

/** A table base: root frame mostly in RAM, sometimes not; tag random. */
function baseArb(frames: number): fc.Arbitrary<number> {
  const root = fc.oneof(
    { weight: 10, arbitrary: fc.nat(frames - 1) },
    { weight: 1, arbitrary: fc.integer({ min: frames, max: frames + 2 }) },
    { weight: 1, arbitrary: fc.nat(2 ** 24 - 1) },
  );
  return fc.tuple(root, fc.nat(255)).map(([r, tag]) => makeBase(r, tag));
}

/** SCTLR_EL1 / HCR_EL2: the enabling bit 0 plus unrelated bits that must not matter. */
function controlArb(frames: number): fc.Arbitrary<RefControls> {
  return fc.record({
    el: fc.constantFrom<0 | 1 | 2>(0, 1, 1, 2),
    sctlr: fc.tuple(fc.boolean(), fc.nat(0xffff)).map(([m, junk]) => ((junk << 1) | (m ? SCTLR_M : 0)) >>> 0),
    // Only trap bits that a load, store or fetch at EL0/EL1 never consults.
    hcr: fc.tuple(fc.boolean(), fc.constantFrom(0, HCR.TVM, HCR.TPT, HCR.TTLB)).map(([vm, other]) => (vm ? HCR.VM : 0) | other),
    ttbr0: baseArb(frames),
    vttbr: baseArb(frames),
  });
}

/** Addresses: mostly word-aligned and in range, sometimes misaligned or above 2^vaBits. */
function vaArb(g: RefGeometry): fc.Arbitrary<number> {
  const span = refInputSpan(g);
  const inRange = fc.oneof({ weight: 12, arbitrary: fc.nat(span / 4 - 1).map((w) => w * 4) }, { weight: 1, arbitrary: fc.nat(span - 1) });
  // With 32-bit addresses no VA is out of range (IPAs still can be: see HW-MMU-9 below).
  if (span > 0xffffffff) return inRange;
  return fc.oneof({ weight: 13, arbitrary: inRange }, { weight: 2, arbitrary: fc.integer({ min: span, max: 0xffffffff }) });
}

interface Probe {
  readonly va: number;
  readonly access: Access;
}

interface Scenario {
  readonly config: MachineConfig;
  /** Entry i of the table in frame f is tables[f × entries + i]. */
  readonly tables: readonly number[];
  readonly ctl: RefControls;
  readonly probes: readonly Probe[];
}

function scenarioFor(cfg: MachineConfig): fc.Arbitrary<Scenario> {
  const g = refGeometry(cfg);
  const entries = 2 ** g.bits;
  return fc.record({
    config: fc.constant(cfg),
    tables: fc.array(pteArb(g.frames), { minLength: g.frames * entries, maxLength: g.frames * entries }),
    ctl: controlArb(g.frames),
    probes: fc.array(fc.record({ va: vaArb(g), access: fc.constantFrom<Access>('fetch', 'load', 'store') }), {
      minLength: 1,
      maxLength: 12,
    }),
  });
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.oneof(...GEOMETRIES.map(scenarioFor));

/** The machine a scenario describes: tables at the start of every frame, data words elsewhere. */
function buildMachine(s: Scenario): Machine {
  const cfg = s.config;
  const entries = 2 ** cfg.pageTableIndexBits;
  const words: number[] = [];
  for (let f = 0; f < cfg.frames; f++) {
    for (let i = 0; i < cfg.wordsPerFrame; i++) {
      const index = f * cfg.wordsPerFrame + i;
      words.push(i < entries ? s.tables[f * entries + i]! : dataWord(index));
    }
  }
  let m = machine(cfg);
  m = { ...m, memory: writeWords(m.memory, 0, words) };
  m = setSysRegs(m, 0, {
    [SYS.SCTLR_EL1]: s.ctl.sctlr,
    [SYS.HCR_EL2]: s.ctl.hcr,
    [SYS.TTBR0_EL1]: s.ctl.ttbr0,
    [SYS.VTTBR_EL2]: s.ctl.vttbr,
  });
  return patchCpu(m, 0, { el: s.ctl.el });
}

// ---------------------------------------------------------------------------------------------
// Comparing the model with the reference

/** The fields of a translation outcome both sides report. */
function outcomeOf(t: RefTranslation): unknown {
  if (t.ok) return { ok: true, pa: t.pa };
  return { ok: false, stage: t.stage, fault: t.fault, level: t.level, ipa: t.ipa, onWalk: t.onWalk };
}

/** The same fields of the model's `translate` result. */
function modelOutcome(t: Translated | TranslationFault): unknown {
  if (t.ok) return { ok: true, pa: t.pa };
  return { ok: false, stage: t.stage, fault: t.fault, level: t.level, ipa: t.ipa, onWalk: t.onWalk };
}

function count(ops: readonly PrimitiveOp[], op: PrimitiveOp): number {
  return ops.filter((o) => o === op).length;
}

/** Whether a walk under these controls is two-dimensional. */
function nestedRegime(ctl: RefControls): boolean {
  return ctl.el !== 2 && (ctl.sctlr & SCTLR_M) !== 0 && (ctl.hcr & HCR.VM) !== 0;
}

/** Checks that the walk ops of a step are exactly the entries the reference read. */
function expectWalkOps(ops: readonly PrimitiveOp[], ctl: RefControls, reads: number): void {
  const nested = nestedRegime(ctl);
  expect({ pageWalkStep: count(ops, 'pageWalkStep'), nestedWalkStep: count(ops, 'nestedWalkStep') }).toEqual({
    pageWalkStep: nested ? 0 : reads,
    nestedWalkStep: nested ? reads : 0,
  });
}

function word(insn: Instruction): number {
  const e = encode(insn);
  if (E.isLeft(e)) throw new Error(e.left.message);
  return e.right;
}

const LD_R2_R1 = word({ op: 'ld', rd: 2, rs1: 1, imm: 0 });
const ST_R3_R1 = word({ op: 'st', rs2: 3, rs1: 1, imm: 0 });
const STORED = 0x5a5a1234;

/** What the architecture says a load, store or fetch at `va` does, beyond translation. */
type Expected =
  | { kind: 'ram'; pa: number }
  | { kind: 'device'; pa: number; index: number }
  | { kind: 'abort'; stage: 1 | 2; fault: string; level: number; ipa: number | null; onWalk: boolean };

function expectedAccess(m: Machine, ref: RefTranslation, va: number, access: Access): Expected {
  // HW-EXEC-3/4: alignment is checked before translation.
  if (va % 4 !== 0) return { kind: 'abort', stage: 1, fault: 'alignment', level: 0, ipa: null, onWalk: false };
  if (!ref.ok) return { kind: 'abort', stage: ref.stage, fault: ref.fault, level: ref.level, ipa: ref.ipa, onWalk: ref.onWalk };
  const cfg = m.geometry.config;
  const page = Math.floor(ref.pa / (cfg.wordsPerFrame * 4));
  if (page < cfg.frames) return { kind: 'ram', pa: ref.pa };
  const index = page - cfg.frames;
  if (access !== 'fetch' && index < cfg.devices.length) return { kind: 'device', pa: ref.pa, index };
  // Instructions come only from RAM; data from RAM or a device; anything else is external.
  return { kind: 'abort', stage: 1, fault: 'external', level: 0, ipa: null, onWalk: false };
}

function expectAbort(r: ExecResult, exp: Extract<Expected, { kind: 'abort' }>, access: Access, va: number): void {
  expect(r.trap).not.toBeNull();
  const t = r.trap!;
  expect(t.kind).toBe('abort');
  if (t.kind !== 'abort') return;
  expect({ access: t.access, stage: t.stage, fault: t.fault, level: t.level, va: t.va, ipa: t.ipa, onWalk: t.onWalk }).toEqual({
    access,
    stage: exp.stage,
    fault: exp.fault,
    level: exp.level,
    va,
    ipa: exp.ipa,
    onWalk: exp.onWalk,
  });
}

/** Runs an injected LD or ST at `va` and checks it against the reference. */
function checkDataAccess(m0: Machine, ctl: RefControls, probe: Probe & { access: 'load' | 'store' }): void {
  const { va, access } = probe;
  const regs = m0.cpus[0]!.regs.slice();
  regs[1] = va;
  regs[3] = STORED;
  const m = patchCpu(m0, 0, { regs });
  const ref = refTranslate(refGeometry(m.geometry.config), ramReader(m.memory), ctl, va, access);
  const exp = expectedAccess(m, ref, va, access);
  const r = execute(m, 0, access === 'load' ? LD_R2_R1 : ST_R3_R1);
  if (va % 4 === 0) expectWalkOps(r.ops, ctl, ref.read.length);
  switch (exp.kind) {
    case 'abort':
      expectAbort(r, exp, access, va);
      expect(r.machine.memory).toBe(m.memory);
      return;
    case 'ram':
      expect(r.trap).toBeNull();
      expect(r.record.memAccess).toMatchObject({ access, va, pa: exp.pa, device: null });
      if (access === 'load') {
        expect(r.machine.cpus[0]!.regs[2]).toBe(readWord(m.memory, exp.pa / 4));
      } else {
        expect(readWord(r.machine.memory, exp.pa / 4)).toBe(STORED);
        // Nothing but the addressed word changed.
        expect(writeWords(r.machine.memory, exp.pa / 4, [readWord(m.memory, exp.pa / 4)])).toEqual(m.memory);
      }
      return;
    case 'device':
      expect(r.trap).toBeNull();
      expect(r.record.memAccess).toMatchObject({ access, va, pa: exp.pa, device: exp.index });
      expect(r.machine.memory).toBe(m.memory);
      return;
  }
}

/** Runs a real fetch from pc = `va` and checks the word fetched or the instruction abort. */
function checkFetch(m0: Machine, ctl: RefControls, va: number): void {
  const m = patchCpu(m0, 0, { pc: va });
  const ref = refTranslate(refGeometry(m.geometry.config), ramReader(m.memory), ctl, va, 'fetch');
  const exp = expectedAccess(m, ref, va, 'fetch');
  const r = execute(m, 0);
  if (exp.kind === 'abort') {
    expectAbort(r, exp, 'fetch', va);
    return;
  }
  // The fetched word then executes; whatever it does, it was the word at the reference's PA.
  expect(r.record.word).toBe(readWord(m.memory, exp.pa / 4));
  if (r.trap?.kind === 'abort') expect(r.trap.access).not.toBe('fetch');
}

// ---------------------------------------------------------------------------------------------

describe('translation against the reference walker', () => {
  it('HW-MMU-1..7, HW-MMU-9, HW-MMU-10: translate with an empty TLB agrees with the reference walker (PA or fault, and walk ops)', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const m = buildMachine(s);
        const g = refGeometry(s.config);
        for (const { va, access } of s.probes) {
          const ref = refTranslate(g, ramReader(m.memory), s.ctl, va, access);
          const ops: PrimitiveOp[] = [];
          const t = translate(m.geometry, m.memory, m.cpus[0]!, va, access, ops);
          expect(modelOutcome(t)).toEqual(outcomeOf(ref));
          expectWalkOps(ops, s.ctl, ref.read.length);
        }
      }),
    );
  });

  it('HW-MMU-1..7, HW-MMU-9, HW-MMU-10: injected LD/ST and real fetches agree with the reference walker end to end (value, memory, abort fields)', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const m = buildMachine(s);
        for (const probe of s.probes) {
          if (probe.access === 'fetch') checkFetch(m, s.ctl, probe.va);
          else checkDataAccess(m, s.ctl, { va: probe.va, access: probe.access });
        }
      }),
    );
  });

  it('the generator reaches every kind of outcome (so the properties above can fail)', () => {
    const seen = new Set<string>();
    for (const s of fc.sample(scenarioArb, { seed: 20261123, numRuns: 400 })) {
      const m = buildMachine(s);
      for (const { va, access } of s.probes) {
        const r = refTranslate(refGeometry(s.config), ramReader(m.memory), s.ctl, va, access);
        const regime = `${(s.ctl.sctlr & 1) === 1 ? 's1' : ''}${(s.ctl.hcr & 1) === 1 ? 's2' : ''}`;
        seen.add(r.ok ? `ok:${regime}:${access}` : `${r.fault}:${r.stage}:${r.onWalk ? 'walk' : 'final'}`);
      }
    }
    for (const key of [
      'ok:s1s2:store',
      'ok:s1s2:fetch',
      'ok:s1:load',
      'ok:s2:store',
      'ok::load',
      'translation:1:final',
      'external:1:final',
      'translation:2:walk',
      'translation:2:final',
      'permission:1:final',
      'permission:2:final',
      'external:2:walk',
      'addressSize:1:final',
      'addressSize:2:walk',
      'addressSize:2:final',
    ]) {
      expect(seen, key).toContain(key);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Rule-by-rule examples on one small machine: 2 levels × 2 bits, 16-word frames.

const SMALL = config(16, 16, 2, 2);
const PAGE = 64;

function small(): Machine {
  return machine(SMALL);
}

/** Marks every word of frame f with (f << 8 | word), so a load names the frame it reached. */
function markFrames(m: Machine, frames: readonly number[]): Machine {
  let memory = m.memory;
  for (const f of frames) memory = writeWords(memory, f * 16, Array.from({ length: 16 }, (_, i) => (f << 8) | i));
  return { ...m, memory };
}

function at(m: Machine, el: 0 | 1 | 2, sys: Readonly<Record<number, number>>): Machine {
  return patchCpu(setSysRegs(m, 0, sys), 0, { el });
}

function load(m: Machine, va: number): ExecResult {
  const regs = m.cpus[0]!.regs.slice();
  regs[1] = va;
  return execute(patchCpu(m, 0, { regs }), 0, LD_R2_R1);
}

function loaded(r: ExecResult): number | string {
  if (r.trap !== null) return r.trap.kind === 'abort' ? `abort:${r.trap.stage}:${r.trap.fault}:${r.trap.level}` : r.trap.kind;
  return r.machine.cpus[0]!.regs[2]!;
}

describe('rule examples', () => {
  it('HW-MMU-1: EL2 is untranslated whatever SCTLR_EL1, HCR_EL2 and the tables say', () => {
    let m = markFrames(small(), [3, 7]);
    // Both stages on with empty tables: any translated access would fault.
    m = at(m, 2, { [SYS.SCTLR_EL1]: SCTLR_M, [SYS.HCR_EL2]: HCR.VM, [SYS.TTBR0_EL1]: makeBase(1, 1), [SYS.VTTBR_EL2]: makeBase(2, 1) });
    expect(loaded(load(m, 3 * PAGE + 8))).toBe((3 << 8) | 2);
    expect(loaded(load(m, 7 * PAGE))).toBe(7 << 8);
    // The same access at EL1 faults at stage 2 on the stage-1 root.
    expect(loaded(load(patchCpu(m, 0, { el: 1 }), 3 * PAGE + 8))).toBe('abort:2:translation:0');
  });

  it('HW-MMU-1: stage 1 is on iff SCTLR_EL1.M and stage 2 iff HCR_EL2.VM (other bits do not matter)', () => {
    let m = markFrames(small(), [0, 5, 9, 11]);
    const spares = [2, 4, 6, 7];
    m = map(m, 1, 0, 5, PTE.W, spares); // stage 1 (root 1): VA page 0 → IPA page 5
    m = map(m, 3, 5 * PAGE, 9, PTE.W, spares); // stage 2 (root 3): IPA page 5 → PA page 9
    m = map(m, 3, 0, 11, PTE.W, spares); // stage 2: IPA page 0 → PA page 11
    for (const page of [1, 2]) m = map(m, 3, page * PAGE, page, PTE.W, spares); // stage 2 maps the stage-1 tables
    const sys = (sctlr: number, hcr: number) => ({ [SYS.SCTLR_EL1]: sctlr, [SYS.HCR_EL2]: hcr, [SYS.TTBR0_EL1]: makeBase(1, 0), [SYS.VTTBR_EL2]: makeBase(3, 0) });
    expect(loaded(load(at(m, 1, sys(0xfffe, HCR.TVM)), 4))).toBe(1); // off, off: PA 4 = frame 0 word 1 (zero RAM)
    expect(loaded(load(at(m, 1, sys(SCTLR_M, 0)), 4))).toBe((5 << 8) | 1);
    expect(loaded(load(at(m, 1, sys(0, HCR.VM)), 4))).toBe((11 << 8) | 1);
    expect(loaded(load(at(m, 1, sys(SCTLR_M | 0xf0, HCR.VM | HCR.TPT)), 4))).toBe((9 << 8) | 1);
  });

  it('HW-MMU-2: an entry is ppn << 4 | U << 3 | X << 2 | W << 1 | P, and the ppn selects the frame', () => {
    expect(pte(0x1234, PTE.P | PTE.W | PTE.X | PTE.U)).toBe((0x1234 << 4) | 0xf);
    expect([PTE.P, PTE.W, PTE.X, PTE.U]).toEqual([1, 2, 4, 8]);
    let m = markFrames(small(), [6, 12]);
    m = loadWordsAt(m, 1 * 16 + 0, pte(2, PTE.P)); // root[0] → table 2
    m = loadWordsAt(m, 2 * 16 + 1, pte(12, PTE.P)); // leaf for VA page 1 → frame 12
    m = loadWordsAt(m, 2 * 16 + 2, pte(6, PTE.W | PTE.X | PTE.U)); // no P: not present
    m = at(m, 0, { [SYS.SCTLR_EL1]: SCTLR_M, [SYS.TTBR0_EL1]: makeBase(1, 0) });
    expect(loaded(load(patchCpu(m, 0, { el: 1 }), PAGE + 12))).toBe((12 << 8) | 3);
    expect(loaded(load(m, PAGE + 12))).toBe('abort:1:permission:1'); // EL0 needs U
    expect(loaded(load(m, 2 * PAGE))).toBe('abort:1:translation:1');
  });

  it('HW-MMU-3: inner levels need only P; their W/X/U bits grant nothing and deny nothing', () => {
    let m = markFrames(small(), [8]);
    m = loadWordsAt(m, 1 * 16 + 0, pte(2, PTE.P)); // inner entry with P only
    m = loadWordsAt(m, 2 * 16 + 0, pte(8, PTE.P | PTE.W | PTE.U));
    m = at(m, 0, { [SYS.SCTLR_EL1]: SCTLR_M, [SYS.TTBR0_EL1]: makeBase(1, 0) });
    const st = (mm: Machine) => {
      const regs = mm.cpus[0]!.regs.slice();
      regs[1] = 4;
      regs[3] = 77;
      return execute(patchCpu(mm, 0, { regs }), 0, ST_R3_R1);
    };
    expect(st(m).trap).toBeNull();
    expect(readWord(st(m).machine.memory, 8 * 16 + 1)).toBe(77);
    // An inner entry with every flag does not rescue a leaf without W.
    let n = loadWordsAt(m, 1 * 16 + 0, pte(2, 0xf));
    n = loadWordsAt(n, 2 * 16 + 0, pte(8, PTE.P | PTE.U));
    expect(st(n).trap).toMatchObject({ kind: 'abort', stage: 1, fault: 'permission', level: 1 });
  });

  it('HW-MMU-4: a table frame outside RAM is an external abort at the level being read', () => {
    let m = small();
    m = at(m, 1, { [SYS.SCTLR_EL1]: SCTLR_M, [SYS.TTBR0_EL1]: makeBase(16, 0) }); // root = the console's page
    expect(loaded(load(m, 0))).toBe('abort:1:external:0');
    m = loadWordsAt(m, 1 * 16 + 0, pte(17, PTE.P)); // root[0] → a hole beyond the devices
    m = setSysRegs(m, 0, { [SYS.TTBR0_EL1]: makeBase(1, 0) });
    const r = load(m, 0);
    expect(loaded(r)).toBe('abort:1:external:1');
    expect(count(r.ops, 'pageWalkStep')).toBe(1);
  });

  it('HW-MMU-5: the permission rule, over every pair of leaf flags, access kind and EL', () => {
    const g = refGeometry(SMALL);
    let base = small();
    base = loadWordsAt(base, 1 * 16, pte(2, PTE.P)); // stage-1 root → leaf table 2
    base = loadWordsAt(base, 3 * 16, pte(4, PTE.P)); // stage-2 root → leaf table 4
    base = loadWordsAt(base, 4 * 16 + 1, pte(1, 0xf)); // stage 2 maps the stage-1 tables
    base = loadWordsAt(base, 4 * 16 + 2, pte(2, 0xf));
    for (let f1 = 0; f1 < 16; f1++) {
      for (let f2 = 0; f2 < 16; f2++) {
        // VA page 0 → IPA page 3 (flags f1) → PA page 9 (flags f2 | P).
        let m = loadWordsAt(base, 2 * 16, pte(3, f1 | PTE.P));
        m = loadWordsAt(m, 4 * 16 + 3, pte(9, f2 | PTE.P));
        for (const el of [0, 1] as const) {
          m = at(m, el, { [SYS.SCTLR_EL1]: SCTLR_M, [SYS.HCR_EL2]: HCR.VM, [SYS.TTBR0_EL1]: makeBase(1, 0), [SYS.VTTBR_EL2]: makeBase(3, 0) });
          for (const access of ['fetch', 'load', 'store'] as const) {
            const t = translate(m.geometry, m.memory, m.cpus[0]!, 8, access, []);
            const denied = refPermission(f1 | PTE.P, f2 | PTE.P, access, el);
            const expected = denied === 0 ? { ok: true, pa: 9 * PAGE + 8 } : { ok: false, stage: denied, fault: 'permission', level: 1, ipa: denied === 2 ? 3 * PAGE + 8 : null };
            expect(t, `s1=${f1} s2=${f2} ${access} EL${el}`).toMatchObject(expected);
            expect(refTranslate(g, ramReader(m.memory), { el, sctlr: 1, hcr: 1, ttbr0: makeBase(1, 0), vttbr: makeBase(3, 0) }, 8, access)).toMatchObject(expected);
          }
        }
      }
    }
  });

  it('HW-MMU-5: stage 1 is checked before stage 2; EL0 needs U only when stage 1 is on', () => {
    let m = markFrames(small(), [9]);
    m = loadWordsAt(m, 3 * 16, pte(4, PTE.P));
    m = loadWordsAt(m, 4 * 16 + 0, pte(9, PTE.P)); // stage 2: IPA page 0 → 9, read-only, no U
    m = at(m, 0, { [SYS.HCR_EL2]: HCR.VM, [SYS.VTTBR_EL2]: makeBase(3, 0) });
    expect(loaded(load(m, 4))).toBe((9 << 8) | 1); // stage 2 has no U bit to check
    const regs = m.cpus[0]!.regs.slice();
    regs[1] = 4;
    const st = execute(patchCpu(m, 0, { regs }), 0, ST_R3_R1);
    expect(st.trap).toMatchObject({ kind: 'abort', stage: 2, fault: 'permission', ipa: 4, to: 2 });
    // Add stage 1 with a leaf lacking both W and U: stage 1 is blamed, not stage 2.
    let n = loadWordsAt(m, 1 * 16, pte(2, PTE.P));
    n = loadWordsAt(n, 2 * 16, pte(0, PTE.P));
    n = loadWordsAt(n, 4 * 16 + 1, pte(1, PTE.P));
    n = loadWordsAt(n, 4 * 16 + 2, pte(2, PTE.P));
    n = at(n, 1, { [SYS.SCTLR_EL1]: SCTLR_M, [SYS.TTBR0_EL1]: makeBase(1, 0) });
    const st2 = execute(patchCpu(n, 0, { regs }), 0, ST_R3_R1);
    expect(st2.trap).toMatchObject({ kind: 'abort', stage: 1, fault: 'permission', ipa: null });
  });

  it('HW-MMU-6: a full two-stage miss reads (n+1)(m+1)−1 entries, for 1 to 4 levels', () => {
    // One stage-1 level needs 16 entries per table for the 16 frames to be addressable.
    const geometries = [config(16, 16, 1, 4), config(16, 16, 2, 2), config(32, 16, 3, 2), config(32, 16, 4, 2)];
    for (const cfg of geometries) {
      const levels = cfg.pageTableLevels;
      let m = machine(cfg);
      const spares = Array.from({ length: cfg.frames - 8 }, (_, i) => i + 8);
      // Stage 2 (root 1): identity for frames 0..7, so the stage-1 root (2) is reachable.
      for (let f = 0; f < 8; f++) m = map(m, 1, f * PAGE, f, PTE.W | PTE.X, spares);
      m = map(m, 2, 0, 5, PTE.W | PTE.X | PTE.U, spares); // stage 1 (root 2): VA page 0 → IPA page 5
      // The stage-1 inner tables came from the spares above frame 7: identity-map them too.
      for (let f = 8; f < cfg.frames; f++) if (!spares.includes(f)) m = map(m, 1, f * PAGE, f, PTE.W, spares);
      m = at(m, 1, { [SYS.SCTLR_EL1]: SCTLR_M, [SYS.HCR_EL2]: HCR.VM, [SYS.TTBR0_EL1]: makeBase(2, 0), [SYS.VTTBR_EL2]: makeBase(1, 0) });
      const ops: PrimitiveOp[] = [];
      const t = translate(m.geometry, m.memory, m.cpus[0]!, 12, 'load', ops);
      expect(t).toMatchObject({ ok: true, pa: 5 * PAGE + 12 });
      expect(count(ops, 'nestedWalkStep'), `levels=${levels}`).toBe((levels + 1) * (levels + 1) - 1);
      expect(count(ops, 'pageWalkStep')).toBe(0);
      // One stage alone reads n entries.
      const one: PrimitiveOp[] = [];
      translate(m.geometry, m.memory, { ...m.cpus[0]!, sys: m.cpus[0]!.sys.map((v, i) => (i === SYS.HCR_EL2 ? 0 : v)) }, 12, 'load', one);
      expect(count(one, 'pageWalkStep')).toBe(levels);
    }
  });

  it('HW-MMU-7: stage 2 must map every stage-1 table; read-only (P) is enough', () => {
    let m = markFrames(small(), [9]);
    const spares = [2, 4, 6];
    m = map(m, 1, 0, 5, PTE.W | PTE.U, spares); // stage 1: root 1, leaf table 2; VA page 0 → IPA page 5
    m = map(m, 3, 5 * PAGE, 9, PTE.W, spares); // stage 2: root 3; IPA page 5 → 9
    m = map(m, 3, 1 * PAGE, 1, 0, spares); // the stage-1 root, read-only
    m = at(m, 1, { [SYS.SCTLR_EL1]: SCTLR_M, [SYS.HCR_EL2]: HCR.VM, [SYS.TTBR0_EL1]: makeBase(1, 0), [SYS.VTTBR_EL2]: makeBase(3, 0) });
    // The leaf table (IPA page 2) is not mapped in stage 2: a stage-2 fault on the walk.
    const r = load(m, 8);
    expect(r.trap).toMatchObject({ kind: 'abort', stage: 2, fault: 'translation', level: 1, onWalk: true, ipa: 2 * PAGE, to: 2 });
    const n = map(m, 3, 2 * PAGE, 2, 0, spares);
    expect(loaded(load(n, 8))).toBe((9 << 8) | 2);
  });

  it('HW-MMU-9: an input address at or above 2^vaBits is a translation fault at level 0 with no reads', () => {
    let m = small();
    m = map(m, 1, 0, 5, PTE.W, [2]);
    m = at(m, 1, { [SYS.SCTLR_EL1]: SCTLR_M, [SYS.TTBR0_EL1]: makeBase(1, 0) });
    for (const va of [2 ** m.geometry.vaBits, 2 ** m.geometry.vaBits + PAGE, 0xfffffffc]) {
      const r = load(m, va);
      expect(loaded(r)).toBe('abort:1:translation:0');
      expect(count(r.ops, 'pageWalkStep')).toBe(0);
    }
    // Stage 2 alone: the IPA (= VA) is range-checked the same way.
    const s2 = at(m, 1, { [SYS.SCTLR_EL1]: 0, [SYS.HCR_EL2]: HCR.VM, [SYS.VTTBR_EL2]: makeBase(1, 0) });
    expect(load(s2, 2 ** m.geometry.vaBits).trap).toMatchObject({ stage: 2, fault: 'translation', level: 0, ipa: 2 ** m.geometry.vaBits });
  });
});

describe('32-bit addresses (HW-MMU-9)', () => {
  // 8 frames of 4 KiB, 2 × 10-bit tables: vaBits = 32, like DEMO_MACHINE. A ppn of 2^20 or
  // more names an intermediate page at or above 2^32, which stage 2 must refuse, not wrap.
  const WIDE = { ...config(8, 1024, 2, 10), devices: [] };
  const K = 4096;

  function wide(): Machine {
    let m = machine(WIDE);
    for (let p = 0; p < 5; p++) m = map(m, 5, p * K, p, PTE.W | PTE.X, p === 0 ? [6] : []); // stage 2 (root 5): identity
    m = loadWordsAt(m, 2 * 1024, pte(3, PTE.P | PTE.W)); // what a wrapped IPA would find
    return at(m, 1, { [SYS.SCTLR_EL1]: SCTLR_M, [SYS.HCR_EL2]: HCR.VM, [SYS.TTBR0_EL1]: makeBase(1, 0), [SYS.VTTBR_EL2]: makeBase(5, 0) });
  }

  const ctl: RefControls = { el: 1, sctlr: 1, hcr: 1, ttbr0: makeBase(1, 0), vttbr: makeBase(5, 0) };

  it('HW-MMU-10: a stage-1 entry naming a table at 2^32 or more is an address-size fault at its level', () => {
    const m = loadWordsAt(wide(), 1 * 1024, pte(2 ** 20 + 2, PTE.P));
    const ref = refTranslate(refGeometry(WIDE), ramReader(m.memory), ctl, 4, 'load');
    expect(ref).toMatchObject({ ok: false, stage: 1, fault: 'addressSize', level: 0, onWalk: false, ipa: null });
    const t = translate(m.geometry, m.memory, m.cpus[0]!, 4, 'load', []);
    expect(modelOutcome(t)).toEqual(outcomeOf(ref));
  });

  it('HW-MMU-10: a stage-1 leaf naming an IPA of 2^32 or more is an address-size fault, reported with FSC 0x00 + level', () => {
    let m = loadWordsAt(wide(), 1 * 1024, pte(2, PTE.P));
    m = loadWordsAt(m, 2 * 1024, pte(2 ** 20 + 3, PTE.P | PTE.W));
    const ref = refTranslate(refGeometry(WIDE), ramReader(m.memory), ctl, 4, 'load');
    expect(ref).toMatchObject({ ok: false, stage: 1, fault: 'addressSize', level: 1, onWalk: false, ipa: null });
    const r = load(m, 4);
    expect(r.trap).toMatchObject({ kind: 'abort', stage: 1, fault: 'addressSize', level: 1, onWalk: false, ipa: null, to: 1 });
    expect(r.trap!.esr & 0x3f).toBe(0x01);
  });

  it('HW-MMU-4, HW-MMU-7: a stage-1 table that stage 2 places outside RAM is a stage-2 external abort on the walk', () => {
    // Stage 2 maps IPA page 1 (the stage-1 root) to the first page past RAM.
    let m = wide();
    const s2 = refGeometry(WIDE);
    const ipaOfRoot = 1 * s2.wordsPerFrame * 4;
    m = loadWordsAt(m, 5 * 1024, pte(6, PTE.P));
    m = loadWordsAt(m, 6 * 1024 + 1, pte(WIDE.frames, PTE.P | PTE.W));
    const ref = refTranslate(s2, ramReader(m.memory), ctl, 4, 'load');
    expect(ref).toMatchObject({ ok: false, stage: 2, fault: 'external', level: 0, onWalk: true, ipa: ipaOfRoot });
    const t = translate(m.geometry, m.memory, m.cpus[0]!, 4, 'load', []);
    expect(modelOutcome(t)).toEqual(outcomeOf(ref));
  });
});

function loadWordsAt(m: Machine, wordIndex: number, value: number): Machine {
  return { ...m, memory: writeWords(m.memory, wordIndex, [value]) };
}

// ---------------------------------------------------------------------------------------------
// HW-MMU-8: table editing as ordinary memory.

type Edit = { readonly op: 'map'; readonly page: number; readonly ppn: number; readonly flags: number } | { readonly op: 'unmap'; readonly page: number };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('map' as const), page: fc.nat(15), ppn: fc.nat(2 ** 20), flags: fc.nat(15) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unmap' as const), page: fc.nat(15) }) },
);

describe('table editing (HW-MMU-8)', () => {
  it('HW-MMU-8: mapPage/unmapPage build exactly the mappings asked for, touching only the root and the spares they take', () => {
    fc.assert(
      fc.property(fc.array(editArb, { maxLength: 24 }), (edits) => {
        const g = refGeometry(SMALL);
        let memory = small().memory;
        const spares = [2, 3, 4, 5]; // a 2-level table over 16 pages needs at most 4 leaf tables
        const expected = new Map<number, number>(); // VA page → entry
        for (const e of edits) {
          if (e.op === 'map') {
            const r = mapPage(small().geometry, memory, 1, e.page * PAGE, e.ppn, e.flags, spares);
            expect(r.ok).toBe(true);
            if (!r.ok) return;
            for (const used of r.value.tablesUsed) spares.splice(spares.indexOf(used), 1);
            memory = r.value.memory;
            expected.set(e.page, pte(e.ppn, e.flags | PTE.P));
          } else {
            memory = unmapPage(small().geometry, memory, 1, e.page * PAGE);
            expected.delete(e.page);
          }
          const ctl: RefControls = { el: 1, sctlr: 1, hcr: 0, ttbr0: makeBase(1, 0), vttbr: 0 };
          for (let page = 0; page < 16; page++) {
            const w = refTranslate(g, ramReader(memory), ctl, page * PAGE + 4, 'load');
            const entry = expected.get(page);
            if (entry === undefined) expect(w, `page ${page}`).toMatchObject({ ok: false, stage: 1, fault: 'translation' });
            else expect(w, `page ${page}`).toMatchObject({ ok: true, pa: Math.floor(entry / 16) * PAGE + 4 });
          }
        }
        // Only the root (frame 1) and the tables taken from the spares were written.
        const taken = new Set([1, ...[2, 3, 4, 5].filter((f) => !spares.includes(f))]);
        for (let f = 0; f < 16; f++) {
          if (!taken.has(f)) expect(readWords(memory, f * 16, 16), `frame ${f}`).toEqual(new Array<number>(16).fill(0));
        }
      }),
    );
  });

  it('HW-MMU-8: mapPage fails and changes nothing for an address out of range, a missing spare or a root outside RAM', () => {
    const m = small();
    const geo = m.geometry;
    for (const [root, va, spares] of [
      [1, 2 ** geo.vaBits, [2]],
      [1, -4, [2]],
      [1, 0, []],
      [16, 0, [2]],
    ] as const) {
      const r = mapPage(geo, m.memory, root, va, 5, PTE.W, spares);
      expect(r.ok, `root ${root} va ${va}`).toBe(false);
    }
    // A path through an existing inner entry whose table is not RAM fails too.
    const bad = loadWordsAt(m, 16, pte(40, PTE.P));
    expect(mapPage(geo, bad.memory, 1, 0, 5, PTE.W, [2]).ok).toBe(false);
    expect(unmapPage(geo, bad.memory, 1, 0)).toBe(bad.memory);
  });

  it('HW-MMU-8: editing a live table with mapPage/unmapPage leaves every TLB alone', () => {
    let m = markFrames(small(), [8, 9]);
    m = map(m, 1, 0, 8, PTE.W, [2]);
    m = at(m, 1, { [SYS.SCTLR_EL1]: SCTLR_M, [SYS.TTBR0_EL1]: makeBase(1, 3) });
    m = load(m, 4).machine;
    const tlb = m.cpus[0]!.tlb;
    m = { ...m, memory: unmapPage(m.geometry, m.memory, 1, 0) };
    m = map(m, 1, 0, 9, PTE.W, []);
    expect(m.cpus[0]!.tlb).toBe(tlb);
    expect(loaded(load(m, 4))).toBe((8 << 8) | 1);
  });
});
