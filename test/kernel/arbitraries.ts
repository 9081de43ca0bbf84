/**
 * fast-check arbitraries for the microkernel's property tests (MK-PROP-1..6): random valid
 * boot scenarios on a small machine, and random event traces that drive the kernel's deep
 * paths.
 *
 * `arbScenario` builds scenarios from scenario.ts's vocabulary: 1–3 domains, 2–5 threads
 * with random priorities, CPUs and domains, shared endpoints, notifications and frames, caps
 * with random rights and badges in random slots, fault endpoints, untyped memory, interrupt
 * lines and an optional domain schedule. About half are *partitioned*: each shared object has a
 * home domain and only notifications (any rights) and frames (read-only) cross domains, so
 * the authority graph is sparse and integrity (MK-PROP-3) has something to check. Threads run
 * small programs shaped like seL4 components (servers, clients, signallers, waiters) or
 * random ones. Only scenarios that boot are kept.
 *
 * `arbEvents` is state-aware. Uniformly random system calls almost never name a cap that
 * exists, with the label of an operation that cap supports and arguments in range, so the
 * kernel would spend the whole test in its error paths. Instead the generator draws *raw
 * actions* — an action kind and a list of random numbers — and resolves them against the
 * system as it runs: "invoke an untyped cap" looks in the CSpace of the thread actually on
 * that CPU for an untyped cap, a free destination slot, and so on. Every random number is
 * still free to pick a wrong value some of the time, so error paths run too. The result is
 * a plain list of {@link SystemEvent}s — register set-up is itself injected `addi`/`lui`/
 * `ori` instructions — so a trace replays without the generator, and fast-check shrinks the
 * raw actions (resolution is deterministic, so a shrunk list resolves to a shorter trace).
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { encode, SYS, type Instruction, type MachineConfig } from '../../src/hw/index.ts';
import {
  allCaps,
  decodeInfo,
  encodeInfo,
  INVOCATION,
  OBJECT_TYPE,
  SYSCALL,
  vspaceMappings,
  type Cap,
  type KernelScenario,
  type KernelState,
  type ObjId,
  type Tcb,
  type ThreadSpec,
} from '../../src/kernel/index.ts';
import { bootMicrokernel, microkernel, step, type MicrokernelSystem, type StepResult, type SystemEvent } from '../../src/system/index.ts';
import { MK_MACHINE } from './fixtures.ts';

/** A machine and a scenario to boot on it. */
export interface ScenarioCase {
  readonly config: MachineConfig;
  readonly scenario: KernelScenario;
}

/** A scenario and a trace of events to run from its boot. */
export interface TraceCase extends ScenarioCase {
  readonly events: readonly SystemEvent[];
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

const DOMAIN_NAMES = ['red', 'green', 'blue'] as const;

/** Page size of MK_MACHINE (64 words); programs load at one page (0x100), the default origin. */
const PAGE = MK_MACHINE.wordsPerFrame * 4;
const ORIGIN = PAGE;

/** Where extra pages go: in the code's 4 KiB table region, the next one, and one further away. */
const PAGE_VAS = [0x200, 0x300, 0x400, 0x800, 0xf00, 0x1000, 0x1100, 0x2000] as const;

/** Bounded lists: fast-check's default size would grow past what the 64-frame machine holds. */
const small = { size: 'small' } as const;

/** Rights strings: every subset of R, W, G, P, with full rights and none among them. */
const RIGHT_LETTERS = ['R', 'W', 'G', 'P'] as const;
const arbRights: fc.Arbitrary<string> = fc.subarray([...RIGHT_LETTERS]).map((r) => r.join(''));

/**
 * One line of a tiny program. Programs make system calls with whatever is in the registers,
 * load and store near their pages, loop, wait, or hit an undefined word.
 */
const arbProgramLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 15 }).map((s) => `addi r1, r0, ${s}`) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 8 }).map((n) => `addi r2, r0, ${n}`) },
  { weight: 2, arbitrary: fc.integer({ min: -3, max: 300 }).map((v) => `addi r3, r0, ${v}`) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }).map((s) => `addi r11, r0, ${s}`) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 9 }).map((n) => `svc #${n}`) },
  { weight: 2, arbitrary: fc.constantFrom(...PAGE_VAS, 0x600, 0x0).map((va) => `li r6, ${va}\n  st r3, 0(r6)`) },
  { weight: 2, arbitrary: fc.constantFrom(...PAGE_VAS, ORIGIN).map((va) => `li r6, ${va}\n  ld r4, 0(r6)`) },
  { weight: 2, arbitrary: fc.constant('add r3, r3, r3') },
  { weight: 1, arbitrary: fc.constant('b start') },
  { weight: 1, arbitrary: fc.constant('wfi') },
  { weight: 1, arbitrary: fc.nat().map((w) => `.word ${w}`) },
);

/**
 * What a thread's program does. Random programs exercise odd paths; the others are the
 * shapes of real seL4 components — a server looping in Recv/ReplyRecv, a client calling it,
 * a notification signaller and waiter — so that fetched code meets in IPC, not only injected
 * system calls.
 */
type Role = 'server' | 'client' | 'signaller' | 'waiter' | 'random';

interface RawProgram {
  readonly role: Role;
  readonly lines: readonly string[];
  readonly loop: boolean;
  readonly label: number;
  readonly length: number;
  readonly transfer: boolean;
  readonly call: boolean;
}

const arbRawProgram: fc.Arbitrary<RawProgram> = fc.record(
  {
    role: fc.constantFrom<Role>('server', 'server', 'client', 'client', 'signaller', 'waiter', 'waiter', 'random', 'random'),
    lines: fc.array(arbProgramLine, { minLength: 0, maxLength: 6 }),
    loop: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    label: fc.integer({ min: 0, max: 30 }),
    length: fc.integer({ min: 0, max: 4 }),
    transfer: fc.boolean(),
    call: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  },
  { noNullPrototype: true },
);

/** A placed IPC cap, as the program builder needs it. */
interface PlacedIpc {
  readonly slot: number;
  readonly kind: 'endpoint' | 'notification';
  readonly rights: string;
}

/** The text of a thread's program, naming the slots its caps actually landed in. */
function programText(p: RawProgram, ipc: readonly PlacedIpc[], freeSlot: number, anyCap: number, serves: number | null, mapped: readonly number[]): string {
  const slotFor = (kind: PlacedIpc['kind'], right: string): number =>
    (ipc.find((c) => c.kind === kind && c.rights.includes(right)) ?? ipc.find((c) => c.kind === kind) ?? ipc[0])?.slot ?? 0;
  // Components keep to their own pages and to instructions that do not fault; only random
  // programs run into the undefined, the privileged and the unmapped (a thread that faults
  // with no handler stops, and a trace of stopped threads exercises nothing).
  const benign = (line: string): boolean => {
    if (/wfi|\.word|svc #9/.test(line)) return false;
    const va = /li r6, (\d+)/.exec(line);
    return va === null || mapped.includes(Number(va[1]));
  };
  const role = serves === null ? p.role : 'server';
  const extra = p.lines.filter((l) => role === 'random' || benign(l)).map((l) => `  ${l}`);
  const lines: string[] = ['start:'];
  const info = (label: number, length: number, extraCaps: number): number => encodeInfo({ label, capsUnwrapped: 0, extraCaps, length });
  switch (role) {
    case 'server': {
      const ep = serves ?? slotFor('endpoint', 'R');
      lines.push(`  addi r1, r0, ${ep}`, `  addi r11, r0, ${freeSlot}`, `  svc #${SYSCALL.RECV}`, 'loop:', ...extra);
      lines.push(`  addi r2, r0, ${info(0, p.length, 0)}`, `  addi r1, r0, ${ep}`, `  addi r11, r0, ${freeSlot}`, `  svc #${SYSCALL.REPLY_RECV}`, '  b loop');
      break;
    }
    case 'client': {
      lines.push(`  addi r1, r0, ${slotFor('endpoint', 'W')}`, `  addi r2, r0, ${info(p.label, p.length, p.transfer ? 1 : 0)}`, `  addi r3, r0, ${p.label + 40}`);
      if (p.transfer) lines.push(`  addi r11, r0, ${anyCap}`);
      lines.push(`  svc #${p.call ? SYSCALL.CALL : SYSCALL.SEND}`, ...extra, '  b start');
      break;
    }
    case 'signaller':
      lines.push(`  addi r1, r0, ${slotFor('notification', 'W')}`, `  svc #${SYSCALL.SEND}`, ...extra, '  b start');
      break;
    case 'waiter':
      lines.push(`  addi r1, r0, ${slotFor('notification', 'R')}`, `  svc #${SYSCALL.RECV}`, ...extra, '  b start');
      break;
    case 'random':
      lines.push(...(extra.length > 0 ? extra : ['  add r3, r3, r3']), ...(p.loop ? ['  b start'] : []));
      break;
  }
  // Injected instructions advance the pc like fetched ones (HW-EXEC-1), so a thread that was
  // injected into drifts past the end of its code: fill the rest of the page with branches
  // back to the start (a random program that does not loop still runs off its end).
  const words = lines.reduce((n, l) => n + (l.endsWith(':') ? 0 : l.includes('li ') ? 2 : 1), 0);
  if (role !== 'random' || p.loop) for (let i = words; i < PAGE / 4; i++) lines.push('  b start');
  return lines.join('\n');
}

interface RawPage {
  readonly va: number;
  readonly shared: number | null;
  readonly write: boolean;
  readonly execute: boolean;
}

interface RawCap {
  readonly slot: number;
  /** Index into the scenario's cap-able names. */
  readonly object: number;
  /** Put the cap in its object's conventional slot (so several threads agree on slot numbers). */
  readonly conventional: boolean;
  readonly rights: string;
  readonly badge: number | null;
}

interface RawThread {
  readonly domain: number;
  readonly priority: number;
  readonly cpu: number;
  readonly cnodeBits: number;
  readonly vspace: boolean;
  readonly program: RawProgram | null;
  readonly pages: readonly RawPage[];
  readonly caps: readonly RawCap[];
  /** A cap to a notification, often without Write: signalling through it must fail (MK-ENTRY-3). */
  readonly ntfnCap: { readonly notification: number; readonly rights: string } | null;
  /** A cap to a shared frame, with random rights (mapping it read-only or writable is the test). */
  readonly frameCap: { readonly frame: number; readonly rights: string } | null;
  /** Caps to shared endpoints and notifications, so that threads meet in IPC. */
  readonly ipc: readonly { readonly object: number; readonly rights: string; readonly badge: number | null }[];
  readonly faultHandler: { readonly endpoint: number; readonly rights: string } | null;
  readonly ownCspace: boolean;
  readonly ownTcb: boolean;
  readonly buddy: number | null;
  /** An endpoint only this thread holds (it can wait on it; its buddy can delete it from under it). */
  readonly privateEndpoint: boolean;
  readonly start: boolean;
}

const arbRawThread: fc.Arbitrary<RawThread> = fc.record(
  {
    domain: fc.nat(2),
    // Mostly a few equal priorities, so round robin and preemption both happen.
    priority: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    cpu: fc.nat(1),
    cnodeBits: fc.constantFrom(3, 4),
    vspace: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    program: fc.option(arbRawProgram, { freq: 10 }),
    pages: fc.array(
      fc.record({ va: fc.constantFrom(...PAGE_VAS), shared: fc.option(fc.nat(2), { freq: 2 }), write: fc.boolean(), execute: fc.boolean() }, { noNullPrototype: true }),
      { maxLength: 2 },
    ),
    caps: fc.array(
      fc.record(
        {
          slot: fc.nat(15),
          object: fc.nat(40),
          conventional: fc.boolean(),
          rights: fc.oneof(fc.constant('RWGP'), arbRights),
          badge: fc.option(fc.integer({ min: 1, max: 9 }), { freq: 2 }),
        },
        { noNullPrototype: true },
      ),
      { maxLength: 6, ...small },
    ),
    ntfnCap: fc.option(fc.record({ notification: fc.nat(2), rights: fc.constantFrom('R', 'R', 'RG', '', 'W', 'RW') }, { noNullPrototype: true }), { freq: 2 }),
    // Mostly read-only: mapping it writable must not make the page writable (MK-VM-3).
    frameCap: fc.option(fc.record({ frame: fc.nat(2), rights: fc.constantFrom('R', 'R', 'R', 'RG', 'RW', 'RW', 'W', 'RWGP', '') }, { noNullPrototype: true }), { freq: 2 }),
    ipc: fc.array(
      fc.record(
        {
          object: fc.nat(4),
          // Mostly with Grant or GrantReply: a Call without either stops the caller (MK-IPC-6).
          rights: fc.constantFrom('RWGP', 'RWGP', 'RWP', 'RW', 'R', 'W', 'WG', 'WP', 'RG', 'WGP', 'RWG'),
          badge: fc.option(fc.integer({ min: 1, max: 9 }), { freq: 2 }),
        },
        { noNullPrototype: true },
      ),
      { minLength: 1, maxLength: 2 },
    ),
    faultHandler: fc.option(fc.record({ endpoint: fc.nat(2), rights: fc.constantFrom('WG', 'WP', 'WGP', 'RWGP', 'W') }, { noNullPrototype: true }), {
      freq: 3,
    }),
    ownCspace: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 2, arbitrary: fc.constant(false) }),
    ownTcb: fc.boolean(),
    buddy: fc.option(fc.nat(4), { freq: 2 }),
    privateEndpoint: fc.boolean(),
    start: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  },
  { noNullPrototype: true },
);

const arbRawScenario = fc.record(
  {
    cpus: fc.integer({ min: 1, max: 2 }),
    domains: fc.integer({ min: 1, max: 3 }),
    endpoints: fc.integer({ min: 1, max: 3 }),
    notifications: fc.integer({ min: 0, max: 3 }),
    frames: fc.integer({ min: 0, max: 2 }),
    deviceFrame: fc.boolean(),
    sharedUntyped: fc.option(fc.integer({ min: 8, max: 9 }), { freq: 3 }),
    threads: fc.array(arbRawThread, { minLength: 2, maxLength: 5 }),
    untyped: fc.array(fc.record({ thread: fc.nat(4), sizeBits: fc.integer({ min: 8, max: 10 }) }, { noNullPrototype: true }), { minLength: 1, maxLength: 3 }),
    irqs: fc.array(fc.record({ line: fc.integer({ min: 3, max: 7 }), notification: fc.nat(1), badge: fc.integer({ min: 1, max: 8 }) }, { noNullPrototype: true }), {
      maxLength: 2,
    }),
    partitioned: fc.boolean(),
    /** For each endpoint, the thread (if any) that serves it: holds all rights and loops in Recv/ReplyRecv. */
    servers: fc.array(fc.option(fc.nat(4), { freq: 4 }), { minLength: 3, maxLength: 3 }),
    timeslice: fc.integer({ min: 1, max: 5 }),
    schedule: fc.option(fc.array(fc.record({ domain: fc.nat(2), ticks: fc.integer({ min: 1, max: 4 }) }, { noNullPrototype: true }), { minLength: 1, maxLength: 3 }), {
      freq: 2,
    }),
  },
  { noNullPrototype: true },
);

type RawScenario = typeof arbRawScenario extends fc.Arbitrary<infer T> ? T : never;

/** The 4 KiB table region of a virtual address: each distinct one needs a page table at boot. */
const region = (va: number): number => Math.floor(va / (PAGE * 16));

/** How many caps boot puts in a thread's CNode itself (MK-BOOT-4): VSpace, tables, code, pages. */
function ownCapCount(t: RawThread): number {
  if (!t.vspace) return 0;
  const vas = [...(t.program !== null ? [ORIGIN] : []), ...t.pages.map((p) => p.va)];
  return 1 + new Set(vas.map(region)).size + vas.length;
}

/** The lowest slot left empty once boot has put `own` caps in the highest free slots (MK-BOOT-4). */
function firstFree(used: ReadonlySet<number>, size: number, own: number): number {
  const taken = new Set(used);
  for (let s = size - 1, n = own; s >= 0 && n > 0; s--) {
    if (taken.has(s)) continue;
    taken.add(s);
    n--;
  }
  for (let s = 0; s < size; s++) if (!taken.has(s)) return s;
  return size - 1;
}

/** Turns raw choices into a scenario that names only things that exist and fits its CNodes. */
function buildScenario(raw: RawScenario): ScenarioCase {
  const domains = DOMAIN_NAMES.slice(0, raw.domains);
  const objects: NonNullable<KernelScenario['objects']>[number][] = [];
  const eps = Array.from({ length: raw.endpoints }, (_, i) => `ep${i}`);
  const ntfns = Array.from({ length: raw.notifications }, (_, i) => `ntfn${i}`);
  const frames = Array.from({ length: raw.frames }, (_, i) => `frame${i}`);
  for (const name of eps) objects.push({ name, type: 'endpoint' });
  for (const name of ntfns) objects.push({ name, type: 'notification' });
  for (const name of frames) objects.push({ name, type: 'frame' });
  if (raw.deviceFrame) objects.push({ name: 'console', type: 'frame', device: 0 });
  if (raw.sharedUntyped !== null) objects.push({ name: 'pool', type: 'untyped', sizeBits: raw.sharedUntyped });
  raw.threads.forEach((t, i) => {
    if (t.privateEndpoint) objects.push({ name: `private${i}`, type: 'endpoint' });
  });
  const threadNames = raw.threads.map((_, i) => `t${i}`);
  const capNames = [
    ...objects.map((o) => o.name),
    ...threadNames.flatMap((t, i) => [`${t}.tcb`, `${t}.cspace`, ...(raw.threads[i]!.vspace ? [`${t}.vspace`] : [])]),
    'irqcontrol',
  ];
  /**
   * Partitioned scenarios (about half) give each shared object a home domain. Only its home
   * holds caps to it, except that notifications are shared across domains (with the rights
   * drawn) and frames read-only: a sparse authority graph, in which MK-PROP-3 has something
   * to check. Unpartitioned scenarios share freely (and their authority graphs are often
   * complete). Returns the rights to give, or null for no cap.
   */
  const homeOf = (object: string): number => {
    const dot = object.lastIndexOf('.');
    if (dot > 0) return raw.threads[threadNames.indexOf(object.slice(0, dot))]!.domain % domains.length;
    const own = /^private(\d+)$/.exec(object);
    if (own !== null) return raw.threads[Number(own[1])]!.domain % domains.length;
    const i = objects.findIndex((o) => o.name === object);
    return i < 0 ? 0 : i % domains.length;
  };
  const partition = (object: string, domain: number, rights: string): string | null => {
    if (!raw.partitioned || homeOf(object) === domain) return rights;
    if (ntfns.includes(object)) return rights;
    if (frames.includes(object)) return rights.replace('W', '');
    return null;
  };
  const untypedBy = new Map<number, number[]>();
  raw.untyped.forEach((u) => {
    const t = u.thread % raw.threads.length;
    untypedBy.set(t, [...(untypedBy.get(t) ?? []), u.sizeBits]);
  });
  const untyped: { thread: string; slot: number; sizeBits: number }[] = [];
  const threads: ThreadSpec[] = raw.threads.map((t, i) => {
    const name = threadNames[i]!;
    const size = 2 ** t.cnodeBits;
    let room = size - ownCapCount(t);
    const used = new Set<number>();
    const caps: { slot: number; object: string; rights: string; badge?: number }[] = [];
    const domain = t.domain % domains.length;
    const place = (slot: number, object: string, wanted: string, badge: number | null): number | null => {
      const rights = partition(object, domain, wanted);
      if (room <= 0 || rights === null) return null;
      let s = slot % size;
      while (used.has(s)) s = (s + 1) % size;
      used.add(s);
      room--;
      caps.push({ slot: s, object, rights, ...(badge === null ? {} : { badge }) });
      return s;
    };
    // A fault handler first, so it always fits: an endpoint with Write and (usually) Grant.
    const handlerEp = t.faultHandler === null ? undefined : eps.find((e, j) => j >= t.faultHandler!.endpoint % eps.length && partition(e, domain, 'W') !== null) ?? eps.find((e) => partition(e, domain, 'W') !== null);
    const faultEndpoint = t.faultHandler === null || handlerEp === undefined ? null : place(2, handlerEp, t.faultHandler.rights, null);
    if (t.ownCspace) place(0, `${name}.cspace`, 'RWGP', null);
    if (t.ownTcb) place(1, `${name}.tcb`, 'RWGP', null);
    // A supervisor's caps to another thread's TCB and CSpace (of its own domain, when
    // partitioned): it can resume that thread when it stops, and take caps from under it while
    // it waits — down to the last cap to what it waits on (MK-IPC-8).
    if (t.buddy !== null) {
      const other = threadNames[t.buddy % threadNames.length]!;
      place(9, `${other}.tcb`, 'RWGP', null);
      place(8, `${other}.cspace`, 'RWGP', null);
    }
    const ipcObjects = [...eps, ...ntfns];
    const placedIpc: PlacedIpc[] = [];
    const served = t.vspace && t.program !== null ? eps.findIndex((ep, e) => raw.servers[e] !== null && raw.servers[e]! % raw.threads.length === i && partition(ep, domain, 'R') !== null) : -1;
    const serves = served < 0 ? null : place(3 + served, eps[served]!, 'RWGP', null);
    for (const c of t.ipc) {
      const index = c.object % ipcObjects.length;
      const slot = place(3 + index, ipcObjects[index]!, c.rights, c.badge);
      if (slot !== null) placedIpc.push({ slot, kind: index < eps.length ? 'endpoint' : 'notification', rights: partition(ipcObjects[index]!, domain, c.rights)! });
    }
    if (t.frameCap !== null && frames.length > 0) place(10, frames[t.frameCap.frame % frames.length]!, t.frameCap.rights, null);
    if (t.ntfnCap !== null && ntfns.length > 0) {
      const n = ntfns[t.ntfnCap.notification % ntfns.length]!;
      const slot = place(12, n, t.ntfnCap.rights, null);
      if (slot !== null) placedIpc.push({ slot, kind: 'notification', rights: partition(n, domain, t.ntfnCap.rights)! });
    }
    if (t.privateEndpoint) place(11, `private${i}`, 'RWGP', null);
    for (const c of t.caps) {
      const index = c.object % capNames.length;
      place(c.conventional ? 3 + index : c.slot, capNames[index]!, c.rights, c.badge);
    }
    for (const bits of untypedBy.get(i) ?? []) {
      if (room <= 0) break;
      let s = 5 % size;
      while (used.has(s)) s = (s + 1) % size;
      used.add(s);
      room--;
      untyped.push({ thread: name, slot: s, sizeBits: bits });
    }
    const program = t.vspace && t.program !== null ? programText(t.program, placedIpc, firstFree(used, size, ownCapCount(t)), caps[0]?.slot ?? 0, serves, [ORIGIN, ...t.pages.map((pg) => pg.va)]) : null;
    // A page of a shared frame is mapped through a read-write cap (MK-BOOT-4): partitioned, only its home domain may.
    const sharedPage = (p: RawPage): string | null => (p.shared === null || frames.length === 0 ? null : frames[p.shared % frames.length]!);
    const pages = [...new Map(t.pages.map((p) => [p.va, p])).values()].map((p) => ({
      va: p.va,
      ...(sharedPage(p) === null || partition(sharedPage(p)!, domain, 'W') !== 'W' ? {} : { frame: sharedPage(p)! }),
      write: p.write,
      execute: p.execute,
    }));
    return {
      name,
      domain: domains[t.domain % domains.length]!,
      priority: t.priority,
      cpu: t.cpu % raw.cpus,
      cnodeBits: t.cnodeBits,
      vspace: t.vspace,
      ...(program === null ? {} : { program }),
      ...(t.vspace ? { pages } : {}),
      caps,
      ...(faultEndpoint === null ? {} : { faultEndpoint }),
      start: t.start,
    };
  });
  const irqs = ntfns.length === 0 ? [] : [...new Map(raw.irqs.map((q) => [q.line, q])).values()].map((q) => ({ line: q.line, notification: ntfns[q.notification % ntfns.length]!, badge: q.badge }));
  const schedule = raw.schedule === null || domains.length < 2 ? undefined : raw.schedule.map((s) => ({ domain: domains[s.domain % domains.length]!, ticks: s.ticks }));
  const scenario: KernelScenario = {
    kernel: { timeslice: raw.timeslice, ...(schedule === undefined ? {} : { domainSchedule: schedule }) },
    domains,
    objects,
    threads,
    untyped,
    irqs,
  };
  return { config: { ...MK_MACHINE, cpus: raw.cpus }, scenario };
}

/** Boots a scenario case, or returns null when the scenario is rejected. */
export function tryBoot(c: ScenarioCase): MicrokernelSystem | null {
  const r = bootMicrokernel(c.config, c.scenario);
  return E.isRight(r) ? r.right : null;
}

/** Boots a scenario case that is known to boot. */
export function bootCase(c: ScenarioCase): MicrokernelSystem {
  const r = bootMicrokernel(c.config, c.scenario);
  if (E.isLeft(r)) throw new Error(`arbitraries: scenario does not boot: ${r.left.message}`);
  return r.right;
}

/** Random valid microkernel scenarios on MK_MACHINE with 1 or 2 CPUs (only those that boot). */
export const arbScenario: fc.Arbitrary<ScenarioCase> = arbRawScenario.map(buildScenario).filter((c) => tryBoot(c) !== null);

// ---------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------

/** A raw action: what kind of thing happens, on which CPU, and the random numbers it draws from. */
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
class Chooser {
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
  /** A 32-bit word biased to interesting values. */
  word(): number {
    return this.pick([0, 1, 2, 0xffffffff, 0x7fffffff, 0x80000000, this.next(), this.next() >>> 0, this.int(0, 300)])!;
  }
}

function word(i: Instruction): number {
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

/** What the resolver knows about the thread on a CPU: its caps by type, slots, and VSpace. */
interface Running {
  readonly id: ObjId;
  readonly tcb: Tcb;
  /** Slot index of every cap in its CSpace, and the cap's identity. */
  readonly slots: readonly { index: number; cap: Cap; id: number }[];
  readonly size: number;
  readonly free: readonly number[];
}

function runningOn(k: KernelState, cpu: number): Running | null {
  const id = k.cpus[cpu]?.current ?? null;
  if (id === null) return null;
  const tcb = k.objects[id];
  if (tcb?.type !== 'tcb') return null;
  const node = tcb.cspace === null ? null : k.objects[tcb.cspace];
  if (node?.type !== 'cnode') return { id, tcb, slots: [], size: 0, free: [] };
  const slots: { index: number; cap: Cap; id: number }[] = [];
  const free: number[] = [];
  node.slots.forEach((cte, index) => (cte === null ? free.push(index) : slots.push({ index, cap: cte.cap, id: cte.id })));
  return { id, tcb, slots, size: node.slots.length, free };
}

const slotsOf = (r: Running, pred: (c: Cap) => boolean): number[] => r.slots.filter((s) => pred(s.cap)).map((s) => s.index);

/** A system call: registers to set (in order) and the SVC number. */
interface Syscall {
  readonly regs: readonly (readonly [number, number])[];
  readonly n: number;
}

const info = (label: number, length: number, extraCaps = 0): number => encodeInfo({ label, capsUnwrapped: 0, extraCaps, length });

/**
 * Arguments for an object invocation on the running thread `r`, chosen to mostly make sense:
 * the label of an operation the cap supports, slots that hold the right kind of cap, free
 * destination slots, object types and sizes in range, addresses that are page-aligned and
 * where page tables exist.
 */
/** Whether threads are queued on endpoint or notification `obj`. */
function hasWaiters(k: KernelState, obj: ObjId): boolean {
  const o = k.objects[obj];
  return (o?.type === 'endpoint' && o.queue.kind !== 'idle') || (o?.type === 'notification' && o.waiting.length > 0);
}

/** How many stored caps name each object. */
function holdersByObject(k: KernelState): Map<ObjId, number> {
  const out = new Map<ObjId, number>();
  for (const { cte } of allCaps(k)) if ('obj' in cte.cap) out.set(cte.cap.obj, (out.get(cte.cap.obj) ?? 0) + 1);
  return out;
}

function invocation(sys: MicrokernelSystem, r: Running, ch: Chooser): Syscall {
  const capHolders = holdersByObject(sys.state);
  const anySlot = (): number => ch.int(0, Math.max(0, r.size - 1));
  const cptr = (pred: (c: Cap) => boolean): number => ch.mostly(slotsOf(r, pred), 90, anySlot);
  const freeSlot = (): number => ch.mostly(r.free, 85, anySlot);
  const is = (t: Cap['type']) => (c: Cap) => c.type === t;
  const targets = r.slots.map((s) => s.cap.type);
  /** A CNode cap to invoke, and slot choices in the CNode it names (often another thread's). */
  const cnodeTarget = () => {
    const at = cptr(is('cnode'));
    const cap = r.slots.find((x) => x.index === at)?.cap;
    const node = cap?.type === 'cnode' ? sys.state.objects[cap.obj] : null;
    const slots = node?.type === 'cnode' ? node.slots : [];
    const entries = slots.flatMap((cte, index) => (cte === null ? [] : [{ index, cap: cte.cap, id: cte.id }]));
    const freeIdx = slots.flatMap((cte, index) => (cte === null ? [index] : []));
    const any = (): number => ch.int(0, Math.max(0, slots.length - 1));
    return {
      cptr: at,
      entries,
      slotsOf: (pred: (c: Cap) => boolean): number[] => entries.filter((x) => pred(x.cap)).map((x) => x.index),
      used: (): number => ch.mostly(entries.map((x) => x.index), 90, any),
      free: (): number => ch.mostly(freeIdx, 85, any),
    };
  };
  // Choose an operation among those the thread has caps for (and, now and then, any at all),
  // weighted toward the ones that can succeed: Frame_Map needs an unmapped frame cap, and so on.
  const has = (pred: (c: Cap) => boolean): boolean => r.slots.some((x) => pred(x.cap));
  const unmappedFrame = (c: Cap) => c.type === 'frame' && c.mapping === null;
  const unmappedTable = (c: Cap) => c.type === 'pagetable' && c.mapping === null;
  const weights: [string, number][] = [];
  const add = (pred: boolean, w: number, ...names: string[]): void => {
    if (pred) for (const n of names) weights.push([n, w]);
  };
  add(targets.includes('untyped'), 6, 'retype');
  add(targets.includes('cnode'), 2, 'copy', 'mint', 'move', 'delete', 'revoke', 'revoke');
  add(targets.includes('cnode'), 1, 'cancelBadged');
  // Caps to what threads wait on, within reach of a CNode cap: deleting them is the way to MK-IPC-8.
  const reachWaited = r.slots.some((x) => {
    const node = x.cap.type === 'cnode' ? sys.state.objects[x.cap.obj] : null;
    return node?.type === 'cnode' && node.slots.some((cte) => cte !== null && 'obj' in cte.cap && hasWaiters(sys.state, cte.cap.obj));
  });
  add(reachWaited, 8, 'delete');
  add(targets.includes('tcb'), 1, 'configure', 'priority', 'resume', 'resume', 'suspend', 'readRegs', 'writeRegs', 'bind', 'unbind');
  add(has(unmappedFrame), 6, 'map');
  add(targets.includes('frame'), 2, 'unmap');
  add(targets.includes('frame') && !has(unmappedFrame), 1, 'map');
  add(has(unmappedTable), 4, 'ptMap');
  add(targets.includes('pagetable'), 1, 'ptUnmap');
  add(targets.includes('irqcontrol'), 2, 'irqGet');
  add(targets.includes('irqhandler'), 1, 'irqSet', 'irqAck', 'irqClear');
  add(true, weights.length === 0 ? 1 : 0.5, 'garbage');
  const total = weights.reduce((a, [, w]) => a + w, 0);
  let roll = (ch.next() % 10_000) / 10_000 * total;
  const op = (weights.find(([, w]) => (roll -= w) < 0) ?? weights[weights.length - 1]!)[0];
  const call = (cap: number, label: number, mrs: readonly number[], xcap?: number, extraCaps = 0): Syscall => ({
    regs: [
      [1, cap],
      [2, info(label, mrs.length, extraCaps)],
      ...mrs.map((v, i) => [3 + i, v] as const),
      ...(xcap === undefined ? [] : [[11, xcap] as const]),
    ],
    n: ch.chance(85) ? SYSCALL.CALL : SYSCALL.SEND,
  });
  switch (op) {
    case 'retype': {
      // Mostly frames and TCBs: frames are zeroed memory that lands next to other domains'
      // objects, and a new TCB must join its maker's domain (MK-ISO-1).
      const { FRAME, TCB, ENDPOINT, NOTIFICATION } = OBJECT_TYPE;
      const type = ch.chance(95) ? ch.pick([FRAME, FRAME, FRAME, TCB, TCB, ENDPOINT, ENDPOINT, NOTIFICATION, ch.int(0, 7), ch.int(0, 7)])! : ch.pick([8, 100, 0xffffffff])!;
      const bits = type === OBJECT_TYPE.UNTYPED ? ch.int(4, 9) : type === OBJECT_TYPE.CNODE ? ch.int(1, 4) : ch.chance(80) ? 0 : ch.int(0, 40);
      const at = cptr(is('untyped'));
      // Often exactly what is left: filling an untyped to its end is where an object's memory
      // meets its neighbour's (and the next retype's NOT_ENOUGH_MEMORY).
      const ut = ((c) => (c?.type === 'untyped' ? sys.state.objects[c.obj] : null))(r.slots.find((x) => x.index === at)?.cap);
      const objBits = type === OBJECT_TYPE.FRAME || type === OBJECT_TYPE.PAGETABLE || type === OBJECT_TYPE.VSPACE ? Math.log2(PAGE) : type === OBJECT_TYPE.TCB ? 6 : 4;
      const left = ut?.type === 'untyped' ? Math.floor((2 ** ut.sizeBits - ut.watermark) / 2 ** objBits) : 0;
      // Each object needs a free slot, in one run of slots.
      const longest = r.free.reduce((best, f) => Math.max(best, r.free.filter((x) => x >= f && x < f + 16 && Array.from({ length: x - f + 1 }, (_, j) => f + j).every((y) => r.free.includes(y))).length), 0);
      const fits = Math.max(1, Math.min(longest, 16));
      const count = left >= 1 && ch.chance(40) ? Math.min(left, fits) : ch.chance(90) ? ch.int(1, Math.min(4, fits)) : ch.pick([0, 16, 17])!;
      const intoOther = ch.chance(15);
      // A run of free slots, so that every object of the batch has one.
      const runs = r.free.filter((f) => Array.from({ length: count }, (_, j) => f + j).every((x) => r.free.includes(x)));
      const dest = ch.mostly(runs, 85, freeSlot);
      return call(at, INVOCATION.UNTYPED_RETYPE, [type, bits, dest, count], intoOther ? cptr(is('cnode')) : undefined, intoOther ? 1 : 0);
    }
    case 'copy':
    case 'mint':
    case 'move': {
      const label = op === 'copy' ? INVOCATION.CNODE_COPY : op === 'mint' ? INVOCATION.CNODE_MINT : INVOCATION.CNODE_MOVE;
      const rights = ch.chance(50) ? 15 : ch.int(0, 15);
      const node = cnodeTarget();
      // A copy of a mapped frame cap is an unmapped one (MK-CAP-5): the way to map a frame twice.
      const source = ch.mostly(node.slotsOf((c) => c.type === 'frame' || c.type === 'endpoint'), 40, node.used);
      return call(node.cptr, label, [node.free(), source, rights, ch.int(0, 12)]);
    }
    case 'delete': {
      // Often an endpoint or notification that threads wait on, best the last cap to it:
      // destroying it must restart them (MK-IPC-8, MK-NTFN-4). The waiters hold caps of their
      // own, so this is reached by deleting caps in other threads' CNodes one after another.
      const node = cnodeTarget();
      const ipcSlots = node.slotsOf((c) => c.type === 'endpoint' || c.type === 'notification');
      const waited = node.slotsOf((c) => 'obj' in c && hasWaiters(sys.state, c.obj));
      const last = node.slotsOf((c) => 'obj' in c && (capHolders.get(c.obj) ?? 0) === 1 && hasWaiters(sys.state, c.obj));
      return call(node.cptr, INVOCATION.CNODE_DELETE, [ch.mostly(last, 70, () => ch.mostly(waited, 50, () => ch.mostly(ipcSlots, 40, node.used)))]);
    }
    case 'revoke': {
      // Revoking a cap with children (an untyped with objects, an original with copies) is what deletes the most.
      const node = cnodeTarget();
      const parents = new Set(allCaps(sys.state).map((c) => c.cte.parent));
      const withChildren = node.entries.filter((x) => parents.has(x.id)).map((x) => x.index);
      return call(node.cptr, INVOCATION.CNODE_REVOKE, [ch.mostly(withChildren, 70, () => ch.mostly(node.slotsOf((c) => c.type === 'untyped' || c.type === 'endpoint'), 60, node.used))]);
    }
    case 'cancelBadged':
      return call(cptr(is('cnode')), INVOCATION.CNODE_CANCEL_BADGED_SENDS, [cptr(is('endpoint'))]);
    case 'configure': {
      const none = 0xffffffff;
      const maybe = (v: () => number): number => (ch.chance(60) ? none : v());
      return call(cptr(is('tcb')), INVOCATION.TCB_CONFIGURE, [
        maybe(() => cptr(is('endpoint'))),
        maybe(() => cptr(is('cnode'))),
        maybe(() => cptr(is('vspace'))),
        maybe(() => ch.int(0, 2)),
        maybe(() => ch.int(0, 3)),
      ]);
    }
    case 'priority':
      return call(cptr(is('tcb')), INVOCATION.TCB_SET_PRIORITY, [ch.chance(90) ? ch.int(0, 5) : ch.int(0, 300)]);
    case 'resume': {
      // Mostly a thread that is stopped, so that resuming brings it back.
      const stopped = slotsOf(r, (c) => c.type === 'tcb' && (() => { const t = sys.state.objects[c.obj]; return t?.type === 'tcb' && t.state.kind === 'inactive'; })());
      return call(ch.mostly(stopped, 80, () => cptr(is('tcb'))), INVOCATION.TCB_RESUME, []);
    }
    case 'suspend':
      return call(cptr(is('tcb')), INVOCATION.TCB_SUSPEND, []);
    case 'readRegs':
      return call(cptr(is('tcb')), INVOCATION.TCB_READ_REGISTERS, [ch.int(0, 15), ch.int(0, 9)]);
    case 'writeRegs': {
      const first = ch.int(0, 15);
      const count = ch.int(0, 7);
      return call(cptr(is('tcb')), INVOCATION.TCB_WRITE_REGISTERS, [first, count, ...Array.from({ length: Math.min(count, 6) }, () => ch.word())]);
    }
    case 'bind':
      return call(cptr(is('tcb')), INVOCATION.TCB_BIND_NOTIFICATION, [], cptr(is('notification')), 1);
    case 'unbind':
      return call(cptr(is('tcb')), INVOCATION.TCB_UNBIND_NOTIFICATION, []);
    case 'map': {
      const unmapped = slotsOf(r, unmappedFrame);
      const frame = ch.mostly(unmapped, 85, () => cptr(is('frame')));
      return call(frame, INVOCATION.FRAME_MAP, [mapVa(sys, r, ch), ch.int(0, 3)], cptr(is('vspace')), 1);
    }
    case 'unmap': {
      const mapped = slotsOf(r, (c) => c.type === 'frame' && c.mapping !== null);
      return call(ch.mostly(mapped, 85, () => cptr(is('frame'))), INVOCATION.FRAME_UNMAP, []);
    }
    case 'ptMap':
      return call(ch.mostly(slotsOf(r, unmappedTable), 85, () => cptr(is('pagetable'))), INVOCATION.PAGETABLE_MAP, [ch.int(0, 15) * PAGE * 16 + ch.int(0, 15) * PAGE], cptr(is('vspace')), 1);
    case 'ptUnmap':
      return call(cptr(is('pagetable')), INVOCATION.PAGETABLE_UNMAP, []);
    case 'irqGet':
      return call(cptr(is('irqcontrol')), INVOCATION.IRQ_CONTROL_GET, [ch.chance(85) ? ch.int(3, 7) : ch.int(0, 9), freeSlot()]);
    case 'irqSet':
      return call(cptr(is('irqhandler')), INVOCATION.IRQ_HANDLER_SET_NOTIFICATION, [], cptr(is('notification')), 1);
    case 'irqAck':
      return call(cptr(is('irqhandler')), INVOCATION.IRQ_HANDLER_ACK, []);
    case 'irqClear':
      return call(cptr(is('irqhandler')), INVOCATION.IRQ_HANDLER_CLEAR, []);
    default:
      // Any label on any cap, with random arguments: the kernel must reject what makes no sense.
      return call(anySlot(), ch.int(0, 25), Array.from({ length: ch.int(0, 8) }, () => ch.word()), anySlot(), ch.int(0, 3));
  }
}

/**
 * A virtual address to map a frame at: usually a free page in a 4 KiB region of the VSpace
 * that already has its page table (so the map can succeed), sometimes any address at all.
 */
function mapVa(sys: MicrokernelSystem, r: Running, ch: Chooser): number {
  const vspaces = r.slots.flatMap((s) => (s.cap.type === 'vspace' ? [s.cap.obj] : []));
  const space = ch.pick(vspaces);
  if (space === undefined || ch.chance(10)) return ch.pick([ch.int(0, 0xffff), 0xffffffff, 0x10000, 0x101])!;
  const mapped = vspaceMappings(sys.machine, sys.state, space).map((p) => p.va);
  const regions = [...new Set(mapped.map(region))];
  const inRegion = ch.pick(regions) ?? 0;
  const candidates = Array.from({ length: 16 }, (_, i) => inRegion * PAGE * 16 + i * PAGE).filter((va) => !mapped.includes(va));
  return ch.mostly(candidates, 85, () => ch.int(0, 0xff) * PAGE);
}

/**
 * An IPC system call by the running thread, biased to endpoints and notifications it can
 * use — and, where some thread is already waiting on one, to the call that meets it: a
 * receive where senders queue, a send where receivers queue, a reply when it holds a reply
 * right.
 */
function ipcCall(k: KernelState, r: Running, ch: Chooser): Syscall {
  const anySlot = (): number => ch.int(0, Math.max(0, r.size - 1));
  const usable = (right: number) => (c: Cap) => (c.type === 'endpoint' || c.type === 'notification') && (c.rights & right) === right;
  const queued = (kind: 'send' | 'recv') => (c: Cap) => {
    const o = k.objects[c.type === 'endpoint' ? c.obj : -1];
    return o?.type === 'endpoint' && o.queue.kind === kind;
  };
  // Where someone waits — whatever this thread's rights: a send through a cap without Write
  // (or a receive without Read) must fail, and only a meeting makes a wrong success visible.
  const waitingSenders = slotsOf(r, (c) => usable(0)(c) && queued('send')(c));
  const waitingReceivers = slotsOf(r, (c) => usable(0)(c) && (queued('recv')(c) || (c.type === 'notification' && (() => { const n = k.objects[c.obj]; return n?.type === 'notification' && n.waiting.length > 0; })())));
  const lacking = (right: number): number[] => slotsOf(r, (c) => usable(0)(c) && !usable(right)(c));
  const ep = (right: number, preferred: readonly number[]): number =>
    ch.mostly(preferred, 70, () => ch.mostly(lacking(right), 20, () => ch.mostly(slotsOf(r, usable(right)), 80, () => ch.mostly(slotsOf(r, usable(0)), 70, anySlot))));
  const recvSlot = (): number => ch.mostly(r.free, 80, () => ch.int(0, r.size + 2));
  const transfer = (): number => ch.mostly(r.slots.map((s) => s.index), 85, () => ch.int(0, r.size));
  const msg = (): (readonly [number, number])[] => {
    const length = ch.int(0, 9);
    const extraCaps = ch.chance(40) ? 1 : 0;
    const regs: (readonly [number, number])[] = [[2, info(ch.int(0, 30), length, extraCaps)]];
    for (let i = 0; i < Math.min(length, 3); i++) regs.push([3 + i, ch.word()]);
    if (extraCaps > 0) regs.push([11, transfer()]);
    return regs;
  };
  const weighted: [number, number][] = [
    [SYSCALL.SEND, 2 + 6 * Math.sign(waitingReceivers.length)],
    [SYSCALL.NB_SEND, 1 + 2 * Math.sign(waitingReceivers.length)],
    [SYSCALL.CALL, 3 + 8 * Math.sign(waitingReceivers.length)],
    [SYSCALL.RECV, 3 + 10 * Math.sign(waitingSenders.length)],
    [SYSCALL.NB_RECV, 1 + 3 * Math.sign(waitingSenders.length)],
    [SYSCALL.YIELD, 1],
    [SYSCALL.REPLY, r.tcb.caller !== null ? 30 : 1],
    [SYSCALL.REPLY_RECV, r.tcb.caller !== null ? 30 : 1],
  ];
  let roll = ch.int(0, weighted.reduce((a, [, w]) => a + w, 0) - 1);
  const n = weighted.find(([, w]) => (roll -= w) < 0)![0];
  switch (n) {
    case SYSCALL.SEND:
    case SYSCALL.NB_SEND:
    case SYSCALL.CALL:
      return { regs: [[1, ep(2, waitingReceivers)], ...msg()], n };
    case SYSCALL.RECV:
    case SYSCALL.NB_RECV:
      return { regs: [[1, ep(1, waitingSenders)], [11, recvSlot()]], n };
    case SYSCALL.REPLY:
      // A reply labelled 0 restarts a faulted caller; any other label stops it (MK-FAULT-3).
      return { regs: ch.chance(70) ? [[2, info(0, ch.int(0, 3))]] : msg(), n };
    case SYSCALL.REPLY_RECV:
      return { regs: [[1, ep(1, waitingSenders)], [2, info(ch.chance(70) ? 0 : ch.int(1, 5), ch.int(0, 2))], [11, recvSlot()]], n };
    default:
      return { regs: [], n };
  }
}

/** A valid instruction other than SVC, with operands near the thread's pages: what user code does. */
function userInstruction(ch: Chooser): number {
  const reg = (): number => ch.int(0, 15);
  const imm = (): number => ch.int(-64, 64) * 4;
  // Mostly loads, stores and arithmetic; privileged and system instructions (user exceptions) less often.
  const op = ch.pick([0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 5, 6, 7, 9, ch.chance(30) ? 8 : 2])!;
  switch (op) {
    case 0:
      return word({ op: 'ld', rd: reg(), rs1: reg(), imm: imm() });
    case 1:
      return word({ op: 'st', rs2: reg(), rs1: reg(), imm: imm() });
    case 2:
      return word({ op: 'addi', rd: reg(), rs1: reg(), imm: ch.int(-100, 100) });
    case 3:
      return word({ op: 'msr', sysreg: ch.int(0, 20), rs: reg() });
    case 4:
      return word({ op: 'mrs', rd: reg(), sysreg: ch.int(0, 20) });
    case 5:
      return word({ op: 'tlbi', scope: 'all', broadcast: ch.chance(50), rs: 0 });
    case 6:
      return word({ op: ch.pick(['eret', 'wfi'] as const)! });
    case 7:
      return word({ op: 'hvc', imm: ch.int(0, 0xffff) });
    case 8:
      return word({ op: 'jalr', rd: reg(), rs1: reg(), imm: imm() });
    default:
      return word({ op: 'svc', imm: ch.pick([0, 9, 10, 0xffff, ch.int(0, 0xffff)])! });
  }
}

/**
 * What a raw action does, by its `kind` (0..999), in per mille. Hostile code and crashes are
 * rare on purpose: a thread with no fault handler dies of a random word, and a trace whose
 * threads are all dead exercises nothing.
 */
const ACTION_MIX = [
  ['invoke', 300],
  ['ipc', 270],
  ['run', 140],
  ['tick', 120],
  ['hostile', 15],
  ['user', 45],
  ['irq', 65],
  ['unknownSyscall', 10],
  ['device', 33],
  ['crash', 2],
] as const;

type ActionKind = (typeof ACTION_MIX)[number][0];

function actionKind(kind: number): ActionKind {
  let rest = kind % 1000;
  for (const [name, share] of ACTION_MIX) {
    if (rest < share) return name;
    rest -= share;
  }
  return 'run';
}

/** Steps `sys` by `event`; null if the kernel threw (the property that replays the trace reports it). */
function tryStep(sys: MicrokernelSystem, event: SystemEvent): StepResult<KernelState> | null {
  try {
    return step(microkernel, sys, event);
  } catch {
    return null;
  }
}

/**
 * Resolves raw actions into a trace, running the system alongside so each action is chosen
 * for the state it will meet. Deterministic: the same system and raw actions give the same
 * trace.
 */
export function resolveTrace(boot: MicrokernelSystem, raws: readonly RawAction[]): SystemEvent[] {
  const events: SystemEvent[] = [];
  let sys: MicrokernelSystem | null = boot;
  const emit = (e: SystemEvent): void => {
    events.push(e);
    if (sys === null) return;
    sys = tryStep(sys, e)?.system ?? null;
  };
  const cpus = boot.machine.cpus.length;
  const k0 = boot.state;
  const boundLines = k0.irqs.flatMap((l, i) => (l.target === null ? [] : [i]));
  for (const raw of raws) {
    const ch = new Chooser(raw.picks);
    const current: MicrokernelSystem | null = sys;
    if (current === null) {
      // The kernel threw: the rest of the trace is moot; replay stops at the throw.
      break;
    }
    // Prefer a CPU that runs a thread: that is where system calls happen.
    const busy: number[] = Array.from({ length: cpus }, (_, c) => c).filter((c) => current.state.cpus[c]?.current !== null);
    const cpu = busy.length > 0 && raw.cpu % 4 !== 3 ? busy[raw.cpu % busy.length]! : raw.cpu % cpus;
    const r = runningOn(current.state, cpu);
    /**
     * Injected instructions advance the pc as fetched ones do: when the same thread is still
     * on the CPU afterwards, jump it back to where it was, so it stays within its program.
     */
    const rewound = (inject: () => void): void => {
      const before = sys?.state.cpus[cpu]?.current ?? null;
      const pc = sys?.machine.cpus[cpu]?.pc ?? 0;
      inject();
      const now = sys;
      if (now === null || before === null || now.state.cpus[cpu]?.current !== before || now.machine.cpus[cpu]?.el !== 0) return;
      const delta = (pc - now.machine.cpus[cpu]!.pc) / 4;
      if (delta !== 0 && Number.isInteger(delta) && Math.abs(delta) < 2 ** 21) emit({ kind: 'exec', cpu, insn: word({ op: 'jal', rd: 0, offset: delta }) });
    };
    const syscall = (call: Syscall): void =>
      rewound(() => {
        for (const [reg, value] of call.regs) for (const w of loadRegister(reg, value)) emit({ kind: 'exec', cpu, insn: w });
        emit({ kind: 'exec', cpu, insn: word({ op: 'svc', imm: call.n }) });
      });
    // A thread holding a reply right usually replies before doing anything else, as a server does.
    const owesReply = r !== null && r.tcb.caller !== null && ch.chance(60);
    switch (owesReply ? 'ipc' : actionKind(raw.kind)) {
      case 'invoke':
        if (r !== null) syscall(invocation(current, r, ch));
        else emit({ kind: 'exec', cpu });
        break;
      case 'ipc':
        if (r !== null) syscall(ipcCall(current.state, r, ch));
        else emit({ kind: 'exec', cpu });
        break;
      case 'run': {
        // Let the CPU run its program for a few steps.
        const n = ch.int(1, 8);
        for (let i = 0; i < n; i++) {
          emit({ kind: 'exec', cpu });
          // An idle CPU has nothing to fetch: stop rather than pad the trace.
          if (sys?.state.cpus[cpu]?.current === null) break;
        }
        break;
      }
      case 'tick':
        // Time passes; the next step on that CPU takes the timer interrupt (MK-SCHED-3).
        emit({ kind: 'tick', cpu });
        if (ch.chance(70)) emit({ kind: 'exec', cpu });
        break;
      case 'hostile':
        emit({ kind: 'exec', cpu, insn: ch.next() >>> 0 });
        break;
      case 'user':
        rewound(() => emit({ kind: 'exec', cpu, insn: userInstruction(ch) }));
        break;
      case 'irq':
        emit({ kind: 'irq', line: ch.mostly(boundLines, 80, () => ch.int(0, 9)) });
        // Device lines are routed to CPU 0 (MK-IRQ-1).
        emit({ kind: 'exec', cpu: 0 });
        break;
      case 'unknownSyscall':
        emit({ kind: 'exec', cpu, insn: word({ op: 'svc', imm: ch.pick([0, 9, 100, 0xffff])! }) });
        break;
      case 'device':
        emit({ kind: 'device', device: ch.int(0, 3), packet: Array.from({ length: ch.int(0, 4) }, () => ch.word()) });
        break;
      case 'crash':
        emit({ kind: 'inject', fault: { kind: 'crash', domain: ch.mostly(current.state.config.domainNames, 90, () => 'nowhere') } });
        break;
    }
  }
return events;
}

/** Random traces for the system `boot` boots to (resolved against it; see the module comment). */
export function arbEvents(boot: MicrokernelSystem, maxActions = 60): fc.Arbitrary<SystemEvent[]> {
  // size 'max': lengths uniform up to maxActions (the default size keeps arrays to about ten).
  return fc.array(arbRawAction, { minLength: 1, maxLength: maxActions, size: 'max' }).map((raws) => resolveTrace(boot, raws));
}

/** A random scenario with a random trace from its boot. */
export function arbTraceCase(maxActions = 60): fc.Arbitrary<TraceCase> {
  return arbScenario.chain((c) => arbEvents(bootCase(c), maxActions).map((events) => ({ ...c, events })));
}

// ---------------------------------------------------------------------------------------
// Classifying steps (for coverage checks and statistics)
// ---------------------------------------------------------------------------------------

/** Kernel behaviours a trace should reach; see {@link classifyStep}. */
export const BEHAVIOURS = [
  'ipc delivery',
  'call and reply',
  'cap transfer',
  'retype',
  'revoke',
  'frame map',
  'frame unmap',
  'fault to handler',
  'thread suspended',
  'timer preemption',
  'domain switch',
  'irq signal',
] as const;

export type Behaviour = (typeof BEHAVIOURS)[number];

function presentMappings(sys: MicrokernelSystem): number {
  let n = 0;
  sys.state.objects.forEach((o, id) => {
    if (o?.type === 'pagetable' && o.asid !== 0) n += vspaceMappings(sys.machine, sys.state, id).length;
  });
  return n;
}

/** The label of the invocation the thread on `cpu` is making, if the event injects an SVC. */
function invocationLabel(before: MicrokernelSystem, event: SystemEvent): number | null {
  if (event.kind !== 'exec' || event.insn === undefined) return null;
  const cpu = before.machine.cpus[event.cpu];
  if (cpu === undefined || cpu.el !== 0) return null;
  return decodeInfo(cpu.regs[2] ?? 0).label;
}

function notificationsChanged(a: KernelState, b: KernelState): boolean {
  return a.objects.some((o, id) => {
    const n = b.objects[id];
    return o?.type === 'notification' && n?.type === 'notification' && (o.word !== n.word || o.waiting.length !== n.waiting.length);
  });
}

function threadByName(k: KernelState, name: string): { id: ObjId; tcb: Tcb } | null {
  const id = k.objects.findIndex((o) => o?.type === 'tcb' && o.name === name);
  const tcb = k.objects[id];
  return tcb?.type === 'tcb' ? { id, tcb } : null;
}

/** The registers of thread `name` after a step: on its CPU if it runs, else saved. */
function regsOf(sys: MicrokernelSystem, name: string): readonly number[] {
  const t = threadByName(sys.state, name);
  if (t === null) return [];
  const c = sys.state.cpus.findIndex((s) => s.current === t.id);
  return c >= 0 ? sys.machine.cpus[c]!.regs : t.tcb.context.regs;
}

/** Which of {@link BEHAVIOURS} one step shows. */
export function classifyStep(before: MicrokernelSystem, event: SystemEvent, r: StepResult<KernelState>): Behaviour[] {
  const out: Behaviour[] = [];
  const after = r.system;
  const obs = r.observations;
  if (obs.some((o) => o.kind === 'message')) out.push('ipc delivery');
  if (r.lifecycle.some((t) => t.from === 'blockedOnReply' && t.to === 'running')) out.push('call and reply');
  if (obs.some((o) => o.kind === 'message' && (() => { const i = decodeInfo(regsOf(after, o.subject)[2] ?? 0); return i.extraCaps > 0 || i.capsUnwrapped > 0; })())) {
    out.push('cap transfer');
  }
  if (after.state.objects.length > before.state.objects.length) out.push('retype');
  const label = invocationLabel(before, event);
  if (label === INVOCATION.CNODE_REVOKE && allCaps(after.state).length < allCaps(before.state).length) out.push('revoke');
  if (label === INVOCATION.FRAME_MAP && presentMappings(after) > presentMappings(before)) out.push('frame map');
  if (label === INVOCATION.FRAME_UNMAP && presentMappings(after) < presentMappings(before)) out.push('frame unmap');
  if (obs.some((o) => o.kind === 'fault')) out.push('fault to handler');
  if (r.lifecycle.some((t) => t.event === 'SUSPEND' && t.from !== 'inactive')) out.push('thread suspended');
  if (r.trap?.kind === 'irq' && event.kind === 'exec') {
    const was = before.state.cpus[event.cpu]?.current ?? null;
    const now = after.state.cpus[event.cpu]?.current ?? null;
    const wasTcb = was === null ? null : after.state.objects[was];
    // The timer's interrupt was taken (the kernel set the next tick), and the thread lost the CPU still runnable.
    const timer = before.machine.cpus[event.cpu]?.sys[SYS.CNTP_CVAL] !== after.machine.cpus[event.cpu]?.sys[SYS.CNTP_CVAL];
    if (timer && was !== null && now !== was && wasTcb?.type === 'tcb' && (wasTcb.state.kind === 'running' || wasTcb.state.kind === 'restart')) out.push('timer preemption');
    if (notificationsChanged(before.state, after.state) || obs.some((o) => o.kind === 'signal')) out.push('irq signal');
  }
  if (after.state.domainIndex !== before.state.domainIndex) out.push('domain switch');
  return out;
}
