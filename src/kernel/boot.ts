/**
 * Booting the kernel from a scenario (MK-BOOT-1..5).
 *
 * As seL4's boot code does for its root task, the kernel carves the initial objects out of
 * free RAM — here in one planned pass, largest first, so power-of-two objects pack without
 * gaps — and gives each its original capability; everything created later comes from
 * Retype. Memory the scenario hands out becomes Untyped objects; the rest stays unused.
 * Mappings, capabilities and thread set-up then go through the kernel's own operations, so
 * boot obeys the same rules as a running system.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  assemble,
  mkError,
  resetMachine,
  setSys,
  SYS,
  TIMER_CTL,
  writeWord,
  type MachineConfig,
  type MkhvError,
} from '../hw/index.ts';
import { MAP_ATTR } from './abi.ts';
import { insertCap, maskRights, slotContents, type SlotRef } from './cspace.ts';
import { setIrqNotification } from './irq.ts';
import { exitToUser, schedule } from './scheduler.ts';
import type { KernelScenario } from './scenario.ts';
import { setThreadState } from './thread.ts';
import { ALL_RIGHTS, RIGHTS, type Cap, type CapId, type KernelState, type ObjId } from './types.ts';
import { createObject, objectBits, originalCap } from './untyped.ts';
import { firstMissingLevel, mapFrame, mapPageTable } from './vspace.ts';
import { newLog, updateTcb, type Log, type World } from './world.ts';

/** Default ticks per time slice (seL4's CONFIG_TIME_SLICE is 5). */
export const DEFAULT_TIMESLICE = 5;
/** Default log2 slots of a thread's CNode. */
export const DEFAULT_CNODE_BITS = 4;
/** Where each idle thread waits (a kernel address; never fetched). */
export const IDLE_PC = 0xfffffff0;

class BootError {
  constructor(readonly error: MkhvError) {}
}

function fail(path: string, message: string): never {
  throw new BootError(mkError('scenario.invalid', `scenario: '${path}' ${message}`, path));
}

type Kind = 'endpoint' | 'notification' | 'frame' | 'untyped' | 'tcb' | 'cnode' | 'vspace' | 'pagetable';

interface Request {
  readonly kind: Kind;
  readonly bits: number;
  /** Device page, for device frames (no RAM is allocated). */
  readonly devicePage?: number;
  base?: number;
  obj?: ObjId;
}

/** Parses a rights string (R, W, G, P) into rights bits (MK-BOOT-3). */
export function parseRights(text: string | undefined, path: string): number {
  if (text === undefined) return ALL_RIGHTS;
  let rights = 0;
  for (const ch of text) {
    const bit = { R: RIGHTS.R, W: RIGHTS.W, G: RIGHTS.G, P: RIGHTS.GR }[ch];
    if (bit === undefined) fail(path, `has unknown right '${ch}' (use R, W, G, P)`);
    rights |= bit;
  }
  return rights;
}

/** Assigns bases largest first, so power-of-two objects pack without gaps (MK-BOOT-2). */
function plan(requests: Request[], ramBytes: number): void {
  let cursor = 0;
  const order = requests.map((_, i) => i).filter((i) => requests[i]!.devicePage === undefined);
  order.sort((a, b) => requests[b]!.bits - requests[a]!.bits || a - b);
  for (const i of order) {
    const r = requests[i]!;
    const size = 2 ** r.bits;
    const base = Math.ceil(cursor / size) * size;
    if (base + size > ramBytes) fail('threads', `need more memory than the machine's ${ramBytes} bytes of RAM`);
    r.base = base;
    cursor = base + size;
  }
}

interface ThreadPlan {
  readonly cnode: Request;
  readonly tcb: Request;
  readonly vspace: Request | null;
  readonly code: Request[];
  readonly pages: (Request | null)[];
  readonly words: readonly number[];
  readonly origin: number;
  readonly tables: Request[];
}

/**
 * Boots a kernel on a machine of `config` from `scenario` (MK-BOOT-1); returns the world at
 * the moment the first threads are about to run, or the first problem with the scenario.
 */
export function bootKernel(config: MachineConfig, scenario: KernelScenario): E.Either<MkhvError, World> {
  try {
    return E.right(boot(config, scenario));
  } catch (e) {
    if (e instanceof BootError) return E.left(e.error);
    return E.left(mkError('scenario.invalid', `scenario: ${e instanceof Error ? e.message : String(e)}`));
  }
}

function boot(config: MachineConfig, s: KernelScenario): World {
  const m0 = resetMachine(config);
  const geo = m0.geometry;
  const pageBits = Math.log2(geo.pageBytes);
  const domains = s.domains ?? ['default'];
  if (domains.length === 0) fail('domains', 'must name at least one domain');
  if (new Set(domains).size !== domains.length) fail('domains', 'has a duplicate name');
  const domainOf = (name: string | undefined, path: string): number => {
    if (name === undefined) return 0;
    const d = domains.indexOf(name);
    if (d < 0) fail(path, `names unknown domain '${name}'`);
    return d;
  };
  const schedule0 = (s.kernel?.domainSchedule ?? []).map((slot, i) => {
    if (!Number.isInteger(slot.ticks) || slot.ticks < 1) fail(`kernel.domainSchedule[${i}].ticks`, 'must be a positive integer');
    return { domain: domainOf(slot.domain, `kernel.domainSchedule[${i}].domain`), ticks: slot.ticks };
  });
  const timeslice = s.kernel?.timeslice ?? DEFAULT_TIMESLICE;
  if (!Number.isInteger(timeslice) || timeslice < 1) fail('kernel.timeslice', 'must be a positive integer');

  // Plan the memory of every boot object.
  const requests: Request[] = [];
  const request = (kind: Kind, bits: number, devicePage?: number): Request => {
    const r: Request = devicePage === undefined ? { kind, bits } : { kind, bits, devicePage };
    requests.push(r);
    return r;
  };
  const shared = new Map<string, Request>();
  (s.objects ?? []).forEach((o, i) => {
    const path = `objects[${i}]`;
    if (shared.has(o.name)) fail(`${path}.name`, `duplicates object '${o.name}'`);
    if (o.type === 'untyped') {
      const bits = objectBits('untyped', o.sizeBits ?? -1, pageBits);
      if (bits === null) fail(`${path}.sizeBits`, 'must be an integer from 4 to 30');
      shared.set(o.name, request('untyped', bits));
    } else if (o.type === 'frame' && o.device !== undefined) {
      if (!Number.isInteger(o.device) || o.device < 0 || o.device >= config.devices.length) fail(`${path}.device`, 'is not a device of the machine');
      shared.set(o.name, request('frame', pageBits, geo.firstDevicePage + o.device));
    } else {
      shared.set(o.name, request(o.type, objectBits(o.type, 0, pageBits)!));
    }
  });
  const names = new Set<string>();
  const plans: ThreadPlan[] = s.threads.map((t, i) => {
    const path = `threads[${i}]`;
    if (names.has(t.name)) fail(`${path}.name`, `duplicates thread '${t.name}'`);
    names.add(t.name);
    const cnodeBits = t.cnodeBits ?? DEFAULT_CNODE_BITS;
    const cnodeSize = objectBits('cnode', cnodeBits, pageBits);
    if (cnodeSize === null) fail(`${path}.cnodeBits`, 'must be an integer from 1 to 8');
    const hasVspace = t.vspace ?? true;
    const origin = t.origin ?? geo.pageBytes;
    let words: readonly number[] = [];
    if (t.program !== undefined) {
      if (!hasVspace) fail(`${path}.program`, 'needs an address space (vspace: true)');
      const asm = assemble(t.program, origin);
      if (E.isLeft(asm)) fail(`${path}.program`, asm.left.message);
      words = asm.right.words;
    }
    if ((t.pages ?? []).length > 0 && !hasVspace) fail(`${path}.pages`, 'need an address space (vspace: true)');
    const codePages = Math.ceil(words.length / config.wordsPerFrame);
    return {
      cnode: request('cnode', cnodeSize),
      tcb: request('tcb', objectBits('tcb', 0, pageBits)!),
      vspace: hasVspace ? request('vspace', pageBits) : null,
      code: Array.from({ length: codePages }, () => request('frame', pageBits)),
      pages: (t.pages ?? []).map((p) => (p.frame === undefined ? request('frame', pageBits) : null)),
      words,
      origin,
      tables: [],
    };
  });
  // Inner page tables: one per distinct table-sized region a thread maps into.
  const levels = config.pageTableLevels;
  const tableSpans = Array.from({ length: levels - 1 }, (_, l) => geo.pageBytes * 2 ** (config.pageTableIndexBits * (levels - 1 - l)));
  const mappedVas = s.threads.map((t, i) => {
    const p = plans[i]!;
    const vas = p.code.map((_, j) => p.origin + j * geo.pageBytes);
    for (const pg of t.pages ?? []) vas.push(pg.va);
    return vas;
  });
  mappedVas.forEach((vas, i) => {
    const seen = new Set<string>();
    for (const va of vas) {
      for (let l = 0; l < levels - 1; l++) {
        const key = `${l}:${Math.floor(va / tableSpans[l]!)}`;
        if (!seen.has(key)) {
          seen.add(key);
          plans[i]!.tables.push(request('pagetable', pageBits));
        }
      }
    }
  });
  (s.untyped ?? []).forEach((u, i) => {
    const bits = objectBits('untyped', u.sizeBits, pageBits);
    if (bits === null) fail(`untyped[${i}].sizeBits`, 'must be an integer from 4 to 30');
    request('untyped', bits);
  });
  plan(requests, geo.ramBytes);

  // Create the objects.
  let k: KernelState = {
    config: { timeslice, domainSchedule: schedule0, domainNames: domains, idlePc: IDLE_PC },
    objects: [],
    nextCapId: 1,
    cpus: m0.cpus.map(() => ({ current: null })),
    ready: [],
    domainIndex: 0,
    domainTicksLeft: schedule0[0]?.ticks ?? 0,
    asids: new Array<ObjId | null>(256).fill(null),
    irqs: new Array(config.irqLines).fill(null).map(() => ({ issued: false, target: null })),
  };
  const log = newLog(0);
  let w: World = { m: m0, k };
  for (const r of requests) {
    const base = r.devicePage !== undefined ? r.devicePage * geo.pageBytes : r.base!;
    const created = createObject(w, log, r.kind, base, r.bits, r.devicePage !== undefined);
    w = created.w;
    r.obj = created.obj;
  }

  // Capabilities (MK-BOOT-3): the first cap to an object is its original; a later one derives
  // from the first original that has every right it has. One with a right no original has is
  // an original too: deriving it would give a child more rights than its parent (MK-CAP-2,
  // MK-INV-4) — as a scenario may well ask, e.g. a receiver's R cap placed before a sender's W.
  const originals = new Map<ObjId, { id: CapId; rights: number }[]>();
  const rightsOf = (cap: Cap): number => ('rights' in cap ? cap.rights : ALL_RIGHTS);
  const put = (thread: number, slot: number, cap: Cap, path: string): void => {
    const cnode = plans[thread]!.cnode.obj!;
    const size = 2 ** ((s.threads[thread]!.cnodeBits ?? DEFAULT_CNODE_BITS));
    if (!Number.isInteger(slot) || slot < 0 || slot >= size) fail(path, `slot ${slot} is outside the thread's ${size}-slot CNode`);
    const ref: SlotRef = { cnode, index: slot };
    if (slotContents(w.k, ref) !== null) fail(path, `slot ${slot} is already used`);
    const obj = 'obj' in cap ? cap.obj : null;
    const parent = obj === null ? null : (originals.get(obj)?.find((o) => (rightsOf(cap) & ~o.rights) === 0)?.id ?? null);
    w = { ...w, k: insertCap(w.k, ref, cap, parent) };
    const stored = slotContents(w.k, ref)!;
    if (obj !== null && parent === null) originals.set(obj, [...(originals.get(obj) ?? []), { id: stored.id, rights: rightsOf(cap) }]);
  };
  const threadIndex = (name: string, path: string): number => {
    const i = s.threads.findIndex((t) => t.name === name);
    if (i < 0) fail(path, `names unknown thread '${name}'`);
    return i;
  };
  const capFor = (ref: string, rights: number, badge: number | undefined, path: string): Cap => {
    if (ref === 'irqcontrol') return { type: 'irqcontrol' };
    const dot = ref.lastIndexOf('.');
    if (dot > 0 && !shared.has(ref)) {
      const i = threadIndex(ref.slice(0, dot), path);
      const what = ref.slice(dot + 1);
      const p = plans[i]!;
      if (what === 'tcb') return { type: 'tcb', obj: p.tcb.obj! };
      if (what === 'cspace') return { type: 'cnode', obj: p.cnode.obj! };
      if (what === 'vspace') {
        if (p.vspace === null) fail(path, `names the VSpace of '${ref.slice(0, dot)}', which has none`);
        return { type: 'vspace', obj: p.vspace.obj! };
      }
      fail(path, `names '${what}' of a thread (use tcb, cspace or vspace)`);
    }
    const r = shared.get(ref);
    if (r === undefined) fail(path, `names unknown object '${ref}'`);
    const base = originalCap(r.kind as 'endpoint', r.obj!);
    const masked = maskRights(base, rights);
    if (badge !== undefined && (masked.type === 'endpoint' || masked.type === 'notification')) {
      if (!Number.isInteger(badge) || badge < 0 || badge > 0x0fffffff) fail(`${path.replace(/\.object$/, '')}.badge`, 'must be an integer from 0 to 2^28-1');
      return { ...masked, badge };
    }
    return masked;
  };
  s.threads.forEach((t, i) => {
    (t.caps ?? []).forEach((c, j) => {
      const path = `threads[${i}].caps[${j}]`;
      const cap = capFor(c.object, parseRights(c.rights, `${path}.rights`), c.badge, `${path}.object`);
      put(i, c.slot, cap, `${path}.slot`);
    });
  });
  (s.untyped ?? []).forEach((u, i) => {
    const r = requests[requests.length - (s.untyped!.length - i)]!;
    put(threadIndex(u.thread, `untyped[${i}].thread`), u.slot, { type: 'untyped', obj: r.obj! }, `untyped[${i}].slot`);
  });

  // Address spaces: own caps go in the CNode from the last slot down (MK-BOOT-4).
  plans.forEach((p, i) => {
    const t = s.threads[i]!;
    if (p.vspace === null) return;
    const size = 2 ** (t.cnodeBits ?? DEFAULT_CNODE_BITS);
    let next = size - 1;
    const own = (cap: Cap, what: string): void => {
      const path = `threads[${i}].cnodeBits`;
      while (next >= 0 && slotContents(w.k, { cnode: p.cnode.obj!, index: next }) !== null) next--;
      if (next < 0) fail(path, `leaves no free slot for the cap to its ${what}`);
      put(i, next, cap, path);
    };
    const vspace = p.vspace.obj!;
    own({ type: 'vspace', obj: vspace }, 'VSpace');
    const tables = p.tables.slice();
    const ensureTables = (va: number, path: string): void => {
      while (firstMissingLevel(w, vspace, va) !== null) {
        const table = tables.shift();
        if (table === undefined) fail(path, 'needs more page tables than planned');
        const r = mapPageTable(w, log, { type: 'pagetable', obj: table.obj!, mapping: null }, vspace, va);
        if (!r.ok) fail(path, `cannot be mapped (kernel error ${r.error})`);
        w = r.value.w;
        own(r.value.cap, 'page table');
      }
    };
    const mapOne = (frame: ObjId, va: number, attrs: number, rights: number, path: string): void => {
      ensureTables(va, path);
      const cap: Extract<Cap, { type: 'frame' }> = { type: 'frame', obj: frame, rights, mapping: null };
      const r = mapFrame(w, log, cap, vspace, va, attrs);
      if (!r.ok) fail(path, r.error === 8 ? 'maps a page twice' : `cannot be mapped at ${va} (kernel error ${r.error})`);
      w = r.value.w;
      own(r.value.cap, 'frame');
    };
    p.code.forEach((frame, j) => {
      const base = frame.base!;
      const chunk = p.words.slice(j * config.wordsPerFrame, (j + 1) * config.wordsPerFrame);
      let memory = w.m.memory;
      chunk.forEach((word, n) => (memory = writeWord(memory, base / 4 + n, word)));
      w = { ...w, m: { ...w.m, memory } };
      mapOne(frame.obj!, p.origin + j * geo.pageBytes, MAP_ATTR.EXECUTE, RIGHTS.R | RIGHTS.W, `threads[${i}].program`);
    });
    (t.pages ?? []).forEach((pg, j) => {
      const path = `threads[${i}].pages[${j}]`;
      let frame: ObjId;
      if (pg.frame === undefined) {
        frame = p.pages[j]!.obj!;
      } else {
        const r = shared.get(pg.frame);
        if (r?.kind !== 'frame') fail(`${path}.frame`, `names '${pg.frame}', which is not a frame object`);
        frame = r.obj!;
      }
      const attrs = (pg.write ? MAP_ATTR.WRITE : 0) | (pg.execute ? MAP_ATTR.EXECUTE : 0);
      mapOne(frame, pg.va, attrs, RIGHTS.R | RIGHTS.W, path);
    });
  });

  // Threads.
  s.threads.forEach((t, i) => {
    const p = plans[i]!;
    const path = `threads[${i}]`;
    const priority = t.priority ?? 0;
    if (!Number.isInteger(priority) || priority < 0 || priority > 255) fail(`${path}.priority`, 'must be an integer from 0 to 255');
    const cpu = t.cpu ?? 0;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= config.cpus) fail(`${path}.cpu`, `must be a CPU of the machine (0..${config.cpus - 1})`);
    const regs = new Array<number>(16).fill(0);
    for (const [name, value] of Object.entries(t.regs ?? {})) {
      const m = /^r([1-9]|1[0-5])$/.exec(name);
      if (m === null) fail(`${path}.regs.${name}`, 'is not a register r1..r15');
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) fail(`${path}.regs.${name}`, 'must be a 32-bit unsigned integer');
      regs[Number(m[1])] = value;
    }
    const faultEp = t.faultEndpoint ?? null;
    w = updateTcb(w, p.tcb.obj!, {
      name: t.name,
      priority,
      domain: domainOf(t.domain, `${path}.domain`),
      affinity: cpu,
      cspace: p.cnode.obj!,
      vspace: p.vspace?.obj ?? null,
      faultEndpoint: faultEp,
      context: { regs, pc: p.origin, restartPc: p.origin, tpidr: 0 },
    });
    if (t.start ?? true) w = setThreadState(w, log, p.tcb.obj!, { kind: 'restart' }, 'RESUME');
  });

  (s.irqs ?? []).forEach((irq, i) => {
    const path = `irqs[${i}]`;
    if (!Number.isInteger(irq.line) || irq.line < 3 || irq.line >= config.irqLines) fail(`${path}.line`, `must be a shared line 3..${config.irqLines - 1}`);
    const r = shared.get(irq.notification);
    if (r?.kind !== 'notification') fail(`${path}.notification`, `names '${irq.notification}', which is not a notification`);
    w = setIrqNotification(w, irq.line, r.obj!, irq.badge ?? 1);
  });

  // Each CPU: a periodic tick (MK-SCHED-3), then the first thread, or idle.
  const cpus = w.m.cpus.map((c) => ({ ...c, sys: setSys(setSys(c.sys, SYS.CNTP_CVAL, 1), SYS.CNTP_CTL, TIMER_CTL.ENABLE) }));
  w = { ...w, m: { ...w.m, cpus } };
  for (let c = 0; c < config.cpus; c++) {
    const cpuLog: Log = newLog(c);
    w = exitToUser(schedule(w, cpuLog, c), cpuLog, c);
  }
  return w;
}
