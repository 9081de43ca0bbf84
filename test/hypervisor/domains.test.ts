/**
 * Rule-by-rule tests of domains, the hypercall ABI, boot and the lifecycle up to save and
 * restore (spec/hypervisor.md §1, §2, §9 HV-LIFE-1..4, §10). Expectations come from the
 * spec's text, computed here, never from the hypervisor function under test.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { getNextSnapshot } from 'xstate';
import { HCR, SYS, TIMER_CTL } from '../../src/hw/index.ts';
import {
  DOMCTL,
  domainChart,
  ERRNO,
  EVTCHN,
  GNTTAB,
  HYPERCALL,
  MEMORY,
  SCHED,
  VCPU,
  VIRQ,
  VIRQ_ID,
  type HypervisorScenario,
} from '../../src/hypervisor/index.ts';
import { bootHypervisorSystem, type HypervisorSystem, type LifecycleTransition } from '../../src/system/index.ts';
import { bootHv, domainNamed, HV_MACHINE, hvViolations, runningOn, SPIN, stepHv } from './fixtures.ts';
import {
  call,
  counterTicks,
  errWord,
  expectRefused,
  frame,
  guestWord,
  idOf,
  inject,
  isZeroFrame,
  liveRegs,
  liveRegsById,
  ok,
  PAGE_BYTES,
  PARK,
  pcpuOf,
  run,
  runUntil,
  savedContext,
  schedTick,
  settle,
  stage2,
  tlbEntriesOf,
  words,
  yieldTo,
} from './rule-helpers.ts';

const HYPERVISOR_OWNER = -2;
const FREE_OWNER = -1;

/** dom0 on pCPU 0 and guest `a` alone on pCPU 1, both parked. */
const TWO: HypervisorScenario = {
  domains: [
    { name: 'dom0', kernel: PARK, memory: 8 },
    { name: 'a', kernel: PARK, memory: 8, pages: 3, affinity: [1] },
  ],
};

describe('HV-DOM: domains', () => {
  it('HV-DOM-1: a domain has a name, lifecycle, VMID, hypervisor-owned stage-2 root, p2m, quota, weight, cap, storage, vCPUs, grant table, maptrack, ports, devices, console and emulated block device', () => {
    const sys = bootHv({
      domains: [
        { name: 'dom0', kernel: PARK, memory: 8, storage: 4 },
        { name: 'a', kernel: PARK, memory: 6, pages: 3, vcpus: 2, weight: 128, cap: 50, storage: 3, affinity: [1, 0] },
      ],
    });
    const a = domainNamed(sys, 'a');
    expect(a.name).toBe('a');
    expect(a.lifecycle).toBe('running');
    expect(a.vmid).toBe(2);
    expect(sys.state.frameOwner[a.s2root]).toBe(HYPERVISOR_OWNER);
    expect([...a.p2m.keys()].sort((x, y) => x - y)).toEqual([0, 1, 2]);
    for (const mfn of a.p2m.values()) expect(sys.state.frameOwner[mfn]).toBe(a.id);
    expect(a.maxPages).toBe(6);
    expect(a.weight).toBe(128);
    expect(a.cap).toBe(50);
    // Storage is carved from the disk in scenario order: dom0 has sectors 0..3, a 4..6.
    expect(a.storage).toEqual({ first: 4, count: 3 });
    expect(a.vcpus.map((v) => v.affinity)).toEqual([1, 0]);
    expect(a.grants).toEqual([]);
    expect(a.maptrack).toEqual([]);
    expect(a.ports).toEqual([]);
    expect(a.devices).toEqual([]);
    expect(a.console).toBe('');
    expect(a.vblk).toEqual({ sector: 0, addr: 0, count: 0, status: 0 });
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-DOM-2: a domain other than the control domain gets EPERM for every domctl and nothing changes', () => {
    const sys = bootHv({ ...TWO, images: [{ name: 'img', kernel: SPIN, memory: 2 }] });
    expect(runningOn(sys, 1)).toBe('a');
    const dom0 = idOf(sys, 'dom0');
    for (const [cmd, arg] of [
      [DOMCTL.CREATE, 0],
      [DOMCTL.DESTROY, dom0],
      [DOMCTL.PAUSE, dom0],
      [DOMCTL.UNPAUSE, dom0],
      [DOMCTL.SAVE, dom0],
      [DOMCTL.RESTORE, 0],
    ] as const) {
      expectRefused(sys, 1, HYPERCALL.DOMCTL, [cmd, arg], ERRNO.EPERM);
    }
  });

  it('HV-DOM-2: the control domain cannot destroy or pause itself', () => {
    const sys = bootHv(TWO);
    const dom0 = idOf(sys, 'dom0');
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.DESTROY, dom0], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, dom0], ERRNO.EINVAL);
  });

  it('HV-DOM-2, HV-ABI-3: the control domain cannot shut itself down: it gets an error in r1 and nothing else changes', () => {
    const sys = bootHv(TWO);
    const c = call(sys, 0, HYPERCALL.SCHED_OP, [SCHED.SHUTDOWN]);
    expect(c.r1).toBeLessThan(0);
    expectRefused(sys, 0, HYPERCALL.SCHED_OP, [SCHED.SHUTDOWN], -c.r1);
    expect(domainNamed(c.sys, 'dom0').lifecycle).toBe('running');
  });

  it('HV-DOM-2: `control: true` makes another domain the only control domain', () => {
    const sys = bootHv({
      domains: [
        { name: 'plain', kernel: PARK, memory: 4 },
        { name: 'boss', kernel: PARK, memory: 4, control: true, affinity: [1] },
      ],
    });
    expect(domainNamed(sys, 'boss').privileged).toBe(true);
    expect(domainNamed(sys, 'plain').privileged).toBe(false);
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, idOf(sys, 'boss')], ERRNO.EPERM);
    const paused = ok(sys, 1, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, idOf(sys, 'plain')]);
    expect(domainNamed(paused.sys, 'plain').lifecycle).toBe('paused');
  });

  it('HV-DOM-3: vCPU 0 starts runnable at the origin, at EL1 with IRQs masked and r1 = 0; the others start offline', () => {
    const sys = bootHv({
      domains: [
        { name: 'dom0', kernel: PARK, memory: 4 },
        { name: 'a', kernel: SPIN, origin: 0x100, memory: 4, vcpus: 3, start: false },
      ],
    });
    const a = domainNamed(sys, 'a');
    expect(a.vcpus.map((v) => v.state)).toEqual(['runnable', 'offline', 'offline']);
    const ctx = a.vcpus[0]!.context;
    expect(ctx.pc).toBe(0x100);
    expect(ctx.el).toBe(1);
    expect(ctx.irqMasked).toBe(true);
    expect(ctx.regs[1]).toBe(0);
    expect(ctx.regs.length).toBe(16);
  });

  it('HV-DOM-3: VCPUOP_up brings a vCPU up at the given pc, at EL1 with IRQs masked and r1 = its id; it sees its id in MPIDR', () => {
    const sys0 = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4, vcpus: 2 }] });
    expect(runningOn(sys0, 1)).toBeNull();
    const up = ok(sys0, 0, HYPERCALL.VCPU_OP, [VCPU.UP, 1, 0x40]);
    expect(up.r1).toBe(0);
    // pCPU 1 idles; it is sent an IPI to schedule the new vCPU (HV-SCHED-5).
    expect(up.sys.machine.gic.ipiPending & 0b10).toBe(0b10);
    const s = run(up.sys, 1, 1);
    expect(pcpuOf(s, 'dom0', 1)).toBe(1);
    const cpu = s.machine.cpus[1]!;
    expect([cpu.pc, cpu.el, cpu.irqMasked, cpu.regs[1]]).toEqual([0x40, 1, true, 1]);
    const s2 = inject(s, 1, { op: 'mrs', rd: 2, sysreg: SYS.MPIDR_EL1 });
    expect(s2.machine.cpus[1]!.regs[2]).toBe(1);
    expect(hvViolations(s2)).toEqual([]);
  });

  it('HV-DOM-3: VCPUOP_up of a vCPU that is up is EEXIST, of a vCPU the domain lacks EINVAL; VCPUOP_down takes one offline', () => {
    const sys0 = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4, vcpus: 2 }] });
    expectRefused(sys0, 0, HYPERCALL.VCPU_OP, [VCPU.UP, 0, 0x40], ERRNO.EEXIST);
    expectRefused(sys0, 0, HYPERCALL.VCPU_OP, [VCPU.UP, 2, 0x40], ERRNO.EINVAL);
    const up = run(ok(sys0, 0, HYPERCALL.VCPU_OP, [VCPU.UP, 1, 0x40]).sys, 1, 1);
    expect(pcpuOf(up, 'dom0', 1)).toBe(1);
    const down = ok(up, 0, HYPERCALL.VCPU_OP, [VCPU.DOWN, 1]);
    expect(domainNamed(down.sys, 'dom0').vcpus[1]!.state).toBe('offline');
    expect(pcpuOf(down.sys, 'dom0', 1)).toBe(-1);
    expect(runningOn(down.sys, 1)).toBeNull();
  });

  it('HV-DOM-4: create takes the lowest free VMID and frame for the root, populates the image from gfn 0, loads the kernel and leaves the domain created', () => {
    const kernel = 'li r2, 0x1234\nhvc #1\nb 0';
    const sys = bootHv({
      domains: [{ name: 'dom0', kernel: PARK, memory: 4 }],
      images: [{ name: 'img', kernel, memory: 5, pages: 2, weight: 300, cap: 20, vcpus: 2 }],
    });
    const free = sys.state.frameOwner.flatMap((o, f) => (o === FREE_OWNER ? [f] : []));
    const c = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.CREATE, 0]);
    const img = domainNamed(c.sys, 'img');
    expect(c.r1).toBe(img.id);
    expect(img.lifecycle).toBe('created');
    expect(c.res.lifecycle).toEqual([]);
    expect(img.vmid).toBe(2);
    expect(img.s2root).toBe(free[0]);
    expect([...img.p2m.keys()].sort((x, y) => x - y)).toEqual([0, 1]);
    // The image's pages are the next lowest free frames after the root (HV-MEM-1).
    expect([img.p2m.get(0), img.p2m.get(1)]).toEqual([free[1], free[2]]);
    const image = words(kernel);
    expect(frame(c.sys, img.p2m.get(0)!).slice(0, image.length + 1)).toEqual([...image, 0]);
    expect(isZeroFrame(c.sys, img.p2m.get(1)!)).toBe(true);
    expect([img.maxPages, img.weight, img.cap, img.vcpus.length, img.privileged]).toEqual([5, 300, 20, 2, false]);
    // Created, it is not scheduled (HV-LIFE-2).
    expect(run(c.sys, 0, 3).state.pcpus.every((p) => p.current?.dom !== img.id)).toBe(true);
  });

  it('HV-DOM-4: a new domain gets the lowest VMID free, reusing a destroyed domain\'s', () => {
    let sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }], images: [{ name: 'x', kernel: SPIN, memory: 1 }, { name: 'y', kernel: SPIN, memory: 1 }] });
    const first = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.CREATE, 0]);
    const second = ok(first.sys, 0, HYPERCALL.DOMCTL, [DOMCTL.CREATE, 1]);
    sys = second.sys;
    expect([sys.state.domains[first.r1]!.vmid, sys.state.domains[second.r1]!.vmid]).toEqual([2, 3]);
    sys = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.DESTROY, first.r1]).sys;
    const third = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.CREATE, 0]);
    expect(third.sys.state.domains[third.r1]!.vmid).toBe(2);
  });

  it('HV-DOM-4: a second live domain of the same name is EEXIST and changes nothing; once the first is destroyed the name is free', () => {
    const sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }], images: [{ name: 'x', kernel: SPIN, memory: 1 }] });
    const first = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.CREATE, 0]);
    expectRefused(first.sys, 0, HYPERCALL.DOMCTL, [DOMCTL.CREATE, 0], ERRNO.EEXIST);
    const destroyed = ok(first.sys, 0, HYPERCALL.DOMCTL, [DOMCTL.DESTROY, first.r1]).sys;
    expect(ok(destroyed, 0, HYPERCALL.DOMCTL, [DOMCTL.CREATE, 0]).r1).toBeGreaterThan(first.r1);
  });

  it('HV-DOM-4: creating from an image the scenario does not list is EINVAL and changes nothing', () => {
    const sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }], images: [{ name: 'x', kernel: SPIN, memory: 1 }] });
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.CREATE, 1], ERRNO.EINVAL);
  });

  it('HV-DOM-5: pausing takes a domain off its pCPU where it is; unpausing lets it go on from there', () => {
    const loop = 'loop: addi r2, r2, 1\nb loop';
    let sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }, { name: 'a', kernel: loop, memory: 2, affinity: [1] }] });
    sys = run(sys, 1, 10);
    const before = liveRegs(sys, 'a');
    expect(before.regs[2]).toBe(5);
    const p = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, idOf(sys, 'a')]);
    expect(p.res.lifecycle).toEqual([{ subject: 'a', from: 'running', to: 'paused', event: 'PAUSE' }]);
    // HV-SCHED-7: its live state was saved from pCPU 1, which idles and is sent an IPI.
    expect(p.sys.state.pcpus[1]!.current).toBeNull();
    expect(savedContext(p.sys, 'a').regs).toEqual(before.regs);
    expect(savedContext(p.sys, 'a').pc).toBe(before.pc);
    expect(p.sys.machine.gic.ipiPending & 0b10).toBe(0b10);
    let s = run(p.sys, 1, 6);
    expect(runningOn(s, 1)).toBeNull();
    expect(s.machine.cpus[1]!.el).toBe(2);
    expect(savedContext(s, 'a').regs[2]).toBe(5);
    const u = ok(s, 0, HYPERCALL.DOMCTL, [DOMCTL.UNPAUSE, idOf(s, 'a')]);
    expect(u.res.lifecycle).toEqual([{ subject: 'a', from: 'paused', to: 'running', event: 'UNPAUSE' }]);
    s = run(u.sys, 1, 1);
    expect(runningOn(s, 1)).toBe('a');
    expect(liveRegs(s, 'a').pc).toBe(before.pc);
    s = run(s, 1, 2);
    expect(liveRegs(s, 'a').regs[2]).toBe(6);
    expect(hvViolations(s)).toEqual([]);
  });

  it('HV-DOM-5: unpausing a created domain starts it (START); pausing a paused or unpausing a running domain is EINVAL', () => {
    const sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }, { name: 'a', kernel: PARK, memory: 2, affinity: [1], start: false }] });
    const a = idOf(sys, 'a');
    expect(runningOn(sys, 1)).toBeNull();
    const u = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.UNPAUSE, a]);
    expect(u.res.lifecycle).toEqual([{ subject: 'a', from: 'created', to: 'running', event: 'START' }]);
    expect(runningOn(run(u.sys, 1, 1), 1)).toBe('a');
    expectRefused(u.sys, 0, HYPERCALL.DOMCTL, [DOMCTL.UNPAUSE, a], ERRNO.EINVAL);
    const p = ok(u.sys, 0, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, a]).sys;
    expectRefused(p, 0, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, a], ERRNO.EINVAL);
  });

  it('HV-DOM-6: destroying a domain stops its vCPUs, removes and flushes mappings of its grants, drops its own, closes its channels, scrubs and frees its frames, invalidates its VMID and tells the control domain', () => {
    let sys = bootHv({
      domains: [
        { name: 'dom0', kernel: PARK, memory: 4 },
        { name: 'a', kernel: PARK, memory: 4, pages: 2, affinity: [1] },
        { name: 'b', kernel: PARK, memory: 4, pages: 2, affinity: [0] },
      ],
      channels: [{ from: 'a', to: 'b' }],
      grants: [
        { from: 'a', to: 'b', gfn: 1 },
        { from: 'b', to: 'a', gfn: 1 },
      ],
    });
    const [a, b] = [idOf(sys, 'a'), idOf(sys, 'b')];
    // dom0 listens for domain deaths.
    const virq = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.BIND_VIRQ, VIRQ.DOM_EXC, 0]);
    sys = virq.sys;
    // a maps b's grant; b maps a's and loads through it, caching the translation on pCPU 0.
    sys = ok(sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, b, 0, 9, 0]).sys;
    sys = yieldTo(sys, 0, 'b');
    sys = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 0, 8, 0]).sys;
    sys = inject(sys, 0, { op: 'lui', rd: 3, imm: 0 });
    sys = inject(sys, 0, { op: 'ld', rd: 4, rs1: 0, imm: 8 * PAGE_BYTES });
    const aDom = domainNamed(sys, 'a');
    const vmidA = aDom.vmid;
    expect(tlbEntriesOf(sys, 0, domainNamed(sys, 'b').vmid).some((e) => e.ipn === 8)).toBe(true);
    // a touches its own memory on pCPU 1 so that its VMID is cached there.
    sys = inject(sys, 1, { op: 'ld', rd: 4, rs1: 0, imm: PAGE_BYTES });
    expect(tlbEntriesOf(sys, 1, vmidA).length).toBeGreaterThan(0);
    const aFrames = [...aDom.p2m.values(), aDom.s2root, ...aDom.s2tables];
    sys = yieldTo(sys, 0, 'dom0');
    const d = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.DESTROY, a]);
    const s = d.sys;
    expect(d.res.lifecycle).toEqual([{ subject: 'a', from: 'running', to: 'destroyed', event: 'DESTROY' }]);
    expect(s.state.domains[a]!.lifecycle).toBe('destroyed');
    expect(s.state.pcpus[1]!.current).toBeNull();
    expect(s.state.runq.some((q) => q.dom === a)).toBe(false);
    // b's mapping of a's grant is gone, from its stage 2, its maptrack and every TLB.
    expect(stage2(s, 'b').has(8)).toBe(false);
    expect(domainNamed(s, 'b').maptrack.every((m) => m === null)).toBe(true);
    expect(tlbEntriesOf(s, 0, domainNamed(s, 'b').vmid).some((e) => e.ipn === 8)).toBe(false);
    // a's mapping of b's grant is dropped: the grant is no longer counted as mapped.
    expect(domainNamed(s, 'b').grants[0]!.mapCount).toBe(0);
    // b's end of the channel goes back to unbound.
    expect(domainNamed(s, 'b').ports[1]!.binding).toEqual({ kind: 'unbound', remote: a });
    // Every frame a had — pages and stage-2 tables — is free and zero.
    for (const f of aFrames) {
      expect(s.state.frameOwner[f]).toBe(FREE_OWNER);
      expect(isZeroFrame(s, f)).toBe(true);
    }
    for (let c = 0; c < HV_MACHINE.cpus; c++) expect(tlbEntriesOf(s, c, vmidA)).toEqual([]);
    // dom0 is told on its DOM_EXC port.
    expect(domainNamed(s, 'dom0').ports[virq.r1]!.pending).toBe(true);
    expect(hvViolations(s)).toEqual([]);
  });

  it('HV-DOM-6: destroying a domain that does not exist is ESRCH and changes nothing', () => {
    const sys = bootHv(TWO);
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.DESTROY, 7], ERRNO.ESRCH);
  });
});

describe('HV-ABI: the hypercall ABI', () => {
  it('HV-ABI-1: hvc #n from the guest kernel takes arguments in r1..r6 and returns the result in r1', () => {
    const sys = bootHv(TWO);
    const c = ok(sys, 1, HYPERCALL.CONSOLE_IO, [0x68, 7, 7, 7, 7, 7]);
    expect(domainNamed(c.sys, 'a').console).toBe('h');
    expect(c.r1).toBe(0);
    // The other argument registers come back as they were.
    expect(c.sys.machine.cpus[1]!.regs.slice(2, 7)).toEqual([7, 7, 7, 7, 7]);
    const p = ok(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.ALLOC_UNBOUND, idOf(sys, 'dom0')]);
    expect(p.r1).toBe(1);
  });

  it('HV-ABI-1: HVC from EL0 is an undefined instruction delivered to the guest\'s EL1, never to the hypervisor', () => {
    const kernel = ['li r1, 0x80', 'msr VBAR_EL1, r1', 'la r1, user', 'msr ELR_EL1, r1', 'msr SPSR_EL1, r0', 'eret', 'user: hvc #1', 'b user'].join('\n');
    let sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }, { name: 'a', kernel, memory: 8, pages: 6, affinity: [1] }] });
    sys = runUntil(sys, 1, (s) => s.machine.cpus[1]!.el === 0);
    const hvcAt = sys.machine.cpus[1]!.pc;
    const r = stepHv(sys, { kind: 'exec', cpu: 1 });
    expect(r.trap?.kind).toBe('undefined');
    expect(r.trap?.to).toBe(1);
    expect(r.system.state).toBe(sys.state);
    const cpu = r.system.machine.cpus[1]!;
    expect(cpu.el).toBe(1);
    expect(cpu.pc).toBe(0x80 + 0x400);
    expect(cpu.sys[SYS.ESR_EL1]).toBe(0);
    expect(cpu.sys[SYS.ELR_EL1]).toBe(hvcAt);
    expect(domainNamed(r.system, 'a').console).toBe('');
  });

  it('HV-ABI-2: memory_op counts are 1..64', () => {
    const sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 90 }] });
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 4, 0], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 4, 65], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.DECREASE, 0, 0], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.DECREASE, 0, 65], ERRNO.EINVAL);
    const most = ok(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 4, 64]);
    expect(domainNamed(most.sys, 'dom0').p2m.size).toBe(65);
  });

  it('HV-ABI-2: a domain has at most 32 ports (port 0 is never handed out) and 32 grant references', () => {
    let sys = bootHv(TWO);
    const a = idOf(sys, 'a');
    const ports: number[] = [];
    for (let i = 0; i < 31; i++) {
      const p = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.ALLOC_UNBOUND, a]);
      ports.push(p.r1);
      sys = p.sys;
    }
    expect(ports).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    expectRefused(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.ALLOC_UNBOUND, a], ERRNO.ENOSPC);
    const refs: number[] = [];
    for (let i = 0; i < 32; i++) {
      const g = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.GRANT, a, 0, 1]);
      refs.push(g.r1);
      sys = g.sys;
    }
    expect(refs).toEqual(Array.from({ length: 32 }, (_, i) => i));
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.GRANT, a, 0, 1], ERRNO.ENOSPC);
  });

  it('HV-ABI-2: a domain has at most 32 maptrack handles', () => {
    let sys = bootHv({ ...TWO, grants: [{ from: 'dom0', to: 'a', gfn: 0, readonly: true }] });
    const handles: number[] = [];
    for (let i = 0; i < 32; i++) {
      const m = ok(sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, 0, 0, 16 + i, 1]);
      handles.push(m.r1);
      sys = m.sys;
    }
    expect(handles).toEqual(Array.from({ length: 32 }, (_, i) => i));
    expect(domainNamed(sys, 'dom0').grants[0]!.mapCount).toBe(32);
    expectRefused(sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, 0, 0, 60, 1], ERRNO.ENOSPC);
  });

  it('HV-ABI-3: failures return the negative Xen errno as a 32-bit word and change nothing but r1', () => {
    let sys = bootHv({
      domains: [
        { name: 'dom0', kernel: PARK, memory: 3, pages: 2 },
        { name: 'a', kernel: PARK, memory: 4, pages: 2, affinity: [1] },
      ],
      grants: [{ from: 'a', to: 'dom0', gfn: 1 }],
    });
    sys = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, idOf(sys, 'a'), 0, 5, 0]).sys;
    const cases: [string, number, number, readonly number[], number][] = [
      ['EPERM', 1, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, 0], 1],
      ['ENOENT', 0, HYPERCALL.DOMCTL, [DOMCTL.RESTORE, 0], 2],
      ['ESRCH', 0, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, 9], 3],
      ['ENOMEM', 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 2, 2], 12],
      ['EBUSY', 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.END, 0], 16],
      ['EEXIST', 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 1, 1], 17],
      ['EINVAL', 0, HYPERCALL.SCHED_OP, [9], 22],
      ['ENOSYS', 0, 0, [], 38],
      ['ENOSYS', 0, 9, [], 38],
    ];
    for (const [name, cpu, n, args, errno] of cases) {
      expect(ERRNO[name as keyof typeof ERRNO]).toBe(errno);
      expectRefused(sys, cpu, n, args, errno);
      expect(call(sys, cpu, n, args).sys.machine.cpus[cpu]!.regs[1]).toBe(errWord(errno));
    }
  });

  it('HV-ABI-3: EAGAIN when no VMID is left (255 domains live)', () => {
    let sys = bootHv(
      { domains: [{ name: 'dom0', kernel: PARK, memory: 4 }], images: Array.from({ length: 255 }, (_, i) => ({ name: `tiny${i}`, kernel: '', memory: 1 })) },
      { ...HV_MACHINE, frames: 300 },
    );
    for (let i = 0; i < 254; i++) {
      const c = call(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.CREATE, i]);
      expect(c.r1).toBeGreaterThan(0);
      sys = c.sys;
    }
    expect(sys.state.domains.map((d) => d!.vmid).sort((x, y) => x - y)).toEqual(Array.from({ length: 255 }, (_, i) => i + 1));
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.CREATE, 254], ERRNO.EAGAIN);
  });

  it('HV-ABI-4: the numbers of src/hypervisor/abi.ts are those of the spec table', () => {
    expect(HYPERCALL).toEqual({ CONSOLE_IO: 1, SCHED_OP: 2, DOMCTL: 3, MEMORY_OP: 4, GRANT_TABLE_OP: 5, EVENT_CHANNEL_OP: 6, VCPU_OP: 7, XEN_VERSION: 8 });
    expect(SCHED).toEqual({ YIELD: 0, BLOCK: 1, POLL: 2, SHUTDOWN: 3 });
    expect(DOMCTL).toEqual({ CREATE: 0, DESTROY: 1, PAUSE: 2, UNPAUSE: 3, SAVE: 4, RESTORE: 5 });
    expect(MEMORY).toEqual({ POPULATE: 0, DECREASE: 1 });
    expect(GNTTAB).toEqual({ GRANT: 0, END: 1, MAP: 2, UNMAP: 3, COPY: 4 });
    expect(EVTCHN).toEqual({ ALLOC_UNBOUND: 0, BIND_INTERDOMAIN: 1, BIND_VIRQ: 2, SEND: 3, CLOSE: 4, UNMASK: 5, PENDING: 6, MASK: 7 });
    expect(VCPU).toEqual({ UP: 0, DOWN: 1 });
    expect(VIRQ_ID).toEqual({ IPI: 0, TIMER: 2, EVENT: 3 });
    expect(VIRQ).toEqual({ DOM_EXC: 0 });
    const spec = { EPERM: 1, ENOENT: 2, ESRCH: 3, EAGAIN: 11, ENOMEM: 12, EBUSY: 16, EEXIST: 17, EINVAL: 22, ENOSPC: 28, ENOSYS: 38 };
    for (const [name, value] of Object.entries(spec)) expect(ERRNO[name as keyof typeof ERRNO]).toBe(value);
  });
});

/** The path of the error a scenario is rejected with. */
function rejectedPath(scenario: HypervisorScenario): string | undefined {
  const r = bootHypervisorSystem(HV_MACHINE, scenario);
  if (E.isRight(r)) throw new Error('the scenario was accepted');
  expect(r.left.message).toContain(r.left.path ?? '<no path>');
  return r.left.path;
}

describe('HV-BOOT: boot', () => {
  const dom0 = { name: 'dom0', kernel: PARK, memory: 4 };

  it('HV-BOOT-1: a scenario that names something that does not exist, or does not fit, is rejected with the path of the offending field', () => {
    const g = { name: 'g', kernel: SPIN, memory: 2 };
    const cases: [HypervisorScenario, string][] = [
      [{ domains: [] }, 'domains'],
      [{ domains: [{ ...dom0, control: true }, { ...g, control: true }] }, 'domains'],
      [{ domains: [dom0, { ...g, name: 'dom0' }] }, 'domains[1].name'],
      [{ domains: [dom0, { ...g, kernel: 'frobnicate r1' }] }, 'domains[1].kernel'],
      [{ domains: [dom0, { ...g, origin: 2 }] }, 'domains[1].origin'],
      [{ domains: [dom0, { ...g, memory: 0 }] }, 'domains[1].memory'],
      [{ domains: [dom0, { ...g, memory: HV_MACHINE.frames + 1 }] }, 'domains[1].memory'],
      [{ domains: [dom0, { ...g, pages: 3 }] }, 'domains[1].pages'],
      [{ domains: [dom0, { ...g, kernel: PARK, origin: 0x100, pages: 1 }] }, 'domains[1].pages'],
      [{ domains: [dom0, { ...g, vcpus: 0 }] }, 'domains[1].vcpus'],
      [{ domains: [dom0, { ...g, affinity: [2] }] }, 'domains[1].affinity[0]'],
      [{ domains: [dom0, { ...g, weight: 0 }] }, 'domains[1].weight'],
      [{ domains: [dom0, { ...g, cap: 101 }] }, 'domains[1].cap'],
      [{ domains: [dom0, { ...g, storage: 17 }] }, 'domains[1].storage'],
      [{ domains: [{ ...dom0, storage: 10 }, { ...g, storage: 7 }] }, 'domains[1].storage'],
      [{ domains: [dom0, { ...g, regs: { r0: 1 } }] }, 'domains[1].regs.r0'],
      [{ domains: [dom0, { ...g, regs: { r3: -1 } }] }, 'domains[1].regs.r3'],
      [{ domains: [dom0, { ...g, devices: [{ device: 9, gfn: 4 }] }] }, 'domains[1].devices[0]'],
      [{ domains: [dom0, { ...g, memory: 60, pages: 60 }, { ...g, name: 'h', memory: 60, pages: 60 }] }, 'domains[2]'],
      [{ domains: [dom0, g], channels: [{ from: 'g', to: 'nobody' }] }, 'channels[0].to'],
      [{ domains: [dom0, g], channels: [{ from: 'g', to: 'g' }] }, 'channels[0]'],
      [{ domains: [dom0, g], grants: [{ from: 'nobody', to: 'g', gfn: 0 }] }, 'grants[0].from'],
      [{ domains: [dom0, g], grants: [{ from: 'g', to: 'dom0', gfn: 1 }] }, 'grants[0]'],
      [{ domains: [dom0], images: [{ name: 'i', kernel: SPIN, memory: 0 }] }, 'images[0].memory'],
      [{ domains: [dom0], images: [{ name: 'i', kernel: 'nop nop', memory: 1 }] }, 'images[0].kernel'],
      [{ domains: [dom0], images: [{ name: 'i', kernel: SPIN, origin: 2, memory: 1 }] }, 'images[0].origin'],
      [{ domains: [dom0], images: [{ name: 'i', kernel: PARK, origin: 0x100, memory: 2, pages: 1 }] }, 'images[0].pages'],
      [{ domains: [dom0], images: [{ name: 'i', kernel: SPIN, memory: 1, pages: 2 }] }, 'images[0].pages'],
      [{ hypervisor: { sliceTicks: 0 }, domains: [dom0] }, 'hypervisor.sliceTicks'],
      [{ hypervisor: { accountingTicks: 1.5 }, domains: [dom0] }, 'hypervisor.accountingTicks'],
      [{ hypervisor: { creditsPerTick: -1 }, domains: [dom0] }, 'hypervisor.creditsPerTick'],
    ];
    for (const [scenario, path] of cases) expect(rejectedPath(scenario), JSON.stringify(scenario).slice(0, 160)).toBe(path);
  });

  it('HV-BOOT-1: a scenario sets the scheduler, the domains with their shape, initial registers and start, the images and the control domain', () => {
    const sys = bootHv({
      hypervisor: { sliceTicks: 5, accountingTicks: 7, creditsPerTick: 11 },
      domains: [
        { ...dom0, storage: 2 },
        { name: 'g', kernel: SPIN, origin: 0x200, memory: 5, pages: 4, vcpus: 2, weight: 99, cap: 30, storage: 3, affinity: [1, 1], start: false, regs: { r3: 0xdeadbeef, r15: 7 } },
      ],
      images: [{ name: 'img', kernel: SPIN, memory: 3, storage: 4 }],
    });
    expect([sys.state.config.sliceTicks, sys.state.config.accountingTicks, sys.state.config.creditsPerTick]).toEqual([5, 7, 11]);
    const g = domainNamed(sys, 'g');
    expect(g.lifecycle).toBe('created');
    expect([g.maxPages, g.p2m.size, g.vcpus.length, g.weight, g.cap]).toEqual([5, 4, 2, 99, 30]);
    expect(g.storage).toEqual({ first: 2, count: 3 });
    expect(g.vcpus.map((v) => v.affinity)).toEqual([1, 1]);
    expect(g.vcpus[0]!.context.pc).toBe(0x200);
    expect(g.vcpus[0]!.context.regs[3]).toBe(0xdeadbeef);
    expect(g.vcpus[0]!.context.regs[15]).toBe(7);
    expect(guestWord(sys, 'g', 2, 0)).toBe(words(SPIN, 0x200)[0]);
    expect(domainNamed(sys, 'dom0').privileged).toBe(true);
    expect(g.privileged).toBe(false);
    // Images take their storage after the domains'.
    expect(sys.state.images.map((i) => [i.name, i.maxPages, i.storage.first, i.storage.count])).toEqual([['img', 3, 5, 4]]);
  });

  it('HV-BOOT-2: domains are built in order; channel ends and grant references are the lowest free ones, in the order listed', () => {
    const g = (name: string) => ({ name, kernel: PARK, memory: 4, pages: 2 });
    const sys = bootHv({
      domains: [dom0, g('a'), g('b'), g('c')],
      channels: [
        { from: 'a', to: 'b' },
        { from: 'a', to: 'c' },
        { from: 'b', to: 'c' },
      ],
      grants: [
        { from: 'a', to: 'b', gfn: 0 },
        { from: 'a', to: 'c', gfn: 1, readonly: true },
        { from: 'b', to: 'a', gfn: 1 },
      ],
    });
    const [a, b, c] = ['a', 'b', 'c'].map((n) => domainNamed(sys, n));
    expect([domainNamed(sys, 'dom0'), a!, b!, c!].map((d) => d.vmid)).toEqual([1, 2, 3, 4]);
    const roots = [domainNamed(sys, 'dom0'), a!, b!, c!].map((d) => d.s2root);
    expect([...roots].sort((x, y) => x - y)).toEqual(roots);
    const binding = (d: typeof a, p: number) => d!.ports[p]!.binding;
    expect(binding(a, 1)).toEqual({ kind: 'interdomain', remote: b!.id, remotePort: 1 });
    expect(binding(b, 1)).toEqual({ kind: 'interdomain', remote: a!.id, remotePort: 1 });
    expect(binding(a, 2)).toEqual({ kind: 'interdomain', remote: c!.id, remotePort: 1 });
    expect(binding(c, 1)).toEqual({ kind: 'interdomain', remote: a!.id, remotePort: 2 });
    expect(binding(b, 2)).toEqual({ kind: 'interdomain', remote: c!.id, remotePort: 2 });
    expect(binding(c, 2)).toEqual({ kind: 'interdomain', remote: b!.id, remotePort: 2 });
    expect(a!.grants).toEqual([
      { grantee: b!.id, gfn: 0, readonly: false, mapCount: 0 },
      { grantee: c!.id, gfn: 1, readonly: true, mapCount: 0 },
    ]);
    expect(b!.grants).toEqual([{ grantee: a!.id, gfn: 1, readonly: false, mapCount: 0 }]);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-BOOT-3: each pCPU\'s physical timer ticks the scheduler, physical interrupts route to EL2, and each pCPU is scheduled', () => {
    const sys = bootHv({ hypervisor: { creditsPerTick: 7 }, domains: [dom0] });
    for (const cpu of sys.machine.cpus) {
      expect(cpu.sys[SYS.CNTP_CTL]! & TIMER_CTL.ENABLE).toBe(TIMER_CTL.ENABLE);
      expect(cpu.sys[SYS.CNTP_CVAL]).toBe(1);
      expect(cpu.sys[SYS.HCR_EL2]! & HCR.IMO).toBe(HCR.IMO);
    }
    // pCPU 0 runs dom0; pCPU 1 has nothing and waits at EL2.
    expect(runningOn(sys, 0)).toBe('dom0');
    expect([sys.machine.cpus[1]!.el, sys.machine.cpus[1]!.irqMasked, sys.machine.cpus[1]!.waiting]).toEqual([2, false, true]);
    const credit = domainNamed(sys, 'dom0').vcpus[0]!.credit;
    const t0 = schedTick(sys, 0);
    expect(t0.trap?.from).toBe(1);
    expect(domainNamed(t0.system, 'dom0').vcpus[0]!.credit).toBe(credit - 7);
    expect(domainNamed(t0.system, 'dom0').vcpus[0]!.ticksRun).toBe(1);
    // The timer is re-armed for the next tick.
    expect(t0.system.machine.cpus[0]!.sys[SYS.CNTP_CVAL]).toBe(2);
    const t1 = schedTick(t0.system, 1);
    expect(t1.trap?.from).toBe(2);
    expect(t1.system.machine.cpus[1]!.sys[SYS.CNTP_CVAL]).toBe(2);
    expect(t1.system.machine.cpus[1]!.el).toBe(2);
  });
});

/** Checks each reported lifecycle change against the statechart (HV-LIFE-1), with xstate. */
function expectChartTransitions(transitions: readonly LifecycleTransition[]): void {
  for (const t of transitions) {
    const from = domainChart.resolveState({ value: t.from });
    const next = getNextSnapshot(domainChart, from, { type: t.event as never });
    expect(next.value, `${t.from} --${t.event}--> ${t.to}`).toBe(t.to);
  }
}

describe('HV-LIFE: lifecycle, save and restore', () => {
  it('HV-LIFE-1: every lifecycle change is a transition of the domain statechart: START, PAUSE, UNPAUSE, SAVE, RESTORE, DESTROY', () => {
    let sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }], images: [{ name: 'img', kernel: PARK, memory: 2 }] });
    const seen: LifecycleTransition[] = [];
    const step = (args: readonly number[]): number => {
      const c = ok(sys, 0, HYPERCALL.DOMCTL, args);
      seen.push(...c.res.lifecycle);
      sys = c.sys;
      return c.r1;
    };
    const d = step([DOMCTL.CREATE, 0]);
    step([DOMCTL.UNPAUSE, d]);
    step([DOMCTL.PAUSE, d]);
    step([DOMCTL.UNPAUSE, d]);
    step([DOMCTL.PAUSE, d]);
    const handle = step([DOMCTL.SAVE, d]);
    const restored = step([DOMCTL.RESTORE, handle]);
    step([DOMCTL.DESTROY, restored]);
    step([DOMCTL.DESTROY, d]);
    const crash = step([DOMCTL.CREATE, 0]);
    const inj = stepHv(sys, { kind: 'inject', fault: { kind: 'crash', domain: 'img' } });
    seen.push(...inj.lifecycle);
    expect(seen.map((t) => `${t.from}-${t.event}-${t.to}`)).toEqual([
      'created-START-running',
      'running-PAUSE-paused',
      'paused-UNPAUSE-running',
      'running-PAUSE-paused',
      'paused-SAVE-saved',
      'created-RESTORE-running',
      'running-DESTROY-destroyed',
      'saved-DESTROY-destroyed',
      'created-DESTROY-destroyed',
    ]);
    expectChartTransitions(seen);
    expect(inj.system.state.domains[crash]!.lifecycle).toBe('destroyed');
    expect(hvViolations(inj.system)).toEqual([]);
  });

  it('HV-LIFE-1: a change the chart does not have is refused: save of a running domain, unpause of a running one, restore into a saved handle twice', () => {
    let sys = bootHv({ ...TWO });
    const a = idOf(sys, 'a');
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.SAVE, a], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.UNPAUSE, a], ERRNO.EINVAL);
    sys = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, a]).sys;
    const saved = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.SAVE, a]);
    sys = saved.sys;
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.UNPAUSE, a], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, a], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.SAVE, a], ERRNO.EINVAL);
    sys = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.RESTORE, saved.r1]).sys;
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.RESTORE, saved.r1], ERRNO.ENOENT);
  });

  it('HV-LIFE-2: only a running domain\'s vCPUs are scheduled — not a created one, not a paused one, even on an idle pCPU', () => {
    let sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }, { name: 'a', kernel: PARK, memory: 2, affinity: [1], start: false }] });
    expect(domainNamed(sys, 'a').vcpus[0]!.state).toBe('runnable');
    sys = schedTick(sys, 1).system;
    sys = run(sys, 1, 3);
    expect(runningOn(sys, 1)).toBeNull();
    const a = idOf(sys, 'a');
    sys = settle(ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.UNPAUSE, a]).sys);
    expect(runningOn(sys, 1)).toBe('a');
    sys = settle(ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, a]).sys);
    sys = schedTick(sys, 1).system;
    expect(runningOn(sys, 1)).toBeNull();
    expect(domainNamed(sys, 'a').vcpus[0]!.state).toBe('runnable');
    expect(hvViolations(sys)).toEqual([]);
  });

  /**
   * dom0 on pCPU 0 and `a` on pCPU 1, a channel between them and a grant of a's page 2 to
   * dom0, which dom0 maps; a has written its memory, its console, a register and its EL1
   * bank, and read its virtual counter (4 ticks) into r6. Both pCPUs' counters tick together,
   * as one system clock.
   */
  function beforeSave(): HypervisorSystem {
    let sys = bootHv({ ...TWO, channels: [{ from: 'dom0', to: 'a' }], grants: [{ from: 'a', to: 'dom0', gfn: 2 }] });
    sys = ok(sys, 1, HYPERCALL.CONSOLE_IO, [0x78]).sys;
    sys = inject(sys, 1, { op: 'addi', rd: 5, rs1: 0, imm: 77 });
    sys = inject(sys, 1, { op: 'st', rs2: 5, rs1: 0, imm: PAGE_BYTES + 8 });
    sys = inject(sys, 1, { op: 'addi', rd: 7, rs1: 0, imm: 0xbeef });
    sys = inject(sys, 1, { op: 'msr', sysreg: SYS.TPIDR_EL1, rs: 7 });
    sys = settle(counterTicks(counterTicks(sys, 0, 4), 1, 4));
    sys = inject(sys, 1, { op: 'mrs', rd: 6, sysreg: SYS.CNTVCT });
    expect(sys.machine.cpus[1]!.regs[6]).toBe(4);
    return ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, idOf(sys, 'a'), 0, 6, 0]).sys;
  }

  it('HV-LIFE-3: saving a paused domain snapshots its pages by gfn, vCPUs, grants without mappings, ports (interdomain ones unbound), console and virtual time, then frees it', () => {
    let sys = beforeSave();
    const a = idOf(sys, 'a');
    sys = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, a]).sys;
    const dom = domainNamed(sys, 'a');
    const ctx = dom.vcpus[0]!.context;
    const pages = [...dom.p2m.entries()].sort((x, y) => x[0] - y[0]).map(([gfn, mfn]) => ({ gfn, words: frame(sys, mfn) }));
    const frames = [...dom.p2m.values(), dom.s2root, ...dom.s2tables];
    const s = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.SAVE, a]);
    expect(s.r1).toBe(0);
    expect(s.res.lifecycle).toEqual([{ subject: 'a', from: 'paused', to: 'saved', event: 'SAVE' }]);
    expect(s.sys.state.domains[a]!.lifecycle).toBe('saved');
    const snap = s.sys.state.saved[0]!;
    expect(snap.name).toBe('a');
    expect(snap.memory).toEqual(pages);
    expect(snap.memory.find((p) => p.gfn === 1)!.words[2]).toBe(77);
    expect(snap.vcpus).toEqual([{ state: 'runnable', affinity: 1, context: ctx }]);
    expect(snap.vcpus[0]!.context.regs[6]).toBe(4);
    expect(snap.vcpus[0]!.context.sys[SYS.TPIDR_EL1]).toBe(0xbeef);
    expect(snap.grants).toEqual([{ grantee: 0, gfn: 2, readonly: false, mapCount: 0 }]);
    expect(snap.ports[1]).toEqual({ binding: { kind: 'unbound', remote: 0 }, pending: false, masked: false, vcpu: 0 });
    expect(snap.console).toBe('x');
    expect(snap.virtualTime).toBe(4);
    // Its resources are freed: frames scrubbed, dom0's mapping of its grant gone, dom0's port unbound.
    for (const f of frames) {
      expect(s.sys.state.frameOwner[f]).toBe(FREE_OWNER);
      expect(isZeroFrame(s.sys, f)).toBe(true);
    }
    expect(stage2(s.sys, 'dom0').has(6)).toBe(false);
    expect(domainNamed(s.sys, 'dom0').maptrack.every((m) => m === null)).toBe(true);
    expect(domainNamed(s.sys, 'dom0').ports[1]!.binding).toEqual({ kind: 'unbound', remote: a });
    expect(hvViolations(s.sys)).toEqual([]);
  });

  it('HV-LIFE-4, HV-EXIT-1: restoring makes a new running domain with the same pages, vCPU contexts, grants, ports and console, whose virtual time continues from the save', () => {
    let sys = beforeSave();
    const a = idOf(sys, 'a');
    sys = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.PAUSE, a]).sys;
    const orig = domainNamed(sys, 'a');
    const pages = new Map([...orig.p2m.entries()].map(([gfn, mfn]) => [gfn, frame(sys, mfn)]));
    const ctx = orig.vcpus[0]!.context;
    const saved = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.SAVE, a]);
    // Five ticks pass while it is saved.
    sys = settle(counterTicks(counterTicks(saved.sys, 0, 5), 1, 5));
    const r = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.RESTORE, saved.r1]);
    expect(r.r1).not.toBe(a);
    expect(r.res.lifecycle).toEqual([{ subject: 'a', from: 'created', to: 'running', event: 'RESTORE' }]);
    const back = r.sys.state.domains[r.r1]!;
    expect(back.lifecycle).toBe('running');
    expect(new Map([...back.p2m.entries()].map(([gfn, mfn]) => [gfn, frame(r.sys, mfn)]))).toEqual(pages);
    expect(back.vcpus[0]!.context).toEqual(ctx);
    expect(back.vcpus[0]!.state).toBe('runnable');
    expect(back.grants).toEqual([{ grantee: 0, gfn: 2, readonly: false, mapCount: 0 }]);
    expect(back.ports[1]!.binding).toEqual({ kind: 'unbound', remote: 0 });
    expect(back.console).toBe('x');
    expect([back.maxPages, back.weight, back.cap]).toEqual([orig.maxPages, orig.weight, orig.cap]);
    expect(r.sys.state.saved[saved.r1]).toBeNull();
    // It runs again on pCPU 1 where it left off: registers, EL1 bank, and a virtual counter
    // that has not moved while it was saved.
    sys = settle(r.sys);
    expect(runningOn(sys, 1)).toBe('a');
    expect(sys.state.pcpus[1]!.current).toEqual({ dom: r.r1, vcpu: 0 });
    // HV-EXIT-1: its counter offset (9 ticks now − 4 of virtual time) is in CNTVOFF_EL2.
    expect(back.counterOffset).toBe(5);
    expect(sys.machine.cpus[1]!.sys[SYS.CNTVOFF_EL2]).toBe(5);
    expect(liveRegsById(sys, r.r1, 0).regs).toEqual(ctx.regs);
    expect(liveRegsById(sys, r.r1, 0).pc).toBe(ctx.pc);
    sys = inject(sys, 1, { op: 'mrs', rd: 8, sysreg: SYS.CNTVCT });
    sys = inject(sys, 1, { op: 'mrs', rd: 9, sysreg: SYS.TPIDR_EL1 });
    sys = inject(sys, 1, { op: 'ld', rd: 10, rs1: 0, imm: PAGE_BYTES + 8 });
    expect(sys.machine.cpus[1]!.regs.slice(8, 11)).toEqual([4, 0xbeef, 77]);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-LIFE-4: restoring a handle that holds no snapshot is ENOENT and changes nothing', () => {
    const sys = bootHv(TWO);
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.RESTORE, 0], ERRNO.ENOENT);
    expectRefused(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.RESTORE, 0xffffffff], ERRNO.ENOENT);
  });
});
