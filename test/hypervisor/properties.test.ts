/**
 * The hypervisor's properties over random scenarios and random traces (spec/hypervisor.md
 * §13): HV-PROP-1 invariants preserved, HV-PROP-7 totality, determinism and lifecycle,
 * HV-PROP-3 grants and HV-PROP-4 event channels. (HV-PROP-2 is in isolation.test.ts.)
 *
 * Expensive properties run fewer cases than FC_NUM_RUNS asks for (see `runs`): the grant
 * property probes every guest page that ever held a grant, on every pCPU, after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { transition } from 'xstate';
import {
  BLOCK_CMD,
  BLOCK_REG,
  BLOCK_STATUS,
  encode,
  execute,
  HCR,
  makeBase,
  PTE,
  readWord,
  setSys,
  SYS,
  walk,
  writeWord,
  type Machine,
} from '../../src/hw/index.ts';
import { emulatedWrite } from '../../src/hypervisor/devices.ts';
import { domainChart, EVTCHN, GNTTAB, HYPERCALL, HYPERVISOR, liveDomains, type DomainEvent, type HypervisorState } from '../../src/hypervisor/index.ts';
import { newHvLog } from '../../src/hypervisor/world.ts';
import { type HypervisorSystem, type StepResult, type SystemEvent } from '../../src/system/index.ts';
import {
  arbHvEvents,
  arbHvTraceCase,
  arbMalformedEvent,
  bootHvCase,
  classifyHvStep,
  CONTROL,
  controlBindsDomExc,
  fingerprint,
  HV_BEHAVIOURS,
  hypercallOf,
  PAGE,
  type HvBehaviour,
  type HvTraceCase,
} from './arbitraries.ts';
import { bootHv, hvViolations, hypercall, result, setGuestRegs, stepHv } from './fixtures.ts';

/** Cases for a property that costs `factor` times a plain trace run. */
function runs(factor: number): number {
  const n = fc.readConfigureGlobal().numRuns ?? 100;
  return Math.max(10, Math.ceil(n / factor));
}

/** Runs a trace, calling `check` with the system before, the event, its index and the step result. */
function runTrace(c: HvTraceCase, check: (before: HypervisorSystem, e: SystemEvent, i: number, r: StepResult<HypervisorState>) => void): HypervisorSystem {
  let sys = bootHvCase(c);
  c.events.forEach((e, i) => {
    const r = stepHv(sys, e);
    check(sys, e, i, r);
    sys = r.system;
  });
  return sys;
}

const show = (e: SystemEvent) => JSON.stringify(e);

// ---------------------------------------------------------------------------------------
// The generator reaches what the properties are about
// ---------------------------------------------------------------------------------------

describe('arbitraries', () => {
  it('with a fixed seed, random traces reach every behaviour the properties quantify over', () => {
    const traces = fc.sample(fc.oneof(arbHvTraceCase(60), arbHvTraceCase(60, 'grants'), arbHvTraceCase(60, 'lifecycle')), { numRuns: 60, seed: 20261123 });
    const seen = new Map<HvBehaviour, number>();
    for (const c of traces) runTrace(c, (before, e, _, r) => classifyHvStep(before, e, r).forEach((b) => seen.set(b, (seen.get(b) ?? 0) + 1)));
    const missing = HV_BEHAVIOURS.filter((b) => (seen.get(b) ?? 0) === 0);
    expect(missing, JSON.stringify(Object.fromEntries(seen))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// HV-PROP-1
// ---------------------------------------------------------------------------------------

describe('HV-PROP-1 invariants preserved', () => {
  it('HV-PROP-1: every invariant holds after boot and after every step of a random trace, hostile guests included', () => {
    fc.assert(
      fc.property(fc.oneof(arbHvTraceCase(60), arbHvTraceCase(60, 'grants'), arbHvTraceCase(60, 'lifecycle', controlBindsDomExc)), (c) => {
        expect(hvViolations(bootHvCase(c)), 'after boot').toEqual([]);
        runTrace(c, (_, e, i, r) => {
          expect(hvViolations(r.system), `after event ${i}: ${show(e)}`).toEqual([]);
        });
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------
// HV-PROP-7
// ---------------------------------------------------------------------------------------

/** A trace with malformed events spliced in at random places. */
const arbTraceWithMalformed: fc.Arbitrary<HvTraceCase> = arbHvTraceCase(30).chain((c) =>
  fc.array(fc.tuple(fc.nat(), arbMalformedEvent), { minLength: 1, maxLength: 8 }).map((bad) => {
    const events = c.events.slice();
    for (const [at, e] of bad) events.splice(at % (events.length + 1), 0, e);
    return { ...c, events };
  }),
);

/** What a step reports, as a string: everything but the system, which is compared by fingerprint. */
const report = (r: StepResult<HypervisorState>) =>
  JSON.stringify({ record: r.record, trap: r.trap, ops: r.ops, observations: r.observations, lifecycle: r.lifecycle, error: r.error });

describe('HV-PROP-7 totality, determinism, lifecycle', () => {
  it('HV-PROP-7: no event throws, malformed ones included; a rejected event leaves the system unchanged and reports nothing', () => {
    fc.assert(
      fc.property(arbTraceWithMalformed, (c) => {
        runTrace(c, (before, e, i, r) => {
          if (r.error === null) return;
          const same = r.system === before || fingerprint(r.system) === fingerprint(before);
          expect(same, `rejected event ${i} changed the system: ${show(e)}`).toBe(true);
          expect([r.ops, r.observations, r.lifecycle], `rejected event ${i} reported effects`).toEqual([[], [], []]);
        });
      }),
    );
  });

  it('HV-PROP-7: the control domain cannot be crashed, and a crash of nobody is an error', () => {
    const sys = bootHv({ domains: [{ name: CONTROL, kernel: 'spin: b spin', memory: 2 }, { name: 'g', kernel: 'spin: b spin', memory: 2 }] });
    for (const domain of [CONTROL, 'nowhere']) {
      const r = stepHv(sys, { kind: 'inject', fault: { kind: 'crash', domain } });
      expect(r.error, domain).not.toBeNull();
      expect(r.system).toBe(sys);
    }
    const ok = stepHv(sys, { kind: 'inject', fault: { kind: 'crash', domain: 'g' } });
    expect(ok.error).toBeNull();
    expect(ok.lifecycle).toEqual([{ subject: 'g', from: 'running', to: 'destroyed', event: 'DESTROY' }]);
  });

  it('HV-PROP-7: replay is exact — the same trace from the same boot gives the same records and states', () => {
    fc.assert(
      fc.property(arbTraceWithMalformed, (c) => {
        const first: string[] = [];
        const states: string[] = [];
        const end = runTrace(c, (_, __, i, r) => {
          first.push(report(r));
          if (i % 8 === 0) states.push(fingerprint(r.system));
        });
        let k = 0;
        const again = runTrace(c, (_, e, i, r) => {
          expect(report(r), `step ${i} differs on replay: ${show(e)}`).toBe(first[i]);
          if (i % 8 === 0) expect(fingerprint(r.system), `state after step ${i} differs on replay`).toBe(states[k++]);
        });
        expect(fingerprint(again)).toBe(fingerprint(end));
      }),
      { numRuns: runs(2) },
    );
  });

  it('HV-PROP-7: every lifecycle change reported is a transition of domainChart (checked by xstate) and matches the domains before and after', () => {
    fc.assert(
      fc.property(fc.oneof(arbHvTraceCase(60), arbHvTraceCase(60, 'lifecycle')), (c) => {
        runTrace(c, (before, e, i, r) => {
          const after = r.system.state;
          const claimed = new Set<number>();
          for (const t of r.lifecycle) {
            // The chart itself, through xstate, decides whether `event` leads from `from` to `to`.
            const from = domainChart.resolveState({ value: t.from });
            expect(from.can({ type: t.event as DomainEvent }), `event ${i}: ${t.from} --${t.event}--> is not in the chart`).toBe(true);
            const [next] = transition(domainChart, from, { type: t.event as DomainEvent });
            expect(next.value, `event ${i}: ${t.from} --${t.event}--> ${t.to}`).toBe(t.to);
            // Some domain of that name was in `from` before (or did not exist: it was made in
            // this step, as `created`) and is in `to` after.
            const id = after.domains.findIndex(
              (d, k) => d !== null && d.name === t.subject && !claimed.has(k) && d.lifecycle === t.to && (before.state.domains[k]?.lifecycle ?? 'created') === t.from,
            );
            expect(id, `event ${i}: no domain ${t.subject} went ${t.from} → ${t.to}: ${show(e)}`).toBeGreaterThanOrEqual(0);
            claimed.add(id);
          }
          // Conversely, every change of a domain's state is reported.
          after.domains.forEach((d, k) => {
            const was = before.state.domains[k]?.lifecycle ?? 'created';
            if (d !== null && d.lifecycle !== was) expect(claimed.has(k), `event ${i}: ${d.name} went ${was} → ${d.lifecycle} unreported`).toBe(true);
          });
        });
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------
// HV-PROP-3: grants
// ---------------------------------------------------------------------------------------

/** A host frame and whether it may be written. */
interface Reach {
  readonly mfn: number;
  readonly write: boolean;
}

/**
 * The RAM frames domain `d` may reach, and how: its own pages (read-write) and the grants it
 * has mapped whose grant is still in force — granted to it, its page still the granter's —
 * writable only if neither the grant nor the mapping is read-only (HV-GNT-3, HV-MEM-2).
 */
function allowedFrames(h: HypervisorState, d: number): Map<number, boolean> {
  const out = new Map<number, boolean>();
  const dom = h.domains[d]!;
  for (const mfn of dom.p2m.values()) out.set(mfn, true);
  for (const t of dom.maptrack) {
    if (t === null) continue;
    const granter = h.domains[t.granter];
    const g = granter === null || granter === undefined || granter.lifecycle === 'destroyed' ? null : (granter.grants[t.ref] ?? null);
    if (g === null || g.grantee !== d || granter!.p2m.get(g.gfn) !== t.mfn) continue;
    out.set(t.mfn, (out.get(t.mfn) ?? false) || (!g.readonly && !t.readonly));
  }
  return out;
}

const LOAD = encode({ op: 'ld', rd: 2, rs1: 1, imm: 0 });
const STORE = encode({ op: 'st', rs2: 2, rs1: 1, imm: 0 });
const word = (e: typeof LOAD): number => {
  if (e._tag === 'Left') throw new Error(e.left.message);
  return e.right;
};

/**
 * Runs a load or store of guest-physical address `ipa` as domain `d` on pCPU `c`: the pCPU as
 * it is — its TLB included, stale entries and all — but in `d`'s stage 2 (VTTBR = its root and
 * VMID) at EL1 with stage 1 off and interrupts masked. Returns the RAM frame reached, or null
 * if the access faulted or reached no RAM.
 */
function probeCpu(m: Machine, c: number, root: number, vmid: number, ipa: number, store: boolean): Reach | null {
  const cpu = m.cpus[c]!;
  let sys = setSys(cpu.sys, SYS.SCTLR_EL1, 0);
  sys = setSys(sys, SYS.HCR_EL2, HCR.VM);
  sys = setSys(sys, SYS.VTTBR_EL2, makeBase(root, vmid));
  const regs = cpu.regs.slice();
  regs[1] = ipa;
  regs[2] = 0x5eed;
  const cpus = m.cpus.slice();
  cpus[c] = { ...cpu, el: 1, irqMasked: true, waiting: false, regs, sys };
  const r = execute({ ...m, cpus }, c, word(store ? STORE : LOAD));
  const a = r.record.memAccess;
  if (r.record.status !== 'retired' || a === null || a.device !== null) return null;
  return { mfn: Math.floor(a.pa / PAGE), write: store };
}

/** Every frame a device's IOMMU table reaches at `iova`, with whether it may write there. */
function probeIommu(m: Machine, root: number, iova: number): Reach | null {
  const w = walk(m.geometry, m.memory, root, iova);
  if (!w.ok || (w.flags & PTE.P) === 0 || w.page >= m.geometry.config.frames) return null;
  return { mfn: w.page, write: (w.flags & PTE.W) !== 0 };
}

/**
 * Word 0 of every frame that is not the hypervisor's names the frame, so a transfer shows
 * which frame it touched. (Stage-2 tables keep their words: marking them would break the
 * very walks the probe makes; a transfer that touches one shows as an unnamed frame, -1.)
 */
const MARK = 0xa5a50000;
function markFrames(m: Machine, h: HypervisorState): Machine {
  const wpf = m.geometry.config.wordsPerFrame;
  let memory = m.memory;
  for (let f = 0; f < m.geometry.config.frames; f++) if (h.frameOwner[f] !== HYPERVISOR) memory = writeWord(memory, f * wpf, MARK + f);
  return { ...m, memory };
}

/** The frame a marked word names, or -1 when it names none (a hypervisor frame was read). */
function markedFrame(h: HypervisorState, word: number): number {
  const f = (word - MARK) >>> 0;
  return f < h.frameOwner.length && h.frameOwner[f] !== HYPERVISOR ? f : -1;
}

/**
 * Runs domain `d`'s emulated block device (the hypervisor's own device model, HV-DEV-1) on
 * guest page `gfn`: a write to disk (DMA reads the page) and a read from disk (DMA writes
 * it). Returns the frames the DMA touched, each with whether it was written.
 */
function probeVblk(sys: HypervisorSystem, d: number, gfn: number): Reach[] {
  const h = sys.state;
  const dom = h.domains[d]!;
  const dev = h.config.blockDevice;
  if (dom.storage.count < 1 || dev < 0) return [];
  const wpf = sys.machine.geometry.config.wordsPerFrame;
  const out: Reach[] = [];
  const run = (m: Machine, cmd: number) => {
    let w = { m, h };
    const log = newHvLog(0);
    for (const [reg, value] of [
      [BLOCK_REG.SECTOR, 0],
      [BLOCK_REG.ADDR, gfn * PAGE],
      [BLOCK_REG.COUNT, 1],
      [BLOCK_REG.CMD, cmd],
    ] as const) {
      w = emulatedWrite(w, log, d, 0, 'vblk', reg, value);
    }
    return w;
  };
  // Memory → disk: the sector's first word names the frame read.
  const sent = run(markFrames(sys.machine, h), BLOCK_CMD.WRITE);
  if (sent.h.domains[d]!.vblk.status === BLOCK_STATUS.DONE) {
    const disk = sent.m.devices[dev]!;
    out.push({ mfn: markedFrame(h, disk.kind === 'block' ? readWord(disk.disk, dom.storage.first * wpf) : 0), write: false });
  }
  // Disk → memory: the frame whose first word became the disk's marker is the one written.
  const before = sys.machine.devices[dev]!;
  if (before.kind === 'block') {
    const marker = 0x5a5a5a5a;
    const devices = sys.machine.devices.slice();
    devices[dev] = { ...before, disk: writeWord(before.disk, dom.storage.first * wpf, marker) };
    const got = run({ ...markFrames(sys.machine, h), devices }, BLOCK_CMD.READ);
    if (got.h.domains[d]!.vblk.status === BLOCK_STATUS.DONE) {
      const written = Array.from({ length: got.m.geometry.config.frames }, (_, f) => f).filter((f) => readWord(got.m.memory, f * wpf) === marker);
      out.push(...(written.length === 0 ? [-1] : written).map((mfn) => ({ mfn, write: true })));
    }
  }
  return out;
}

/**
 * HV-PROP-3 after one step: for every live domain with a stage 2 and every guest page that
 * has ever held a grant mapping (`probed`), whatever a load or store on each pCPU, its
 * emulated block device's DMA, or an assigned device's DMA reaches must be a frame it is
 * allowed, with the right it is allowed.
 */
function checkGrantReach(sys: HypervisorSystem, probed: ReadonlySet<number>, label: string, vblk: boolean): void {
  const h = sys.state;
  const m = sys.machine;
  for (const dom of liveDomains(h)) {
    if (dom.lifecycle === 'saved') continue;
    const allowed = allowedFrames(h, dom.id);
    const verify = (how: string, gfn: number, reach: Reach | null) => {
      if (reach === null) return;
      const may = allowed.get(reach.mfn);
      expect(may !== undefined && (may || !reach.write), `${label}: ${dom.name} ${how} frame ${reach.mfn} at page ${gfn} (${reach.write ? 'write' : 'read'}), allowed ${JSON.stringify([...allowed])}`).toBe(true);
    };
    for (const gfn of probed) {
      for (let c = 0; c < m.cpus.length; c++) {
        verify(`loads on pCPU ${c} from`, gfn, probeCpu(m, c, dom.s2root, dom.vmid, gfn * PAGE, false));
        verify(`stores on pCPU ${c} to`, gfn, probeCpu(m, c, dom.s2root, dom.vmid, gfn * PAGE, true));
      }
      if (vblk) for (const r of probeVblk(sys, dom.id, gfn)) verify('DMAs (emulated block device)', gfn, r);
    }
  }
  // Assigned devices: the IOMMU table a device actually uses reaches only its domain's frames.
  m.iommu.roots.forEach((root, dev) => {
    if (root < 0) return;
    const owner = liveDomains(h).find((d) => d.devices.includes(dev));
    expect(owner, `${label}: device ${dev} has an IOMMU table but no domain`).toBeDefined();
    const allowed = allowedFrames(h, owner!.id);
    for (const gfn of probed) {
      const r = probeIommu(m, root, gfn * PAGE);
      if (r === null) continue;
      const may = allowed.get(r.mfn);
      expect(may !== undefined && (may || !r.write), `${label}: device ${dev} of ${owner!.name} DMAs frame ${r.mfn} at ${gfn}`).toBe(true);
    }
  });
}

/** Guest pages that hold a grant mapping now, in any domain. */
function grantPages(h: HypervisorState): number[] {
  return liveDomains(h).flatMap((d) => d.maptrack.flatMap((t) => (t === null ? [] : [t.gfn])));
}

describe('HV-PROP-3 grants', () => {
  it('HV-PROP-3: the probes see a mapped grant — by load, store and block-device DMA — and nothing once it is unmapped', () => {
    let sys = bootHv({
      domains: [
        { name: CONTROL, kernel: 'spin: b spin', memory: 2, affinity: [0] },
        { name: 'g1', kernel: 'spin: b spin', memory: 3, pages: 2, affinity: [0] },
        { name: 'g2', kernel: 'spin: b spin', memory: 3, pages: 1, affinity: [1], storage: 1 },
      ],
      grants: [{ from: 'g1', to: 'g2', gfn: 1 }],
    });
    const g1 = sys.state.domains[1]!;
    const mfn = g1.p2m.get(1)!;
    sys = hypercall(sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, g1.id, 0, 8, 0]).system;
    expect(result(sys, 1)).toBe(0);
    const g2 = sys.state.domains[2]!;
    for (const c of [0, 1]) {
      expect(probeCpu(sys.machine, c, g2.s2root, g2.vmid, 8 * PAGE, false)).toEqual({ mfn, write: false });
      expect(probeCpu(sys.machine, c, g2.s2root, g2.vmid, 8 * PAGE, true)).toEqual({ mfn, write: true });
    }
    expect(probeVblk(sys, g2.id, 8)).toEqual([
      { mfn, write: false },
      { mfn, write: true },
    ]);
    // A load through the grant fills pCPU 1's TLB; the unmap must leave nothing reachable.
    sys = stepHv(setGuestRegs(sys, 1, { 6: 8 * PAGE }), { kind: 'exec', cpu: 1, insn: insnWord({ op: 'ld', rd: 4, rs1: 6, imm: 0 }) }).system;
    sys = hypercall(sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.UNMAP, 0]).system;
    expect(result(sys, 1)).toBe(0);
    for (const c of [0, 1]) expect(probeCpu(sys.machine, c, g2.s2root, g2.vmid, 8 * PAGE, false)).toBeNull();
    expect(probeVblk(sys, g2.id, 8)).toEqual([]);
  });

  it('HV-PROP-3: a grantee reaches a granted frame only with the granted rights, and after unmap or end by no path (stage 2, TLB on every pCPU, IOMMU)', () => {
    fc.assert(
      fc.property(arbHvTraceCase(60, 'grants'), (c) => {
        const probed = new Set<number>();
        runTrace(c, (before, e, i, r) => {
          for (const g of grantPages(before.state)) probed.add(g);
          for (const g of grantPages(r.system.state)) probed.add(g);
          const hc = hypercallOf(before, e, r);
          // The block-device probe is the costly one: after the steps that change grants or mappings.
          const grantStep = hc !== null && (hc.n === HYPERCALL.GRANT_TABLE_OP || hc.n === HYPERCALL.MEMORY_OP || hc.n === HYPERCALL.DOMCTL);
          checkGrantReach(r.system, probed, `after event ${i} ${show(e)}`, grantStep || e.kind === 'inject');
          // Copying into a grant needs a read-write grant (HV-GNT-6).
          if (hc !== null && hc.n === HYPERCALL.GRANT_TABLE_OP && hc.args[0] === GNTTAB.COPY && hc.args[4] !== 0 && hc.result === 0) {
            const g = before.state.domains[hc.args[1]!]?.grants[hc.args[2]!] ?? null;
            expect(g !== null && !g.readonly, `event ${i}: a copy into a read-only grant succeeded`).toBe(true);
          }
          // After an unmap, the page it was mapped at reaches the frame no more, on any pCPU.
          if (hc !== null && hc.n === HYPERCALL.GRANT_TABLE_OP && hc.args[0] === GNTTAB.UNMAP && hc.result === 0) {
            const t = before.state.domains[hc.dom]!.maptrack[hc.args[1]!]!;
            const dom = r.system.state.domains[hc.dom]!;
            for (let cpu = 0; cpu < r.system.machine.cpus.length; cpu++) {
              expect(probeCpu(r.system.machine, cpu, dom.s2root, dom.vmid, t.gfn * PAGE, false), `event ${i}: unmapped page ${t.gfn} still reaches a frame on pCPU ${cpu}`).toBeNull();
            }
          }
        });
      }),
      { numRuns: runs(3) },
    );
  });
});

// ---------------------------------------------------------------------------------------
// HV-PROP-4: event channels
// ---------------------------------------------------------------------------------------

/** Every pending port of every live domain, as "domain.port". */
function pendingPorts(h: HypervisorState): Set<string> {
  const out = new Set<string>();
  for (const d of liveDomains(h)) d.ports.forEach((p, i) => p?.pending === true && out.add(`${d.id}.${i}`));
  return out;
}

/**
 * HV-PROP-4 for one step: a send makes exactly the bound remote port pending — the port the
 * sender's port names, which names it back — or, on any other port, fails and delivers
 * nothing; a close leaves the remote end unbound, not pending.
 */
function checkChannelStep(before: HypervisorSystem, e: SystemEvent, i: number, r: StepResult<HypervisorState>): void {
  const hc = hypercallOf(before, e, r);
  if (hc === null || hc.n !== HYPERCALL.EVENT_CHANNEL_OP) return;
  const h = before.state;
  const port = h.domains[hc.dom]!.ports[hc.args[1]!] ?? null;
  if (hc.args[0] === EVTCHN.SEND) {
    const fresh = [...pendingPorts(r.system.state)].filter((p) => !pendingPorts(h).has(p));
    const events = r.observations.filter((o) => o.kind === 'event');
    const b = port?.binding;
    const remote = b?.kind === 'interdomain' ? (liveDomains(h).find((d) => d.id === b.remote) ?? null) : null;
    const back = b?.kind === 'interdomain' ? (remote?.ports[b.remotePort] ?? null) : null;
    if (b?.kind === 'interdomain' && back?.binding.kind === 'interdomain' && back.binding.remote === hc.dom && back.binding.remotePort === hc.args[1]) {
      expect(hc.result, `event ${i}: a send on a bound port failed`).toBe(0);
      expect(fresh, `event ${i}: the send made other ports pending`).toEqual(back.pending ? [] : [`${b.remote}.${b.remotePort}`]);
      expect(events.map((o) => o.domain), `event ${i}: the send was observed elsewhere`).toEqual(back.pending ? [] : [remote!.name]);
    } else {
      expect(hc.result, `event ${i}: a send on port ${hc.args[1]} (${JSON.stringify(port)}) succeeded`).toBeLessThan(0);
      expect(fresh, `event ${i}: a failed send delivered`).toEqual([]);
      expect(events, `event ${i}: a failed send was observed`).toEqual([]);
    }
  }
  if (hc.args[0] === EVTCHN.CLOSE && hc.result === 0 && port !== null) {
    const after = r.system.state;
    expect(after.domains[hc.dom]!.ports[hc.args[1]!] ?? null, `event ${i}: the closed port is still open`).toBeNull();
    const b = port.binding;
    if (b.kind === 'interdomain') {
      const rp = after.domains[b.remote]?.lifecycle === 'destroyed' ? null : (after.domains[b.remote]?.ports[b.remotePort] ?? null);
      if (rp !== null) {
        expect(rp.binding, `event ${i}: the remote end of a closed channel is still bound`).toEqual({ kind: 'unbound', remote: hc.dom });
        expect(rp.pending, `event ${i}: the remote end of a closed channel is pending`).toBe(false);
      }
    }
  }
}

/** Two guests joined by a channel at boot (port 1 at each end), each alone on its pCPU, each sending on port 1 in a loop. */
const SENDER = `loop: addi r1, r0, ${EVTCHN.SEND}\n addi r2, r0, 1\n hvc #6\n b loop`;
const CHANNEL_SCENARIO = {
  domains: [
    { name: CONTROL, kernel: 'spin: b spin', memory: 3, affinity: [1], weight: 16 },
    { name: 'a', kernel: SENDER, memory: 3, affinity: [0] },
    { name: 'b', kernel: SENDER, memory: 3, affinity: [1] },
  ],
  channels: [{ from: 'a', to: 'b' }],
};

const insnWord = (i: Parameters<typeof encode>[0]): number => word(encode(i));

describe('HV-PROP-4 event channels', () => {
  it('HV-PROP-4: in random traces, a send reaches exactly the bound remote port; otherwise it fails and delivers nothing', () => {
    fc.assert(fc.property(arbHvTraceCase(60), (c) => void runTrace(c, (b, e, i, r) => checkChannelStep(b, e, i, r))));
  });

  it('HV-PROP-4: after either end of a channel closes, the sending loops at both ends fail and nothing is delivered', () => {
    const boot = bootHv(CHANNEL_SCENARIO);
    // After the close, only what cannot reconnect the pair: the guests' own code, time, interrupts.
    const arbAfter = fc.array(
      fc.oneof(
        { weight: 6, arbitrary: fc.nat(1).map((cpu): SystemEvent => ({ kind: 'exec', cpu })) },
        { weight: 2, arbitrary: fc.nat(1).map((cpu): SystemEvent => ({ kind: 'tick', cpu })) },
        { weight: 1, arbitrary: fc.integer({ min: 3, max: 7 }).map((line): SystemEvent => ({ kind: 'irq', line })) },
      ),
      { minLength: 1, maxLength: 60 },
    );
    fc.assert(
      fc.property(arbHvEvents(boot, 20), fc.constantFrom('a', 'b'), arbAfter, (pre, closer, post) => {
        let sys = boot;
        let n = 0;
        const run = (events: readonly SystemEvent[], closed: boolean) => {
          for (const e of events) {
            const r = stepHv(sys, e);
            checkChannelStep(sys, e, n, r);
            if (closed) {
              const sends = hypercallOf(sys, e, r);
              if (sends !== null && sends.n === HYPERCALL.EVENT_CHANNEL_OP && sends.args[0] === EVTCHN.SEND && sends.args[1] === 1) {
                expect(sends.result, `event ${n} after the close: a send on port 1 succeeded`).toBeLessThan(0);
              }
              expect(r.observations.filter((o) => o.kind === 'event'), `event ${n} after the close: ${show(e)}`).toEqual([]);
            }
            sys = r.system;
            n++;
          }
        };
        run(pre, false);
        const dom = sys.state.domains.find((d) => d !== null && d.name === closer && d.lifecycle === 'running');
        if (dom === undefined || dom === null || dom.ports[1]?.binding.kind !== 'interdomain') return;
        const cpu = dom.vcpus[0]!.affinity;
        // Let the closer's pCPU come round to it (its slice rotates with the others there).
        for (let k = 0; k < 12 && sys.state.pcpus[cpu]!.current?.dom !== dom.id; k++) run([{ kind: 'tick', cpu }, { kind: 'exec', cpu }], false);
        if (sys.state.pcpus[cpu]!.current?.dom !== dom.id || sys.machine.cpus[cpu]!.el === 2) return;
        run(
          [
            { kind: 'exec', cpu, insn: insnWord({ op: 'addi', rd: 1, rs1: 0, imm: EVTCHN.CLOSE }) },
            { kind: 'exec', cpu, insn: insnWord({ op: 'addi', rd: 2, rs1: 0, imm: 1 }) },
            { kind: 'exec', cpu, insn: insnWord({ op: 'hvc', imm: HYPERCALL.EVENT_CHANNEL_OP }) },
          ],
          false,
        );
        if ((sys.state.domains[dom.id]!.ports[1] ?? null) !== null) return;
        // Only events already pending before the close may still be observed by nobody: none is sent.
        run(post, true);
      }),
      { numRuns: runs(2) },
    );
  });
});
