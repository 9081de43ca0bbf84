/**
 * The hypervisor's inductive universe (CHK-IND-2 in spec/model-checking.md): one pCPU, the
 * control domain `dom0` (blocked throughout) and two guests `g1` and `g2`, one vCPU each. Its
 * dimensions are an event channel between the guests — port 1 at each end, closed, unbound or
 * interdomain, pending or not, masked or not — a grant of g1's page 1 to g2 (none, read-only
 * or read-write, mapped once or not), g2's maptrack entry and stage-2 mapping of it, the two
 * guests' vCPU states (running, runnable, blocked, polling port 1), which runs, the run queue,
 * and the hypercall the running guest is about to make. The events are that hypercall and a
 * plain `exec` (the guest kernel's WFI, which blocks it).
 *
 * Well-formed means: every hypervisor invariant holds (HV-INV-1..10).
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { encode, type MachineConfig } from '../../hw/index.ts';
import {
  EVTCHN,
  GNTTAB,
  HYPERCALL,
  HYPERVISOR_INVARIANTS,
  SCHED,
  type DomId,
  type Domain,
  type HypervisorScenario,
  type HypervisorState,
  type Port,
  type Vcpu,
} from '../../hypervisor/index.ts';
import { s2Map } from '../../hypervisor/memory.ts';
import { deschedule } from '../../hypervisor/sched.ts';
import { enterGuest, idlePcpu, loadVcpu } from '../../hypervisor/vcpu.ts';
import { newHvLog, type HvWorld } from '../../hypervisor/world.ts';
import { bootHypervisorSystem, hypervisor, type HypervisorSystem, type Supervisor } from '../../system/index.ts';
import type { Choice, Dimension, LabelledEvent, Universe } from '../inductive.ts';

/**
 * One pCPU, twelve frames of 256 bytes, two-level tables of four entries (16-page guest
 * physical spaces, so that a stage-2 walk is short), no devices.
 */
export const HV_INDUCTIVE_MACHINE: MachineConfig = {
  cpus: 1,
  frames: 12,
  wordsPerFrame: 64,
  pageTableLevels: 2,
  pageTableIndexBits: 2,
  tlbEntries: 4,
  irqLines: 8,
  devices: [],
};

/** Each guest kernel waits for interrupts: a plain `exec` runs its WFI, which blocks the vCPU (HV-EXIT-4). */
const KERNEL = 'idle: wfi\n b idle';

export const HV_INDUCTIVE_SCENARIO: HypervisorScenario = {
  domains: [
    { name: 'dom0', kernel: KERNEL, memory: 2, pages: 1 },
    { name: 'g1', kernel: KERNEL, memory: 4, pages: 2 },
    { name: 'g2', kernel: KERNEL, memory: 4, pages: 2 },
  ],
};

/** The event-channel port of the universe, at both ends. */
export const PORT = 1;
/** g1's page granted to g2, and where g2 maps it (unpopulated, in the same stage-2 leaf table as its own pages). */
export const GRANTED_GFN = 1;
export const MAP_GFN = 3;

type Sys = HypervisorSystem;

interface Ids {
  readonly g1: DomId;
  readonly g2: DomId;
}

// --- editing the state -------------------------------------------------------------------

function domain(sys: Sys, d: DomId): Domain {
  const dom = sys.state.domains[d];
  if (dom === null || dom === undefined) throw new Error(`universe: no domain ${d}`);
  return dom;
}

function patchDomain(sys: Sys, d: DomId, patch: Partial<Omit<Domain, 'id'>>): Sys {
  const domains = sys.state.domains.slice();
  domains[d] = { ...domain(sys, d), ...patch };
  return { machine: sys.machine, state: { ...sys.state, domains } };
}

function patchVcpu(sys: Sys, d: DomId, patch: Partial<Omit<Vcpu, 'id'>>): Sys {
  const dom = domain(sys, d);
  return patchDomain(sys, d, { vcpus: dom.vcpus.map((v, i) => (i === 0 ? { ...v, ...patch } : v)) });
}

function withEntry<T>(xs: readonly (T | null)[], i: number, v: T | null): (T | null)[] {
  const out = xs.slice();
  while (out.length <= i) out.push(null);
  out[i] = v;
  return out;
}

const world = (sys: Sys): HvWorld => ({ m: sys.machine, h: sys.state });
const system = (w: HvWorld): Sys => ({ machine: w.m, state: w.h });

// --- the dimensions ----------------------------------------------------------------------

/** Port 1 of `d`: closed, or unbound for / connected to port 1 of `remote`, with its pending and masked bits (HV-EVT-1..6). */
function portStates(d: DomId, remote: DomId): Choice<HypervisorState>[] {
  const out: Choice<HypervisorState>[] = [{ label: '-', apply: (sys) => patchDomain(sys, d, { ports: withEntry(domain(sys, d).ports, PORT, null) }) }];
  for (const kind of ['interdomain', 'unbound'] as const) {
    for (const pending of [false, true]) {
      for (const masked of [false, true]) {
        const binding: Port['binding'] = kind === 'unbound' ? { kind, remote } : { kind, remote, remotePort: PORT };
        const port: Port = { binding, pending, masked, vcpu: 0 };
        out.push({
          label: `${kind[0]}${pending ? 'P' : ''}${masked ? 'M' : ''}`,
          apply: (sys) => patchDomain(sys, d, { ports: withEntry(domain(sys, d).ports, PORT, port) }),
        });
      }
    }
  }
  return out;
}

/** g1's grant reference 0: none, or page 1 to g2, read-only or read-write, counting 0 or 1 mappings (HV-GNT-1). */
function grants(ids: Ids): Choice<HypervisorState>[] {
  const out: Choice<HypervisorState>[] = [{ label: '-', apply: (sys) => sys }];
  for (const mapCount of [0, 1]) {
    for (const readonly of [true, false]) {
      out.push({
        label: `${readonly ? 'ro' : 'rw'}/${mapCount}`,
        apply: (sys) => patchDomain(sys, ids.g1, { grants: withEntry(domain(sys, ids.g1).grants, 0, { grantee: ids.g2, gfn: GRANTED_GFN, readonly, mapCount }) }),
      });
    }
  }
  return out;
}

/** g2's maptrack handle 0: none, or a read-only or read-write mapping of g1's grant 0 at page 3 (HV-GNT-3). */
function maptracks(ids: Ids): Choice<HypervisorState>[] {
  return [
    { label: '-', apply: (sys) => sys },
    ...[true, false].map((readonly) => ({
      label: readonly ? 'ro' : 'rw',
      apply: (sys: Sys) => {
        const mfn = domain(sys, ids.g1).p2m.get(GRANTED_GFN)!;
        return patchDomain(sys, ids.g2, { maptrack: withEntry(domain(sys, ids.g2).maptrack, 0, { granter: ids.g1, ref: 0, mfn, gfn: MAP_GFN, readonly }) });
      },
    })),
  ];
}

/** g2's stage-2 entry for page 3: none, or g1's page 1, read-only or writable (never executable, HV-GNT-3). */
function stage2(ids: Ids): Choice<HypervisorState>[] {
  return [
    { label: '-', apply: (sys) => sys },
    ...[false, true].map((writable) => ({
      label: writable ? 'rw' : 'ro',
      apply: (sys: Sys) => {
        const mfn = domain(sys, ids.g1).p2m.get(GRANTED_GFN)!;
        const r = s2Map(world(sys), newHvLog(0), ids.g2, MAP_GFN, mfn, writable, false);
        if (typeof r === 'number') throw new Error(`universe: cannot map g2's page ${MAP_GFN} (errno ${r})`);
        return system(r);
      },
    })),
  ];
}

/** A guest's vCPU: running, runnable, blocked, or blocked polling port 1 (HV-SCHED-1, HV-SCHED-4). */
function vcpuStates(d: DomId): Choice<HypervisorState>[] {
  return [
    { label: 'running', apply: (sys) => patchVcpu(sys, d, { state: 'running' }) },
    { label: 'runnable', apply: (sys) => patchVcpu(sys, d, { state: 'runnable' }) },
    { label: 'blocked', apply: (sys) => sys },
    { label: 'polling', apply: (sys) => patchVcpu(sys, d, { polling: PORT }) },
  ];
}

/** The running vCPU, loaded onto the pCPU and entered as the hypervisor enters a guest (HV-EXIT-1). */
function running(d: DomId, label: string): Choice<HypervisorState> {
  return {
    label,
    apply: (sys) => {
      const pcpus = sys.state.pcpus.slice();
      pcpus[0] = { current: { dom: d, vcpu: 0 }, sliceLeft: sys.state.config.sliceTicks };
      const log = newHvLog(0);
      return system(enterGuest(loadVcpu({ m: sys.machine, h: { ...sys.state, pcpus } }, log, 0, d, 0), log, 0));
    },
  };
}

/** A hypercall the running guest is about to make: its number and r1.. (HV-ABI-1); `other` is the other guest. */
interface Call {
  readonly label: string;
  readonly n: number;
  readonly args: (other: DomId) => readonly number[];
}

export const CALLS: readonly Call[] = [
  { label: 'evtchn send 1', n: HYPERCALL.EVENT_CHANNEL_OP, args: () => [EVTCHN.SEND, PORT] },
  { label: 'evtchn close 1', n: HYPERCALL.EVENT_CHANNEL_OP, args: () => [EVTCHN.CLOSE, PORT] },
  { label: 'evtchn mask 1', n: HYPERCALL.EVENT_CHANNEL_OP, args: () => [EVTCHN.MASK, PORT] },
  { label: 'evtchn unmask 1', n: HYPERCALL.EVENT_CHANNEL_OP, args: () => [EVTCHN.UNMASK, PORT] },
  { label: 'evtchn pending', n: HYPERCALL.EVENT_CHANNEL_OP, args: () => [EVTCHN.PENDING] },
  { label: 'evtchn alloc_unbound other', n: HYPERCALL.EVENT_CHANNEL_OP, args: (o) => [EVTCHN.ALLOC_UNBOUND, o] },
  { label: 'evtchn bind other:1', n: HYPERCALL.EVENT_CHANNEL_OP, args: (o) => [EVTCHN.BIND_INTERDOMAIN, o, PORT] },
  { label: 'gnttab grant other page 1 ro', n: HYPERCALL.GRANT_TABLE_OP, args: (o) => [GNTTAB.GRANT, o, GRANTED_GFN, 1] },
  { label: 'gnttab end 0', n: HYPERCALL.GRANT_TABLE_OP, args: () => [GNTTAB.END, 0] },
  { label: 'gnttab map other:0 at 3 ro', n: HYPERCALL.GRANT_TABLE_OP, args: (o) => [GNTTAB.MAP, o, 0, MAP_GFN, 1] },
  { label: 'gnttab map other:0 at 3 rw', n: HYPERCALL.GRANT_TABLE_OP, args: (o) => [GNTTAB.MAP, o, 0, MAP_GFN, 0] },
  { label: 'gnttab unmap 0', n: HYPERCALL.GRANT_TABLE_OP, args: () => [GNTTAB.UNMAP, 0] },
  { label: 'gnttab copy page 1 to other:0', n: HYPERCALL.GRANT_TABLE_OP, args: (o) => [GNTTAB.COPY, o, 0, GRANTED_GFN, 1, 4] },
  { label: 'sched yield', n: HYPERCALL.SCHED_OP, args: () => [SCHED.YIELD] },
  { label: 'sched block', n: HYPERCALL.SCHED_OP, args: () => [SCHED.BLOCK] },
  { label: 'sched poll 1', n: HYPERCALL.SCHED_OP, args: () => [SCHED.POLL, PORT] },
];

function calls(ids: Ids): Choice<HypervisorState>[] {
  return CALLS.map((call) => ({
    label: call.label,
    apply: (sys: Sys) => {
      const cur = sys.state.pcpus[0]!.current;
      if (cur === null) return sys;
      const other = cur.dom === ids.g1 ? ids.g2 : ids.g1;
      const regs = sys.machine.cpus[0]!.regs.slice();
      call.args(other).forEach((a, i) => (regs[1 + i] = a >>> 0));
      const cpus = sys.machine.cpus.slice();
      cpus[0] = { ...cpus[0]!, regs };
      return { machine: { ...sys.machine, cpus }, state: sys.state };
    },
  }));
}

function dimensions(ids: Ids): Dimension<HypervisorState>[] {
  return [
    { name: 'g1:1', choices: portStates(ids.g1, ids.g2) },
    // HV-INV-4 reads the ports only.
    { name: 'g2:1', choices: portStates(ids.g2, ids.g1), settles: ['event_channels'] },
    { name: 'grant', choices: grants(ids) },
    { name: 'maptrack', choices: maptracks(ids) },
    // HV-INV-2 and HV-INV-3 read grants, maptracks, the p2m and stage 2, which nothing later changes.
    { name: 's2', choices: stage2(ids), settles: ['grant_counts', 'stage2_isolation'] },
    { name: 'g1', choices: vcpuStates(ids.g1) },
    { name: 'g2', choices: vcpuStates(ids.g2) },
    { name: 'current', choices: [running(ids.g1, 'g1'), running(ids.g2, 'g2')] },
    {
      name: 'runq',
      choices: [
        { label: '-', apply: (sys: Sys) => sys },
        ...[ids.g1, ids.g2].map((d, i) => ({
          label: `g${i + 1}`,
          apply: (sys: Sys) => ({ machine: sys.machine, state: { ...sys.state, runq: [{ dom: d, vcpu: 0 }] } }),
        })),
      ],
      // HV-INV-5 and HV-INV-10 read vCPU states, the run queue and the pCPU, which the call does not change.
      settles: ['vcpu_states', 'pcpus'],
    },
    { name: 'call', choices: calls(ids) },
  ];
}

// --- the alphabet ------------------------------------------------------------------------

function hvc(n: number): number {
  const r = encode({ op: 'hvc', imm: n });
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

/** The hypercall the state's `call` coordinate names, and a plain `exec` (the kernel's WFI). */
function events(dims: readonly Dimension<HypervisorState>[]): Universe<HypervisorState>['events'] {
  const at = dims.findIndex((d) => d.name === 'call');
  return (_sys, coordinates) => {
    const call = CALLS[coordinates[at]!]!;
    const out: LabelledEvent[] = [
      { label: `hvc ${call.label}`, event: { kind: 'exec', cpu: 0, insn: hvc(call.n) } },
      { label: 'exec', event: { kind: 'exec', cpu: 0 } },
    ];
    return out;
  };
}

// --- the universe ------------------------------------------------------------------------

/** The booted system with the pCPU idle and every vCPU blocked: the base every candidate is edited from. */
function bootBase(): { base: Sys; ids: Ids } {
  const r = bootHypervisorSystem(HV_INDUCTIVE_MACHINE, HV_INDUCTIVE_SCENARIO);
  if (E.isLeft(r)) throw new Error(r.left.message);
  const id = (name: string): DomId => r.right.state.domains.findIndex((d) => d?.name === name);
  const ids: Ids = { g1: id('g1'), g2: id('g2') };
  const log = newHvLog(0);
  let base = system(idlePcpu(deschedule(world(r.right), log, 0), 0));
  base = { machine: base.machine, state: { ...base.state, runq: [] } };
  for (const d of base.state.domains) if (d !== null) base = patchVcpu(base, d.id, { state: 'blocked', polling: null });
  return { base, ids };
}

function hvInvariant(sys: Sys, name: string): readonly string[] {
  const inv = HYPERVISOR_INVARIANTS.find((i) => i.name === name);
  if (inv === undefined) throw new Error(`universe: no invariant ${name}`);
  return inv.check(sys.machine, sys.state);
}

/** The universe of CHK-IND-2, under `supervisor` (the hypervisor, or a variant of it for tests). */
export function hypervisorUniverse(options: { readonly supervisor?: Supervisor<HypervisorState> } = {}): Universe<HypervisorState> {
  const { base, ids } = bootBase();
  const dims = dimensions(ids);
  return { name: 'hypervisor channels and grants', supervisor: options.supervisor ?? hypervisor, base, dimensions: dims, invariant: hvInvariant, events: events(dims) };
}
