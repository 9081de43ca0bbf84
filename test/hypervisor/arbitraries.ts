/**
 * fast-check arbitraries for the hypervisor's property tests (HV-PROP-1..7): random valid
 * scenarios on HV_MACHINE and random event traces that drive the hypervisor's deep paths.
 *
 * `arbHvScenario` builds scenarios from scenario.ts's vocabulary: a control domain and 1–3
 * guests, sometimes a driver domain with the NIC assigned, random weights, caps, memory and
 * storage quotas, vCPUs and affinities, images the control domain may instantiate, and
 * channels and grants made at boot. Guest kernels are small loops of hypercalls, memory and
 * emulated-device accesses, with an exception vector that skips a faulting instruction and
 * an upcall handler that consumes pending events. Only scenarios that boot are kept.
 *
 * `arbHvEvents` is state-aware, as the kernel's generator is (test/kernel/arbitraries.ts):
 * uniformly random hypercall arguments almost never name a domain, port, grant reference or
 * page that exists, so the hypervisor would spend the whole test in its error paths. The
 * generator draws *raw actions* — a kind and a list of random numbers — and resolves them
 * against the system as it runs: a grant map names a grant that was actually made to the
 * domain on that pCPU, a send names one of its interdomain ports, a domctl names a live
 * domain in the right lifecycle state. Every choice still goes wrong some of the time, so
 * the error paths run too. The result is a plain list of {@link SystemEvent}s — register
 * set-up is itself injected `addi`/`lui`/`ori` instructions — so a trace replays without
 * the generator, and fast-check shrinks the raw actions.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { BLOCK_CMD, BLOCK_REG, deliverable, encode, forEachNonZero, NIC_REG, type Instruction, type MachineConfig } from '../../src/hw/index.ts';
import {
  DOMCTL,
  EVTCHN,
  GNTTAB,
  HYPERCALL,
  liveDomains,
  MEMORY,
  SCHED,
  VCPU,
  VIRQ,
  type Domain,
  type DomainSpecJson,
  type HypervisorScenario,
  type HypervisorState,
  type ImageSpecJson,
} from '../../src/hypervisor/index.ts';
import { bootHypervisorSystem, hypervisor, step, type HypervisorSystem, type StepResult, type SystemEvent } from '../../src/system/index.ts';
import { HV_MACHINE, UART_IPA, VBLK_IPA } from './fixtures.ts';

/** A machine and a scenario to boot on it. */
export interface HvScenarioCase {
  readonly config: MachineConfig;
  readonly scenario: HypervisorScenario;
}

/** A scenario and a trace of events to run from its boot. */
export interface HvTraceCase extends HvScenarioCase {
  readonly events: readonly SystemEvent[];
}

/** Bytes per page of HV_MACHINE. */
export const PAGE = HV_MACHINE.wordsPerFrame * 4;
/** The NIC's index in HV_MACHINE's devices, and its interrupt line. */
export const NIC = 2;
export const NIC_IRQ = 5;
/** Where a driver domain gets the NIC's register page. */
export const NIC_GFN = 0x20;
/** Guest pages of the emulated devices. */
export const UART_GFN = UART_IPA / PAGE;
export const VBLK_GFN = VBLK_IPA / PAGE;

/** Bounded lists: fast-check's default size would grow past what the machine holds. */
const small = { size: 'small' } as const;

// ---------------------------------------------------------------------------------------
// Guest kernels
// ---------------------------------------------------------------------------------------

/**
 * One statement of a guest kernel's loop: hypercalls with whatever set-up the line gives,
 * loads and stores to its own pages, to pages where grants are usually mapped, to the
 * emulated UART and block device, and to unbacked memory; WFI; and a random word.
 */
const arbKernelLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 9, arbitrary: fc.integer({ min: 0x41, max: 0x5a }).map((c) => `addi r1, r0, ${c}\n  hvc #1`) },
  { weight: 6, arbitrary: fc.constantFrom(0, 0, 1).map((s) => `addi r1, r0, ${s}\n  hvc #2`) },
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }).map((p) => `addi r1, r0, ${EVTCHN.SEND}\n  addi r2, r0, ${p}\n  hvc #6`) },
  { weight: 3, arbitrary: fc.constant(`addi r1, r0, ${EVTCHN.PENDING}\n  hvc #6`) },
  { weight: 3, arbitrary: fc.integer({ min: 4, max: 12 }).map((g) => `addi r1, r0, ${MEMORY.POPULATE}\n  addi r2, r0, ${g}\n  addi r3, r0, 1\n  hvc #4`) },
  { weight: 3, arbitrary: fc.integer({ min: 4, max: 12 }).map((g) => `addi r1, r0, ${MEMORY.DECREASE}\n  addi r2, r0, ${g}\n  addi r3, r0, 1\n  hvc #4`) },
  { weight: 9, arbitrary: fc.tuple(fc.constantFrom(0x000, 0x100, 0x104, 0x400, 0x1000, 0x1100, 0x800, NIC_GFN * PAGE), fc.boolean()).map(([a, st]) => `li r6, ${a}\n  ${st ? 'st r3, 0(r6)' : 'ld r4, 0(r6)'}`) },
  { weight: 6, arbitrary: fc.constantFrom('st r3, 0(r6)', 'ld r4, 4(r6)').map((i) => `li r6, ${UART_IPA}\n  ${i}`) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.nat(2), fc.constantFrom(0x100, 0x1000, 0x800), fc.constantFrom(BLOCK_CMD.READ, BLOCK_CMD.WRITE)).map(
      ([sector, addr, cmd]) =>
        [
          `li r6, ${VBLK_IPA}`,
          `addi r3, r0, ${sector}`,
          `st r3, ${BLOCK_REG.SECTOR * 4}(r6)`,
          `li r3, ${addr}`,
          `st r3, ${BLOCK_REG.ADDR * 4}(r6)`,
          'addi r3, r0, 1',
          `st r3, ${BLOCK_REG.COUNT * 4}(r6)`,
          `addi r3, r0, ${cmd}`,
          `st r3, ${BLOCK_REG.CMD * 4}(r6)`,
          `ld r4, ${BLOCK_REG.STATUS * 4}(r6)`,
        ].join('\n  '),
    ),
  },
  { weight: 3, arbitrary: fc.constant('wfi') },
  // A guest that shuts itself down when its loop gets there (the control domain hears of it, HV-EVT-2).
  { weight: 1, arbitrary: fc.constant(`addi r1, r0, ${SCHED.SHUTDOWN}\n  hvc #2`) },
  { weight: 3, arbitrary: fc.constant('addi r3, r3, 1') },
  { weight: 3, arbitrary: fc.nat().map((w) => `.word ${w}`) },
);

interface RawKernel {
  readonly lines: readonly string[];
  /** Unmask IRQs (by an ERET to the loop) so virtual interrupts are taken. */
  readonly unmask: boolean;
  /** Program the virtual timer at start. */
  readonly timer: boolean;
}

const arbRawKernel: fc.Arbitrary<RawKernel> = fc.record(
  { lines: fc.array(arbKernelLine, { minLength: 0, maxLength: 5 }), unmask: fc.boolean(), timer: fc.boolean() },
  { noNullPrototype: true },
);

/**
 * The text of a guest kernel loaded at 0: an optional prologue (virtual timer, unmasking by
 * ERET), the loop, and the vectors at VBAR_EL1 = 0 — 0x200 (synchronous, from EL1: skip the
 * instruction) and 0x280 (IRQ: take a pending port, acknowledge, end, return). It needs 3
 * pages.
 */
function kernelText(k: RawKernel): string {
  const body = k.lines.length === 0 ? ['  addi r3, r3, 1'] : k.lines.map((l) => `  ${l}`);
  return [
    'start:',
    ...(k.timer ? ['  addi r9, r0, 3', '  msr CNTV_CVAL, r9', '  addi r9, r0, 1', '  msr CNTV_CTL, r9'] : []),
    ...(k.unmask ? ['  addi r9, r0, 4', '  msr SPSR_EL1, r9', '  la r9, loop', '  msr ELR_EL1, r9', '  eret'] : []),
    'loop:',
    ...body,
    '  b loop',
    '.align 9',
    'sync:',
    '  mrs r9, ELR_EL1',
    '  addi r9, r9, 4',
    '  msr ELR_EL1, r9',
    '  eret',
    '.align 7',
    'irq:',
    `  addi r1, r0, ${EVTCHN.PENDING}`,
    '  hvc #6',
    '  mrs r10, ICC_IAR',
    '  msr ICC_EOIR, r10',
    '  eret',
  ].join('\n');
}

/** Pages a kernel from {@link kernelText} occupies (its IRQ vector ends in page 2). */
export const KERNEL_PAGES = 3;

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

interface RawDomain {
  readonly kernel: RawKernel;
  readonly spin: boolean;
  readonly extraPages: number;
  readonly quota: number;
  readonly vcpus: number;
  readonly weight: number;
  readonly cap: number;
  readonly storage: number;
  readonly affinity: readonly number[];
  readonly start: boolean;
  readonly r2: number;
}

const arbRawDomain: fc.Arbitrary<RawDomain> = fc.record(
  {
    kernel: arbRawKernel,
    spin: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 5, arbitrary: fc.constant(false) }),
    extraPages: fc.nat(2),
    quota: fc.nat(4),
    vcpus: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }),
    weight: fc.oneof({ weight: 3, arbitrary: fc.constant(256) }, { weight: 1, arbitrary: fc.integer({ min: 16, max: 1024 }) }),
    cap: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 10, max: 100 }) }),
    storage: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constant(0) }),
    affinity: fc.array(fc.nat(1), { minLength: 2, maxLength: 2 }),
    start: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    r2: fc.nat(0xffff),
  },
  { noNullPrototype: true },
);

const arbRawScenario = fc.record(
  {
    control: arbRawDomain,
    guests: fc.array(arbRawDomain, { minLength: 1, maxLength: 3 }),
    driver: fc.option(arbRawDomain, { freq: 3 }),
    images: fc.array(fc.record({ kernel: arbRawKernel, quota: fc.nat(2), storage: fc.nat(1), vcpus: fc.integer({ min: 1, max: 2 }) }, { noNullPrototype: true }), {
      maxLength: 2,
    }),
    channels: fc.array(fc.tuple(fc.nat(5), fc.nat(5)), { maxLength: 4, ...small }),
    grants: fc.array(fc.tuple(fc.nat(5), fc.nat(5), fc.nat(KERNEL_PAGES + 1), fc.boolean()), { maxLength: 4, ...small }),
    sliceTicks: fc.integer({ min: 1, max: 4 }),
    accountingTicks: fc.integer({ min: 1, max: 4 }),
  },
  { noNullPrototype: true },
);

type RawScenario = typeof arbRawScenario extends fc.Arbitrary<infer T> ? T : never;

/** Names of the domains a scenario may have, by role. */
export const CONTROL = 'dom0';
export const DRIVER = 'drv';
const GUEST_NAMES = ['g1', 'g2', 'g3'] as const;

function domainSpec(name: string, raw: RawDomain, control: boolean, storageLeft: number): DomainSpecJson {
  const pages = KERNEL_PAGES + raw.extraPages;
  return {
    name,
    ...(control ? { control: true } : {}),
    kernel: raw.spin && control ? 'spin: b spin' : kernelText(raw.kernel),
    memory: pages + raw.quota,
    pages,
    vcpus: raw.vcpus,
    weight: raw.weight,
    cap: raw.cap,
    storage: Math.min(raw.storage, storageLeft),
    affinity: raw.affinity.slice(0, raw.vcpus),
    // The control domain always starts: it is the one that starts the others.
    start: control || raw.start,
    regs: { r2: raw.r2 },
  };
}

/** Turns raw choices into a scenario that names only things that exist and fits the machine. */
function buildScenario(raw: RawScenario): HvScenarioCase {
  let storageLeft = (HV_MACHINE.devices.find((d) => d.kind === 'block') as { sectors: number }).sectors;
  const take = (spec: DomainSpecJson): DomainSpecJson => {
    storageLeft -= spec.storage ?? 0;
    return spec;
  };
  const domains: DomainSpecJson[] = [take(domainSpec(CONTROL, raw.control, true, storageLeft))];
  raw.guests.forEach((g, i) => domains.push(take(domainSpec(GUEST_NAMES[i]!, g, false, storageLeft))));
  if (raw.driver !== null) {
    domains.push({ ...take(domainSpec(DRIVER, raw.driver, false, storageLeft)), devices: [{ device: NIC, gfn: NIC_GFN }] });
  }
  const images: ImageSpecJson[] = raw.images.map((img, i) => {
    const storage = Math.min(img.storage, storageLeft);
    storageLeft -= storage;
    return { name: `img${i}`, kernel: kernelText(img.kernel), memory: KERNEL_PAGES + img.quota, pages: KERNEL_PAGES, vcpus: img.vcpus, storage };
  });
  const names = domains.map((d) => d.name);
  const pagesOf = (name: string) => domains.find((d) => d.name === name)!.pages!;
  const channels = raw.channels
    .map(([a, b]) => ({ from: names[a % names.length]!, to: names[b % names.length]! }))
    .filter((c) => c.from !== c.to);
  const grants = raw.grants
    .map(([a, b, gfn, ro]) => ({ from: names[a % names.length]!, to: names[b % names.length]!, gfn, readonly: ro }))
    .filter((g) => g.from !== g.to && g.gfn < pagesOf(g.from));
  return {
    config: HV_MACHINE,
    scenario: {
      hypervisor: { sliceTicks: raw.sliceTicks, accountingTicks: raw.accountingTicks },
      domains,
      images,
      channels,
      grants,
    },
  };
}

/** Boots a scenario case, or returns null when the scenario is rejected. */
export function tryBootHv(c: HvScenarioCase): HypervisorSystem | null {
  const r = bootHypervisorSystem(c.config, c.scenario);
  return E.isRight(r) ? r.right : null;
}

/** Boots a scenario case that is known to boot. */
export function bootHvCase(c: HvScenarioCase): HypervisorSystem {
  const r = bootHypervisorSystem(c.config, c.scenario);
  if (E.isLeft(r)) throw new Error(`arbitraries: scenario does not boot: ${r.left.message}`);
  return r.right;
}

/** Random valid hypervisor scenarios on HV_MACHINE (only those that boot). */
export const arbHvScenario: fc.Arbitrary<HvScenarioCase> = arbRawScenario.map(buildScenario).filter((c) => tryBootHv(c) !== null);

/**
 * Scenarios for grant traces: at least two guests, every domain but the control domain
 * granted a page of another one at boot (read-only or read-write), and most with storage, so
 * their emulated block devices can DMA to what they map.
 */
export const arbGrantScenario: fc.Arbitrary<HvScenarioCase> = fc
  .tuple(arbRawScenario, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.integer({ min: 2, max: 3 }))
  .map(([raw, ro, guests]) => {
    const padded = { ...raw, guests: Array.from({ length: guests }, (_, i) => raw.guests[i % raw.guests.length]!) };
    const c = buildScenario(padded);
    const names = c.scenario.domains.map((d) => d.name).filter((n) => n !== CONTROL);
    const grants = names.map((to, i) => ({ from: names[(i + 1) % names.length]!, to, gfn: KERNEL_PAGES - 2, readonly: ro[i % ro.length]! }));
    return { ...c, scenario: { ...c.scenario, grants: [...(c.scenario.grants ?? []), ...grants] } };
  })
  .filter((c) => tryBootHv(c) !== null);

// ---------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------

/**
 * What a trace concentrates on. `all` spreads over everything; `grants` makes, maps, uses,
 * unmaps and ends grants most of the time (HV-PROP-3 needs a mapping, an access that fills a
 * TLB, then an unmap — rare when everything is equally likely); `lifecycle` has domains shut
 * down, and the control domain pause, save, restore, create and destroy them, more often.
 */
export type Focus = 'all' | 'grants' | 'lifecycle';

/** A raw action: what kind of thing happens, on which pCPU, and the random numbers it draws from. */
export interface RawAction {
  readonly kind: number;
  readonly cpu: number;
  readonly picks: readonly number[];
}

const PICKS = 12;

export const arbRawAction: fc.Arbitrary<RawAction> = fc.record(
  { kind: fc.nat(999), cpu: fc.nat(7), picks: fc.array(fc.nat(), { minLength: PICKS, maxLength: PICKS }) },
  { noNullPrototype: true },
);

/** Draws choices from a raw action's numbers, in order; when they run out, it mixes them again. */
export class Chooser {
  private i = 0;
  constructor(private readonly picks: readonly number[]) {}
  next(): number {
    const n = this.picks.length === 0 ? 0 : this.picks[this.i % this.picks.length]!;
    const round = Math.floor(this.i / Math.max(1, this.picks.length));
    this.i++;
    return round === 0 ? n : (n * 2654435761 + round) >>> 0;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }
  /** True with probability `percent` %. */
  chance(percent: number): boolean {
    return this.next() % 100 < percent;
  }
  pick<T>(xs: readonly T[]): T | undefined {
    return xs.length === 0 ? undefined : xs[this.next() % xs.length];
  }
  /** One of `xs` most of the time (if any), otherwise `fallback()`. */
  mostly<T>(xs: readonly T[], percent: number, fallback: () => T): T {
    return xs.length > 0 && this.chance(percent) ? xs[this.next() % xs.length]! : fallback();
  }
  /** One of `options` by weight. */
  weighted<T>(options: readonly (readonly [T, number])[]): T {
    const total = options.reduce((a, [, w]) => a + w, 0);
    let roll = (this.next() % 10_000) / 10_000 * total;
    return (options.find(([, w]) => (roll -= w) < 0) ?? options[options.length - 1]!)[0];
  }
  /** A 32-bit word biased to interesting values. */
  word(): number {
    return this.pick([0, 1, 2, 0xffffffff, 0x7fffffff, 0x80000000, this.next(), this.next() >>> 0, this.int(0, 300)])!;
  }
}

/** The word of a valid instruction. */
export function word(i: Instruction): number {
  const r = encode(i);
  if (E.isLeft(r)) throw new Error(`arbitraries: ${r.left.message}`);
  return r.right;
}

/** The instructions that put `value` in register `r`: one `addi` if it fits 18 signed bits, else `lui` + `ori`. */
export function loadRegister(r: number, value: number): number[] {
  const v = value >>> 0;
  const signed = v | 0;
  if (signed >= -(2 ** 17) && signed < 2 ** 17) return [word({ op: 'addi', rd: r, rs1: 0, imm: signed })];
  return [word({ op: 'lui', rd: r, imm: v >>> 14 }), word({ op: 'ori', rd: r, rs1: r, imm: v & 0x3fff })];
}

/** The domain and vCPU pCPU `c` runs, with the domain record, if it is in a guest. */
interface Running {
  readonly dom: Domain;
  readonly vcpu: number;
}

function runningOn(sys: HypervisorSystem, c: number): Running | null {
  const cur = sys.state.pcpus[c]?.current ?? null;
  if (cur === null || sys.machine.cpus[c]?.el === 2) return null;
  const dom = sys.state.domains[cur.dom];
  return dom === null || dom === undefined ? null : { dom, vcpu: cur.vcpu };
}

/** A hypercall: registers to set (in order) and the HVC number. */
interface Hypercall {
  readonly regs: readonly (readonly [number, number])[];
  readonly n: number;
}

const call = (n: number, ...args: number[]): Hypercall => ({ regs: args.map((a, i) => [i + 1, a] as const), n });

/** Guest pages that hold RAM or could: below the emulated devices. */
const LAST_RAM_GFN = UART_GFN - 1;

/** Pages of `dom`'s physical address space in use: its own and its mapped grants. */
function usedGfns(dom: Domain): Set<number> {
  const used = new Set(dom.p2m.keys());
  for (const m of dom.maptrack) if (m !== null) used.add(m.gfn);
  if (dom.devices.length > 0) used.add(NIC_GFN);
  return used;
}

/** A free guest page of `dom`: mostly near its memory (so stage-2 tables are shared), sometimes anywhere. */
function freeGfn(dom: Domain, ch: Chooser): number {
  const used = usedGfns(dom);
  const near = Array.from({ length: 0x30 }, (_, g) => g).filter((g) => !used.has(g));
  if (ch.chance(85)) return ch.pick(near) ?? ch.int(0, LAST_RAM_GFN);
  // Next to the emulated devices (a populate of two pages from the last RAM page runs into the UART), on them, beyond the space.
  return ch.pick([LAST_RAM_GFN, LAST_RAM_GFN - 1, UART_GFN, VBLK_GFN, ch.int(0, LAST_RAM_GFN), 0x100, 0xffffffff, ...used])!;
}

/** One of `dom`'s own pages, avoiding its kernel's code most of the time. */
function ownGfn(dom: Domain, ch: Chooser, avoidCode: boolean): number {
  const pages = [...dom.p2m.keys()];
  const data = avoidCode ? pages.filter((g) => g >= KERNEL_PAGES || g === 1) : pages;
  return ch.mostly(data, 90, () => ch.mostly(pages, 70, () => ch.int(0, 0x40)));
}

/** Domain ids of live domains other than `self`, by lifecycle. */
function others(h: HypervisorState, self: number, pred: (d: Domain) => boolean = () => true): number[] {
  return liveDomains(h).filter((d) => d.id !== self && pred(d)).map((d) => d.id);
}

const anyDomainId = (h: HypervisorState, ch: Chooser): number => ch.pick([0, 1, 2, 3, h.domains.length, 99, 0xffffffff])!;

/** A domctl from the domain on the pCPU (the control domain, usually), biased to its lifecycle operations that apply. */
function domctl(h: HypervisorState, r: Running, ch: Chooser, focus: Focus): Hypercall {
  const guests = (pred: (d: Domain) => boolean) => others(h, r.dom.id, (d) => !d.privileged && pred(d));
  const running = guests((d) => d.lifecycle === 'running');
  const paused = guests((d) => d.lifecycle === 'paused');
  const created = guests((d) => d.lifecycle === 'created');
  const handles = h.saved.flatMap((s, i) => (s === null ? [] : [i]));
  const target = (xs: readonly number[]) => ch.mostly(xs, 90, () => anyDomainId(h, ch));
  const cmd = ch.weighted<number>([
    [DOMCTL.CREATE, h.images.length > 0 ? 2 : 0.3],
    [DOMCTL.DESTROY, 0.7],
    [DOMCTL.PAUSE, running.length > 0 ? 3 : 0.3],
    [DOMCTL.UNPAUSE, paused.length + created.length > 0 ? 4 : 0.3],
    [DOMCTL.SAVE, paused.length > 0 ? (focus === 'lifecycle' ? 8 : 3) : 0.3],
    [DOMCTL.RESTORE, handles.length > 0 ? (focus === 'lifecycle' ? 10 : 5) : 0.3],
    [ch.int(6, 9), 0.2],
  ]);
  switch (cmd) {
    case DOMCTL.CREATE:
      return call(HYPERCALL.DOMCTL, cmd, ch.mostly(h.images.map((_, i) => i), 90, () => ch.pick([h.images.length, 99])!));
    case DOMCTL.DESTROY:
      return call(HYPERCALL.DOMCTL, cmd, ch.chance(5) ? r.dom.id : target(guests(() => true)));
    case DOMCTL.PAUSE:
      return call(HYPERCALL.DOMCTL, cmd, ch.chance(3) ? r.dom.id : target(running));
    case DOMCTL.UNPAUSE:
      return call(HYPERCALL.DOMCTL, cmd, target([...paused, ...created]));
    case DOMCTL.SAVE:
      return call(HYPERCALL.DOMCTL, cmd, target(paused));
    case DOMCTL.RESTORE:
      return call(HYPERCALL.DOMCTL, cmd, ch.mostly(handles, 90, () => ch.pick([h.saved.length, 0, 77])!));
    default:
      return call(HYPERCALL.DOMCTL, cmd, ch.word());
  }
}

function memoryOp(r: Running, ch: Chooser): Hypercall {
  const count = () => (ch.chance(80) ? 1 : ch.pick([2, 3, 0, 65, 0xffffffff])!);
  if (ch.chance(55)) return call(HYPERCALL.MEMORY_OP, MEMORY.POPULATE, freeGfn(r.dom, ch), count());
  // Pages it granted and that are mapped are refused (EBUSY); others go, ending their grants.
  const granted = r.dom.grants.flatMap((g) => (g === null ? [] : [g.gfn]));
  const gfn = ch.chance(25) && granted.length > 0 ? ch.pick(granted)! : ownGfn(r.dom, ch, true);
  return call(HYPERCALL.MEMORY_OP, ch.chance(97) ? MEMORY.DECREASE : ch.int(2, 5), gfn, count());
}

/** Grants made to domain `d` by live domains: granter, reference, whether read-only. */
function grantsTo(h: HypervisorState, d: number): { granter: number; ref: number; readonly: boolean }[] {
  return liveDomains(h).flatMap((g) =>
    g.id === d ? [] : g.grants.flatMap((e, ref) => (e !== null && e.grantee === d ? [{ granter: g.id, ref, readonly: e.readonly }] : [])),
  );
}

function grantOp(h: HypervisorState, r: Running, ch: Chooser): Hypercall {
  const mine = r.dom.grants.flatMap((g, ref) => (g === null ? [] : [{ ref, mapped: g.mapCount > 0 }]));
  const toMe = grantsTo(h, r.dom.id);
  const handles = r.dom.maptrack.flatMap((m, i) => (m === null ? [] : [i]));
  const cmd = ch.weighted<number>([
    [GNTTAB.GRANT, mine.length < 4 ? 4 : 1],
    [GNTTAB.END, mine.length > 0 ? 2 : 0.3],
    [GNTTAB.MAP, toMe.length > 0 ? 7 : 0.5],
    [GNTTAB.UNMAP, handles.length > 0 ? 8 : 0.3],
    [GNTTAB.COPY, toMe.length > 0 ? 3 : 0.3],
    [ch.int(5, 9), 0.2],
  ]);
  const grant = () => ch.mostly(toMe, 90, () => ({ granter: anyDomainId(h, ch), ref: ch.int(0, 33), readonly: ch.chance(50) }));
  switch (cmd) {
    case GNTTAB.GRANT: {
      const grantee = ch.mostly(others(h, r.dom.id), 90, () => ch.chance(50) ? r.dom.id : anyDomainId(h, ch));
      return call(HYPERCALL.GRANT_TABLE_OP, cmd, grantee, ownGfn(r.dom, ch, false), ch.chance(50) ? 1 : 0);
    }
    case GNTTAB.END: {
      const unmapped = mine.filter((g) => !g.mapped).map((g) => g.ref);
      return call(HYPERCALL.GRANT_TABLE_OP, cmd, ch.mostly(unmapped, 80, () => ch.mostly(mine.map((g) => g.ref), 80, () => ch.int(0, 33))));
    }
    case GNTTAB.MAP: {
      const g = grant();
      // A read-only grant mapped for writing is refused: ask for that now and then.
      const ro = g.readonly ? (ch.chance(85) ? 1 : 0) : ch.chance(40) ? 1 : 0;
      return call(HYPERCALL.GRANT_TABLE_OP, cmd, g.granter, g.ref, freeGfn(r.dom, ch), ro);
    }
    case GNTTAB.UNMAP:
      return call(HYPERCALL.GRANT_TABLE_OP, cmd, ch.mostly(handles, 90, () => ch.int(0, 33)));
    case GNTTAB.COPY: {
      const g = grant();
      const toRemote = g.readonly ? ch.chance(20) : ch.chance(60);
      const words = ch.chance(80) ? ch.int(1, 8) : ch.pick([0, HV_MACHINE.wordsPerFrame, HV_MACHINE.wordsPerFrame + 1, 0xffffffff])!;
      return call(HYPERCALL.GRANT_TABLE_OP, cmd, g.granter, g.ref, ownGfn(r.dom, ch, true), toRemote ? 1 : 0, words);
    }
    default:
      return call(HYPERCALL.GRANT_TABLE_OP, cmd, ch.word(), ch.word(), ch.word());
  }
}

function eventOp(h: HypervisorState, r: Running, ch: Chooser): Hypercall {
  const ports = r.dom.ports.flatMap((p, i) => (p === null ? [] : [{ port: i, kind: p.binding.kind, pending: p.pending, masked: p.masked }]));
  const interdomain = ports.filter((p) => p.kind === 'interdomain').map((p) => p.port);
  // Ports other domains opened for this one: what bind_interdomain connects to.
  const offers = liveDomains(h).flatMap((o) =>
    o.id === r.dom.id ? [] : o.ports.flatMap((p, i) => (p !== null && p.binding.kind === 'unbound' && p.binding.remote === r.dom.id ? [{ remote: o.id, port: i }] : [])),
  );
  const anyPort = () => ch.mostly(ports.map((p) => p.port), 85, () => ch.pick([0, 31, 32, ch.int(0, 40), 0xffffffff])!);
  const cmd = ch.weighted<number>([
    [EVTCHN.ALLOC_UNBOUND, 2],
    [EVTCHN.BIND_INTERDOMAIN, offers.length > 0 ? 12 : 0.3],
    [EVTCHN.BIND_VIRQ, r.dom.privileged ? 4 : 0.3],
    [EVTCHN.SEND, interdomain.length > 0 ? 8 : 0.5],
    [EVTCHN.CLOSE, ports.length > 0 ? 1.5 : 0.2],
    [EVTCHN.UNMASK, ports.some((p) => p.masked) ? 2 : 0.3],
    [EVTCHN.PENDING, ports.some((p) => p.pending) ? 3 : 0.3],
    [EVTCHN.MASK, 0.7],
    [ch.int(8, 12), 0.2],
  ]);
  switch (cmd) {
    case EVTCHN.ALLOC_UNBOUND:
      return call(HYPERCALL.EVENT_CHANNEL_OP, cmd, ch.mostly(others(h, r.dom.id), 90, () => anyDomainId(h, ch)));
    case EVTCHN.BIND_INTERDOMAIN: {
      const o = ch.mostly(offers, 90, () => ({ remote: anyDomainId(h, ch), port: ch.int(0, 33) }));
      return call(HYPERCALL.EVENT_CHANNEL_OP, cmd, o.remote, o.port);
    }
    case EVTCHN.BIND_VIRQ:
      return call(HYPERCALL.EVENT_CHANNEL_OP, cmd, ch.chance(90) ? VIRQ.DOM_EXC : ch.int(1, 3), ch.chance(90) ? 0 : ch.int(1, 9));
    case EVTCHN.SEND:
      return call(HYPERCALL.EVENT_CHANNEL_OP, cmd, ch.mostly(interdomain, 85, anyPort));
    default:
      return call(HYPERCALL.EVENT_CHANNEL_OP, cmd, anyPort());
  }
}

function vcpuOp(r: Running, ch: Chooser): Hypercall {
  const offline = r.dom.vcpus.filter((v) => v.state === 'offline').map((v) => v.id);
  const online = r.dom.vcpus.filter((v) => v.state !== 'offline' && v.id !== r.vcpu).map((v) => v.id);
  if (ch.chance(offline.length > 0 ? 70 : 20)) {
    // Up at the kernel's loop or start: both are code.
    return call(HYPERCALL.VCPU_OP, VCPU.UP, ch.mostly(offline, 90, () => ch.int(0, 3)), ch.pick([0, 0, 4, 0x800])!);
  }
  const target = ch.mostly(online, 70, () => (ch.chance(50) ? r.vcpu : ch.int(0, 9)));
  return call(HYPERCALL.VCPU_OP, ch.chance(95) ? VCPU.DOWN : ch.int(2, 4), target);
}

function schedOp(r: Running, ch: Chooser, focus: Focus): Hypercall {
  const ports = r.dom.ports.flatMap((p, i) => (p === null ? [] : [i]));
  const cmd = ch.weighted<number>([
    [SCHED.YIELD, 3],
    [SCHED.BLOCK, 4],
    [SCHED.POLL, 2],
    // Shutting down ends the domain: rare, or traces die young.
    [SCHED.SHUTDOWN, r.dom.privileged ? 0.3 : focus === 'lifecycle' ? 4 : 1],
    [ch.int(4, 9), 0.2],
  ]);
  return call(HYPERCALL.SCHED_OP, cmd, ch.mostly(ports, 85, () => ch.int(0, 40)));
}

/** A hypercall by the domain on the pCPU, with arguments chosen to mostly make sense. */
function hypercallFor(h: HypervisorState, r: Running, ch: Chooser, control: boolean, focus: Focus): Hypercall {
  if (control) return r.dom.privileged && ch.chance(90) ? domctl(h, r, ch, focus) : call(HYPERCALL.DOMCTL, ch.int(0, 5), anyDomainId(h, ch));
  // Where the domain is halfway through something — a grant made to it, a mapping, a port
  // offered to it — finishing it is likelier: that is how unmaps and binds happen at all.
  const grantWork = r.dom.maptrack.some((m) => m !== null) || grantsTo(h, r.dom.id).length > 0;
  const eventWork = r.dom.ports.some((p) => p?.binding.kind === 'interdomain') || liveDomains(h).some((o) => o.ports.some((p) => p?.binding.kind === 'unbound' && p.binding.remote === r.dom.id));
  const kind = ch.weighted<string>([
    ['console', 1.5],
    ['sched', focus === 'lifecycle' ? 8 : 3],
    ['domctl', r.dom.privileged ? 3 : 0.5],
    ['memory', 5],
    ['grant', (grantWork ? 20 : 8) * (focus === 'grants' ? 4 : 1)],
    ['event', eventWork ? 16 : 8],
    ['vcpu', 1.5],
    ['unknown', 0.4],
  ]);
  switch (kind) {
    case 'console':
      return call(HYPERCALL.CONSOLE_IO, ch.int(0x20, 0x7e));
    case 'sched':
      return schedOp(r, ch, focus);
    case 'domctl':
      return domctl(h, r, ch, focus);
    case 'memory':
      return memoryOp(r, ch);
    case 'grant':
      return grantOp(h, r, ch);
    case 'event':
      return eventOp(h, r, ch);
    case 'vcpu':
      return vcpuOp(r, ch);
    default:
      return { regs: [[1, ch.word()]], n: ch.pick([0, 8, 9, 0xffff])! };
  }
}

/** An address `dom` may load from or store to: its pages, its grant mappings, the emulated devices, the NIC, or nothing. */
function accessAddress(dom: Domain, ch: Chooser, focus: Focus): number {
  const offset = () => ch.int(0, HV_MACHINE.wordsPerFrame - 1) * 4;
  const mapped = dom.maptrack.flatMap((m) => (m === null ? [] : [m.gfn]));
  const where = ch.weighted<string>([
    ['own', 3],
    ['grant', mapped.length > 0 ? (focus === 'grants' ? 20 : 5) : 0],
    ['uart', 1.5],
    ['vblk', 1.5],
    ['nic', dom.devices.length > 0 ? 1.5 : 0],
    ['hole', 1],
    ['any', 0.3],
  ]);
  switch (where) {
    case 'own':
      return ownGfn(dom, ch, true) * PAGE + offset();
    case 'grant':
      return ch.pick(mapped)! * PAGE + offset();
    case 'uart':
      return UART_IPA + ch.int(0, 3) * 4;
    case 'vblk':
      return VBLK_IPA + ch.int(0, 7) * 4;
    case 'nic':
      return NIC_GFN * PAGE + ch.int(0, 8) * 4;
    case 'hole':
      return freeGfn(dom, ch) * PAGE;
    default:
      return ch.word() & ~3;
  }
}

/** Register set-up and a store or load: `st r3` / `ld r4` at `addr` through r6. */
function access(addr: number, value: number, store: boolean): number[] {
  return [
    ...loadRegister(6, addr),
    ...(store ? loadRegister(3, value) : []),
    store ? word({ op: 'st', rs2: 3, rs1: 6, imm: 0 }) : word({ op: 'ld', rd: 4, rs1: 6, imm: 0 }),
  ];
}

/** A command of the domain's emulated block device: sector, buffer, count and command, then its status. */
function vblkCommand(dom: Domain, ch: Chooser): number[] {
  const mapped = dom.maptrack.flatMap((m) => (m === null ? [] : [m.gfn]));
  const buffer = ch.mostly(mapped, ch.chance(50) ? 80 : 0, () => ownGfn(dom, ch, true)) * PAGE;
  const regs: [number, number][] = [
    [BLOCK_REG.SECTOR, ch.chance(85) ? ch.int(0, Math.max(0, dom.storage.count - 1)) : ch.int(0, 20)],
    [BLOCK_REG.ADDR, ch.chance(90) ? buffer : ch.pick([freeGfn(dom, ch) * PAGE, 2, ch.word()])!],
    [BLOCK_REG.COUNT, ch.chance(85) ? 1 : ch.pick([0, 2, 17, 0xffffffff])!],
    [BLOCK_REG.CMD, ch.chance(90) ? ch.pick([BLOCK_CMD.READ, BLOCK_CMD.WRITE])! : ch.int(0, 5)],
  ];
  const out: number[] = [];
  for (const [reg, value] of regs) out.push(...access(VBLK_IPA + reg * 4, value, true));
  out.push(...access(VBLK_IPA + BLOCK_REG.STATUS * 4, 0, false));
  if (ch.chance(50)) out.push(...access(VBLK_IPA + BLOCK_REG.ACK * 4, 0, true));
  return out;
}

/** The driver domain programs its NIC: a receive buffer, or a transmission, in one of its pages. */
function nicCommand(dom: Domain, ch: Chooser): number[] {
  const reg = (r: number) => NIC_GFN * PAGE + r * 4;
  const buffer = ownGfn(dom, ch, true) * PAGE;
  const out: number[] = [];
  if (ch.chance(50)) {
    out.push(...access(reg(NIC_REG.RX_ADDR), buffer, true), ...access(reg(NIC_REG.RX_CAP), ch.int(1, 8), true));
  } else {
    out.push(...access(reg(NIC_REG.TX_ADDR), ch.chance(90) ? buffer : ch.word(), true), ...access(reg(NIC_REG.TX_LEN), ch.int(0, 8), true));
    out.push(...access(reg(NIC_REG.TX_GO), 1, true));
  }
  out.push(...access(reg(NIC_REG.STATUS), 0, false), ...access(reg(NIC_REG.ACK), 0xf, true));
  return out;
}

/** A valid instruction other than HVC that a guest kernel might run: system registers, TLB maintenance, ERET, WFI, SVC. */
function systemInstruction(ch: Chooser): number {
  const reg = (): number => ch.int(0, 15);
  switch (ch.int(0, 7)) {
    case 0:
      return word({ op: 'msr', sysreg: ch.int(0, 30), rs: reg() });
    case 1:
      return word({ op: 'mrs', rd: reg(), sysreg: ch.int(0, 30) });
    case 2: {
      const scope = ch.pick(['all', 'va', 'asid', 'vmid'] as const)!;
      return word({ op: 'tlbi', scope, broadcast: ch.chance(50), rs: scope === 'all' ? 0 : reg() });
    }
    case 3:
      return word({ op: 'eret' });
    case 4:
      return word({ op: 'wfi' });
    case 5:
      return word({ op: 'svc', imm: ch.int(0, 0xffff) });
    case 6:
      return word({ op: 'jalr', rd: reg(), rs1: reg(), imm: ch.int(-64, 64) * 4 });
    default:
      return word({ op: 'hvc', imm: ch.pick([0, 8, 0xffff, ch.int(0, 0xffff)])! });
  }
}

/**
 * What a raw action does, by its `kind` (0..999), in per mille. Crashes and shutdowns are
 * rare on purpose: a trace whose guests are all gone exercises nothing.
 */
const ACTION_MIX = {
  all: [
    ['hypercall', 380],
    ['control', 110],
    ['access', 110],
    ['vblk', 40],
    ['nic', 20],
    ['run', 120],
    ['tick', 100],
    ['irq', 25],
    ['device', 25],
    ['hostile', 20],
    ['system', 40],
    ['crash', 10],
  ],
  lifecycle: [
    ['hypercall', 380],
    ['control', 200],
    ['access', 60],
    ['vblk', 20],
    ['nic', 10],
    ['run', 120],
    ['tick', 120],
    ['irq', 20],
    ['device', 20],
    ['hostile', 10],
    ['system', 20],
    ['crash', 20],
  ],
  grants: [
    ['hypercall', 430],
    ['control', 30],
    ['access', 250],
    ['vblk', 70],
    ['nic', 30],
    ['run', 60],
    ['tick', 80],
    ['irq', 10],
    ['device', 10],
    ['hostile', 5],
    ['system', 20],
    ['crash', 5],
  ],
} as const;

type ActionKind = (typeof ACTION_MIX)['all'][number][0];

function actionKind(kind: number, focus: Focus): ActionKind {
  let rest = kind % 1000;
  for (const [name, share] of ACTION_MIX[focus]) {
    if (rest < share) return name;
    rest -= share;
  }
  return 'run';
}

/** Steps `sys` by `event`; null if the hypervisor threw (the property that replays the trace reports it). */
function tryStep(sys: HypervisorSystem, event: SystemEvent): StepResult<HypervisorState> | null {
  try {
    return step(hypervisor, sys, event);
  } catch {
    return null;
  }
}

/** Whether pCPU `c` would take a physical interrupt before an injected instruction. */
function interruptDue(sys: HypervisorSystem, c: number): boolean {
  const cpu = sys.machine.cpus[c];
  return cpu !== undefined && deliverable(sys.machine.gic, c, cpu) >= 0;
}

/**
 * Resolves raw actions into a trace, running the system alongside so each action is chosen
 * for the state it will meet. Deterministic: the same system and raw actions give the same
 * trace.
 */
export function resolveHvTrace(boot: HypervisorSystem, raws: readonly RawAction[], focus: Focus = 'all'): SystemEvent[] {
  const events: SystemEvent[] = [];
  let sys: HypervisorSystem | null = boot;
  const emit = (e: SystemEvent): void => {
    events.push(e);
    if (sys === null) return;
    sys = tryStep(sys, e)?.system ?? null;
  };
  const cpus = boot.machine.cpus.length;
  /**
   * Injects `words` on pCPU `c` into the vCPU running there now. A pending physical
   * interrupt is taken first (an `exec` without a word); if the vCPU leaves the pCPU midway,
   * the rest of the sequence is dropped, so set-up and hypercall stay together.
   */
  const inject = (c: number, words: readonly number[]): void => {
    const who = sys === null ? null : sys.state.pcpus[c]?.current ?? null;
    for (const w of words) {
      for (let tries = 0; sys !== null && interruptDue(sys, c) && tries < 3; tries++) emit({ kind: 'exec', cpu: c });
      const now: HypervisorSystem | null = sys;
      if (now === null) return;
      const cur = now.state.pcpus[c]?.current ?? null;
      if (who === null || cur === null || cur.dom !== who.dom || cur.vcpu !== who.vcpu || now.machine.cpus[c]!.el === 2) return;
      emit({ kind: 'exec', cpu: c, insn: w });
    }
  };
  const hypercallWords = (hc: Hypercall): number[] => [...hc.regs.flatMap(([r, v]) => loadRegister(r, v)), word({ op: 'hvc', imm: hc.n })];
  for (const raw of raws) {
    const ch = new Chooser(raw.picks);
    const current: HypervisorSystem | null = sys;
    if (current === null) break;
    const h = current.state;
    // Prefer a pCPU in a guest: that is where hypercalls happen.
    const busy = Array.from({ length: cpus }, (_, c) => c).filter((c) => runningOn(current, c) !== null);
    const kind = actionKind(raw.kind, focus);
    const controlCpu = busy.find((c) => runningOn(current, c)!.dom.privileged);
    const cpu = kind === 'control' && controlCpu !== undefined && raw.cpu % 5 !== 4 ? controlCpu : busy.length > 0 && raw.cpu % 4 !== 3 ? busy[raw.cpu % busy.length]! : raw.cpu % cpus;
    const r = runningOn(current, cpu);
    switch (kind) {
      case 'hypercall':
      case 'control':
        if (r !== null) inject(cpu, hypercallWords(hypercallFor(h, r, ch, kind === 'control', focus)));
        else emit({ kind: 'exec', cpu });
        break;
      case 'access':
        if (r !== null) inject(cpu, access(accessAddress(r.dom, ch, focus), ch.word(), ch.chance(50)));
        else emit({ kind: 'exec', cpu });
        break;
      case 'vblk':
        if (r !== null) inject(cpu, vblkCommand(r.dom, ch));
        else emit({ kind: 'exec', cpu });
        break;
      case 'nic': {
        const drv = busy.find((c) => runningOn(current, c)!.dom.devices.length > 0);
        if (drv !== undefined) inject(drv, nicCommand(runningOn(current, drv)!.dom, ch));
        else emit({ kind: 'device', device: NIC, packet: [ch.word()] });
        break;
      }
      case 'run': {
        // Let the pCPU run its guest's own code for a few steps.
        const n = ch.int(1, 8);
        for (let i = 0; i < n; i++) emit({ kind: 'exec', cpu });
        break;
      }
      case 'tick':
        // Time passes; the next step on that pCPU takes the timer interrupt (HV-EXIT-6).
        emit({ kind: 'tick', cpu });
        if (ch.chance(80)) emit({ kind: 'exec', cpu });
        break;
      case 'irq':
        emit({ kind: 'irq', line: ch.chance(70) ? NIC_IRQ : ch.int(0, 9) });
        emit({ kind: 'exec', cpu: ch.int(0, cpus - 1) });
        break;
      case 'device':
        emit({ kind: 'device', device: ch.chance(90) ? NIC : ch.int(0, 4), packet: Array.from({ length: ch.int(0, 5) }, () => ch.word()) });
        if (ch.chance(50)) emit({ kind: 'exec', cpu: ch.int(0, cpus - 1) });
        break;
      case 'hostile':
        if (r !== null) inject(cpu, [ch.next() >>> 0]);
        else emit({ kind: 'exec', cpu, insn: ch.next() >>> 0 });
        break;
      case 'system':
        if (r !== null) inject(cpu, [systemInstruction(ch)]);
        else emit({ kind: 'exec', cpu });
        break;
      case 'crash': {
        const victims = liveDomains(h).filter((d) => !d.privileged).map((d) => d.name);
        emit({ kind: 'inject', fault: { kind: 'crash', domain: ch.mostly(victims, 90, () => ch.pick([CONTROL, 'nowhere'])!) } });
        break;
      }
    }
  }
  return events;
}

/** Random traces for the system `boot` boots to (resolved against it; see the module comment). */
export function arbHvEvents(boot: HypervisorSystem, maxActions = 50, focus: Focus = 'all'): fc.Arbitrary<SystemEvent[]> {
  // size 'max': lengths uniform up to maxActions (the default size keeps arrays to about ten).
  return fc.array(arbRawAction, { minLength: 1, maxLength: maxActions, size: 'max' }).map((raws) => resolveHvTrace(boot, raws, focus));
}

/**
 * A random scenario with a random trace from its boot. `prefix`, if given, makes the first
 * events from the booted system; the random part is then resolved against the state they
 * leave.
 */
export function arbHvTraceCase(maxActions = 50, focus: Focus = 'all', prefix?: (boot: HypervisorSystem) => SystemEvent[]): fc.Arbitrary<HvTraceCase> {
  const scenarios = focus === 'grants' ? arbGrantScenario : arbHvScenario;
  return scenarios.chain((c) => {
    const boot = bootHvCase(c);
    const first = prefix === undefined ? [] : prefix(boot);
    const start = first.reduce<HypervisorSystem>((sys, e) => tryStep(sys, e)?.system ?? sys, boot);
    return arbHvEvents(start, maxActions, focus).map((events) => ({ ...c, events: [...first, ...events] }));
  });
}

/**
 * The control domain binds a port to DOM_EXC (HV-EVT-2), by injection on its pCPU, so that
 * it hears of every domain that shuts down, crashes or is destroyed. Nothing if it is not
 * on a pCPU.
 */
export function controlBindsDomExc(boot: HypervisorSystem): SystemEvent[] {
  const cpu = boot.state.pcpus.findIndex((p) => p.current !== null && boot.state.domains[p.current.dom]?.privileged === true);
  if (cpu < 0) return [];
  const words = [...loadRegister(1, EVTCHN.BIND_VIRQ), ...loadRegister(2, VIRQ.DOM_EXC), ...loadRegister(3, 0), word({ op: 'hvc', imm: HYPERCALL.EVENT_CHANNEL_OP })];
  return words.map((w) => ({ kind: 'exec', cpu, insn: w }));
}

// ---------------------------------------------------------------------------------------
// Malformed events
// ---------------------------------------------------------------------------------------

/** Numbers no field expects: negative, fractional, huge, not finite. */
const arbOddNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(-1, 2, 7, 0.5, 2 ** 32, -(2 ** 31), Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER),
  fc.double(),
  fc.integer(),
);

/**
 * Events a client might send that are wrong in every field: unknown kinds, CPUs and lines out
 * of range, injected words that are no 32-bit word, packets of non-numbers, crashes of the
 * control domain or of nobody. `step` must reject each without throwing (SYS-2).
 */
export const arbMalformedEvent: fc.Arbitrary<SystemEvent> = fc.oneof(
  fc.record({ kind: fc.constant('exec'), cpu: arbOddNumber }, { noNullPrototype: true }),
  fc.record({ kind: fc.constant('exec'), cpu: fc.nat(1), insn: arbOddNumber }, { noNullPrototype: true }),
  fc.record({ kind: fc.constant('tick'), cpu: arbOddNumber }, { noNullPrototype: true }),
  fc.record({ kind: fc.constant('irq'), line: arbOddNumber }, { noNullPrototype: true }),
  fc.record({ kind: fc.constant('device'), device: arbOddNumber, packet: fc.array(arbOddNumber, { maxLength: 4 }) }, { noNullPrototype: true }),
  fc.record({ kind: fc.constant('device'), device: fc.constant(NIC), packet: fc.constantFrom(null, 'abc', [Number.NaN], new Array(300).fill(1)) }, { noNullPrototype: true }),
  fc.record({ kind: fc.constant('inject'), fault: fc.record({ kind: fc.constant('crash'), domain: fc.constantFrom(CONTROL, 'nowhere', '', '__proto__', 'constructor') }, { noNullPrototype: true }) }, { noNullPrototype: true }),
  fc.record({ kind: fc.constant('inject'), fault: fc.constantFrom(null, {}, { kind: 'reboot' }, { kind: 'crash' }) }, { noNullPrototype: true }),
  fc.constantFrom(null, undefined, {}, { kind: 'reboot' }, { kind: 42 }, 'exec', []),
).map((e) => e as unknown as SystemEvent);

// ---------------------------------------------------------------------------------------
// Observing systems
// ---------------------------------------------------------------------------------------

/** A canonical encoding of a system (Maps and Sets in order, memory as its non-zero words), for equality and determinism checks. */
export function fingerprint(sys: HypervisorSystem): string {
  const memory: number[] = [];
  forEachNonZero(sys.machine.memory, (i, v) => memory.push(i, v));
  const devices = sys.machine.devices.map((d) => {
    if (d.kind !== 'block') return d;
    const disk: number[] = [];
    forEachNonZero(d.disk, (i, v) => disk.push(i, v));
    return { ...d, disk };
  });
  return JSON.stringify({ machine: { ...sys.machine, memory, devices }, state: sys.state }, (_, v: unknown) => {
    if (v instanceof Map) return [...v.entries()].sort((a, b) => Number(a[0]) - Number(b[0]));
    if (v instanceof Set) return [...v.values()].sort((a, b) => Number(a) - Number(b));
    return v;
  });
}

/** The registers of vCPU (d, v) now: on its pCPU if it runs there in a guest, else saved. */
export function vcpuRegs(sys: HypervisorSystem, d: number, v: number): readonly number[] | null {
  const dom = sys.state.domains[d];
  if (dom === null || dom === undefined || dom.lifecycle === 'destroyed') return null;
  const c = sys.state.pcpus.findIndex((p) => p.current !== null && p.current.dom === d && p.current.vcpu === v);
  if (c >= 0 && sys.machine.cpus[c]!.el !== 2) return sys.machine.cpus[c]!.regs;
  return dom.vcpus[v]?.context.regs ?? null;
}

/** A hypercall a step made: who, which, its arguments r1..r6, and its result (null when the caller is gone). */
export interface HypercallStep {
  readonly dom: number;
  readonly vcpu: number;
  readonly n: number;
  readonly args: readonly number[];
  readonly result: number | null;
}

/** The hypercall an `exec` step made from a guest kernel, if it made one. */
export function hypercallOf(before: HypervisorSystem, event: SystemEvent, r: StepResult<HypervisorState>): HypercallStep | null {
  if (event.kind !== 'exec' || r.trap?.kind !== 'hvc' || r.trap.from !== 1 || r.trap.to !== 2) return null;
  const cur = before.state.pcpus[event.cpu]?.current ?? null;
  if (cur === null) return null;
  const regs = before.machine.cpus[event.cpu]!.regs;
  const after = vcpuRegs(r.system, cur.dom, cur.vcpu);
  return { dom: cur.dom, vcpu: cur.vcpu, n: r.trap.imm, args: regs.slice(1, 7), result: after === null ? null : after[1]! | 0 };
}

// ---------------------------------------------------------------------------------------
// Classifying steps (for coverage checks)
// ---------------------------------------------------------------------------------------

/** Hypervisor behaviours a trace should reach; see {@link classifyHvStep}. */
export const HV_BEHAVIOURS = [
  'grant map',
  'grant unmap',
  'grant copy',
  'event delivered',
  'port close',
  'populate',
  'decrease',
  'guest fault',
  'uart access',
  'vblk access',
  'vblk transfer',
  'vcpu blocks',
  'vcpu wakes',
  'domain created',
  'domain paused',
  'domain unpaused',
  'domain destroyed',
  'domain saved',
  'domain restored',
  'crash',
] as const;

export type HvBehaviour = (typeof HV_BEHAVIOURS)[number];

function vcpuStates(h: HypervisorState): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of h.domains) if (d !== null && d.lifecycle !== 'destroyed') for (const v of d.vcpus) out.set(`${d.id}.${v.id}`, v.state);
  return out;
}

/** Which of {@link HV_BEHAVIOURS} one step shows. */
export function classifyHvStep(before: HypervisorSystem, event: SystemEvent, r: StepResult<HypervisorState>): HvBehaviour[] {
  const out: HvBehaviour[] = [];
  const hc = hypercallOf(before, event, r);
  const is = (n: number, cmd: number) => hc !== null && hc.result !== null && hc.result >= 0 && hc.n === n && hc.args[0] === cmd;
  if (is(HYPERCALL.GRANT_TABLE_OP, GNTTAB.MAP)) out.push('grant map');
  if (is(HYPERCALL.GRANT_TABLE_OP, GNTTAB.UNMAP)) out.push('grant unmap');
  if (is(HYPERCALL.GRANT_TABLE_OP, GNTTAB.COPY) && (hc?.args[5] ?? 0) > 0) out.push('grant copy');
  if (is(HYPERCALL.EVENT_CHANNEL_OP, EVTCHN.SEND) && r.observations.some((o) => o.kind === 'event')) out.push('event delivered');
  if (is(HYPERCALL.EVENT_CHANNEL_OP, EVTCHN.CLOSE)) out.push('port close');
  if (is(HYPERCALL.MEMORY_OP, MEMORY.POPULATE)) out.push('populate');
  if (is(HYPERCALL.MEMORY_OP, MEMORY.DECREASE)) out.push('decrease');
  if (r.observations.some((o) => o.kind === 'fault')) out.push('guest fault');
  if (r.trap?.kind === 'abort' && r.trap.ipa !== null && r.ops.includes('mmioAccess')) {
    const page = Math.floor(r.trap.ipa / PAGE);
    if (page === UART_GFN) out.push('uart access');
    if (page === VBLK_GFN) {
      out.push('vblk access');
      if (r.ops.includes('dmaWord')) out.push('vblk transfer');
    }
  }
  const was = vcpuStates(before.state);
  const now = vcpuStates(r.system.state);
  for (const [k, s] of now) {
    const prev = was.get(k);
    if (s === 'blocked' && prev !== undefined && prev !== 'blocked') out.push('vcpu blocks');
    if (prev === 'blocked' && (s === 'runnable' || s === 'running')) out.push('vcpu wakes');
  }
  if (is(HYPERCALL.DOMCTL, DOMCTL.CREATE)) out.push('domain created');
  const byControl = hc !== null && hc.n === HYPERCALL.DOMCTL;
  for (const t of r.lifecycle) {
    if (byControl && t.event === 'PAUSE') out.push('domain paused');
    if (byControl && (t.event === 'UNPAUSE' || t.event === 'START')) out.push('domain unpaused');
    if (byControl && t.event === 'DESTROY') out.push('domain destroyed');
    if (t.event === 'SAVE') out.push('domain saved');
    if (t.event === 'RESTORE') out.push('domain restored');
  }
  if (event.kind === 'inject' && r.error === null) out.push('crash');
  return [...new Set(out)];
}
