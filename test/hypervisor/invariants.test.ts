/**
 * The hypervisor's invariants (HV-INV-1..10, spec/hypervisor.md §12): each holds on booted
 * systems, and each fails on a state corrupted by hand in the way it exists to catch. A
 * check that cannot fail proves nothing, so every invariant is shown failing here, on the
 * smallest corruption of a system that satisfies all of them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeBase, mapPage, NO_ASID, PTE, setIommuRoot, setSys, SYS, tlbInsert, tlbKey, writeWord, type Machine } from '../../src/hw/index.ts';
import { DOMCTL, FREE, GNTTAB, HYPERCALL, HYPERVISOR_INVARIANTS, SCHED, type Domain, type HypervisorState } from '../../src/hypervisor/index.ts';
import { hypervisor, type HypervisorSystem } from '../../src/system/index.ts';
import { arbHvScenario, bootHvCase, NIC, NIC_GFN, PAGE } from './arbitraries.ts';
import { bootHv, domainNamed, hypercall, insn, result, runningOn, setGuestRegs, stepHv } from './fixtures.ts';

/** The invariants that fail on `sys`, by name. */
function failing(sys: HypervisorSystem): string[] {
  return hypervisor.invariants(sys).filter((r) => r.violations.length > 0).map((r) => r.name);
}

function violationsOf(sys: HypervisorSystem, name: string): readonly string[] {
  return hypervisor.invariants(sys).find((r) => r.name === name)!.violations;
}

const SPIN = 'spin: b spin';

/**
 * A system that exercises every invariant's subject: dom0 and g1 on pCPU 0, g2 and a driver
 * domain holding the NIC on pCPU 1; g1 grants g2 a page, which g2 maps at page 8 and reads
 * (so pCPU 1's TLB caches the grant); g1 and g2 share a channel; g2 has written its page 1.
 */
function richSystem(): HypervisorSystem {
  let sys = bootHv({
    domains: [
      { name: 'dom0', kernel: SPIN, memory: 3, affinity: [0] },
      { name: 'g1', kernel: SPIN, memory: 4, pages: 2, affinity: [0] },
      { name: 'g2', kernel: SPIN, memory: 4, pages: 2, affinity: [1], storage: 1 },
      { name: 'drv', kernel: SPIN, memory: 3, affinity: [1], devices: [{ device: NIC, gfn: NIC_GFN }] },
    ],
    channels: [{ from: 'g1', to: 'g2' }],
    grants: [{ from: 'g1', to: 'g2', gfn: 1 }],
  });
  expect(runningOn(sys, 1)).toBe('g2');
  const g1 = domainNamed(sys, 'g1').id;
  sys = hypercall(sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, g1, 0, 8, 0]).system;
  expect(result(sys, 1)).toBe(0);
  // A load through the grant and a store to an own page: pCPU 1's TLB holds both translations.
  sys = stepHv(setGuestRegs(sys, 1, { 6: 8 * PAGE }), { kind: 'exec', cpu: 1, insn: insn({ op: 'ld', rd: 4, rs1: 6, imm: 0 }) }).system;
  sys = stepHv(setGuestRegs(sys, 1, { 6: 1 * PAGE, 3: 7 }), { kind: 'exec', cpu: 1, insn: insn({ op: 'st', rs2: 3, rs1: 6, imm: 0 }) }).system;
  expect(runningOn(sys, 1)).toBe('g2');
  return sys;
}

function withState(sys: HypervisorSystem, h: HypervisorState): HypervisorSystem {
  return { ...sys, state: h };
}

function withMachine(sys: HypervisorSystem, m: Machine): HypervisorSystem {
  return { ...sys, machine: m };
}

function patchDomain(sys: HypervisorSystem, name: string, patch: (d: Domain) => Domain): HypervisorSystem {
  const id = domainNamed(sys, name).id;
  const domains = sys.state.domains.slice();
  domains[id] = patch(domains[id]!);
  return withState(sys, { ...sys.state, domains });
}

describe('HV-INV-1..10 hold on booted systems', () => {
  it('HV-INV-1..10: every invariant holds on the hand-built system every corruption below starts from', () => {
    const sys = richSystem();
    expect(failing(sys)).toEqual([]);
    // The corruptions need these to exist.
    const g2 = domainNamed(sys, 'g2');
    expect(g2.maptrack.filter((t) => t !== null)).toHaveLength(1);
    expect(sys.machine.cpus[1]!.tlb.entries.length).toBeGreaterThanOrEqual(2);
  });

  it.each(HYPERVISOR_INVARIANTS.map((inv, i) => [`HV-INV-${i + 1}`, inv.name] as const))('%s (%s) holds on random booted scenarios', (_, name) => {
    fc.assert(
      fc.property(arbHvScenario, (c) => {
        expect(violationsOf(bootHvCase(c), name)).toEqual([]);
      }),
      { numRuns: Math.max(10, Math.ceil((fc.readConfigureGlobal().numRuns ?? 100) / 5)) },
    );
  });
});

describe('HV-INV-4, HV-INV-6, HV-INV-9 after the lifecycle of a driver domain and of the control domain', () => {
  it('HV-INV-9: a driver domain that crashes leaves its device no IOMMU table (the frame it pointed at is freed)', () => {
    const sys = stepHv(richSystem(), { kind: 'inject', fault: { kind: 'crash', domain: 'drv' } }).system;
    expect(sys.machine.iommu.roots[NIC]).toBe(-1);
    expect(failing(sys)).toEqual([]);
  });

  it('HV-INV-4, HV-INV-9: a driver domain saved and restored comes back without its device or its interrupt port', () => {
    let sys = richSystem();
    const drv = domainNamed(sys, 'drv').id;
    sys = hypercall(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, drv]).system;
    sys = hypercall(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.SAVE, drv]).system;
    expect(sys.machine.iommu.roots[NIC]).toBe(-1);
    sys = hypercall(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.RESTORE, result(sys, 0)]).system;
    expect(result(sys, 0)).toBeGreaterThan(0);
    expect(failing(sys)).toEqual([]);
    expect(domainNamed(sys, 'drv').devices).toEqual([]);
    expect(domainNamed(sys, 'drv').ports.some((p) => p?.binding.kind === 'pirq')).toBe(false);
  });

  it('HV-INV-6: the control domain outlives an injected crash and its own shutdown', () => {
    let sys = richSystem();
    expect(stepHv(sys, { kind: 'inject', fault: { kind: 'crash', domain: 'dom0' } }).error).not.toBeNull();
    expect(runningOn(sys, 0)).toBe('dom0');
    sys = hypercall(sys, 0, HYPERCALL.SCHED_OP, [SCHED.SHUTDOWN]).system;
    expect(domainNamed(sys, 'dom0').lifecycle).toBe('running');
    expect(failing(sys)).toEqual([]);
  });
});

describe('HV-INV-1..10 each fail on the corruption they exist to catch', () => {
  it('HV-INV-1 (frame_ownership): a free frame left dirty', () => {
    const sys = richSystem();
    const free = sys.state.frameOwner.lastIndexOf(FREE);
    const dirty = withMachine(sys, { ...sys.machine, memory: writeWord(sys.machine.memory, free * (PAGE / 4) + 3, 0xdead) });
    expect(failing(dirty)).toEqual(['frame_ownership']);
    expect(violationsOf(dirty, 'frame_ownership')).toEqual([`free frame ${free} is not scrubbed`]);
  });

  it('HV-INV-1 (frame_ownership): a frame claimed by two domains', () => {
    const sys = richSystem();
    const stolen = domainNamed(sys, 'g1').p2m.get(0)!;
    const bad = patchDomain(sys, 'g2', (d) => ({ ...d, p2m: new Map([...d.p2m, [5, stolen]]) }));
    expect(failing(bad)).toContain('frame_ownership');
  });

  it("HV-INV-2 (stage2_isolation): another domain's frame mapped into a stage 2", () => {
    const sys = richSystem();
    const g2 = domainNamed(sys, 'g2');
    const theirs = domainNamed(sys, 'g1').p2m.get(0)!;
    const r = mapPage(sys.machine.geometry, sys.machine.memory, g2.s2root, 9 * PAGE, theirs, PTE.W | PTE.X);
    if (!r.ok) throw new Error(r.error.message);
    const bad = withMachine(sys, { ...sys.machine, memory: r.value.memory });
    expect(failing(bad)).toEqual(['stage2_isolation']);
  });

  it('HV-INV-2 (stage2_isolation): a read-only grant mapped writable', () => {
    let sys = richSystem();
    sys = patchDomain(sys, 'g1', (d) => ({ ...d, grants: d.grants.map((g) => (g === null ? g : { ...g, readonly: true })) }));
    // The mapping is writable (the grant was read-write when it was made): now it exceeds the grant.
    expect(failing(sys)).toEqual(['stage2_isolation']);
  });

  it('HV-INV-3 (grant_counts): a grant whose count disagrees with its mappings', () => {
    const sys = richSystem();
    const bad = patchDomain(sys, 'g1', (d) => ({ ...d, grants: d.grants.map((g) => (g === null ? g : { ...g, mapCount: g.mapCount + 1 })) }));
    expect(failing(bad)).toEqual(['grant_counts']);
  });

  it('HV-INV-4 (event_channels): a one-sided interdomain port', () => {
    const sys = richSystem();
    // g1 forgets its end; g2's port still names it.
    const bad = patchDomain(sys, 'g1', (d) => ({ ...d, ports: d.ports.map((p) => (p?.binding.kind === 'interdomain' ? null : p)) }));
    expect(failing(bad)).toEqual(['event_channels']);
    expect(violationsOf(bad, 'event_channels')).toEqual(["g2's port 1 is not connected back"]);
  });

  it('HV-INV-5 (vcpu_states): a vCPU both running and queued', () => {
    const sys = richSystem();
    const cur = sys.state.pcpus[0]!.current!;
    const bad = withState(sys, { ...sys.state, runq: [...sys.state.runq, cur] });
    expect(failing(bad)).toEqual(['vcpu_states']);
  });

  it('HV-INV-5 (vcpu_states): a destroyed domain left in the run queue', () => {
    const sys = richSystem();
    const g1 = domainNamed(sys, 'g1');
    const bad = patchDomain(withState(sys, { ...sys.state, runq: [...sys.state.runq.filter((q) => q.dom !== g1.id), { dom: g1.id, vcpu: 0 }] }), 'g1', (d) => ({
      ...d,
      lifecycle: 'destroyed',
    }));
    expect(failing(bad)).toContain('vcpu_states');
  });

  it('HV-INV-6 (control_authority): two control domains', () => {
    const sys = richSystem();
    const bad = patchDomain(sys, 'g1', (d) => ({ ...d, privileged: true }));
    expect(failing(bad)).toEqual(['control_authority']);
  });

  it('HV-INV-7 (distinct_tags): two domains with one VMID', () => {
    const sys = richSystem();
    // drv is not running on a pCPU, so its VMID changes nothing else the checks look at.
    const g1 = domainNamed(sys, 'g1');
    const bad = patchDomain(sys, 'drv', (d) => ({ ...d, vmid: g1.vmid }));
    expect(failing(bad)).toEqual(['distinct_tags']);
  });

  it('HV-INV-8 (tlb_consistent): a stale TLB entry after a stage-2 PTE is rewritten without a flush', () => {
    const sys = richSystem();
    const g2 = domainNamed(sys, 'g2');
    // g2's page 1 was written through the TLB; take the write right away in the table only.
    const r = mapPage(sys.machine.geometry, sys.machine.memory, g2.s2root, 1 * PAGE, g2.p2m.get(1)!, PTE.X);
    if (!r.ok) throw new Error(r.error.message);
    const bad = withMachine(sys, { ...sys.machine, memory: r.value.memory });
    expect(failing(bad)).toEqual(['tlb_consistent']);
    expect(violationsOf(bad, 'tlb_consistent')).toEqual(["pCPU 1 caches a stale translation of g2's page 1"]);
  });

  it('HV-INV-8 (tlb_consistent): a TLB entry of a VMID no live domain uses', () => {
    const sys = richSystem();
    const cpu = sys.machine.cpus[0]!;
    const entry = { key: tlbKey(77, NO_ASID, 0), vmid: 77, asid: NO_ASID, vpn: 0, ppn: 0, ipn: 0, s1: 0xf, s2: 0xf };
    const cpus = sys.machine.cpus.slice();
    cpus[0] = { ...cpu, tlb: tlbInsert(cpu.tlb, entry) };
    expect(failing(withMachine(sys, { ...sys.machine, cpus }))).toEqual(['tlb_consistent']);
  });

  it('HV-INV-9 (iommu_isolation): an IOMMU root pointing at the wrong domain', () => {
    const sys = richSystem();
    const bad = withMachine(sys, setIommuRoot(sys.machine, NIC, domainNamed(sys, 'g1').s2root));
    expect(failing(bad)).toEqual(['iommu_isolation']);
  });

  it('HV-INV-9 (iommu_isolation): the emulated block device left with a DMA table', () => {
    const sys = richSystem();
    const bad = withMachine(sys, setIommuRoot(sys.machine, sys.state.config.blockDevice, domainNamed(sys, 'g2').s2root));
    expect(failing(bad)).toEqual(['iommu_isolation']);
  });

  it('HV-INV-10 (pcpus): a pCPU running a paused domain', () => {
    const sys = richSystem();
    const bad = patchDomain(sys, 'g2', (d) => ({ ...d, lifecycle: 'paused' }));
    expect(failing(bad)).toEqual(['pcpus']);
  });

  it('HV-INV-10 (pcpus): a pCPU running a guest under another stage 2', () => {
    const sys = richSystem();
    const dom0 = domainNamed(sys, 'dom0');
    const cpus = sys.machine.cpus.slice();
    // pCPU 1 keeps g2 current but translates with dom0's root and VMID.
    cpus[1] = { ...cpus[1]!, sys: setSys(cpus[1]!.sys, SYS.VTTBR_EL2, makeBase(dom0.s2root, dom0.vmid)) };
    expect(failing(withMachine(sys, { ...sys.machine, cpus }))).toContain('pcpus');
  });
});
