/**
 * Rule-by-rule tests of memory and grant tables (spec/hypervisor.md §6 HV-GNT-1..6, §7
 * HV-MEM-1..4 and HV-MEM-6; the storage quota HV-MEM-5 is in exits.test.ts with the block
 * device): frame ownership, stage-2 contents read with the tests' own walker, populate and
 * balloon within the quota, scrubbing, grant/end/map/unmap/copy with rights, and the TLB
 * flush on unmap seen from the other pCPU.
 */
import { describe, expect, it } from 'vitest';
import { ERRNO, GNTTAB, HYPERCALL, MEMORY, VCPU } from '../../src/hypervisor/index.ts';
import type { HypervisorSystem } from '../../src/system/index.ts';
import { bootHv, domainNamed, HV_MACHINE, hvViolations, insn, stepHv, UART_IPA } from './fixtures.ts';
import {
  expectRefused,
  guestWord,
  idOf,
  inject,
  isZeroFrame,
  layout,
  ok,
  PAGE_BYTES,
  pcpuOf,
  settle,
  stage2,
  tlbEntriesOf,
  VECTORS,
  WPF,
} from './rule-helpers.ts';

const FREE_OWNER = -1;
const HYPERVISOR_OWNER = -2;
/** Stage-2 leaf flags (HW-MMU-2). */
const P = 1;
const W = 2;
const X = 4;

/** A kernel whose page 1 holds 0xcafe, 0xbeef, 3, 4, ... (what grantees look for). */
const GRANTER = layout([
  [0x000, 'b 0'],
  [0x100, `.word 0xcafe, 0xbeef, ${Array.from({ length: WPF - 2 }, (_, i) => i + 3).join(', ')}`],
]);

/**
 * dom0 (pCPU 0) grants nothing; `a` (pCPU 1) grants dom0 its page 1 read-write (ref 0) and
 * read-only (ref 1), and page 2 to `c` (ref 2); `c` never runs.
 */
function granting(): HypervisorSystem {
  return bootHv({
    domains: [
      { name: 'dom0', kernel: VECTORS, memory: 8, pages: 6 },
      { name: 'a', kernel: GRANTER, memory: 6, pages: 3, affinity: [1] },
      { name: 'c', kernel: 'b 0', memory: 2, affinity: [1], start: false },
    ],
    grants: [
      { from: 'a', to: 'dom0', gfn: 1 },
      { from: 'a', to: 'dom0', gfn: 1, readonly: true },
      { from: 'a', to: 'c', gfn: 2 },
    ],
  });
}

function reg(sys: HypervisorSystem, cpu: number, r: number): number {
  return sys.machine.cpus[cpu]!.regs[r]!;
}

/** Loads word `addr` into r5 on pCPU `cpu` (r6 holds the address). */
function load(sys: HypervisorSystem, cpu: number, addr: number): HypervisorSystem {
  const s = inject(sys, cpu, { op: 'lui', rd: 6, imm: addr >>> 14 });
  return inject(inject(s, cpu, { op: 'ori', rd: 6, rs1: 6, imm: addr & 0x3fff }), cpu, { op: 'ld', rd: 5, rs1: 6, imm: 0 });
}

/** Stores `value` (< 2^17) to word `addr` on pCPU `cpu` (r6 the address, r7 the value). */
function store(sys: HypervisorSystem, cpu: number, addr: number, value: number): HypervisorSystem {
  let s = inject(sys, cpu, { op: 'lui', rd: 6, imm: addr >>> 14 });
  s = inject(s, cpu, { op: 'ori', rd: 6, rs1: 6, imm: addr & 0x3fff });
  s = inject(s, cpu, { op: 'addi', rd: 7, rs1: 0, imm: value });
  return inject(s, cpu, { op: 'st', rs2: 7, rs1: 6, imm: 0 });
}

function lowestFree(sys: HypervisorSystem, n: number): number[] {
  return sys.state.frameOwner.flatMap((o, f) => (o === FREE_OWNER ? [f] : [])).slice(0, n);
}

describe('HV-MEM: memory', () => {
  it('HV-MEM-1: every host frame is free, the hypervisor\'s (exactly the stage-2 tables) or one domain\'s (exactly its p2m)', () => {
    const sys = granting();
    const expected = new Array<number>(HV_MACHINE.frames).fill(FREE_OWNER);
    for (const d of sys.state.domains) {
      for (const mfn of d!.p2m.values()) expected[mfn] = d!.id;
      for (const t of [d!.s2root, ...d!.s2tables]) expected[t] = HYPERVISOR_OWNER;
    }
    expect(sys.state.frameOwner).toEqual(expected);
    for (let f = 0; f < HV_MACHINE.frames; f++) if (expected[f] === FREE_OWNER) expect(isZeroFrame(sys, f)).toBe(true);
  });

  it('HV-MEM-1, HV-MEM-3: populate gives the lowest-numbered free frames, zeroed, at the pages asked for', () => {
    const sys = granting();
    const free = lowestFree(sys, 3);
    const p = ok(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 6, 2]);
    const d = domainNamed(p.sys, 'dom0');
    expect([d.p2m.get(6), d.p2m.get(7)]).toEqual([free[0], free[1]]);
    expect(stage2(p.sys, 'dom0').get(6)).toEqual({ mfn: free[0], flags: P | W | X });
    expect(isZeroFrame(p.sys, free[0]!)).toBe(true);
    // The new page is usable at once.
    const s = load(store(p.sys, 0, 7 * PAGE_BYTES + 4, 99), 0, 7 * PAGE_BYTES + 4);
    expect(reg(s, 0, 5)).toBe(99);
    expect(hvViolations(s)).toEqual([]);
  });

  it('HV-MEM-2: a domain\'s stage 2 maps exactly its own pages RWX, the grants it mapped (writable only under a read-write grant mapped for writing, never executable) and its assigned device', () => {
    let sys = bootHv({
      domains: [
        { name: 'dom0', kernel: VECTORS, memory: 8, pages: 6, devices: [{ device: 2, gfn: 12 }] },
        { name: 'a', kernel: GRANTER, memory: 6, pages: 3, affinity: [1] },
      ],
      grants: [
        { from: 'a', to: 'dom0', gfn: 1 },
        { from: 'a', to: 'dom0', gfn: 1 },
        { from: 'a', to: 'dom0', gfn: 2, readonly: true },
      ],
    });
    const a = domainNamed(sys, 'a');
    sys = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a.id, 0, 8, 0]).sys;
    sys = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a.id, 1, 9, 1]).sys;
    sys = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a.id, 2, 10, 1]).sys;
    const dom0 = domainNamed(sys, 'dom0');
    const expected = new Map<number, { mfn: number; flags: number }>();
    for (const [gfn, mfn] of dom0.p2m) expected.set(gfn, { mfn, flags: P | W | X });
    expected.set(8, { mfn: a.p2m.get(1)!, flags: P | W });
    expected.set(9, { mfn: a.p2m.get(1)!, flags: P });
    expected.set(10, { mfn: a.p2m.get(2)!, flags: P });
    expected.set(12, { mfn: HV_MACHINE.frames + 2, flags: P | W });
    expect(stage2(sys, 'dom0')).toEqual(expected);
    const own = new Map([...a.p2m].map(([gfn, mfn]) => [gfn, { mfn, flags: P | W | X }]));
    expect(stage2(sys, 'a')).toEqual(own);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-MEM-3: populate is all or nothing: EEXIST for a page it has, EINVAL outside the address space or on an emulated device\'s page, ENOMEM beyond the quota', () => {
    const sys = granting();
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 4, 3], ERRNO.EEXIST);
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 255, 2], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, UART_IPA / PAGE_BYTES, 1], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, UART_IPA / PAGE_BYTES - 1, 2], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 0x100, 1], ERRNO.EINVAL);
    // dom0 has 6 of its 8 pages: 3 more is beyond its quota, 2 is not.
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 6, 3], ERRNO.ENOMEM);
    const two = ok(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 6, 2]);
    expectRefused(two.sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 8, 1], ERRNO.ENOMEM);
  });

  it('HV-MEM-3, HV-GNT-3: a page holding a grant mapping or an assigned device is one the domain has: populate there is EEXIST, a grant map EINVAL', () => {
    let sys = bootHv({
      domains: [
        { name: 'dom0', kernel: VECTORS, memory: 8, pages: 6, devices: [{ device: 2, gfn: 12 }] },
        { name: 'a', kernel: GRANTER, memory: 6, pages: 3, affinity: [1] },
      ],
      grants: [
        { from: 'a', to: 'dom0', gfn: 1 },
        { from: 'a', to: 'dom0', gfn: 2 },
      ],
    });
    const a = idOf(sys, 'a');
    sys = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 0, 9, 0]).sys;
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 9, 1], ERRNO.EEXIST);
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 8, 2], ERRNO.EEXIST);
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 12, 1], ERRNO.EEXIST);
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 1, 12, 0], ERRNO.EINVAL);
    expect(stage2(sys, 'dom0').get(12)).toEqual({ mfn: HV_MACHINE.frames + 2, flags: P | W });
  });

  it('HV-MEM-3: populate fails with ENOMEM, changing nothing, when the machine has too few free frames', () => {
    const sys = ok(bootHv({ domains: [{ name: 'dom0', kernel: VECTORS, memory: 96, pages: 6 }] }), 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 16, 64]).sys;
    const free = sys.state.frameOwner.filter((o) => o === FREE_OWNER).length;
    expect(free).toBeLessThan(64);
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 96, free + 1], ERRNO.ENOMEM);
    // Exactly as many pages as free frames, but their stage-2 table needs one more: still nothing.
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 96, free], ERRNO.ENOMEM);
    // Within a table that exists, it fits.
    expect(ok(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 6, 10]).r1).toBe(0);
  });

  it('HV-MEM-3: decrease_reservation gives pages back: gone from the p2m and stage 2, frames free; EINVAL for a page it lacks', () => {
    let sys = granting();
    sys = ok(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 6, 2]).sys;
    sys = load(sys, 0, 7 * PAGE_BYTES);
    const mfns = [6, 7].map((g) => domainNamed(sys, 'dom0').p2m.get(g)!);
    expectRefused(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.DECREASE, 7, 2], ERRNO.EINVAL);
    const d = ok(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.DECREASE, 6, 2]);
    const dom0 = domainNamed(d.sys, 'dom0');
    expect(dom0.p2m.has(6) || dom0.p2m.has(7)).toBe(false);
    expect(stage2(d.sys, 'dom0').has(7)).toBe(false);
    for (const f of mfns) expect(d.sys.state.frameOwner[f]).toBe(FREE_OWNER);
    expect(tlbEntriesOf(d.sys, 0, dom0.vmid).some((e) => e.ipn === 7)).toBe(false);
    // A load from the page given back is now an abort to the guest.
    const after = load(d.sys, 0, 7 * PAGE_BYTES);
    expect(after.machine.cpus[0]!.pc).toBe(0x200);
    // And the pages count against the quota no more.
    expect(ok(after, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 6, 2]).r1).toBe(0);
  });

  it('HV-MEM-3, HV-GNT-5: a granted page that is mapped cannot be ballooned out (EBUSY); one not mapped can, and its grants end', () => {
    let sys = granting();
    const a = idOf(sys, 'a');
    const m = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 0, 8, 0]);
    sys = m.sys;
    expectRefused(sys, 1, HYPERCALL.MEMORY_OP, [MEMORY.DECREASE, 1, 1], ERRNO.EBUSY);
    expectRefused(sys, 1, HYPERCALL.MEMORY_OP, [MEMORY.DECREASE, 0, 2], ERRNO.EBUSY);
    sys = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.UNMAP, m.r1]).sys;
    const d = ok(sys, 1, HYPERCALL.MEMORY_OP, [MEMORY.DECREASE, 1, 1]);
    // Both grants of page 1 ended; the grant of page 2 stays.
    expect(domainNamed(d.sys, 'a').grants.slice(0, 3)).toEqual([null, null, { grantee: idOf(d.sys, 'c'), gfn: 2, readonly: false, mapCount: 0 }]);
    expectRefused(d.sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 0, 8, 0], ERRNO.EPERM);
  });

  it('HV-MEM-4: frames are zeroed when freed, so a page handed to another domain carries nothing', () => {
    let sys = granting();
    sys = store(sys, 1, 2 * PAGE_BYTES + 12, 0x5a5a);
    const mfn = domainNamed(sys, 'a').p2m.get(2)!;
    expect(guestWord(sys, 'a', 2, 3)).toBe(0x5a5a);
    // a gives its page 2 back (its grant to c ends with it).
    sys = ok(sys, 1, HYPERCALL.MEMORY_OP, [MEMORY.DECREASE, 2, 1]).sys;
    expect(sys.state.frameOwner[mfn]).toBe(FREE_OWNER);
    expect(isZeroFrame(sys, mfn)).toBe(true);
    // dom0 populates a page: it gets that frame (the lowest free) and reads zero.
    expect(lowestFree(sys, 1)).toEqual([mfn]);
    sys = ok(sys, 0, HYPERCALL.MEMORY_OP, [MEMORY.POPULATE, 6, 1]).sys;
    expect(domainNamed(sys, 'dom0').p2m.get(6)).toBe(mfn);
    expect(reg(load(sys, 0, 6 * PAGE_BYTES + 12), 0, 5)).toBe(0);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-MEM-6, HV-GNT-4: unmapping a grant invalidates the grantee\'s VMID on every pCPU: a vCPU on the other pCPU that had the page in its TLB can no longer read it', () => {
    let sys = bootHv({
      domains: [
        { name: 'dom0', kernel: VECTORS, memory: 8, pages: 6, vcpus: 2 },
        { name: 'a', kernel: GRANTER, memory: 4, pages: 2, affinity: [1], start: false },
      ],
      grants: [{ from: 'a', to: 'dom0', gfn: 1, readonly: true }],
    });
    const m = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, idOf(sys, 'a'), 0, 9, 1]);
    sys = settle(ok(m.sys, 0, HYPERCALL.VCPU_OP, [VCPU.UP, 1, 0]).sys);
    expect(pcpuOf(sys, 'dom0', 1)).toBe(1);
    // vCPU 1 reads the granted page on pCPU 1, filling that pCPU's TLB.
    sys = load(sys, 1, 9 * PAGE_BYTES + 4);
    expect(reg(sys, 1, 5)).toBe(0xbeef);
    const vmid = domainNamed(sys, 'dom0').vmid;
    expect(tlbEntriesOf(sys, 1, vmid).some((e) => e.ipn === 9)).toBe(true);
    // vCPU 0 unmaps it on pCPU 0.
    const u = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.UNMAP, m.r1]);
    sys = u.sys;
    expect(u.res.ops).toContain('tlbiVmid');
    for (let c = 0; c < HV_MACHINE.cpus; c++) expect(tlbEntriesOf(sys, c, vmid).some((e) => e.ipn === 9)).toBe(false);
    expect(stage2(sys, 'dom0').has(9)).toBe(false);
    expect(domainNamed(sys, 'dom0').maptrack[m.r1]).toBeNull();
    expect(domainNamed(sys, 'a').grants[0]!.mapCount).toBe(0);
    // vCPU 1 tries again: a stage-2 fault, reported to it as an abort; r5 is not loaded.
    sys = inject(sys, 1, { op: 'addi', rd: 5, rs1: 0, imm: 0 });
    const again = stepHv(sys, { kind: 'exec', cpu: 1, insn: insn({ op: 'ld', rd: 5, rs1: 6, imm: 0 }) });
    expect(again.trap?.kind).toBe('abort');
    expect(again.trap?.to).toBe(2);
    expect(again.system.machine.cpus[1]!.regs[5]).toBe(0);
    expect(again.system.machine.cpus[1]!.pc).toBe(0x200);
    expect(hvViolations(again.system)).toEqual([]);
  });
});

describe('HV-GNT: grant tables', () => {
  it('HV-GNT-1: a grant takes the lowest free reference, of the granter\'s own page, for another live domain', () => {
    let sys = granting();
    const [dom0, a, c] = [idOf(sys, 'dom0'), idOf(sys, 'a'), idOf(sys, 'c')];
    const g = ok(sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.GRANT, c, 0, 1]);
    expect(g.r1).toBe(3);
    expect(domainNamed(g.sys, 'a').grants[3]).toEqual({ grantee: c, gfn: 0, readonly: true, mapCount: 0 });
    sys = ok(g.sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.END, 1]).sys;
    expect(ok(sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.GRANT, dom0, 2, 0]).r1).toBe(1);
    // Not its page, not another domain, not a live one.
    expectRefused(sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.GRANT, dom0, 3, 0], ERRNO.EINVAL);
    expectRefused(sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.GRANT, a, 1, 0], ERRNO.ESRCH);
    expectRefused(sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.GRANT, 9, 1, 0], ERRNO.ESRCH);
    // A page mapped from someone else's grant is not the domain's own to grant.
    const m = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 0, 8, 0]);
    expectRefused(m.sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.GRANT, c, 8, 0], ERRNO.EINVAL);
  });

  it('HV-GNT-2: ending a grant is refused (EBUSY) while the grantee has it mapped, and allowed after the unmap', () => {
    const sys = granting();
    const m = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, idOf(sys, 'a'), 0, 8, 0]);
    expectRefused(m.sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.END, 0], ERRNO.EBUSY);
    const u = ok(m.sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.UNMAP, m.r1]);
    const e = ok(u.sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.END, 0]);
    expect(domainNamed(e.sys, 'a').grants[0]).toBeNull();
    expectRefused(e.sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.END, 0], ERRNO.EINVAL);
    expectRefused(e.sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.END, 40], ERRNO.EINVAL);
  });

  it('HV-GNT-3: only the named grantee may map a grant, at an empty page of its own space; the mapping is tracked and counted', () => {
    let sys = granting();
    const a = idOf(sys, 'a');
    // a's ref 2 names c, not dom0.
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 2, 8, 1], ERRNO.EPERM);
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 5, 8, 1], ERRNO.EPERM);
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, 9, 0, 8, 1], ERRNO.ESRCH);
    // At a page that holds something, or that is not RAM space.
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 0, 3, 1], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 0, UART_IPA / PAGE_BYTES, 1], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 0, 0x100, 1], ERRNO.EINVAL);
    const m = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 0, 8, 0]);
    sys = m.sys;
    expect(domainNamed(sys, 'dom0').maptrack[m.r1]).toEqual({ granter: a, ref: 0, mfn: domainNamed(sys, 'a').p2m.get(1), gfn: 8, readonly: false });
    expect(domainNamed(sys, 'a').grants[0]!.mapCount).toBe(1);
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 1, 8, 1], ERRNO.EINVAL);
    // The grantee reads and writes the granter's page through it.
    sys = load(sys, 0, 8 * PAGE_BYTES);
    expect(reg(sys, 0, 5)).toBe(0xcafe);
    sys = store(sys, 0, 8 * PAGE_BYTES + 8, 42);
    expect(guestWord(sys, 'a', 1, 2)).toBe(42);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-GNT-3: a read-only grant is mapped read-only only (EPERM for writable); a read-write one mapped read-only is not writable; neither is executable', () => {
    let sys = granting();
    const a = idOf(sys, 'a');
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 1, 8, 0], ERRNO.EPERM);
    sys = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 1, 8, 1]).sys;
    sys = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 0, 9, 1]).sys;
    expect(stage2(sys, 'dom0').get(8)!.flags).toBe(P);
    expect(stage2(sys, 'dom0').get(9)!.flags).toBe(P);
    for (const gfn of [8, 9]) {
      const before = guestWord(sys, 'a', 1, 1);
      const s = store(sys, 0, gfn * PAGE_BYTES + 4, 7);
      expect(guestWord(s, 'a', 1, 1)).toBe(before);
      expect(s.machine.cpus[0]!.pc).toBe(0x200);
      // A fetch from it is an abort too.
      const f = stepHv(inject(sys, 0, { op: 'jalr', rd: 0, rs1: 0, imm: gfn * PAGE_BYTES }), { kind: 'exec', cpu: 0 });
      expect(f.trap?.kind === 'abort' && f.trap.access === 'fetch').toBe(true);
      expect(f.system.machine.cpus[0]!.pc).toBe(0x200);
    }
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-GNT-4: unmapping removes the entry and drops the count; an unknown handle is EINVAL', () => {
    let sys = granting();
    const a = idOf(sys, 'a');
    const m1 = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 0, 8, 0]);
    const m2 = ok(m1.sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, a, 0, 9, 1]);
    sys = m2.sys;
    expect(domainNamed(sys, 'a').grants[0]!.mapCount).toBe(2);
    sys = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.UNMAP, m1.r1]).sys;
    expect(domainNamed(sys, 'a').grants[0]!.mapCount).toBe(1);
    expect(stage2(sys, 'dom0').has(8)).toBe(false);
    expect(stage2(sys, 'dom0').has(9)).toBe(true);
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.UNMAP, m1.r1], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.UNMAP, 31], ERRNO.EINVAL);
  });

  it('HV-GNT-6: grant copy moves words between the caller\'s page and a page granted to it; copying into the granted page needs a read-write grant', () => {
    let sys = granting();
    const a = idOf(sys, 'a');
    // From a's page (read-only grant, ref 1) into dom0's page 5.
    const from = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.COPY, a, 1, 5, 0, 3]);
    sys = from.sys;
    expect([0, 1, 2, 3].map((i) => guestWord(sys, 'dom0', 5, i))).toEqual([0xcafe, 0xbeef, 3, 0]);
    // Into a's page: refused under the read-only grant, done under the read-write one.
    sys = store(sys, 0, 5 * PAGE_BYTES, 0x77);
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.COPY, a, 1, 5, 1, 1], ERRNO.EPERM);
    const to = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.COPY, a, 0, 5, 1, 1]);
    expect([0, 1].map((i) => guestWord(to.sys, 'a', 1, i))).toEqual([0x77, 0xbeef]);
    // Not a grant to the caller; a local page it lacks; more words than a page.
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.COPY, a, 2, 5, 0, 1], ERRNO.EPERM);
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.COPY, a, 0, 7, 0, 1], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.COPY, a, 0, 5, 0, WPF + 1], ERRNO.EINVAL);
    expect(hvViolations(to.sys)).toEqual([]);
  });
});

describe('HV-MEM-7 demand paging', () => {
  const demand = (demandPaging: boolean) =>
    bootHv({
      domains: [
        { name: 'dom0', kernel: 'spin: b spin', memory: 2, affinity: [1] },
        { name: 'g', kernel: 'spin: b spin', memory: 3, pages: 1, demandPaging, affinity: [0] },
      ],
    });

  it('HV-MEM-7: a demand-paged domain gets a zero page where it touches unbacked memory, and the access completes', () => {
    let sys = demand(true);
    const before = domainNamed(sys, 'g').p2m.size;
    sys = setGuest(sys, 0, { 6: 0x500, 7: 42 });
    const r = stepHv(sys, { kind: 'exec', cpu: 0, insn: insn({ op: 'st', rs2: 7, rs1: 6, imm: 0 }) });
    expect(r.trap).toEqual(expect.objectContaining({ kind: 'abort', stage: 2, fault: 'translation' }));
    expect(r.observations.filter((o) => o.kind === 'fault')).toEqual([]);
    expect(domainNamed(r.system, 'g').p2m.size).toBe(before + 1);
    expect(domainNamed(r.system, 'g').p2m.has(5)).toBe(true);
    // The store is not skipped (pc stays on it); run again, it now reaches the new page.
    expect(r.system.machine.cpus[0]!.pc).toBe(sys.machine.cpus[0]!.pc);
    const again = stepHv(r.system, { kind: 'exec', cpu: 0, insn: insn({ op: 'st', rs2: 7, rs1: 6, imm: 0 }) });
    expect(again.trap).toBeNull();
    expect(again.record?.memAccess).toEqual(expect.objectContaining({ access: 'store', va: 0x500, value: 42 }));
    expect(hvViolations(again.system)).toEqual([]);
  });

  it('HV-MEM-7: beyond the quota, or without demand paging, the fault is reported to the guest', () => {
    for (const [demandPaging, touches] of [
      [false, [0x500]],
      [true, [0x500, 0x600, 0x700]],
    ] as const) {
      let sys = demand(demandPaging);
      let last = null;
      for (const va of touches) {
        sys = setGuest(sys, 0, { 6: va });
        const r = stepHv(sys, { kind: 'exec', cpu: 0, insn: insn({ op: 'ld', rd: 7, rs1: 6, imm: 0 }) });
        sys = r.system;
        last = r;
      }
      expect(last!.observations.map((o) => o.kind)).toContain('fault');
      expect(domainNamed(sys, 'g').p2m.size).toBeLessThanOrEqual(3);
      expect(hvViolations(sys)).toEqual([]);
    }
  });
});

describe('HV-ABI-1 xen_version', () => {
  it('HV-ABI-1: xen_version returns the version word and changes nothing else', () => {
    const sys = bootHv({ domains: [{ name: 'dom0', kernel: 'spin: b spin', memory: 2 }] });
    const r = stepHv(setGuest(sys, 0, {}), { kind: 'exec', cpu: 0, insn: insn({ op: 'hvc', imm: HYPERCALL.XEN_VERSION }) });
    expect(r.system.machine.cpus[0]!.regs[1]).toBe((4 << 16) | 17);
    expect(r.system.state.domains).toEqual(sys.state.domains.map((d) => (d === null ? d : { ...d, vcpus: r.system.state.domains[d.id]!.vcpus })));
  });
});

function setGuest(sys: HypervisorSystem, cpu: number, values: Readonly<Record<number, number>>): HypervisorSystem {
  const c = sys.machine.cpus[cpu]!;
  const regs = c.regs.slice();
  for (const [r, v] of Object.entries(values)) regs[Number(r)] = v;
  const cpus = sys.machine.cpus.slice();
  cpus[cpu] = { ...c, regs };
  return { ...sys, machine: { ...sys.machine, cpus } };
}
