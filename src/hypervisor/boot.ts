/**
 * Booting the hypervisor from a scenario (HV-BOOT-1..3): the control domain and the other
 * boot domains are built with the same operations dom0 uses later (create, populate, load,
 * assign devices, channels, grants, start); each pCPU's timer is set to tick and each pCPU
 * is scheduled.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  assemble,
  HCR,
  mkError,
  resetMachine,
  setSys,
  SYS,
  TIMER_CTL,
  type MachineConfig,
  type MkhvError,
} from '../hw/index.ts';
import { assignDevice } from './devices.ts';
import { allocUnbound, bindInterdomain } from './events.ts';
import { grantAccess } from './grants.ts';
import { createDomain, setLifecycle } from './lifecycle.ts';
import type { HypervisorScenario } from './scenario.ts';
import { scheduleAndEnter } from './sched.ts';
import { FREE, type DomId, type GuestImage, type HypervisorState } from './types.ts';
import { getDomain, newHvLog, updateVcpu, type HvWorld } from './world.ts';

/** Xen's default weight. */
export const DEFAULT_WEIGHT = 256;
/** Where an idle pCPU waits (never fetched). */
export const HV_IDLE_PC = 0xffffff00;

class BootError {
  constructor(readonly error: MkhvError) {}
}

function fail(path: string, message: string): never {
  throw new BootError(mkError('scenario.invalid', `scenario: '${path}' ${message}`, path));
}

function positive(v: number | undefined, fallback: number, path: string, max = 2 ** 31): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < 1 || x > max) fail(path, `must be an integer from 1 to ${max}`);
  return x;
}

function assembleAt(source: string, origin: number, path: string): readonly number[] {
  const r = assemble(source, origin);
  if (E.isLeft(r)) fail(path, r.left.message);
  return r.right.words;
}

/** Boots a hypervisor on a machine of `config` from `scenario` (HV-BOOT-1). */
export function bootHypervisor(config: MachineConfig, scenario: HypervisorScenario): E.Either<MkhvError, HvWorld> {
  try {
    return E.right(boot(config, scenario));
  } catch (e) {
    if (e instanceof BootError) return E.left(e.error);
    return E.left(mkError('scenario.invalid', `scenario: ${e instanceof Error ? e.message : String(e)}`));
  }
}

function boot(config: MachineConfig, s: HypervisorScenario): HvWorld {
  const m0 = resetMachine(config);
  const geo = m0.geometry;
  const top = 2 ** geo.vaBits;
  const h0: HypervisorState = {
    config: {
      sliceTicks: positive(s.hypervisor?.sliceTicks, 3, 'hypervisor.sliceTicks', 1000),
      accountingTicks: positive(s.hypervisor?.accountingTicks, 3, 'hypervisor.accountingTicks', 1000),
      creditsPerTick: positive(s.hypervisor?.creditsPerTick, 100, 'hypervisor.creditsPerTick', 1_000_000),
      idlePc: HV_IDLE_PC,
      uartIpa: top - 2 * geo.pageBytes,
      vblkIpa: top - geo.pageBytes,
      blockDevice: config.devices.findIndex((d) => d.kind === 'block'),
    },
    domains: [],
    frameOwner: new Array<number>(config.frames).fill(FREE),
    pcpus: m0.cpus.map(() => ({ current: null, sliceLeft: 0 })),
    runq: [],
    pirqs: new Array(config.irqLines).fill(null),
    saved: [],
    images: [],
    ticksSinceAccounting: 0,
  };
  let w: HvWorld = { m: m0, h: h0 };
  const log = newHvLog(0);
  if (s.domains.length === 0) fail('domains', 'must list at least the control domain');
  const controls = s.domains.filter((d) => d.control === true).length;
  if (controls > 1) fail('domains', 'name more than one control domain');
  const controlIndex = Math.max(0, s.domains.findIndex((d) => d.control === true));
  const names = new Map<string, DomId>();
  const disk = config.devices.find((d) => d.kind === 'block');
  let nextSector = 0;
  const storageOf = (count: number | undefined, path: string) => {
    const n = count ?? 0;
    if (!Number.isInteger(n) || n < 0) fail(path, 'must be a non-negative integer');
    if (n > 0 && (disk === undefined || nextSector + n > disk.sectors)) fail(path, 'exceeds the machine\'s block device');
    const range = { first: nextSector, count: n };
    nextSector += n;
    return range;
  };
  const wpf = config.wordsPerFrame;
  s.domains.forEach((d, i) => {
    const path = `domains[${i}]`;
    if (names.has(d.name)) fail(`${path}.name`, `duplicates domain '${d.name}'`);
    const origin = d.origin ?? 0;
    if (!Number.isInteger(origin) || origin < 0 || origin % 4 !== 0 || origin >= top) fail(`${path}.origin`, 'must be a word-aligned guest-physical address');
    const words = assembleAt(d.kernel, origin, `${path}.kernel`);
    const needed = Math.ceil((origin + words.length * 4) / geo.pageBytes);
    const pages = d.pages ?? needed;
    if (!Number.isInteger(pages) || pages < needed) fail(`${path}.pages`, `must be at least ${needed}, to hold the kernel`);
    const memory = positive(d.memory, 1, `${path}.memory`, config.frames);
    if (pages > memory) fail(`${path}.pages`, `exceeds the domain's memory quota of ${memory}`);
    const vcpus = positive(d.vcpus, 1, `${path}.vcpus`, 8);
    (d.affinity ?? []).forEach((a, j) => {
      if (!Number.isInteger(a) || a < 0 || a >= config.cpus) fail(`${path}.affinity[${j}]`, `must be a pCPU 0..${config.cpus - 1}`);
    });
    const created = createDomain(w, log, {
      name: d.name,
      privileged: i === controlIndex,
      maxPages: memory,
      vcpus,
      weight: positive(d.weight, DEFAULT_WEIGHT, `${path}.weight`, 65535),
      cap: capOf(d.cap, `${path}.cap`),
      storage: storageOf(d.storage, `${path}.storage`),
      demandPaging: d.demandPaging ?? false,
      ...(d.affinity === undefined ? {} : { affinity: d.affinity }),
      image: { words, origin, pages },
    });
    if (typeof created === 'number') fail(path, `cannot be created (errno ${created}): not enough memory?`);
    w = created.w;
    names.set(d.name, created.dom);
    for (const [name, value] of Object.entries(d.regs ?? {})) {
      const m = /^r([1-9]|1[0-5])$/.exec(name);
      if (m === null || !Number.isInteger(value) || value < 0 || value > 0xffffffff) fail(`${path}.regs.${name}`, 'must be a register r1..r15 holding a 32-bit unsigned integer');
      const ctx = getDomain(w.h, created.dom)!.vcpus[0]!.context;
      const regs = ctx.regs.slice();
      regs[Number(m[1])] = value;
      w = updateVcpu(w, created.dom, 0, { context: { ...ctx, regs } });
    }
    (d.devices ?? []).forEach((a, j) => {
      const r = assignDevice(w, log, created.dom, a.device, a.gfn);
      if (typeof r === 'number') fail(`${path}.devices[${j}]`, `cannot be assigned (errno ${r})`);
      w = r.w;
    });
    void wpf;
  });
  const images: GuestImage[] = (s.images ?? []).map((img, i) => {
    const path = `images[${i}]`;
    const origin = img.origin ?? 0;
    // HV-BOOT-1: an image must fit as a boot domain must — else its kernel would be loaded
    // truncated, or every create from it would fail.
    if (!Number.isInteger(origin) || origin < 0 || origin % 4 !== 0 || origin >= top) fail(`${path}.origin`, 'must be a word-aligned guest-physical address');
    const words = assembleAt(img.kernel, origin, `${path}.kernel`);
    const needed = Math.ceil((origin + words.length * 4) / geo.pageBytes);
    const pages = img.pages ?? needed;
    if (!Number.isInteger(pages) || pages < needed) fail(`${path}.pages`, `must be at least ${needed}, to hold the kernel`);
    const maxPages = positive(img.memory, 1, `${path}.memory`, config.frames);
    if (pages > maxPages) fail(`${path}.pages`, `exceeds the image's memory quota of ${maxPages}`);
    return {
      name: img.name,
      words,
      origin,
      pages,
      maxPages,
      vcpus: positive(img.vcpus, 1, `${path}.vcpus`, 8),
      weight: positive(img.weight, DEFAULT_WEIGHT, `${path}.weight`, 65535),
      cap: capOf(img.cap, `${path}.cap`),
      storage: storageOf(img.storage, `${path}.storage`),
    };
  });
  w = { ...w, h: { ...w.h, images } };
  const domId = (name: string, path: string): DomId => {
    const id = names.get(name);
    if (id === undefined) fail(path, `names unknown domain '${name}'`);
    return id;
  };
  (s.channels ?? []).forEach((ch, i) => {
    const a = domId(ch.from, `channels[${i}].from`);
    const b = domId(ch.to, `channels[${i}].to`);
    if (a === b) fail(`channels[${i}]`, 'connects a domain to itself');
    const open = allocUnbound(w, b, a);
    if (typeof open === 'number') fail(`channels[${i}]`, `cannot be opened (errno ${open})`);
    const bound = bindInterdomain(open.w, a, b, open.port);
    if (typeof bound === 'number') fail(`channels[${i}]`, `cannot be bound (errno ${bound})`);
    w = bound.w;
  });
  (s.grants ?? []).forEach((g, i) => {
    const r = grantAccess(w, domId(g.from, `grants[${i}].from`), domId(g.to, `grants[${i}].to`), g.gfn, g.readonly ?? false);
    if (typeof r === 'number') fail(`grants[${i}]`, `cannot be made (errno ${r}): is the page populated?`);
    w = r.w;
  });
  s.domains.forEach((d, i) => {
    if (d.start ?? true) w = setLifecycle(w, log, names.get(d.name)!, 'running', 'START');
    void i;
  });
  // HV-BOOT-3: every pCPU ticks, traps physical interrupts to EL2, and is scheduled.
  const cpus = w.m.cpus.map((c) => ({
    ...c,
    sys: setSys(setSys(setSys(c.sys, SYS.CNTP_CVAL, 1), SYS.CNTP_CTL, TIMER_CTL.ENABLE), SYS.HCR_EL2, HCR.IMO),
    el: 2 as const,
  }));
  w = { ...w, m: { ...w.m, cpus } };
  for (let c = 0; c < config.cpus; c++) w = scheduleAndEnter(w, newHvLog(c), c);
  return w;
}

function capOf(v: number | undefined, path: string): number {
  const cap = v ?? 0;
  if (!Number.isInteger(cap) || cap < 0 || cap > 100) fail(path, 'must be a percentage from 0 (no cap) to 100');
  return cap;
}
