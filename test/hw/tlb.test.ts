/**
 * The TLB (HW-TLB-1..5): tagged entries, fills only from successful walks, FIFO replacement,
 * TLBI scopes, and stale entries that stay in force until invalidated.
 *
 * The main property runs random sequences of accesses, page-table edits, base-register
 * switches and TLBIs on a 2-CPU machine against a shadow TLB written here from the rules: a
 * hit must give what the reference walker gave *when the entry was filled*, a miss what it
 * gives on the current tables, and after every step each CPU's TLB must hold exactly the
 * shadow's entries in the same age order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import {
  encode,
  execute,
  HCR,
  makeBase,
  pte,
  PTE,
  readWord,
  SCTLR_M,
  SYS,
  translate,
  writeWords,
  type Access,
  type ExecResult,
  type Instruction,
  type Machine,
  type MachineConfig,
  type Tlb,
  type TlbEntry,
  type TlbiScope,
} from '../../src/hw/index.ts';
import { machine, map, patchCpu, setSysRegs } from './fixtures.ts';
import {
  ramReader,
  refGeometry,
  refPageBytes,
  refPermission,
  refTranslate,
  refWalk,
  type RefControls,
  type RefGeometry,
} from './reference-walker.ts';

// ---------------------------------------------------------------------------------------------
// Machine, instructions and small helpers

function config(cpus: number, tlbEntries: number): MachineConfig {
  return {
    cpus,
    frames: 16,
    wordsPerFrame: 16,
    pageTableLevels: 2,
    pageTableIndexBits: 2,
    tlbEntries,
    irqLines: 8,
    devices: [{ kind: 'console', irq: 3 }],
  };
}

const PAGE = 64;
/** The tag an entry carries for a stage that is off (HW-TLB-2): outside the 8-bit ID range. */
const OFF_TAG = 256;

function word(insn: Instruction): number {
  const e = encode(insn);
  if (E.isLeft(e)) throw new Error(e.left.message);
  return e.right;
}

const LD = word({ op: 'ld', rd: 2, rs1: 1, imm: 0 });
const ST = word({ op: 'st', rs2: 3, rs1: 1, imm: 0 });

function tlbiWord(scope: TlbiScope, broadcast: boolean): number {
  return word({ op: 'tlbi', scope, broadcast, rs: scope === 'all' ? 0 : 1 });
}

/** One translation context: which stages are on and their bases. */
interface Context {
  readonly s1: boolean;
  readonly s2: boolean;
  readonly ttbr0: number;
  readonly vttbr: number;
}

/** Puts CPU `c` at `el` under context `ctx`, with r1 = `r1`. */
function enter(m: Machine, c: number, el: 0 | 1 | 2, ctx: Context, r1 = 0): Machine {
  const n = setSysRegs(m, c, {
    [SYS.SCTLR_EL1]: ctx.s1 ? SCTLR_M : 0,
    [SYS.HCR_EL2]: ctx.s2 ? HCR.VM : 0,
    [SYS.TTBR0_EL1]: ctx.ttbr0,
    [SYS.VTTBR_EL2]: ctx.vttbr,
  });
  const regs = n.cpus[c]!.regs.slice();
  regs[1] = r1;
  regs[3] = 0xc0ffee00 + c;
  return patchCpu(n, c, { el, regs });
}

function controls(el: 0 | 1 | 2, ctx: Context): RefControls {
  return { el, sctlr: ctx.s1 ? 1 : 0, hcr: ctx.s2 ? 1 : 0, ttbr0: ctx.ttbr0, vttbr: ctx.vttbr };
}

/** A TLB's entries, oldest first. */
function byAge(tlb: Tlb): readonly TlbEntry[] {
  return tlb.entries.slice(tlb.victim).concat(tlb.entries.slice(0, tlb.victim));
}

/** The architecturally meaningful part of an entry. */
function entryView(e: TlbEntry): ShadowEntry {
  return { vmid: e.vmid, asid: e.asid, vpn: e.vpn, ppn: e.ppn, ipn: e.ipn, s1: e.s1, s2: e.s2 };
}

/** Loads from `va` on CPU `c` at `el` under `ctx`: the value, or a description of the trap. */
function loadAt(m: Machine, c: number, el: 0 | 1 | 2, ctx: Context, va: number): { value: number | string; machine: Machine } {
  const r = execute(enter(m, c, el, ctx, va), c, LD);
  return { value: r.trap === null ? r.machine.cpus[c]!.regs[2]! : describeTrap(r), machine: r.machine };
}

function storeAt(m: Machine, c: number, el: 0 | 1 | 2, ctx: Context, va: number): ExecResult {
  return execute(enter(m, c, el, ctx, va), c, ST);
}

function describeTrap(r: ExecResult): string {
  const t = r.trap!;
  return t.kind === 'abort' ? `abort:${t.stage}:${t.fault}` : t.kind;
}

/** Runs TLBI `scope` on CPU `c` at `el` under `ctx` with operand `operand`. */
function tlbi(m: Machine, c: number, el: 1 | 2, ctx: Context, scope: TlbiScope, operand: number, broadcast = false): ExecResult {
  return execute(enter(m, c, el, ctx, operand), c, tlbiWord(scope, broadcast));
}

/** Marks every word of the frames: word i of frame f holds f << 8 | i. */
function markFrames(m: Machine, frames: readonly number[]): Machine {
  let memory = m.memory;
  for (const f of frames) memory = writeWords(memory, f * 16, Array.from({ length: 16 }, (_, i) => (f << 8) | i));
  return { ...m, memory };
}

function setWord(m: Machine, wordIndex: number, value: number): Machine {
  return { ...m, memory: writeWords(m.memory, wordIndex, [value]) };
}

// ---------------------------------------------------------------------------------------------
// The shadow TLB: the rules of HW-TLB-1..5 written out independently of src/hw/tlb.ts.

interface ShadowEntry {
  readonly vmid: number;
  readonly asid: number;
  readonly vpn: number;
  readonly ppn: number;
  readonly ipn: number;
  readonly s1: number;
  readonly s2: number;
}

/** One CPU's shadow TLB, oldest entry first. */
type Shadow = readonly ShadowEntry[];

/** The tags a regime's entries carry (HW-TLB-1, -2), or null when nothing is cached (EL2, both off). */
function tagsOf(el: 0 | 1 | 2, ctx: Context): { vmid: number; asid: number } | null {
  if (el === 2 || (!ctx.s1 && !ctx.s2)) return null;
  return { vmid: ctx.s2 ? ctx.vttbr >>> 24 : OFF_TAG, asid: ctx.s1 ? ctx.ttbr0 >>> 24 : OFF_TAG };
}

/** The VMID a TLBI issued under `ctx` acts within (HW-TLB-4): the current guest's. */
function currentVmid(ctx: Context): number {
  return ctx.s2 ? ctx.vttbr >>> 24 : OFF_TAG;
}

/** Which entries a TLBI removes (HW-TLB-4). */
function tlbiRemoves(g: RefGeometry, el: 1 | 2, ctx: Context, scope: TlbiScope, operand: number): (e: ShadowEntry) => boolean {
  const vmid = currentVmid(ctx);
  switch (scope) {
    case 'all':
      return el === 2 ? () => true : (e) => e.vmid === vmid;
    case 'asid':
      return (e) => e.vmid === vmid && e.asid === operand % 256;
    case 'va':
      return (e) => e.vmid === vmid && e.vpn === Math.floor(operand / refPageBytes(g));
    case 'vmid':
      return (e) => e.vmid === operand % 256;
  }
}

/** FIFO fill (HW-TLB-3). */
function shadowFill(shadow: Shadow, capacity: number, e: ShadowEntry): Shadow {
  const next = shadow.concat([e]);
  return next.length > capacity ? next.slice(1) : next;
}

type Outcome =
  | { readonly ok: true; readonly pa: number }
  | { readonly ok: false; readonly stage: 1 | 2; readonly fault: string; readonly level: number; readonly ipa: number | null; readonly onWalk: boolean };

/** What an access does by the rules, given the shadow: a hit uses the entry, a miss walks now. */
function expectedAccess(
  g: RefGeometry,
  m: Machine,
  shadow: Shadow,
  capacity: number,
  el: 0 | 1 | 2,
  ctx: Context,
  va: number,
  access: Access,
): { outcome: Outcome; shadow: Shadow; hit: boolean } {
  const tags = tagsOf(el, ctx);
  const ctl = controls(el, ctx);
  if (tags === null) return { outcome: refTranslate(g, ramReader(m.memory), ctl, va, access), shadow, hit: false };
  const pageBytes = refPageBytes(g);
  const vpn = Math.floor(va / pageBytes);
  const offset = va % pageBytes;
  let entry = shadow.find((e) => e.vmid === tags.vmid && e.asid === tags.asid && e.vpn === vpn);
  const hit = entry !== undefined;
  let next = shadow;
  if (entry === undefined) {
    const w = refWalk(g, ramReader(m.memory), ctl, va);
    // HW-TLB-3: a walk that fails caches nothing.
    if (!w.ok) return { outcome: w, shadow, hit };
    entry = { ...tags, vpn, ppn: Math.floor(w.pa / pageBytes), ipn: Math.floor(w.ipa / pageBytes), s1: w.s1Flags, s2: w.s2Flags };
    next = shadowFill(shadow, capacity, entry);
  }
  const denied = refPermission(entry.s1, entry.s2, access, el);
  if (denied !== 0) {
    const ipa = denied === 2 ? entry.ipn * pageBytes + offset : null;
    return { outcome: { ok: false, stage: denied, fault: 'permission', level: g.levels - 1, ipa, onWalk: false }, shadow: next, hit };
  }
  return { outcome: { ok: true, pa: entry.ppn * pageBytes + offset }, shadow: next, hit };
}

function outcomeView(o: Outcome): Outcome {
  return o.ok ? { ok: true, pa: o.pa } : { ok: false, stage: o.stage, fault: o.fault, level: o.level, ipa: o.ipa, onWalk: o.onWalk };
}

/** An executed LD/ST as an outcome; a PA that is neither RAM nor a device is an external abort. */
function executedOutcome(r: ExecResult): Outcome {
  if (r.trap === null) return { ok: true, pa: r.record.memAccess!.pa };
  const t = r.trap;
  if (t.kind !== 'abort') throw new Error(`unexpected trap ${t.kind}`);
  return { ok: false, stage: t.stage, fault: t.fault, level: t.level, ipa: t.ipa, onWalk: t.onWalk };
}

function reachable(m: Machine, o: Outcome): Outcome {
  if (!o.ok) return o;
  const cfg = m.geometry.config;
  const page = Math.floor(o.pa / (cfg.wordsPerFrame * 4));
  if (page < cfg.frames + cfg.devices.length) return o;
  return { ok: false, stage: 1, fault: 'external', level: 0, ipa: null, onWalk: false };
}

// ---------------------------------------------------------------------------------------------
// Generators for random tables, contexts and action sequences

const G = refGeometry(config(2, 4));

function pteArb(): fc.Arbitrary<number> {
  const ppn = fc.oneof({ weight: 12, arbitrary: fc.nat(15) }, { weight: 1, arbitrary: fc.integer({ min: 16, max: 18 }) });
  const bit = (percent: number) => fc.integer({ min: 0, max: 99 }).map((n) => n < percent);
  return fc
    .record({ ppn, p: bit(90), w: bit(70), x: bit(60), u: bit(70) })
    .map(({ ppn, p, w, x, u }) => pte(ppn, (p ? PTE.P : 0) | (w ? PTE.W : 0) | (x ? PTE.X : 0) | (u ? PTE.U : 0)));
}

/** A few tags, so that contexts share ASIDs and VMIDs (the interesting collisions). */
const tagArb = fc.constantFrom(0, 1, 2);

/** A root: usually one of the shaped roots (frames 1..4), sometimes any frame. */
const rootArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.nat(15) });

const contextArb: fc.Arbitrary<Context> = fc.record({
  s1: fc.boolean(),
  s2: fc.boolean(),
  ttbr0: fc.tuple(rootArb, tagArb).map(([r, t]) => makeBase(r, t)),
  vttbr: fc.tuple(rootArb, tagArb).map(([r, t]) => makeBase(r, t)),
});

const vaArb = fc.tuple(fc.nat(15), fc.nat(15)).map(([page, w]) => page * PAGE + w * 4);

/** Sequences revisit a few pages, so that hits, stale hits and evictions are common. */
const seqVaArb = fc.tuple(fc.nat(3), fc.nat(15)).map(([page, w]) => page * PAGE + w * 4);

/** TLBI operands: a page address, an ID, sometimes with junk in the high bits. */
const operandArb = fc.oneof(vaArb, tagArb, tagArb.map((t) => 0x300 | t), fc.nat(0xffffffff));

type Action =
  | {
      readonly kind: 'access';
      readonly cpu: number;
      readonly el: 0 | 1 | 2;
      readonly ctx: number;
      readonly va: number;
      readonly access: Access;
      /** Reuse the previous access's CPU, context and address (locality: hits, stale hits). */
      readonly again: boolean;
    }
  | {
      readonly kind: 'edit';
      readonly wordIndex: number;
      readonly value: number;
      /** Half the time, rewrite instead one of the entries the last successful walk read. */
      readonly aim: number;
    }
  | {
      readonly kind: 'tlbi';
      readonly cpu: number;
      readonly el: 1 | 2;
      readonly ctx: number;
      readonly scope: TlbiScope;
      readonly operand: number;
      readonly broadcast: boolean;
      /** Two times in three, aim the operand at an entry some CPU holds (see {@link aimedOperand}). */
      readonly aim: number;
    };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('access' as const),
      cpu: fc.nat(1),
      el: fc.constantFrom<0 | 1 | 2>(0, 1, 1, 2),
      ctx: fc.nat(2),
      va: seqVaArb,
      access: fc.constantFrom<Access>('fetch', 'load', 'store'),
      again: fc.integer({ min: 0, max: 9 }).map((n) => n < 4),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('edit' as const),
      // Mostly the shaped inner tables (frames 5..8), where an edit makes entries stale.
      wordIndex: fc.tuple(fc.oneof(fc.integer({ min: 5, max: 8 }), fc.nat(15)), fc.nat(3)).map(([f, i]) => f * 16 + i),
      value: pteArb(),
      aim: fc.nat(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('tlbi' as const),
      cpu: fc.nat(1),
      el: fc.constantFrom<1 | 2>(1, 2, 2),
      ctx: fc.nat(2),
      // ALL empties so much that it is drawn least often.
      scope: fc.constantFrom<TlbiScope>('all', 'va', 'va', 'asid', 'asid', 'vmid', 'vmid'),
      operand: operandArb,
      broadcast: fc.boolean(),
      aim: fc.nat(),
    }),
  },
);

/** Random tables: the first four words of every frame are entries. */
const randomTablesArb = fc.array(pteArb(), { minLength: 64, maxLength: 64 });

/**
 * Tables shaped so that walks mostly succeed: frames 1..4 are roots whose entries point at
 * the inner tables in frames 5..8, whose entries are random leaves; everything else is
 * random. Contexts take roots from 1..4 (see {@link contextArb}).
 */
const shapedTablesArb = fc
  .tuple(randomTablesArb, fc.array(fc.integer({ min: 0, max: 19 }), { minLength: 16, maxLength: 16 }))
  .map(([random, holes]) =>
    random.map((entry, i) => {
      const frame = Math.floor(i / 4);
      const index = i % 4;
      if (frame < 1 || frame > 4) return entry;
      return holes[(frame - 1) * 4 + index] === 0 ? entry : pte(5 + ((frame + index) % 4), PTE.P);
    }),
  );

const tablesArb = fc.oneof(shapedTablesArb, randomTablesArb);

function machineWithTables(cfg: MachineConfig, tables: readonly number[]): Machine {
  let memory = machine(cfg).memory;
  for (let f = 0; f < cfg.frames; f++) {
    const words = Array.from({ length: 16 }, (_, i) => (i < 4 ? tables[f * 4 + i]! : ((f << 8) | i) >>> 0));
    memory = writeWords(memory, f * 16, words);
  }
  return { ...machine(cfg), memory };
}

/** Performs one access on the model, returning the new machine and what happened. */
function modelAccess(m: Machine, c: number, el: 0 | 1 | 2, ctx: Context, va: number, access: Access): { machine: Machine; outcome: Outcome } {
  const entered = enter(m, c, el, ctx, va);
  if (access === 'fetch') {
    // A fetch is translated directly: executing the fetched word would do more than translate.
    const t = translate(entered.geometry, entered.memory, entered.cpus[c]!, va, 'fetch', []);
    const outcome: Outcome = t.ok ? { ok: true, pa: t.pa } : t;
    return { machine: patchCpu(entered, c, { tlb: t.tlb }), outcome: outcomeView(outcome) };
  }
  const r = execute(entered, c, access === 'load' ? LD : ST);
  return { machine: r.machine, outcome: executedOutcome(r) };
}

function expectTlbsMatch(m: Machine, shadows: readonly Shadow[], where: string): void {
  m.cpus.forEach((cpu, c) => {
    expect(byAge(cpu.tlb).map(entryView), `${where}: cpu ${c}`).toEqual(shadows[c]);
    expect(cpu.tlb.keys.length).toBe(cpu.tlb.entries.length);
  });
}

// ---------------------------------------------------------------------------------------------

/** What a run of a sequence exercised, so a test can check that the generator reaches the hazards. */
interface SequenceStats {
  hits: number;
  /** Hits whose answer differs from what a fresh walk would give now. */
  staleHits: number;
  evictions: number;
  /** TLBIs that removed something, by scope, and broadcasts that removed something elsewhere. */
  removals: Record<TlbiScope | 'remote', number>;
}

function emptyStats(): SequenceStats {
  return { hits: 0, staleHits: 0, evictions: 0, removals: { all: 0, va: 0, asid: 0, vmid: 0, remote: 0 } };
}

/** An operand naming (if `aim` says so) the page, ASID or VMID of an entry some CPU holds. */
function aimedOperand(shadows: readonly Shadow[], a: Extract<Action, { kind: 'tlbi' }>): number {
  // Entries with a real tag of the kind the scope names are the interesting targets.
  const flat = shadows.flat();
  const tagged = flat.filter((e) => (a.scope === 'vmid' ? e.vmid : e.asid) !== OFF_TAG);
  const all = a.scope === 'vmid' || a.scope === 'asid' ? (tagged.length > 0 ? tagged : flat) : flat;
  if (a.aim % 3 === 0 || all.length === 0) return a.operand;
  const e = all[a.aim % all.length]!;
  switch (a.scope) {
    case 'va':
      return e.vpn * PAGE + 4 * (a.aim % 16);
    case 'asid':
      return e.asid;
    case 'vmid':
      return e.vmid;
    case 'all':
      return 0;
  }
}

interface Sequence {
  readonly capacity: number;
  readonly tables: readonly number[];
  readonly contexts: readonly Context[];
  readonly actions: readonly Action[];
  readonly finalCtx: number;
}

const sequenceArb: fc.Arbitrary<Sequence> = fc.record({
  capacity: fc.constantFrom(1, 2, 4, 8),
  tables: tablesArb,
  contexts: fc.array(contextArb, { minLength: 3, maxLength: 3 }),
  actions: fc.array(actionArb, { minLength: 10, maxLength: 40, size: 'max' }),
  finalCtx: fc.nat(2),
});

/** An access marked `again` takes the previous access's CPU, context and address. */
function repeatPrevious(action: Action, previous: Extract<Action, { kind: 'access' }> | null): Action {
  if (action.kind !== 'access' || !action.again || previous === null) return action;
  return { ...previous, el: action.el, access: action.access };
}

/**
 * Runs a sequence on the model and on the shadow, checking every step (HW-TLB-1, -3, -4, -5),
 * then TLBI ALL and a full sweep of fresh translations.
 */
function runSequence(seq: Sequence, stats: SequenceStats): void {
  const { capacity, contexts } = seq;
  let m = machineWithTables(config(2, capacity), seq.tables);
  let shadows: Shadow[] = [[], []];
  let previous: Extract<Action, { kind: 'access' }> | null = null;
  let lastWalk: readonly number[] = [];
  for (const [step, action] of seq.actions.entries()) {
    const a: Action = repeatPrevious(action, previous);
    const where = `step ${step} ${JSON.stringify(a)}`;
    switch (a.kind) {
      case 'access': {
        previous = a;
        const ctx = contexts[a.ctx]!;
        const walked = refWalk(G, ramReader(m.memory), controls(a.el, ctx), a.va);
        if (walked.ok && walked.read.length > 0) lastWalk = walked.read;
        const exp = expectedAccess(G, m, shadows[a.cpu]!, capacity, a.el, ctx, a.va, a.access);
        if (exp.hit) {
          stats.hits++;
          const fresh = outcomeView(refTranslate(G, ramReader(m.memory), controls(a.el, ctx), a.va, a.access));
          if (JSON.stringify(fresh) !== JSON.stringify(outcomeView(exp.outcome))) stats.staleHits++;
        }
        if (exp.shadow.length === shadows[a.cpu]!.length && !exp.hit && exp.shadow !== shadows[a.cpu]) stats.evictions++;
        const got = modelAccess(m, a.cpu, a.el, ctx, a.va, a.access);
        expect(got.outcome, where).toEqual(a.access === 'fetch' ? outcomeView(exp.outcome) : reachable(m, outcomeView(exp.outcome)));
        shadows[a.cpu] = exp.shadow;
        m = got.machine;
        break;
      }
      case 'edit':
        m = setWord(m, a.aim % 2 === 0 && lastWalk.length > 0 ? lastWalk[a.aim % lastWalk.length]! : a.wordIndex, a.value);
        break;
      case 'tlbi': {
        const ctx = contexts[a.ctx]!;
        const operand = aimedOperand(shadows, a);
        const r = tlbi(m, a.cpu, a.el, ctx, a.scope, operand, a.broadcast);
        // HW-TLB-4: TLBI VMID is EL2's; from EL1 it traps and changes nothing.
        if (a.el === 1 && a.scope === 'vmid') {
          expect(r.trap, where).toMatchObject({ kind: 'tlbi', to: 2 });
        } else {
          expect(r.trap, where).toBeNull();
          const removes = tlbiRemoves(G, a.el, ctx, a.scope, operand);
          if (shadows.some((s, c) => (c === a.cpu || a.broadcast) && s.some(removes))) stats.removals[a.scope]++;
          if (a.broadcast && shadows[1 - a.cpu]!.some(removes)) stats.removals.remote++;
          shadows = shadows.map((s, c) => (c === a.cpu || a.broadcast ? s.filter((e) => !removes(e)) : s));
        }
        m = r.machine;
        break;
      }
    }
    expectTlbsMatch(m, shadows, where);
  }
  // After TLBI ALL at EL1 every translation of the current guest regime is a fresh walk.
  const ctx = contexts[seq.finalCtx]!;
  m = tlbi(m, 0, 1, ctx, 'all', 0).machine;
  for (let page = 0; page < 16; page++) {
    for (const access of ['load', 'store', 'fetch'] as const) {
      for (const el of [0, 1] as const) {
        const va = page * PAGE + 4 * (page % 16);
        const fresh = refTranslate(G, ramReader(m.memory), controls(el, ctx), va, access);
        const got = translate(m.geometry, m.memory, enter(m, 0, el, ctx).cpus[0]!, va, access, []);
        expect(outcomeView(got.ok ? { ok: true, pa: got.pa } : got), `after TLBI ALL: ${va} ${access} EL${el}`).toEqual(outcomeView(fresh));
      }
    }
  }
}

describe('TLB against a shadow model', () => {
  it('HW-TLB-1, HW-TLB-3..5: random accesses, table edits and TLBIs: hits give the fill-time walk, TLBs match the shadow, and after TLBI ALL every translation is a fresh walk', () => {
    fc.assert(fc.property(sequenceArb, (seq) => runSequence(seq, emptyStats())));
  });

  it('the sequence generator reaches stale hits, evictions and every TLBI scope (so the property above can fail)', () => {
    const stats = emptyStats();
    for (const seq of fc.sample(sequenceArb, { seed: 20261123, numRuns: 60 })) runSequence(seq, stats);
    expect(stats.hits).toBeGreaterThan(50);
    expect(stats.staleHits).toBeGreaterThan(5);
    expect(stats.evictions).toBeGreaterThan(5);
    for (const scope of ['all', 'va', 'asid', 'vmid', 'remote'] as const) expect(stats.removals[scope], scope).toBeGreaterThan(3);
  });

  it('HW-TLB-3: a failed walk fills nothing; a walk that succeeds fills even if the access is then denied', () => {
    fc.assert(
      fc.property(tablesArb, contextArb, fc.constantFrom<0 | 1>(0, 1), vaArb, fc.constantFrom<Access>('fetch', 'load', 'store'), (tables, ctx, el, va, access) => {
        fc.pre(ctx.s1 || ctx.s2);
        const m = enter(machineWithTables(config(1, 4), tables), 0, el, ctx);
        const w = refWalk(G, ramReader(m.memory), controls(el, ctx), va);
        const t = translate(m.geometry, m.memory, m.cpus[0]!, va, access, []);
        if (!w.ok) {
          expect(t.ok).toBe(false);
          expect(t.tlb).toBe(m.cpus[0]!.tlb);
        } else {
          expect(t.tlb.entries.map(entryView)).toEqual([
            {
              ...tagsOf(el, ctx)!,
              vpn: Math.floor(va / PAGE),
              ppn: Math.floor(w.pa / PAGE),
              ipn: Math.floor(w.ipa / PAGE),
              s1: w.s1Flags,
              s2: w.s2Flags,
            },
          ]);
        }
      }),
    );
  });

  it('HW-TLB-4: each TLBI scope removes exactly the entries its rule names, locally or on every CPU', () => {
    fc.assert(
      fc.property(
        tablesArb,
        fc.array(contextArb, { minLength: 3, maxLength: 3 }),
        fc.array(fc.record({ cpu: fc.nat(1), ctx: fc.nat(2), el: fc.constantFrom<0 | 1>(0, 1), va: vaArb }), { minLength: 4, maxLength: 30 }),
        fc.record({
          el: fc.constantFrom<1 | 2>(1, 2),
          ctx: fc.nat(2),
          scope: fc.constantFrom<TlbiScope>('all', 'va', 'asid', 'vmid'),
          broadcast: fc.boolean(),
          pick: fc.nat(),
          operand: operandArb,
        }),
        (tables, contexts, fills, op) => {
          // Large TLBs, so the fills all stay and the TLBI has plenty to choose from.
          let m = machineWithTables(config(2, 16), tables);
          for (const f of fills) m = loadAt(m, f.cpu, f.el, contexts[f.ctx]!, f.va).machine;
          const before = m.cpus.map((c) => byAge(c.tlb).map(entryView));
          const all = before.flat();
          fc.pre(all.length > 0);
          // Half the time aim the operand at an entry that exists.
          const target = all[op.pick % all.length]!;
          const aimed = op.pick % 2 === 0;
          const operand = !aimed ? op.operand : op.scope === 'va' ? target.vpn * PAGE + 4 : op.scope === 'asid' ? target.asid : target.vmid;
          const ctx = contexts[op.ctx]!;
          const r = tlbi(m, 0, op.el, ctx, op.scope, operand, op.broadcast);
          if (op.el === 1 && op.scope === 'vmid') {
            expect(r.machine.cpus.map((c) => byAge(c.tlb).map(entryView))).toEqual(before);
            return;
          }
          const removes = tlbiRemoves(G, op.el, ctx, op.scope, operand);
          const after = r.machine.cpus.map((c) => byAge(c.tlb).map(entryView));
          expect(after[0]).toEqual(before[0]!.filter((e) => !removes(e)));
          expect(after[1]).toEqual(op.broadcast ? before[1]!.filter((e) => !removes(e)) : before[1]);
        },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The hazards, by example. One CPU, 16 frames; stage-1 root in frame 1 (leaf table 2 from
// the spares), data frames marked f << 8 | i.

const S1: Context = { s1: true, s2: false, ttbr0: makeBase(1, 5), vttbr: 0 };

function stage1Machine(tlbEntries = 4, cpus = 1): Machine {
  let m = markFrames(machine(config(cpus, tlbEntries)), [8, 9, 10, 11, 12, 13]);
  const spares = [2];
  m = map(m, 1, 0, 8, PTE.W | PTE.U, spares); // VA page 0 → frame 8
  m = map(m, 1, PAGE, 9, PTE.W | PTE.U, spares); // VA page 1 → frame 9
  return m;
}

/** Word index of the stage-1 leaf entry for VA page `page` (leaf table in frame 2). */
function leafWord(page: number): number {
  return 2 * 16 + page;
}

describe('stale entries are real (HW-TLB-5)', () => {
  it('HW-TLB-5: a remapped page keeps its old frame until TLBI VA, then reads the new one', () => {
    let m = stage1Machine();
    const first = loadAt(m, 0, 1, S1, 4);
    expect(first.value).toBe((8 << 8) | 1);
    m = setWord(first.machine, leafWord(0), pte(10, PTE.P | PTE.W | PTE.U)); // now → frame 10, no TLBI
    const stale = loadAt(m, 0, 1, S1, 4);
    expect(stale.value).toBe((8 << 8) | 1);
    // A TLBI of another page does not help.
    m = tlbi(stale.machine, 0, 1, S1, 'va', PAGE).machine;
    expect(loadAt(m, 0, 1, S1, 4).value).toBe((8 << 8) | 1);
    m = tlbi(m, 0, 1, S1, 'va', 0).machine;
    expect(loadAt(m, 0, 1, S1, 4).value).toBe((10 << 8) | 1);
  });

  it('HW-TLB-5: an unmapped page stays accessible until TLBI, then faults', () => {
    let m = stage1Machine();
    m = loadAt(m, 0, 0, S1, 8).machine;
    m = setWord(m, leafWord(0), 0);
    const stale = loadAt(m, 0, 0, S1, 8);
    expect(stale.value).toBe((8 << 8) | 2);
    const st = storeAt(stale.machine, 0, 0, S1, 8);
    expect(st.trap).toBeNull();
    expect(readWord(st.machine.memory, 8 * 16 + 2)).toBe(0xc0ffee00);
    m = tlbi(st.machine, 0, 1, S1, 'asid', 5).machine;
    expect(loadAt(m, 0, 0, S1, 8).value).toBe('abort:1:translation');
  });

  it('HW-TLB-5: a write-protected page still takes stores until TLBI', () => {
    let m = stage1Machine();
    m = storeAt(m, 0, 0, S1, 12).machine;
    m = setWord(m, leafWord(0), pte(8, PTE.P | PTE.U)); // drop W, no TLBI
    const stale = storeAt(m, 0, 0, S1, 16);
    expect(stale.trap).toBeNull();
    expect(readWord(stale.machine.memory, 8 * 16 + 4)).toBe(0xc0ffee00);
    m = tlbi(stale.machine, 0, 1, S1, 'va', 0).machine;
    expect(describeTrap(storeAt(m, 0, 0, S1, 16))).toBe('abort:1:permission');
    expect(loadAt(m, 0, 0, S1, 16).value).toBe(0xc0ffee00);
  });

  it('HW-TLB-5: switching the stage off and on again, or changing TTBR0 base bits, does not flush', () => {
    let m = stage1Machine();
    m = loadAt(m, 0, 1, S1, 4).machine;
    m = setWord(m, leafWord(0), pte(10, PTE.P | PTE.W | PTE.U));
    m = loadAt(m, 0, 1, { ...S1, s1: false }, 4).machine; // translation off in between
    expect(loadAt(m, 0, 1, S1, 4).value).toBe((8 << 8) | 1);
    // Same ASID, another root (frame 3 is empty, so a walk would fault): still the old entry.
    expect(loadAt(m, 0, 1, { ...S1, ttbr0: makeBase(3, 5) }, 4).value).toBe((8 << 8) | 1);
    expect(m.cpus[0]!.tlb.entries).toHaveLength(1);
  });
});

describe('tags (HW-TLB-1, HW-TLB-2)', () => {
  it('HW-TLB-1: two address spaces with different ASIDs keep their own entries for the same VA', () => {
    let m = stage1Machine();
    m = map(m, 3, 0, 11, PTE.W | PTE.U, [4]); // a second space: root 3, VA page 0 → frame 11
    const a: Context = { ...S1, ttbr0: makeBase(1, 1) };
    const b: Context = { ...S1, ttbr0: makeBase(3, 2) };
    for (let round = 0; round < 2; round++) {
      const ra = loadAt(m, 0, 1, a, 4);
      expect(ra.value).toBe((8 << 8) | 1);
      const rb = loadAt(ra.machine, 0, 1, b, 4);
      expect(rb.value).toBe((11 << 8) | 1);
      m = rb.machine;
    }
    expect(m.cpus[0]!.tlb.entries.map((e) => [e.asid, e.vpn, e.ppn])).toEqual([
      [1, 0, 8],
      [2, 0, 11],
    ]);
    // The same ASID reused for another root without a TLBI gives the old space's frame.
    const reused: Context = { ...S1, ttbr0: makeBase(3, 1) };
    expect(loadAt(m, 0, 1, reused, 4).value).toBe((8 << 8) | 1);
    m = tlbi(m, 0, 1, reused, 'asid', 1).machine;
    expect(loadAt(m, 0, 1, reused, 4).value).toBe((11 << 8) | 1);
  });

  it('HW-TLB-1: two VMs with different VMIDs keep their own entries for the same IPA; a reused VMID is stale', () => {
    let m = markFrames(machine(config(1, 4)), [8, 11]);
    m = map(m, 1, 0, 8, PTE.W, [2]); // VM A: root 1, IPA page 0 → frame 8
    m = map(m, 3, 0, 11, PTE.W, [4]); // VM B: root 3, IPA page 0 → frame 11
    const a: Context = { s1: false, s2: true, ttbr0: 0, vttbr: makeBase(1, 7) };
    const b: Context = { s1: false, s2: true, ttbr0: 0, vttbr: makeBase(3, 9) };
    for (let round = 0; round < 2; round++) {
      const ra = loadAt(m, 0, 1, a, 4);
      expect(ra.value).toBe((8 << 8) | 1);
      const rb = loadAt(ra.machine, 0, 0, b, 4);
      expect(rb.value).toBe((11 << 8) | 1);
      m = rb.machine;
    }
    expect(m.cpus[0]!.tlb.entries.map((e) => [e.vmid, e.asid, e.ppn])).toEqual([
      [7, OFF_TAG, 8],
      [9, OFF_TAG, 11],
    ]);
    const reused: Context = { ...b, vttbr: makeBase(3, 7) };
    expect(loadAt(m, 0, 1, reused, 4).value).toBe((8 << 8) | 1);
    // TLBI VMID at EL2 names the VMID; TLBI ALL at EL1 acts on the current VMID only.
    const flushed = tlbi(m, 0, 2, reused, 'vmid', 7).machine;
    expect(flushed.cpus[0]!.tlb.entries.map((e) => e.vmid)).toEqual([9]);
    expect(loadAt(flushed, 0, 1, reused, 4).value).toBe((11 << 8) | 1);
    const el1All = tlbi(m, 0, 1, a, 'all', 0).machine;
    expect(el1All.cpus[0]!.tlb.entries.map((e) => e.vmid)).toEqual([9]);
  });

  it('HW-TLB-2: an off stage tags its entries with a value no ASID or VMID can take, so turning it on misses', () => {
    let m = markFrames(machine(config(1, 4)), [5, 8, 9]);
    m = map(m, 3, 0, 8, PTE.W | PTE.U, [4]); // stage 2 (root 3): IPA page 0 → 8
    m = map(m, 3, PAGE, 1, PTE.W | PTE.U, []); // and the stage-1 root
    m = map(m, 3, 2 * PAGE, 2, PTE.W | PTE.U, []); // and the stage-1 leaf table
    m = map(m, 3, 5 * PAGE, 9, PTE.W | PTE.U, [6]); // IPA page 5 → 9
    m = map(m, 1, 0, 5, PTE.W | PTE.U, [2]); // stage 1 (root 1): VA page 0 → IPA page 5
    const s2only: Context = { s1: false, s2: true, ttbr0: makeBase(1, 0), vttbr: makeBase(3, 0) };
    const both: Context = { ...s2only, s1: true };
    const s1only: Context = { ...both, s2: false };
    let r = loadAt(m, 0, 1, s2only, 4);
    expect(r.value).toBe((8 << 8) | 1);
    r = loadAt(r.machine, 0, 1, both, 4);
    expect(r.value).toBe((9 << 8) | 1);
    r = loadAt(r.machine, 0, 1, s1only, 4);
    expect(r.value).toBe((5 << 8) | 1);
    expect(r.machine.cpus[0]!.tlb.entries.map((e) => [e.vmid, e.asid])).toEqual([
      [0, OFF_TAG],
      [0, 0],
      [OFF_TAG, 0],
    ]);
    // TLBI ASID 0 (any operand's low byte) cannot reach the stage-1-off entry; TLBI VMID 0 cannot reach the stage-2-off one.
    const a = tlbi(r.machine, 0, 1, s2only, 'asid', 0).machine;
    expect(a.cpus[0]!.tlb.entries.map((e) => [e.vmid, e.asid])).toEqual([
      [0, OFF_TAG],
      [OFF_TAG, 0],
    ]);
    const v = tlbi(a, 0, 2, s2only, 'vmid', 0x100).machine;
    expect(v.cpus[0]!.tlb.entries.map((e) => [e.vmid, e.asid])).toEqual([[OFF_TAG, 0]]);
  });

  it('HW-TLB-2: EL2 and a regime with both stages off never touch the TLB', () => {
    let m = stage1Machine();
    m = loadAt(m, 0, 2, S1, 8 * PAGE).machine;
    m = loadAt(m, 0, 1, { ...S1, s1: false }, 8 * PAGE).machine;
    expect(m.cpus[0]!.tlb.entries).toHaveLength(0);
  });
});

describe('TLBI (HW-TLB-4)', () => {
  /** Two CPUs, each with entries for VA pages 0 and 1 under ASID 5. */
  function twoWarmCpus(): Machine {
    let m = stage1Machine(4, 2);
    for (const c of [0, 1]) for (const va of [0, PAGE]) m = loadAt(m, c, 1, S1, va).machine;
    return m;
  }

  it('HW-TLB-4: a local TLBI leaves the other CPU alone; a broadcast one reaches it', () => {
    const m = twoWarmCpus();
    for (const [scope, operand] of [['all', 0], ['va', 0], ['asid', 5]] as const) {
      const local = tlbi(m, 0, 1, S1, scope, operand, false).machine;
      expect(local.cpus[1]!.tlb).toBe(m.cpus[1]!.tlb);
      expect(local.cpus[0]!.tlb.entries.length).toBeLessThan(2);
      const broadcast = tlbi(m, 0, 1, S1, scope, operand, true).machine;
      expect(broadcast.cpus[1]!.tlb.entries.map(entryView)).toEqual(broadcast.cpus[0]!.tlb.entries.map(entryView));
    }
    // The stale page shows on CPU 1 after a local flush on CPU 0 only.
    let n = setWord(m, leafWord(0), pte(12, PTE.P | PTE.W | PTE.U));
    n = tlbi(n, 0, 1, S1, 'va', 0).machine;
    expect(loadAt(n, 0, 1, S1, 0).value).toBe(12 << 8);
    expect(loadAt(n, 1, 1, S1, 0).value).toBe(8 << 8);
    n = tlbi(n, 0, 1, S1, 'va', 0, true).machine;
    expect(loadAt(n, 1, 1, S1, 0).value).toBe(12 << 8);
  });

  it('HW-TLB-4: TLBI is UNDEFINED at EL0 and TLBI VMID traps from EL1, both changing nothing', () => {
    const m = twoWarmCpus();
    const el0 = execute(enter(m, 0, 0, S1, 0), 0, tlbiWord('all', true));
    expect(el0.trap).toMatchObject({ kind: 'undefined', to: 1 });
    const vmid = execute(enter(m, 0, 1, S1, 0), 0, tlbiWord('vmid', true));
    expect(vmid.trap).toMatchObject({ kind: 'tlbi', scope: 'vmid', to: 2 });
    for (const r of [el0, vmid]) r.machine.cpus.forEach((c, i) => expect(c.tlb).toBe(m.cpus[i]!.tlb));
  });

  it('HW-TLB-4: under HCR_EL2.TTLB every TLBI from EL1 traps to EL2 and changes nothing; at EL2 it still acts', () => {
    const m = twoWarmCpus();
    for (const scope of ['all', 'va', 'asid'] as const) {
      const trapped = setSysRegs(enter(m, 0, 1, S1, 0), 0, { [SYS.HCR_EL2]: HCR.TTLB });
      const r = execute(trapped, 0, tlbiWord(scope, true));
      expect(r.trap).toMatchObject({ kind: 'tlbi', scope, broadcast: true, to: 2 });
      r.machine.cpus.forEach((c, i) => expect(c.tlb).toBe(m.cpus[i]!.tlb));
    }
    const el2 = execute(patchCpu(setSysRegs(enter(m, 0, 1, S1, 0), 0, { [SYS.HCR_EL2]: HCR.TTLB }), 0, { el: 2 }), 0, tlbiWord('all', true));
    expect(el2.trap).toBeNull();
    el2.machine.cpus.forEach((c) => expect(c.tlb.entries).toHaveLength(0));
  });

  it('HW-TLB-4: TLBI ALL at EL2 empties the TLB whatever the VMID; at EL1 only the current VMID', () => {
    let m = markFrames(machine(config(1, 8)), [8]);
    m = map(m, 1, 0, 8, PTE.W, [2]);
    const vms = [7, 8, 9].map((vmid): Context => ({ s1: false, s2: true, ttbr0: 0, vttbr: makeBase(1, vmid) }));
    for (const vm of vms) m = loadAt(m, 0, 1, vm, 0).machine;
    m = loadAt(m, 0, 1, S1, 0).machine; // stage-1-only entry: VMID tag "off"
    expect(m.cpus[0]!.tlb.entries).toHaveLength(4);
    expect(tlbi(m, 0, 1, vms[1]!, 'all', 0).machine.cpus[0]!.tlb.entries.map((e) => e.vmid)).toEqual([7, 9, OFF_TAG]);
    expect(tlbi(m, 0, 1, S1, 'all', 0).machine.cpus[0]!.tlb.entries.map((e) => e.vmid)).toEqual([7, 8, 9]);
    expect(tlbi(m, 0, 2, vms[1]!, 'all', 0).machine.cpus[0]!.tlb.entries).toHaveLength(0);
  });
});

describe('capacity and replacement (HW-TLB-3)', () => {
  it('HW-TLB-3: with k entries, k+1 distinct pages evict the oldest, first in first out', () => {
    const k = 3;
    let m = markFrames(machine(config(1, k)), [8, 9, 10, 11, 12, 13, 14]);
    const spares = [2];
    for (let page = 0; page <= k; page++) m = map(m, 1, page * PAGE, 8 + page, PTE.W, spares);
    for (let page = 0; page <= k; page++) m = loadAt(m, 0, 1, S1, page * PAGE).machine;
    expect(byAge(m.cpus[0]!.tlb).map((e) => e.vpn)).toEqual([1, 2, 3]);
    // Remap pages 0 and 2 without TLBI: page 0 was evicted (fresh walk), page 2 is still cached.
    m = setWord(m, leafWord(0), pte(14, PTE.P | PTE.W));
    m = setWord(m, leafWord(2), pte(14, PTE.P | PTE.W));
    const r0 = loadAt(m, 0, 1, S1, 0);
    expect(r0.value).toBe(14 << 8);
    // Refilling page 0 evicted page 1, the oldest; page 2 is now the oldest and still stale.
    expect(byAge(r0.machine.cpus[0]!.tlb).map((e) => e.vpn)).toEqual([2, 3, 0]);
    expect(loadAt(r0.machine, 0, 1, S1, 2 * PAGE).value).toBe(10 << 8);
    // A hit does not refresh age: page 2 is evicted next.
    const r1 = loadAt(r0.machine, 0, 1, S1, PAGE);
    expect(byAge(r1.machine.cpus[0]!.tlb).map((e) => e.vpn)).toEqual([3, 0, 1]);
    expect(loadAt(r1.machine, 0, 1, S1, 2 * PAGE).value).toBe(14 << 8);
  });

  it('HW-TLB-3: entries left after a TLBI keep their age order', () => {
    let m = markFrames(machine(config(1, 3)), [8, 9, 10, 11]);
    const spares = [2];
    for (let page = 0; page < 4; page++) m = map(m, 1, page * PAGE, 8 + page, PTE.W, spares);
    for (const page of [0, 1, 2, 3]) m = loadAt(m, 0, 1, S1, page * PAGE).machine; // ages: 1, 2, 3
    m = tlbi(m, 0, 1, S1, 'va', 2 * PAGE).machine; // ages: 1, 3
    for (const page of [0, 2]) m = loadAt(m, 0, 1, S1, page * PAGE).machine; // 0 fills; 2 evicts 1
    expect(byAge(m.cpus[0]!.tlb).map((e) => e.vpn)).toEqual([3, 0, 2]);
  });
});
