/**
 * CHK-SMT-2: permission arithmetic on leaf flags, for all 32-bit flag words — the two-stage
 * MMU check (HW-MMU-5), the flags a frame mapping gets from its cap (MK-VM-3) and the IOMMU's
 * check on DMA (HW-IOMMU-2, HW-IOMMU-3).
 *
 * @module
 */
import { dmaRead, dmaWrite, emptyStore, permissionFault, PTE, PTE_ALL, pte, resetMachine, setIommuRoot, tableIndices, writeWord, type MachineConfig } from '../../src/hw/index.ts';
import { MAP_ATTR, RIGHTS } from '../../src/kernel/index.ts';
import { frameEntryFlags } from '../../src/kernel/vspace.ts';
import { declare, flag, has, k, obligation } from './bv.ts';
import type { Lemma } from './lemma.ts';
import { between, drawSamples, oneOf, word } from './samples.ts';
import type { B, BV, Z } from './z3.ts';

const GROUP = 'CHK-SMT-2';

/** Access codes of the model: 0 fetch, 1 load, 2 store. */
const ACCESSES = ['fetch', 'load', 'store'] as const;

/** The flags an access needs in both stages: W to store, X to fetch (HW-MMU-5). */
function needOf(z: Z, access: BV): BV {
  return z.If(access.eq(k(z, 2)), k(z, PTE.W), z.If(access.eq(k(z, 0)), k(z, PTE.X), k(z, 0)));
}

/**
 * `permissionFault(s1, s2, access, el)` (src/hw/mmu.ts): 1 if stage 1 forbids, else 2 if stage
 * 2 does, else 0. `union` is the broken model that checks stage 1 against s1 | s2.
 */
function permissionFaultZ(z: Z, s1: BV, s2: BV, access: BV, el: BV, union = false): BV {
  const need = needOf(z, access);
  const first = union ? s1.or(s2) : s1;
  const stage1 = z.Or(first.and(need).neq(need), z.And(el.eq(k(z, 0)), s1.and(k(z, PTE.U)).eq(k(z, 0))));
  return z.If(stage1, k(z, 1), z.If(s2.and(need).neq(need), k(z, 2), k(z, 0)));
}

function twoStageClaim(z: Z, union: boolean) {
  const { t, vars } = declare(z, { s1: 32, s2: 32, access: 32, el: 32 });
  const r = permissionFaultZ(z, t.s1, t.s2, t.access, t.el, union);
  const store = t.access.eq(k(z, 2));
  const fetch = t.access.eq(k(z, 0));
  const stageOk = (flags: BV, user: boolean): B =>
    z.And(z.Implies(store, has(z, flags, PTE.W)), z.Implies(fetch, has(z, flags, PTE.X)), user ? z.Implies(t.el.eq(k(z, 0)), has(z, flags, PTE.U)) : z.Bool.val(true));
  const s1ok = stageOk(t.s1, true);
  const s2ok = stageOk(t.s2, false);
  return obligation(
    vars,
    [t.access.ule(k(z, 2))],
    z.And(r.eq(k(z, 0)).eq(z.And(s1ok, s2ok)), r.eq(k(z, 1)).eq(z.Not(s1ok)), r.eq(k(z, 2)).eq(z.And(s1ok, z.Not(s2ok))), r.ule(k(z, 2))),
  );
}

export const twoStageLemma: Lemma = {
  name: 'permissions/two-stage',
  group: GROUP,
  rules: ['HW-MMU-5'],
  code: ['src/hw/mmu.ts: permissionFault'],
  claim:
    'For all 32-bit stage-1 and stage-2 leaf flags s1, s2, every exception level el and every access (fetch, load, store): the access is allowed ' +
    'iff stage 1 allows it (a store needs W in s1, a fetch X in s1, el = 0 needs U in s1) and stage 2 allows it (a store needs W in s2, a fetch X in s2) — ' +
    'the combined rights are the intersection of the two stages; a refusal is blamed on stage 1 exactly when stage 1 refuses, else on stage 2.',
  obligation: (z) => twoStageClaim(z, false),
  broken: [{ name: 'union-of-stages', change: 'stage 1 checks the union s1 | s2 instead of s1', obligation: (z) => twoStageClaim(z, true) }],
  mirror: {
    samples: drawSamples(0x5e7, 400, (next) => {
      const flags = () => (next() % 4 === 0 ? word(next) : next() % 16);
      return [flags(), flags(), between(next, 0, 2), oneOf(next, [0, 1, 2, 0, 0xffffffff])];
    }),
    code: ([s1, s2, access, el]) => [permissionFault(s1!, s2!, ACCESSES[access!]!, el!)],
    formula: (z, [s1, s2, access, el]) => [permissionFaultZ(z, k(z, s1!), k(z, s2!), k(z, access!), k(z, el!))],
  },
};

// ---------------------------------------------------------------------------------------

/** `frameEntryFlags(rights, attrs)` (src/kernel/vspace.ts); `or` is the broken model. */
function frameFlagsZ(z: Z, rights: BV, attrs: BV, or = false): BV {
  const askW = has(z, attrs, MAP_ATTR.WRITE);
  const capW = has(z, rights, RIGHTS.W);
  const writable = or ? z.Or(askW, capW) : z.And(askW, capW);
  return k(z, PTE.P | PTE.U)
    .or(z.If(writable, k(z, PTE.W), k(z, 0)))
    .or(z.If(has(z, attrs, MAP_ATTR.EXECUTE), k(z, PTE.X), k(z, 0)));
}

function frameMapClaim(z: Z, or: boolean) {
  const { t, vars } = declare(z, { rights: 32, attrs: 32 });
  const f = frameFlagsZ(z, t.rights, t.attrs, or);
  const userStore = permissionFaultZ(z, f, k(z, PTE_ALL), k(z, 2), k(z, 0));
  return obligation(
    vars,
    [],
    z.And(
      has(z, f, PTE.W).eq(z.And(has(z, t.rights, RIGHTS.W), has(z, t.attrs, MAP_ATTR.WRITE))),
      has(z, f, PTE.X).eq(has(z, t.attrs, MAP_ATTR.EXECUTE)),
      has(z, f, PTE.P),
      has(z, f, PTE.U),
      f.ule(k(z, 0xf)),
      z.Implies(userStore.eq(k(z, 0)), has(z, t.rights, RIGHTS.W)),
    ),
  );
}

export const frameMapLemma: Lemma = {
  name: 'permissions/frame-map',
  group: GROUP,
  rules: ['MK-VM-3', 'MK-INV-7', 'HW-MMU-5'],
  code: ['src/kernel/vspace.ts: frameEntryFlags (mapFrame)', 'src/hw/mmu.ts: permissionFault'],
  claim:
    'For all 32-bit cap rights and map attributes: the leaf flags of a frame mapping have P and U, W iff the cap has Write and the attributes ask for writing, ' +
    'X iff the attributes ask for execution, and nothing else; so a user store through the mapping (stage 2 off) passes the HW-MMU-5 check only if the cap has Write.',
  obligation: (z) => frameMapClaim(z, false),
  broken: [{ name: 'write-if-either', change: 'writable if the cap has Write OR the attributes ask for it', obligation: (z) => frameMapClaim(z, true) }],
  mirror: {
    samples: drawSamples(0xf1a9, 300, (next) => [next() % 2 === 0 ? next() % 16 : word(next), next() % 2 === 0 ? next() % 4 : word(next)]),
    code: ([rights, attrs]) => [frameEntryFlags(rights!, attrs!)],
    formula: (z, [rights, attrs]) => [frameFlagsZ(z, k(z, rights!), k(z, attrs!))],
  },
};

// ---------------------------------------------------------------------------------------

/** The IOMMU's test on a walked page (src/hw/iommu.ts translateTransfer); `ignoreW` is the broken model. */
function dmaOk(z: Z, flags: BV, write: BV, page: BV, frames: BV, ignoreW = false): B {
  const isWrite = write.neq(k(z, 0));
  const need = z.If(z.And(isWrite, z.Bool.val(!ignoreW)), k(z, PTE.P | PTE.W), k(z, PTE.P));
  return z.And(flags.and(need).eq(need), page.ult(frames));
}

function dmaClaim(z: Z, ignoreW: boolean) {
  const { t, vars } = declare(z, { flags: 32, write: 32, page: 32, frames: 32 });
  const ok = dmaOk(z, t.flags, t.write, t.page, t.frames, ignoreW);
  const expected = z.And(has(z, t.flags, PTE.P), z.Implies(t.write.neq(k(z, 0)), has(z, t.flags, PTE.W)), t.page.ult(t.frames));
  return obligation(vars, [], ok.eq(expected));
}

/** A 1-level machine whose console (device 0) has an IOMMU table in frame 0 mapping one page. */
const DMA_MACHINE = (frames: number): MachineConfig => ({
  cpus: 1,
  frames,
  wordsPerFrame: 16,
  pageTableLevels: 1,
  pageTableIndexBits: 2,
  tlbEntries: 1,
  irqLines: 4,
  devices: [{ kind: 'console', irq: 3 }],
});

/** Whether a one-word DMA to/from `iova` succeeds when its page's IOMMU entry is pte(page, flags). */
function dmaSucceeds([flags, write, page, frames, iova]: readonly number[]): number[] {
  const m0 = resetMachine(DMA_MACHINE(frames!));
  const entry = tableIndices(m0.geometry, iova!)[0]!;
  const m = setIommuRoot({ ...m0, memory: writeWord(emptyStore(m0.geometry.ramWords), entry, pte(page!, flags!)) }, 0, 0);
  const r = write === 0 ? dmaRead(m, 0, iova!, 1) : dmaWrite(m, 0, iova!, [7]);
  return [r.ok ? 1 : 0];
}

export const dmaLemma: Lemma = {
  name: 'permissions/dma',
  group: GROUP,
  rules: ['HW-IOMMU-2', 'HW-IOMMU-3'],
  code: ['src/hw/iommu.ts: dmaRead, dmaWrite (translateTransfer)'],
  claim:
    'For all 32-bit leaf flags, page numbers and RAM sizes: a device reaches a walked page iff its entry has P, a write also has W, and the page is RAM ' +
    '(page < frames); U and X play no part.',
  obligation: (z) => dmaClaim(z, false),
  broken: [{ name: 'write-without-w', change: 'a DMA write needs only P, like a read', obligation: (z) => dmaClaim(z, true) }],
  mirror: {
    samples: drawSamples(0xd3a, 300, (next) => {
      const frames = between(next, 4, 64);
      return [next() % 4 === 0 ? word(next) : next() % 16, next() % 2, next() % 2 === 0 ? between(next, 0, 80) : word(next) % 2 ** 28, frames, 4 * between(next, 0, 63)];
    }),
    code: dmaSucceeds,
    formula: (z, [flags, write, page, frames]) => [flag(z, dmaOk(z, k(z, flags!), k(z, write!), k(z, page!), k(z, frames!)))],
  },
};

export const PERMISSION_LEMMAS: readonly Lemma[] = [twoStageLemma, frameMapLemma, dmaLemma];
