/**
 * The invariants themselves (spec/microkernel.md §13, src/kernel/invariants.ts): each holds on
 * booted systems, and each fails on a state corrupted by hand in the way it is meant to catch —
 * an invariant that cannot fail checks nothing, and MK-PROP-1 is only as strong as they are.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeBase, NO_ASID, pte, PTE, readWord, setSys, SYS, tlbInsert, tlbKey, writeWord, type Machine, type TlbEntry } from '../../src/hw/index.ts';
import { FAULT_LABEL, RIGHTS, SYSCALL, type Cap, type FaultMessage, type KernelObject, type KernelScenario, type KernelState, type ObjId, type Tcb } from '../../src/kernel/index.ts';
import { microkernel, step, type MicrokernelSystem } from '../../src/system/index.ts';
import { arbTraceCase, bootCase } from './arbitraries.ts';
import { boot, info, MK_MACHINE, running } from './fixtures.ts';
import { by } from './unit-helpers.ts';

const PAGE = MK_MACHINE.wordsPerFrame * 4;

/**
 * Two domains on two CPUs: a server waiting on an endpoint (A, CPU 0), a client calling it
 * (B, CPU 1), a thread with no address space (A, CPU 0), a shared frame, a notification and
 * some untyped memory.
 */
const SCENARIO: KernelScenario = {
  domains: ['A', 'B'],
  objects: [
    { name: 'ep', type: 'endpoint' },
    { name: 'n', type: 'notification' },
    { name: 'shared', type: 'frame' },
  ],
  threads: [
    {
      name: 'server',
      domain: 'A',
      priority: 3,
      cpu: 0,
      program: 'start:\n  addi r1, r0, 1\n  svc #4\n  b start',
      caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 'n' }, { slot: 3, object: 'server.cspace' }],
      pages: [{ va: 0x200, frame: 'shared', write: true }],
    },
    {
      name: 'client',
      domain: 'B',
      priority: 2,
      cpu: 1,
      program: 'start:\n  addi r1, r0, 1\n  svc #3\n  b start',
      caps: [{ slot: 1, object: 'ep', rights: 'WGP', badge: 5 }, { slot: 2, object: 'n', rights: 'W' }],
      pages: [{ va: 0x200, frame: 'shared' }],
    },
    { name: 'loner', domain: 'A', priority: 1, cpu: 0, vspace: false },
  ],
  untyped: [{ thread: 'server', slot: 4, sizeBits: 9 }],
};

const CONFIG = { ...MK_MACHINE, cpus: 2 };

const booted = (): MicrokernelSystem => boot(SCENARIO, CONFIG);

/** The server has executed its Recv and blocks on the endpoint; the client is about to call. */
function serverBlocked(): MicrokernelSystem {
  let sys = booted();
  for (let i = 0; i < 2; i++) sys = step(microkernel, sys, { kind: 'exec', cpu: 0 }).system;
  expect(tcb(sys, 'server').state.kind).toBe('blockedOnReceive');
  return sys;
}

/** The violations of invariant `name`. */
function violationsOf(sys: MicrokernelSystem, name: string): readonly string[] {
  const r = microkernel.invariants(sys).find((x) => x.name === name);
  if (r === undefined) throw new Error(`no invariant ${name}`);
  return r.violations;
}

function idOf(sys: MicrokernelSystem, name: string): ObjId {
  const id = sys.state.objects.findIndex((o) => o?.type === 'tcb' && o.name === name);
  if (id < 0) throw new Error(`no thread ${name}`);
  return id;
}

function tcb(sys: MicrokernelSystem, name: string): Tcb {
  return sys.state.objects[idOf(sys, name)] as Tcb;
}

/** The first object of `type`. */
function firstOf(sys: MicrokernelSystem, type: KernelObject['type'], pred: (o: KernelObject) => boolean = () => true): ObjId {
  const id = sys.state.objects.findIndex((o) => o?.type === type && pred(o));
  if (id < 0) throw new Error(`no ${type}`);
  return id;
}

const withState = (sys: MicrokernelSystem, f: (k: KernelState) => KernelState): MicrokernelSystem => ({ ...sys, state: f(sys.state) });
const withMachine = (sys: MicrokernelSystem, f: (m: Machine) => Machine): MicrokernelSystem => ({ ...sys, machine: f(sys.machine) });

/** Replaces object `id` by `f` of it. */
function withObject<T extends KernelObject>(sys: MicrokernelSystem, id: ObjId, f: (o: T) => KernelObject | null): MicrokernelSystem {
  return withState(sys, (k) => {
    const objects = k.objects.slice();
    objects[id] = f(k.objects[id] as T);
    return { ...k, objects };
  });
}

/** Appends an object. */
const addObject = (sys: MicrokernelSystem, o: KernelObject): MicrokernelSystem => withState(sys, (k) => ({ ...k, objects: [...k.objects, o] }));

/** Rewrites the stored cap in `cnode`[`index`]. */
function withSlot(sys: MicrokernelSystem, cnode: ObjId, index: number, f: (cte: NonNullable<Extract<KernelObject, { type: 'cnode' }>['slots'][number]>) => Extract<KernelObject, { type: 'cnode' }>['slots'][number]): MicrokernelSystem {
  return withObject<Extract<KernelObject, { type: 'cnode' }>>(sys, cnode, (node) => {
    const slots = node.slots.slice();
    slots[index] = f(slots[index]!);
    return { ...node, slots };
  });
}

/** The slot of the first cap in thread `name`'s CSpace matching `pred`. */
function slotWhere(sys: MicrokernelSystem, name: string, pred: (c: Cap) => boolean): { cnode: ObjId; index: number } {
  const cnode = tcb(sys, name).cspace!;
  const node = sys.state.objects[cnode];
  if (node?.type !== 'cnode') throw new Error('no CSpace');
  const index = node.slots.findIndex((s) => s !== null && pred(s.cap));
  if (index < 0) throw new Error(`no such cap in ${name}'s CSpace`);
  return { cnode, index };
}

/** The word index of the leaf entry for `va` in thread `name`'s address space (two-level tables). */
function leafWord(sys: MicrokernelSystem, name: string, va: number): number {
  const root = sys.state.objects[tcb(sys, name).vspace!]!;
  const words = MK_MACHINE.wordsPerFrame;
  const rootEntry = readWord(sys.machine.memory, root.base / 4 + Math.floor(va / (PAGE * 16)));
  expect(rootEntry & PTE.P).toBe(PTE.P);
  return (rootEntry >>> 4) * words + (Math.floor(va / PAGE) % 16);
}

const writeMem = (sys: MicrokernelSystem, word: number, value: number): MicrokernelSystem => withMachine(sys, (m) => ({ ...m, memory: writeWord(m.memory, word, value) }));

function withCpu(sys: MicrokernelSystem, c: number, f: (cpu: Machine['cpus'][number]) => Machine['cpus'][number]): MicrokernelSystem {
  return withMachine(sys, (m) => {
    const cpus = m.cpus.slice();
    cpus[c] = f(cpus[c]!);
    return { ...m, cpus };
  });
}

/** Systems every invariant must hold on: the scenario booted and run a little, and random scenarios booted and run. */
function healthySystems(): MicrokernelSystem[] {
  const out: MicrokernelSystem[] = [booted(), serverBlocked()];
  let sys = serverBlocked();
  for (let i = 0; i < 3; i++) sys = step(microkernel, sys, { kind: 'exec', cpu: 1 }).system;
  out.push(sys);
  for (const c of fc.sample(arbTraceCase(20), { numRuns: 30, seed: 7 })) {
    let s = bootCase(c);
    out.push(s);
    for (const e of c.events) s = step(microkernel, s, e).system;
    out.push(s);
  }
  return out;
}

const INVARIANTS = [
  ['MK-INV-1', 'valid_objects'],
  ['MK-INV-2', 'symmetric_references'],
  ['MK-INV-3', 'ready_queue'],
  ['MK-INV-4', 'derivation_tree'],
  ['MK-INV-5', 'untyped_nesting'],
  ['MK-INV-6', 'memory_ownership'],
  ['MK-INV-7', 'mappings_authorised'],
  ['MK-INV-8', 'tlb_consistent'],
  ['MK-INV-9', 'current_threads'],
  ['MK-INV-10', 'only_idle_idle'],
  ['MK-INV-11', 'asid_table'],
  ['MK-INV-12', 'idle_when_none_ready'],
  ['MK-INV-13', 'valid_reply_rights'],
  ['MK-INV-14', 'valid_fault'],
] as const;

describe('the invariants hold on healthy systems', () => {
  const systems = healthySystems();
  it('every invariant of the kernel is listed here, in the spec\'s order', () => {
    expect(microkernel.invariants(booted()).map((r) => r.name)).toEqual(INVARIANTS.map(([, name]) => name));
  });
  for (const [id, name] of INVARIANTS) {
    it(`${id} ${name}: holds after boot and after steps (the scenario here and ${systems.length - 3} random ones)`, () => {
      for (const sys of systems) expect(violationsOf(sys, name)).toEqual([]);
    });
  }
});

/** Expects invariant `name` to report a violation matching `pattern` on `sys`. */
function expectCaught(sys: MicrokernelSystem, name: string, pattern: RegExp): void {
  const v = violationsOf(sys, name);
  expect(v.some((x) => pattern.test(x)), `${name} reported ${JSON.stringify(v)}`).toBe(true);
}

describe('MK-INV-1 valid_objects', () => {
  it('MK-INV-1: fails when a TCB\'s CSpace is not a CNode', () => {
    const sys = booted();
    expectCaught(withObject<Tcb>(sys, idOf(sys, 'server'), (t) => ({ ...t, cspace: firstOf(sys, 'endpoint') })), 'valid_objects', /CSpace .* is not a CNode/);
  });
  it('MK-INV-1: fails when a cap names an object that no longer exists (a dangling reference)', () => {
    const sys = booted();
    expectCaught(withObject(sys, firstOf(sys, 'notification'), () => null), 'valid_objects', /names \d+, not a live notification/);
  });
  it('MK-INV-1: fails when a reply right names a dead thread', () => {
    const sys = booted();
    expectCaught(withObject<Tcb>(sys, idOf(sys, 'server'), (t) => ({ ...t, caller: { caller: firstOf(sys, 'endpoint'), canGrant: false } })), 'valid_objects', /reply right to a dead thread/);
  });
  it('MK-INV-1: fails when an object is not aligned to its size, or lies outside RAM', () => {
    const sys = booted();
    const ep = firstOf(sys, 'endpoint');
    expectCaught(withObject(sys, ep, (o) => ({ ...o!, base: o!.base + 4 })), 'valid_objects', /not aligned/);
    expectCaught(withObject(sys, ep, (o) => ({ ...o!, base: MK_MACHINE.frames * PAGE })), 'valid_objects', /outside RAM/);
  });
  it('MK-INV-1: fails when a thread\'s VSpace is an inner page table, or its affinity is no CPU', () => {
    const sys = booted();
    const inner = firstOf(sys, 'pagetable', (o) => o.type === 'pagetable' && o.asid === 0);
    expectCaught(withObject<Tcb>(sys, idOf(sys, 'server'), (t) => ({ ...t, vspace: inner })), 'valid_objects', /not a VSpace root/);
    expectCaught(withObject<Tcb>(sys, idOf(sys, 'loner'), (t) => ({ ...t, affinity: 2 })), 'valid_objects', /affinity 2/);
  });
});

describe('MK-INV-2 symmetric_references', () => {
  it('MK-INV-2: fails when a thread is put in an endpoint queue without changing its state', () => {
    const sys = booted();
    const ep = firstOf(sys, 'endpoint');
    expectCaught(withObject(sys, ep, (o) => ({ ...(o as Extract<KernelObject, { type: 'endpoint' }>), queue: { kind: 'recv', threads: [idOf(sys, 'loner')] } })), 'symmetric_references', /queues thread .* which is not blockedOnReceive/);
  });
  it('MK-INV-2: fails when a thread blocked on an endpoint is missing from its queue', () => {
    const sys = serverBlocked();
    expectCaught(withObject(sys, firstOf(sys, 'endpoint'), (o) => ({ ...(o as Extract<KernelObject, { type: 'endpoint' }>), queue: { kind: 'idle' } })), 'symmetric_references', /blockedOnReceive on \d+ but not in its queue/);
  });
  it('MK-INV-2: fails when a binding is one-sided', () => {
    const sys = booted();
    expectCaught(withObject<Tcb>(sys, idOf(sys, 'loner'), (t) => ({ ...t, boundNotification: firstOf(sys, 'notification') })), 'symmetric_references', /bound to notification .* which is not bound to it/);
  });
  it('MK-INV-2: fails when a notification is both active and waited on', () => {
    const sys = booted();
    const n = firstOf(sys, 'notification');
    const loner = idOf(sys, 'loner');
    let bad = withObject(sys, n, (o) => ({ ...(o as Extract<KernelObject, { type: 'notification' }>), word: 1, waiting: [loner] }));
    bad = withObject<Tcb>(bad, loner, (t) => ({ ...t, state: { kind: 'blockedOnNotification', notification: n } }));
    expectCaught(bad, 'symmetric_references', /both active and waited on/);
  });
});

describe('MK-INV-3 ready_queue', () => {
  it('MK-INV-3: fails when a runnable thread is neither current nor queued', () => {
    const sys = booted();
    expect(sys.state.ready).toContain(idOf(sys, 'loner'));
    expectCaught(withState(sys, (k) => ({ ...k, ready: k.ready.filter((t) => t !== idOf(sys, 'loner')) })), 'ready_queue', /neither current nor ready/);
  });
  it('MK-INV-3: fails when a thread is queued twice, or a blocked or current thread is queued', () => {
    expectCaught(withState(booted(), (k) => ({ ...k, ready: [...k.ready, ...k.ready] })), 'ready_queue', /queued twice/);
    const sys = serverBlocked();
    expectCaught(withState(sys, (k) => ({ ...k, ready: [...k.ready, idOf(sys, 'server')] })), 'ready_queue', /is not runnable/);
    expectCaught(withState(sys, (k) => ({ ...k, ready: [...k.ready, k.cpus[1]!.current!] })), 'ready_queue', /also current/);
  });
});

describe('MK-INV-4 derivation_tree', () => {
  it('MK-INV-4: fails when a cap\'s parent does not exist', () => {
    const sys = booted();
    const s = slotWhere(sys, 'client', (c) => c.type === 'endpoint');
    expectCaught(withSlot(sys, s.cnode, s.index, (cte) => ({ ...cte, parent: 99_999 })), 'derivation_tree', /parent 99999 does not exist/);
  });
  it('MK-INV-4: fails on a derivation cycle and on a shared identity', () => {
    const sys = booted();
    const a = slotWhere(sys, 'server', (c) => c.type === 'endpoint');
    const b = slotWhere(sys, 'client', (c) => c.type === 'endpoint');
    const idA = (sys.state.objects[a.cnode] as Extract<KernelObject, { type: 'cnode' }>).slots[a.index]!.id;
    const idB = (sys.state.objects[b.cnode] as Extract<KernelObject, { type: 'cnode' }>).slots[b.index]!.id;
    const cyclic = withSlot(withSlot(sys, a.cnode, a.index, (cte) => ({ ...cte, parent: idB })), b.cnode, b.index, (cte) => ({ ...cte, parent: idA }));
    expectCaught(cyclic, 'derivation_tree', /derivation cycle/);
    expectCaught(withSlot(sys, b.cnode, b.index, (cte) => ({ ...cte, id: idA })), 'derivation_tree', /share an identity/);
  });
  it('MK-INV-4: fails when a child has a right its parent lacks', () => {
    const sys = booted();
    const parent = slotWhere(sys, 'server', (c) => c.type === 'endpoint');
    // The client's badged cap derives from the server's original; take Write from the original.
    const bad = withSlot(sys, parent.cnode, parent.index, (cte) => ({ ...cte, cap: { ...(cte.cap as Extract<Cap, { type: 'endpoint' }>), rights: RIGHTS.R } }));
    expectCaught(bad, 'derivation_tree', /is not within its parent/);
  });
});

describe('MK-INV-5 untyped_nesting', () => {
  it('MK-INV-5: fails when two untyped regions overlap without nesting', () => {
    const sys = booted();
    const ut = sys.state.objects[firstOf(sys, 'untyped')]!;
    const half = 2 ** (ut.sizeBits - 1);
    expectCaught(addObject(sys, { type: 'untyped', base: ut.base + half, sizeBits: ut.sizeBits, watermark: 0, device: false }), 'untyped_nesting', /overlap without nesting/);
  });
  it('MK-INV-5: an untyped nested in another is fine', () => {
    const sys = booted();
    const ut = sys.state.objects[firstOf(sys, 'untyped')]!;
    expect(violationsOf(addObject(sys, { type: 'untyped', base: ut.base, sizeBits: ut.sizeBits - 1, watermark: 0, device: false }), 'untyped_nesting')).toEqual([]);
  });
});

describe('MK-INV-6 memory_ownership', () => {
  it('MK-INV-6: fails when two objects overlap', () => {
    const sys = booted();
    const tcbBase = tcb(sys, 'server').base;
    expectCaught(withObject(sys, firstOf(sys, 'endpoint'), (o) => ({ ...o!, base: tcbBase })), 'memory_ownership', /overlap/);
  });
  it('MK-INV-6: fails when a frame is carved out of a page table', () => {
    const sys = booted();
    const pt = sys.state.objects[firstOf(sys, 'pagetable', (o) => o.type === 'pagetable' && o.asid === 0)]!;
    expectCaught(addObject(sys, { type: 'frame', base: pt.base, sizeBits: pt.sizeBits, device: false }), 'memory_ownership', /\(pagetable\) and \d+ \(frame\) overlap|\(frame\) and \d+ \(pagetable\) overlap/);
  });
});

describe('MK-INV-7 mappings_authorised', () => {
  it('MK-INV-7: fails when a PTE maps a page-table frame user-writable', () => {
    const sys = booted();
    const table = sys.state.objects[firstOf(sys, 'pagetable', (o) => o.type === 'pagetable' && o.asid === 0)]!;
    const bad = writeMem(sys, leafWord(sys, 'server', 0x500), pte(table.base / PAGE, PTE.P | PTE.U | PTE.W));
    expectCaught(bad, 'mappings_authorised', /maps kernel-object page/);
  });
  it('MK-INV-7: fails when a present mapping has no frame cap recording it', () => {
    const sys = booted();
    const shared = sys.state.objects[firstOf(sys, 'frame', (o) => o.type === 'frame' && !o.device)]!;
    expectCaught(writeMem(sys, leafWord(sys, 'server', 0x600), pte(shared.base / PAGE, PTE.P | PTE.U)), 'mappings_authorised', /with no cap recording it/);
  });
  it('MK-INV-7: fails when a page is writable through a read-only cap', () => {
    const sys = booted();
    // The client maps the shared frame read-only through a read-write cap: make the PTE writable and the cap read-only.
    const s = slotWhere(sys, 'client', (c) => c.type === 'frame' && c.mapping?.va === 0x200);
    const word = leafWord(sys, 'client', 0x200);
    let bad = withSlot(sys, s.cnode, s.index, (cte) => ({ ...cte, cap: { ...(cte.cap as Extract<Cap, { type: 'frame' }>), rights: RIGHTS.R } }));
    bad = writeMem(bad, word, readWord(sys.machine.memory, word) | PTE.W);
    expectCaught(bad, 'mappings_authorised', /writable .* through a read-only cap/);
  });
  it('MK-INV-7: fails when the cap that records a mapping is held by no owner of the VSpace', () => {
    const sys = booted();
    const s = slotWhere(sys, 'client', (c) => c.type === 'frame' && c.mapping?.va === 0x200);
    // Move the client's recording cap into the server's CNode (a free slot there).
    const serverNode = tcb(sys, 'server').cspace!;
    const free = (sys.state.objects[serverNode] as Extract<KernelObject, { type: 'cnode' }>).slots.findIndex((x) => x === null);
    const cte = (sys.state.objects[s.cnode] as Extract<KernelObject, { type: 'cnode' }>).slots[s.index]!;
    const moved = withSlot(withSlot(sys, s.cnode, s.index, () => null), serverNode, free, () => cte);
    expectCaught(moved, 'mappings_authorised', /a cap no owner of the VSpace holds/);
  });
});

describe('MK-INV-8 tlb_consistent', () => {
  /** The server has fetched from its code page, so CPU 0's TLB holds that translation. */
  function withTlb(): MicrokernelSystem {
    const sys = step(microkernel, booted(), { kind: 'exec', cpu: 0 }).system;
    expect(sys.machine.cpus[0]!.tlb.entries.length).toBeGreaterThan(0);
    expect(violationsOf(sys, 'tlb_consistent')).toEqual([]);
    return sys;
  }
  it('MK-INV-8: fails when a PTE is rewritten and the TLB is not flushed', () => {
    const sys = withTlb();
    expectCaught(writeMem(sys, leafWord(sys, 'server', 0x100), 0), 'tlb_consistent', /stale translation of page 1/);
    const other = sys.state.objects[firstOf(sys, 'frame', (o) => o.type === 'frame' && !o.device)]!;
    expectCaught(writeMem(sys, leafWord(sys, 'server', 0x100), pte(other.base / PAGE, PTE.P | PTE.U | PTE.X)), 'tlb_consistent', /stale translation/);
  });
  it('MK-INV-8: fails when an entry grants more than the page table, was made with stage 1 off, or has a dead ASID', () => {
    const sys = withTlb();
    const e = sys.machine.cpus[0]!.tlb.entries[0]!;
    const put = (entry: TlbEntry) => withCpu(sys, 0, (cpu) => ({ ...cpu, tlb: tlbInsert({ ...cpu.tlb, keys: [], entries: [], victim: 0 }, entry) }));
    expectCaught(put({ ...e, s1: e.s1 | PTE.W }), 'tlb_consistent', /stale translation/);
    expectCaught(put({ ...e, asid: NO_ASID, key: tlbKey(e.vmid, NO_ASID, e.vpn) }), 'tlb_consistent', /stage 1 off/);
    expectCaught(put({ ...e, asid: 200, key: tlbKey(e.vmid, 200, e.vpn) }), 'tlb_consistent', /which no VSpace uses/);
  });
});

describe('MK-INV-9 current_threads', () => {
  it('MK-INV-9: fails when two CPUs are current on one thread', () => {
    const sys = booted();
    expectCaught(withState(sys, (k) => ({ ...k, cpus: [k.cpus[0]!, k.cpus[0]!] })), 'current_threads', /current on two CPUs/);
  });
  it('MK-INV-9: fails when the current thread is blocked, or belongs to another CPU', () => {
    const sys = booted();
    const server = idOf(sys, 'server');
    expect(sys.state.cpus[0]!.current).toBe(server);
    expectCaught(withObject<Tcb>(sys, server, (t) => ({ ...t, state: { kind: 'blockedOnReply' } })), 'current_threads', /is blockedOnReply/);
    expectCaught(withObject<Tcb>(sys, server, (t) => ({ ...t, affinity: 1 })), 'current_threads', /belongs to CPU 1/);
  });
  it('MK-INV-9: fails when a CPU runs a thread at EL1, an idle CPU is at EL0, or the address space is wrong', () => {
    const sys = booted();
    expectCaught(withCpu(sys, 0, (cpu) => ({ ...cpu, el: 1 })), 'current_threads', /at EL1/);
    expectCaught(withState(sys, (k) => ({ ...k, cpus: [{ current: null }, k.cpus[1]!] })), 'current_threads', /idle but at EL0/);
    const clientRoot = sys.state.objects[tcb(sys, 'client').vspace!] as Extract<KernelObject, { type: 'pagetable' }>;
    expectCaught(withCpu(sys, 0, (cpu) => ({ ...cpu, sys: setSys(cpu.sys, SYS.TTBR0_EL1, makeBase(clientRoot.base / PAGE, clientRoot.asid)) })), 'current_threads', /wrong address space/);
  });
});

describe('MK-INV-10 only_idle_idle', () => {
  it('MK-INV-10: fails when a thread object is in the idle state', () => {
    const sys = booted();
    expectCaught(withObject<Tcb>(sys, idOf(sys, 'loner'), (t) => ({ ...t, state: { kind: 'idle' } })), 'only_idle_idle', /is idle/);
  });
});

describe('MK-INV-11 asid_table', () => {
  it('MK-INV-11: fails when the ASID table names the wrong object, or a VSpace\'s ASID is not recorded', () => {
    const sys = booted();
    const root = tcb(sys, 'server').vspace!;
    const asid = (sys.state.objects[root] as Extract<KernelObject, { type: 'pagetable' }>).asid;
    const set = (v: ObjId | null) => withState(sys, (k) => ({ ...k, asids: k.asids.map((x, i) => (i === asid ? v : x)) }));
    expectCaught(set(tcb(sys, 'client').vspace!), 'asid_table', /which is not its VSpace/);
    expectCaught(set(null), 'asid_table', /is not recorded/);
    expectCaught(withObject(sys, root, (o) => ({ ...(o as Extract<KernelObject, { type: 'pagetable' }>), asid: 77 })), 'asid_table', /ASID 77 is not recorded|not its VSpace/);
  });
});

/**
 * Expects `sys` to break invariant `name` alone, with a violation matching `pattern`: the
 * hand-made corruption is what that invariant exists to catch, and no other notices it.
 */
function expectOnly(sys: MicrokernelSystem, name: string, pattern: RegExp): void {
  const failing = microkernel.invariants(sys).filter((r) => r.violations.length > 0);
  expect(failing.map((r) => r.name)).toEqual([name]);
  expect(failing[0]!.violations.some((x) => pattern.test(x)), `${name} reported ${JSON.stringify(failing[0]!.violations)}`).toBe(true);
}

const expectNone = (sys: MicrokernelSystem): void => expect(microkernel.invariants(sys).filter((r) => r.violations.length > 0)).toEqual([]);

/** Whether an IPI is pending for CPU `c`. */
const ipiPending = (sys: MicrokernelSystem, c: number): boolean => (sys.machine.gic.ipiPending & (1 << c)) !== 0;

/** `sys` with the IPI pending for CPU `c` lost. */
const withoutIpi = (sys: MicrokernelSystem, c: number): MicrokernelSystem =>
  withMachine(sys, (m) => ({ ...m, gic: { ...m.gic, ipiPending: (m.gic.ipiPending & ~(1 << c)) >>> 0 } }));

describe('MK-INV-12 idle_when_none_ready', () => {
  /** The server blocked, the loner on CPU 0; then CPU 0 parked by hand, the loner put back in the ready queue. */
  function parkedWithLonerReady(): MicrokernelSystem {
    const sys = serverBlocked();
    expect(running(sys, 0)).toBe('loner');
    const parked = withState(sys, (k) => ({ ...k, cpus: [{ current: null }, k.cpus[1]!], ready: [...k.ready, idOf(sys, 'loner')] }));
    return withCpu(parked, 0, (cpu) => ({ ...cpu, el: 1, waiting: true }));
  }

  it('MK-INV-12: fails when a CPU idles, with no IPI pending, while a thread that may run on it is ready', () => {
    const sys = parkedWithLonerReady();
    expect(ipiPending(sys, 0)).toBe(false);
    expectOnly(sys, 'idle_when_none_ready', /CPU 0 is idle with no IPI pending while thread \d+ is ready to run on it/);
  });

  it('MK-INV-12: a ready thread of another CPU does not count (MK-SCHED-2: a CPU runs only threads of its affinity)', () => {
    const sys = parkedWithLonerReady();
    expect(running(sys, 1)).toBe('client');
    expectNone(withObject<Tcb>(sys, idOf(sys, 'loner'), (t) => ({ ...t, affinity: 1 })));
  });

  it('MK-INV-12, MK-SCHED-7: a CPU idles with a ready thread while the IPI that will wake it is pending — and not once the IPI is lost', () => {
    // The client (CPU 1) calls the server (CPU 0) and waits; CPU 1 idles.
    let sys = serverBlocked();
    for (let i = 0; i < 3 && tcb(sys, 'client').state.kind !== 'blockedOnReply'; i++) sys = step(microkernel, sys, { kind: 'exec', cpu: 1 }).system;
    expect(tcb(sys, 'client').state.kind).toBe('blockedOnReply');
    expect(running(sys, 1)).toBeNull();
    // CPU 0 takes the IPI that the Call's entry sent it, runs the server, which replies.
    sys = step(microkernel, sys, { kind: 'exec', cpu: 0 }).system;
    expect(running(sys, 0)).toBe('server');
    sys = by(sys, 'server', SYSCALL.REPLY, { 2: info(0) }).system;
    // The reply's entry ran on CPU 0: the client is ready for CPU 1, which is idle until it takes the IPI.
    expect(sys.state.ready).toContain(idOf(sys, 'client'));
    expect(running(sys, 1)).toBeNull();
    expect(ipiPending(sys, 1)).toBe(true);
    expectNone(sys);
    expectOnly(withoutIpi(sys, 1), 'idle_when_none_ready', /CPU 1 is idle with no IPI pending while thread \d+ is ready/);
    const woken = step(microkernel, sys, { kind: 'exec', cpu: 1 }).system;
    expect(running(woken, 1)).toBe('client');
    expectNone(woken);
  });

  it('MK-INV-12, MK-SCHED-5: with a domain schedule, a ready thread of another domain waits while the CPU idles — not one of the current domain', () => {
    let sys = boot({
      domains: ['d0', 'd1'],
      kernel: { domainSchedule: [{ domain: 'd0', ticks: 2 }, { domain: 'd1', ticks: 3 }] },
      objects: [{ name: 'n', type: 'notification' }],
      threads: [
        { name: 'x', domain: 'd0', priority: 1, caps: [{ slot: 1, object: 'n' }] },
        { name: 'y', domain: 'd1', priority: 9, program: 'start:\n  b start' },
      ],
    });
    sys = by(sys, 'x', SYSCALL.RECV, { 1: 1 }).system;
    expect(running(sys)).toBeNull();
    expect(sys.state.ready).toEqual([idOf(sys, 'y')]);
    expectNone(sys);
    expectOnly(withState(sys, (k) => ({ ...k, domainIndex: 1 })), 'idle_when_none_ready', /CPU 0 is idle .* thread \d+ is ready/);
  });
});

/**
 * One CPU, one endpoint: `f` (priority 3, no address space, so it faults on its first fetch)
 * has its fault handled through the endpoint by `h` (priority 2), which also serves Calls from
 * `c` (priority 1).
 */
const FAULTS: KernelScenario = {
  objects: [{ name: 'ep', type: 'endpoint' }],
  threads: [
    { name: 'f', priority: 3, vspace: false, faultEndpoint: 1, caps: [{ slot: 1, object: 'ep', rights: 'WGP' }] },
    { name: 'h', priority: 2, caps: [{ slot: 1, object: 'ep', rights: 'RW' }] },
    { name: 'c', priority: 1, caps: [{ slot: 1, object: 'ep', rights: 'WGP' }] },
  ],
};

/**
 * The runs of FAULTS every test below starts from: `f` faults with no receiver (blockedOnSend
 * with its fault); `h` receives it (`f` waits for the reply, `h` holds the right); `h` receives
 * again and takes a Call from `c`, whose reply right replaces the one to `f` (MK-IPC-6); `h`
 * replies to `c`.
 */
function faultRun(): { sending: MicrokernelSystem; waiting: MicrokernelSystem; dropped: MicrokernelSystem; replied: MicrokernelSystem } {
  const booted = boot(FAULTS);
  expect(running(booted)).toBe('f');
  const sending = step(microkernel, booted, { kind: 'exec', cpu: 0 }).system;
  expect(tcb(sending, 'f').state).toMatchObject({ kind: 'blockedOnSend', isCall: true });
  expect(tcb(sending, 'f').fault).toMatchObject({ label: FAULT_LABEL.VM_FAULT });
  const waiting = by(sending, 'h', SYSCALL.RECV, { 1: 1 }).system;
  expect(tcb(waiting, 'f').state.kind).toBe('blockedOnReply');
  expect(tcb(waiting, 'h').caller?.caller).toBe(idOf(waiting, 'f'));
  let dropped = by(waiting, 'h', SYSCALL.RECV, { 1: 1 }).system;
  dropped = by(dropped, 'c', SYSCALL.CALL, { 1: 1, 2: info(1) }).system;
  expect(tcb(dropped, 'h').caller?.caller).toBe(idOf(dropped, 'c'));
  const replied = by(dropped, 'h', SYSCALL.REPLY, { 2: info(0) }).system;
  expect(tcb(replied, 'c').state.kind).toBe('running');
  return { sending, waiting, dropped, replied };
}

describe('MK-INV-13 valid_reply_rights', () => {
  it('MK-INV-13: holds through a Call and its reply, a fault and its handler, and a reply right replaced by a newer Call', () => {
    const { sending, waiting, dropped, replied } = faultRun();
    for (const sys of [sending, waiting, dropped, replied]) expectNone(sys);
  });

  it('MK-INV-13, MK-IPC-6: a caller whose reply right a newer Call replaced still waits, named by no right — as in seL4, where only suspending or destroying it frees it', () => {
    const { dropped, replied } = faultRun();
    for (const sys of [dropped, replied]) {
      expect(tcb(sys, 'f').state.kind).toBe('blockedOnReply');
      expect(threadsHoldingRightTo(sys, idOf(sys, 'f'))).toEqual([]);
    }
  });

  it('MK-INV-13: fails when a reply right names a thread that is not waiting for a reply', () => {
    const { replied } = faultRun();
    expect(tcb(replied, 'h').caller).toBeNull();
    expectOnly(withObject<Tcb>(replied, idOf(replied, 'h'), (t) => ({ ...t, caller: { caller: idOf(replied, 'c'), canGrant: false } })), 'valid_reply_rights', /holds a reply right to thread \d+, which is running/);
    const sys = booted();
    expectOnly(withObject<Tcb>(sys, idOf(sys, 'server'), (t) => ({ ...t, caller: { caller: idOf(sys, 'loner'), canGrant: false } })), 'valid_reply_rights', /which is (restart|running)/);
  });

  it('MK-INV-13: fails when two threads hold a reply right to one caller', () => {
    const { waiting } = faultRun();
    expectOnly(withObject<Tcb>(waiting, idOf(waiting, 'c'), (t) => ({ ...t, caller: { caller: idOf(waiting, 'f'), canGrant: false } })), 'valid_reply_rights', /both hold a reply right to thread \d+/);
  });
});

/** The threads holding a reply right to `t`. */
function threadsHoldingRightTo(sys: MicrokernelSystem, t: ObjId): ObjId[] {
  return sys.state.objects.flatMap((o, id) => (o?.type === 'tcb' && o.caller?.caller === t ? [id] : []));
}

describe('MK-INV-14 valid_fault', () => {
  const stray: FaultMessage = { label: FAULT_LABEL.USER_EXCEPTION, words: [0x100, 0] };

  it('MK-INV-14: holds while a fault is sent, while its reply is awaited, and once the reply restarts the thread', () => {
    const { sending, waiting, replied } = faultRun();
    expect(tcb(waiting, 'f').fault).not.toBeNull();
    const restarted = by(waiting, 'h', SYSCALL.REPLY, { 2: info(0) }).system;
    expect(tcb(restarted, 'f').state.kind).toMatch(/restart|running/);
    expect(tcb(restarted, 'f').fault).toBeNull();
    for (const sys of [sending, waiting, replied, restarted]) expectNone(sys);
  });

  it('MK-INV-14: fails when a thread that is not in a fault\'s IPC stores a fault', () => {
    const { replied } = faultRun();
    expectOnly(withObject<Tcb>(replied, idOf(replied, 'c'), (t) => ({ ...t, fault: stray })), 'valid_fault', /stores a fault but is running/);
    const sys = serverBlocked();
    expectOnly(withObject<Tcb>(sys, idOf(sys, 'server'), (t) => ({ ...t, fault: stray })), 'valid_fault', /stores a fault but is blockedOnReceive/);
  });

  it('MK-INV-14: fails when a thread sending a fault has lost it, or sends another, or sends it as a message that cannot be replied to', () => {
    const { sending } = faultRun();
    const f = idOf(sending, 'f');
    expectOnly(withObject<Tcb>(sending, f, (t) => ({ ...t, fault: null })), 'valid_fault', /fault message that is not its stored fault/);
    expectOnly(withObject<Tcb>(sending, f, (t) => ({ ...t, fault: stray })), 'valid_fault', /fault message that is not its stored fault/);
    const asSend = withObject<Tcb>(sending, f, (t) => (t.state.kind === 'blockedOnSend' ? { ...t, state: { ...t.state, isCall: false } } : t));
    expectOnly(asSend, 'valid_fault', /not sent as a Call that can get a reply/);
  });
});
