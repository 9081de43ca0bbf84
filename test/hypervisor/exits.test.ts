/**
 * Rule-by-rule tests of VM exits and devices (spec/hypervisor.md §3 HV-EXIT-1..7, §4
 * HV-DEV-1..4, and the storage quota HV-MEM-5): the world switch, hypercalls, stage-2 aborts
 * (emulated UART and block device, faults reported to the guest), WFI, trapped system
 * registers, physical interrupts (timer, IPI, virtual timer, an assigned NIC's line), virtual
 * IPIs between two vCPUs of one domain on two pCPUs, and a split driver.
 */
import { describe, expect, it } from 'vitest';
import { BLOCK_STATUS, HCR, NIC_STATUS, readWords, SYS, TIMER_CTL, type BlockState, type NicState } from '../../src/hw/index.ts';
import { EVTCHN, GNTTAB, HYPERCALL, SCHED, VCPU, type HypervisorScenario } from '../../src/hypervisor/index.ts';
import { bootHypervisorSystem, type HypervisorSystem } from '../../src/system/index.ts';
import * as E from 'fp-ts/lib/Either.js';
import { bootHv, domainNamed, HV_MACHINE, hvViolations, insn, runningOn, stepHv, UART_IPA, VBLK_IPA } from './fixtures.ts';
import {
  call,
  guestWord,
  idOf,
  inject,
  layout,
  ok,
  PAGE_BYTES,
  PARK,
  pcpuOf,
  run,
  savedContext,
  schedTick,
  settle,
  stage2,
  unmaskAt,
  VECTORS,
  vPendingOf,
  WPF,
  yieldTo,
} from './rule-helpers.ts';

/** Block-device registers (HW-DEV-2), as word offsets into the emulated device's page. */
const BLK = { SECTOR: 0, ADDR: 4, COUNT: 8, CMD: 12, STATUS: 16, ACK: 20 } as const;
/** NIC registers (HW-DEV-3), as byte offsets. */
const NIC = { TX_ADDR: 0, TX_LEN: 4, TX_GO: 8, RX_ADDR: 12, RX_CAP: 16, RX_LEN: 20, STATUS: 24, ACK: 28 } as const;
/** Index of each machine device on HV_MACHINE. */
const BLOCK_DEVICE = 1;
const NIC_DEVICE = 2;
const NIC_IRQ = 5;

/** ESR values as the hardware builds them (HW-EXC-4), computed here. */
const esrDataAbort = (fsc: number, store: boolean, rt: number) => ((0x24 << 26) | (1 << 24) | (rt << 9) | (store ? 1 << 6 : 0) | fsc) >>> 0;
const esrInstructionAbort = (fsc: number) => ((0x20 << 26) | fsc) >>> 0;
const FSC_EXTERNAL = 0x10;
/** SPSR of EL1 with IRQs masked (HW-EXC-3). */
const SPSR_EL1_MASKED = (1 << 2) | 0x80;

/** dom0 on pCPU 0 and guest `a` (VECTORS, pages 0..7) on pCPU 1. */
function withGuest(extra: Partial<HypervisorScenario['domains'][number]> = {}, more: Partial<HypervisorScenario> = {}): HypervisorSystem {
  return bootHv({
    ...more,
    domains: [
      { name: 'dom0', kernel: VECTORS, memory: 8, pages: 6 },
      { name: 'a', kernel: VECTORS, memory: 10, pages: 8, affinity: [1], ...extra },
      ...(more.domains ?? []),
    ],
  });
}

/** Loads word `addr` into `rd` on pCPU `cpu`'s guest, via r15 as the base. */
function load(sys: HypervisorSystem, cpu: number, rd: number, addr: number): HypervisorSystem {
  const s = setR(sys, cpu, 15, addr);
  return inject(s, cpu, { op: 'ld', rd, rs1: 15, imm: 0 });
}

/** Stores `value` to word `addr` on pCPU `cpu`'s guest (via r14 and r15). */
function store(sys: HypervisorSystem, cpu: number, addr: number, value: number): HypervisorSystem {
  let s = setR(sys, cpu, 14, value);
  s = setR(s, cpu, 15, addr);
  return inject(s, cpu, { op: 'st', rs2: 14, rs1: 15, imm: 0 });
}

/** Sets register `r` of the guest on pCPU `cpu` by executing lui/ori (so it goes through the guest). */
function setR(sys: HypervisorSystem, cpu: number, r: number, value: number): HypervisorSystem {
  const s = inject(sys, cpu, { op: 'lui', rd: r, imm: value >>> 14 });
  return inject(s, cpu, { op: 'ori', rd: r, rs1: r, imm: value & 0x3fff });
}

function reg(sys: HypervisorSystem, cpu: number, r: number): number {
  return sys.machine.cpus[cpu]!.regs[r]!;
}

describe('HV-EXIT: VM exits', () => {
  it('HV-EXIT-1: a guest runs with HCR_EL2 = VM|IMO|TWI|TPT, VTTBR_EL2 = its root and VMID, VMPIDR_EL2 = its vCPU id and CNTVOFF_EL2 = its offset', () => {
    const sys = withGuest();
    const a = domainNamed(sys, 'a');
    const cpu = sys.machine.cpus[1]!;
    expect(cpu.el).toBe(1);
    expect(cpu.sys[SYS.HCR_EL2]).toBe(HCR.VM | HCR.IMO | HCR.TWI | HCR.TPT);
    expect(cpu.sys[SYS.VTTBR_EL2]).toBe(((a.vmid << 24) | a.s2root) >>> 0);
    expect(cpu.sys[SYS.VMPIDR_EL2]).toBe(0);
    expect(cpu.sys[SYS.CNTVOFF_EL2]).toBe(a.counterOffset);
  });

  it('HV-EXIT-1: every exit saves the registers, pc and level; the EL1 bank moves only when the pCPU switches vCPU', () => {
    let sys = bootHv({
      domains: [
        { name: 'dom0', kernel: VECTORS, memory: 8, pages: 6 },
        { name: 'b', kernel: VECTORS, memory: 8, pages: 6 },
      ],
    });
    expect(runningOn(sys, 0)).toBe('dom0');
    sys = setR(sys, 0, 9, 0x1234);
    sys = inject(sys, 0, { op: 'msr', sysreg: SYS.TPIDR_EL1, rs: 9 });
    sys = inject(sys, 0, { op: 'msr', sysreg: SYS.VBAR_EL1, rs: 9 });
    const pc = sys.machine.cpus[0]!.pc;
    const c = ok(sys, 0, HYPERCALL.CONSOLE_IO, [0x41]);
    sys = c.sys;
    const ctx = savedContext(sys, 'dom0');
    expect(ctx.regs).toEqual(sys.machine.cpus[0]!.regs);
    expect(ctx.regs[9]).toBe(0x1234);
    expect([ctx.pc, ctx.el]).toEqual([pc + 4, 1]);
    // No switch: the EL1 bank stayed on the pCPU, not in the saved context.
    expect(ctx.sys[SYS.TPIDR_EL1] ?? 0).toBe(0);
    expect(sys.machine.cpus[0]!.sys[SYS.TPIDR_EL1]).toBe(0x1234);
    // Switching to b takes dom0's bank off the pCPU and puts b's (zero) and b's stage 2 on.
    sys = yieldTo(sys, 0, 'b');
    expect(savedContext(sys, 'dom0').sys[SYS.TPIDR_EL1]).toBe(0x1234);
    expect(savedContext(sys, 'dom0').sys[SYS.VBAR_EL1]).toBe(0x1234);
    const cpu = sys.machine.cpus[0]!;
    expect([cpu.sys[SYS.TPIDR_EL1], cpu.sys[SYS.VBAR_EL1]]).toEqual([0, 0]);
    const b = domainNamed(sys, 'b');
    expect(cpu.sys[SYS.VTTBR_EL2]).toBe(((b.vmid << 24) | b.s2root) >>> 0);
    sys = yieldTo(sys, 0, 'dom0');
    expect(sys.machine.cpus[0]!.sys[SYS.TPIDR_EL1]).toBe(0x1234);
    expect(sys.machine.cpus[0]!.regs[9]).toBe(0x1234);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-EXIT-1: virtual interrupts posted for a vCPU while it was off its pCPU are in ICH_PEND_EL2 when it is switched in', () => {
    let sys = bootHv({
      domains: [
        { name: 'dom0', kernel: VECTORS, memory: 8, pages: 6 },
        { name: 'b', kernel: VECTORS, memory: 8, pages: 6 },
      ],
      channels: [{ from: 'dom0', to: 'b' }],
    });
    sys = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]).sys;
    // b is not on a pCPU: the upcall waits in its context.
    expect(savedContext(sys, 'b').vPending).toBe(1 << 3);
    sys = yieldTo(sys, 0, 'b');
    expect(sys.machine.cpus[0]!.sys[SYS.ICH_PEND_EL2]).toBe(1 << 3);
  });

  it('HV-EXIT-2: HVC runs the hypercall and the guest resumes at the next instruction', () => {
    const kernel = 'addi r1, r0, 0x41\nhvc #1\naddi r2, r0, 5\nloop: b loop';
    let sys = bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }, { name: 'a', kernel, memory: 2, affinity: [1] }] });
    sys = run(sys, 1, 2);
    expect(sys.machine.cpus[1]!.pc).toBe(8);
    expect(sys.machine.cpus[1]!.el).toBe(1);
    expect(domainNamed(sys, 'a').console).toBe('A');
    sys = run(sys, 1, 1);
    expect(reg(sys, 1, 2)).toBe(5);
  });

  it('HV-EXIT-3, HV-DEV-1: a load from the emulated UART is performed by the device model into the syndrome\'s register and skipped; STATUS reads 1, DATA appends to the console', () => {
    let sys = withGuest();
    sys = setR(sys, 1, 3, UART_IPA);
    const pc = sys.machine.cpus[1]!.pc;
    const r = stepHv(sys, { kind: 'exec', cpu: 1, insn: insn({ op: 'ld', rd: 7, rs1: 3, imm: 4 }) });
    expect(r.trap?.kind).toBe('abort');
    expect(r.trap?.to).toBe(2);
    sys = r.system;
    expect(reg(sys, 1, 7)).toBe(1);
    expect(sys.machine.cpus[1]!.pc).toBe(pc + 4);
    sys = load(sys, 1, 8, UART_IPA + 8);
    expect(reg(sys, 1, 8)).toBe(0);
    sys = store(sys, 1, UART_IPA, 0x4f);
    sys = store(sys, 1, UART_IPA, 0x6b);
    // A store to another register is ignored.
    sys = store(sys, 1, UART_IPA + 4, 0x21);
    expect(domainNamed(sys, 'a').console).toBe('Ok');
    expect(domainNamed(sys, 'dom0').console).toBe('');
    // The emulated pages are never in stage 2.
    expect(stage2(sys, 'a').has(UART_IPA / PAGE_BYTES)).toBe(false);
    expect(stage2(sys, 'a').has(VBLK_IPA / PAGE_BYTES)).toBe(false);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-EXIT-3: a load or store to unbacked memory is an external abort taken to the guest\'s EL1 vector, with ESR, FAR, ELR and SPSR as the hardware would set them', () => {
    for (const isStore of [false, true]) {
      let sys = withGuest();
      sys = setR(sys, 1, 6, 0x4000);
      const pc = sys.machine.cpus[1]!.pc;
      const i = isStore ? ({ op: 'st', rs2: 5, rs1: 6, imm: 8 } as const) : ({ op: 'ld', rd: 5, rs1: 6, imm: 8 } as const);
      const r = stepHv(sys, { kind: 'exec', cpu: 1, insn: insn(i) });
      expect(r.trap?.to).toBe(2);
      expect(r.observations.map((o) => o.kind)).toContain('fault');
      const cpu = r.system.machine.cpus[1]!;
      expect([cpu.el, cpu.pc, cpu.irqMasked]).toEqual([1, 0x200, true]);
      expect(cpu.sys[SYS.ESR_EL1]).toBe(esrDataAbort(FSC_EXTERNAL, isStore, 5));
      expect(cpu.sys[SYS.FAR_EL1]).toBe(0x4008);
      expect(cpu.sys[SYS.ELR_EL1]).toBe(pc);
      expect(cpu.sys[SYS.SPSR_EL1]).toBe(SPSR_EL1_MASKED);
      // The guest's handler sees the same.
      const h = run(r.system, 1, 2);
      expect([reg(h, 1, 12), reg(h, 1, 13)]).toEqual([esrDataAbort(FSC_EXTERNAL, isStore, 5), pc]);
      expect(hvViolations(h)).toEqual([]);
    }
  });

  it('HV-EXIT-3: a fetch from an emulated device\'s page is an instruction abort to the guest, not a device access', () => {
    let sys = withGuest();
    sys = setR(sys, 1, 3, UART_IPA);
    sys = inject(sys, 1, { op: 'jalr', rd: 0, rs1: 3, imm: 0 });
    const r = stepHv(sys, { kind: 'exec', cpu: 1 });
    expect(r.trap?.kind).toBe('abort');
    expect(r.trap?.to).toBe(2);
    const cpu = r.system.machine.cpus[1]!;
    expect(cpu.pc).toBe(0x200);
    expect(cpu.sys[SYS.ESR_EL1]).toBe(esrInstructionAbort(FSC_EXTERNAL));
    expect(cpu.sys[SYS.FAR_EL1]).toBe(UART_IPA);
    expect(cpu.sys[SYS.ELR_EL1]).toBe(UART_IPA);
    expect(domainNamed(r.system, 'a').console).toBe('');
  });

  it('HV-EXIT-3: a stage-2 fault on a stage-1 table walk is reported to the guest as an external abort', () => {
    let sys = withGuest();
    // Stage-1 tables at guest page 0x30, which the domain does not have.
    sys = setR(sys, 1, 2, 0x30);
    sys = inject(sys, 1, { op: 'msr', sysreg: SYS.TTBR0_EL1, rs: 2 });
    sys = inject(sys, 1, { op: 'addi', rd: 2, rs1: 0, imm: 1 });
    sys = inject(sys, 1, { op: 'msr', sysreg: SYS.SCTLR_EL1, rs: 2 });
    const pc = sys.machine.cpus[1]!.pc;
    const r = stepHv(sys, { kind: 'exec', cpu: 1 });
    expect(r.trap?.kind === 'abort' && r.trap.onWalk).toBe(true);
    expect(r.trap?.to).toBe(2);
    const cpu = r.system.machine.cpus[1]!;
    expect([cpu.el, cpu.pc]).toEqual([1, 0x200]);
    expect(cpu.sys[SYS.ESR_EL1]).toBe(esrInstructionAbort(FSC_EXTERNAL));
    expect(cpu.sys[SYS.ELR_EL1]).toBe(pc);
    expect(hvViolations(r.system)).toEqual([]);
  });

  it('HV-EXIT-4: WFI blocks the vCPU until it has an event; it then resumes after the WFI', () => {
    const kernel = 'wfi\naddi r2, r0, 9\nloop: b loop';
    let sys = bootHv({
      domains: [{ name: 'dom0', kernel: PARK, memory: 4 }, { name: 'a', kernel, memory: 2, affinity: [1] }],
      channels: [{ from: 'dom0', to: 'a' }],
    });
    const r = stepHv(sys, { kind: 'exec', cpu: 1 });
    expect(r.trap?.kind).toBe('wfi');
    expect(r.trap?.to).toBe(2);
    sys = r.system;
    expect(domainNamed(sys, 'a').vcpus[0]!.state).toBe('blocked');
    expect(runningOn(sys, 1)).toBeNull();
    sys = run(sys, 1, 3);
    expect(runningOn(sys, 1)).toBeNull();
    sys = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]).sys;
    expect(domainNamed(sys, 'a').vcpus[0]!.state).toBe('runnable');
    sys = settle(sys);
    expect(runningOn(sys, 1)).toBe('a');
    expect(sys.machine.cpus[1]!.pc).toBe(4);
    sys = run(sys, 1, 1);
    expect(reg(sys, 1, 2)).toBe(9);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-EXIT-4: WFI with an event already pending does not block', () => {
    const kernel = 'wfi\naddi r2, r0, 9\nloop: b loop';
    let sys = bootHv({
      domains: [{ name: 'dom0', kernel: PARK, memory: 4 }, { name: 'a', kernel, memory: 2, affinity: [1] }],
      channels: [{ from: 'dom0', to: 'a' }],
    });
    sys = settle(ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]).sys);
    const r = stepHv(sys, { kind: 'exec', cpu: 1 });
    expect(r.trap?.kind).toBe('wfi');
    expect(runningOn(r.system, 1)).toBe('a');
    expect(r.system.machine.cpus[1]!.pc).toBe(4);
  });

  it('HV-EXIT-5: any trapped system-register access other than an ICC_SGIR write (the physical timer, under TPT) is an undefined instruction to the guest', () => {
    for (const i of [
      { op: 'msr', sysreg: SYS.CNTP_CTL, rs: 2 },
      { op: 'msr', sysreg: SYS.CNTP_CVAL, rs: 2 },
      { op: 'mrs', rd: 2, sysreg: SYS.CNTPCT },
    ] as const) {
      const sys = withGuest();
      const pc = sys.machine.cpus[1]!.pc;
      const r = stepHv(sys, { kind: 'exec', cpu: 1, insn: insn(i) });
      expect(r.trap?.kind).toBe('sysreg');
      expect(r.trap?.to).toBe(2);
      const cpu = r.system.machine.cpus[1]!;
      expect([cpu.el, cpu.pc]).toEqual([1, 0x200]);
      expect(cpu.sys[SYS.ESR_EL1]).toBe(0);
      expect(cpu.sys[SYS.ELR_EL1]).toBe(pc);
      // The physical timer of the pCPU is untouched: it keeps ticking the scheduler.
      expect(cpu.sys[SYS.CNTP_CTL]).toBe(sys.machine.cpus[1]!.sys[SYS.CNTP_CTL]);
      expect(cpu.sys[SYS.CNTP_CVAL]).toBe(sys.machine.cpus[1]!.sys[SYS.CNTP_CVAL]);
    }
  });

  it('HV-EXIT-5, HV-EVT-4: an ICC_SGIR write is a virtual IPI to the vCPUs of the writer\'s own domain it names, across pCPUs', () => {
    let sys = bootHv({ domains: [{ name: 'dom0', kernel: VECTORS, memory: 8, pages: 6, vcpus: 2 }, { name: 'other', kernel: VECTORS, memory: 8, pages: 6, affinity: [1], start: false }] });
    sys = settle(ok(sys, 0, HYPERCALL.VCPU_OP, [VCPU.UP, 1, 0]).sys);
    expect(pcpuOf(sys, 'dom0', 1)).toBe(1);
    sys = unmaskAt(sys, 1, 0);
    // vCPU 0 (pCPU 0) names vCPU 1 (pCPU 1): it is posted and pCPU 1 is sent a physical IPI.
    sys = inject(sys, 0, { op: 'addi', rd: 2, rs1: 0, imm: 0b10 });
    const pc = sys.machine.cpus[0]!.pc;
    const w = stepHv(sys, { kind: 'exec', cpu: 0, insn: insn({ op: 'msr', sysreg: SYS.ICC_SGIR, rs: 2 }) });
    expect(w.trap?.kind).toBe('sysreg');
    sys = w.system;
    expect(sys.machine.cpus[0]!.pc).toBe(pc + 4);
    expect(sys.machine.gic.ipiPending & 0b10).toBe(0b10);
    expect(savedContext(sys, 'dom0', 1).vPending).toBe(1);
    // pCPU 1 takes the IPI at EL2 and re-enters the guest with virtual IRQ 0 pending ...
    const ipi = stepHv(sys, { kind: 'exec', cpu: 1 });
    expect(ipi.trap?.kind).toBe('irq');
    expect(ipi.trap?.to).toBe(2);
    sys = ipi.system;
    expect(sys.machine.cpus[1]!.sys[SYS.ICH_PEND_EL2]).toBe(1);
    // ... which the unmasked guest takes at its IRQ vector and acknowledges: ID 0.
    sys = run(sys, 1, 5);
    expect([reg(sys, 1, 10), reg(sys, 1, 11)]).toEqual([1, 0]);
    // Naming itself posts it at once on its own pCPU; bits of vCPUs it lacks change nothing.
    sys = inject(sys, 0, { op: 'addi', rd: 2, rs1: 0, imm: 0b101 });
    sys = inject(sys, 0, { op: 'msr', sysreg: SYS.ICC_SGIR, rs: 2 });
    expect(sys.machine.cpus[0]!.sys[SYS.ICH_PEND_EL2]).toBe(1);
    expect(savedContext(sys, 'other').vPending).toBe(0);
    expect(vPendingOf(sys, 'dom0', 1)).toBe(0);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-EXIT-6: the physical timer ticks the scheduler: the running vCPU burns credits and the timer is re-armed', () => {
    const sys = withGuest();
    const before = domainNamed(sys, 'a').vcpus[0]!;
    const t = schedTick(sys, 1);
    const after = domainNamed(t.system, 'a').vcpus[0]!;
    expect(after.credit).toBe(before.credit - 100);
    expect(after.ticksRun).toBe(before.ticksRun + 1);
    expect(t.system.machine.cpus[1]!.sys[SYS.CNTP_CVAL]).toBe(t.system.machine.cpus[1]!.counter + 1);
    expect(runningOn(t.system, 1)).toBe('a');
  });

  it('HV-EXIT-6: the virtual-timer interrupt masks the guest\'s timer in the hardware and injects virtual interrupt 2 into the running vCPU', () => {
    let sys = withGuest();
    sys = unmaskAt(sys, 1, 0);
    sys = inject(sys, 1, { op: 'addi', rd: 2, rs1: 0, imm: 2 });
    sys = inject(sys, 1, { op: 'msr', sysreg: SYS.CNTV_CVAL, rs: 2 });
    sys = inject(sys, 1, { op: 'addi', rd: 2, rs1: 0, imm: TIMER_CTL.ENABLE });
    sys = inject(sys, 1, { op: 'msr', sysreg: SYS.CNTV_CTL, rs: 2 });
    sys = schedTick(sys, 1).system;
    sys = schedTick(sys, 1).system;
    // Counter 2 ≥ CVAL 2: the virtual timer (ID 2) is asserted and goes to EL2.
    const v = stepHv(sys, { kind: 'exec', cpu: 1 });
    expect(v.trap?.kind).toBe('irq');
    expect(v.trap?.to).toBe(2);
    sys = v.system;
    const cpu = sys.machine.cpus[1]!;
    expect(cpu.sys[SYS.CNTV_CTL]! & TIMER_CTL.IMASK).toBe(TIMER_CTL.IMASK);
    expect(cpu.sys[SYS.ICH_PEND_EL2]).toBe(1 << 2);
    // The level dropped: the next step is the guest taking virtual IRQ 2 at EL1.
    const g = stepHv(sys, { kind: 'exec', cpu: 1 });
    expect(g.trap?.kind === 'irq' && g.trap.virtual).toBe(true);
    expect(g.trap?.to).toBe(1);
    sys = run(g.system, 1, 3);
    expect([reg(sys, 1, 10), reg(sys, 1, 11)]).toEqual([1, 2]);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-EXIT-6: a blocked vCPU whose virtual timer has come due is woken by the physical timer tick with virtual interrupt 2', () => {
    let sys = withGuest();
    sys = inject(sys, 1, { op: 'addi', rd: 2, rs1: 0, imm: 3 });
    sys = inject(sys, 1, { op: 'msr', sysreg: SYS.CNTV_CVAL, rs: 2 });
    sys = inject(sys, 1, { op: 'addi', rd: 2, rs1: 0, imm: TIMER_CTL.ENABLE });
    sys = inject(sys, 1, { op: 'msr', sysreg: SYS.CNTV_CTL, rs: 2 });
    sys = ok(sys, 1, HYPERCALL.SCHED_OP, [SCHED.BLOCK]).sys;
    expect(domainNamed(sys, 'a').vcpus[0]!.state).toBe('blocked');
    expect(runningOn(sys, 1)).toBeNull();
    sys = schedTick(sys, 1).system;
    sys = schedTick(sys, 1).system;
    expect(domainNamed(sys, 'a').vcpus[0]!.state).toBe('blocked');
    const t = schedTick(sys, 1);
    sys = t.system;
    expect(runningOn(sys, 1)).toBe('a');
    expect(sys.machine.cpus[1]!.sys[SYS.ICH_PEND_EL2]! & (1 << 2)).toBe(1 << 2);
    expect(sys.machine.cpus[1]!.sys[SYS.CNTV_CTL]! & TIMER_CTL.IMASK).toBe(TIMER_CTL.IMASK);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-EXIT-7: a guest\'s own SVC, undefined instruction and stage-1 fault go to its EL1 vector without leaving the guest', () => {
    // Stage-1 tables in the kernel image: root at page 2 maps VA page 0 through the table at page 3 to IPA page 0.
    const kernel = layout([
      [0x000, 'addi r1, r0, 2\nmsr TTBR0_EL1, r1\naddi r1, r0, 1\nmsr SCTLR_EL1, r1\nli r2, 0x100\nld r3, 0(r2)\nb 0x1c'],
      [0x200, `.word ${(3 << 4) | 1}`],
      [0x300, `.word ${(0 << 4) | 7}`],
    ]);
    for (const [name, sys0, steps, esr] of [
      ['svc', withGuest(), 0, ((0x15 << 26) | 7) >>> 0],
      ['undefined', withGuest(), 0, 0],
      ['stage-1 fault', bootHv({ domains: [{ name: 'dom0', kernel: PARK, memory: 4 }, { name: 'a', kernel, memory: 6, pages: 4, affinity: [1] }] }), 6, ((0x24 << 26) | (1 << 24) | (3 << 9) | 0x05) >>> 0],
    ] as const) {
      let sys = run(sys0, 1, steps);
      const r =
        name === 'svc'
          ? stepHv(sys, { kind: 'exec', cpu: 1, insn: insn({ op: 'svc', imm: 7 }) })
          : name === 'undefined'
            ? stepHv(sys, { kind: 'exec', cpu: 1, insn: 0 })
            : stepHv(sys, { kind: 'exec', cpu: 1 });
      expect(r.trap?.to, name).toBe(1);
      expect(r.system.state, name).toBe(sys.state);
      sys = r.system;
      expect(sys.machine.cpus[1]!.pc, name).toBe(0x200);
      expect(sys.machine.cpus[1]!.sys[SYS.ESR_EL1], name).toBe(esr);
    }
  });
});

/** The words of sector `s` of the machine's disk. */
function sector(sys: HypervisorSystem, s: number): number[] {
  const disk = sys.machine.devices[BLOCK_DEVICE] as BlockState;
  return readWords(disk.disk, s * WPF, WPF);
}

/** Programs the emulated block device of the guest on `cpu`: SECTOR, ADDR, COUNT, then CMD. */
function blockCommand(sys: HypervisorSystem, cpu: number, cmd: number, sec: number, addr: number, count = 1): HypervisorSystem {
  let s = store(sys, cpu, VBLK_IPA + BLK.SECTOR, sec);
  s = store(s, cpu, VBLK_IPA + BLK.ADDR, addr);
  s = store(s, cpu, VBLK_IPA + BLK.COUNT, count);
  return store(s, cpu, VBLK_IPA + BLK.CMD, cmd);
}

function blockStatus(sys: HypervisorSystem, cpu: number): number {
  return reg(load(sys, cpu, 7, VBLK_IPA + BLK.STATUS), cpu, 7);
}

const READ = 1;
const WRITE = 2;

describe('HV-DEV: devices', () => {
  /** dom0 with sectors 0..3 and a with 4..7 of the 16-sector disk; a's page 1 holds 1..64. */
  function disks(): HypervisorSystem {
    let sys = bootHv({
      domains: [
        { name: 'dom0', kernel: VECTORS, memory: 8, pages: 6, storage: 4 },
        { name: 'a', kernel: VECTORS, memory: 10, pages: 8, affinity: [1], storage: 4 },
      ],
      grants: [{ from: 'dom0', to: 'a', gfn: 5, readonly: true }],
    });
    for (let i = 0; i < WPF; i++) sys = store(sys, 1, PAGE_BYTES + 4 * i, i + 1);
    return sys;
  }
  const ramp = Array.from({ length: WPF }, (_, i) => i + 1);

  it('HV-DEV-1: the emulated block device writes a page to the domain\'s sectors and reads it back, completing at the CMD store', () => {
    let sys = disks();
    sys = blockCommand(sys, 1, WRITE, 1, PAGE_BYTES);
    expect(blockStatus(sys, 1)).toBe(BLOCK_STATUS.DONE);
    // The sector is offset by a's allowance: a's sector 1 is the disk's sector 5.
    expect(sector(sys, 5)).toEqual(ramp);
    expect(sector(sys, 1).every((w) => w === 0)).toBe(true);
    sys = store(sys, 1, VBLK_IPA + BLK.ACK, 0);
    expect(blockStatus(sys, 1)).toBe(BLOCK_STATUS.IDLE);
    sys = blockCommand(sys, 1, READ, 1, 2 * PAGE_BYTES);
    expect(blockStatus(sys, 1)).toBe(BLOCK_STATUS.DONE);
    expect(Array.from({ length: WPF }, (_, i) => guestWord(sys, 'a', 2, i))).toEqual(ramp);
    // The registers read back what was written.
    expect([BLK.SECTOR, BLK.ADDR, BLK.COUNT].map((r) => reg(load(sys, 1, 7, VBLK_IPA + r), 1, 7))).toEqual([1, 2 * PAGE_BYTES, 1]);
    // The device model leaves the machine's device without a DMA root or a pending line.
    expect(sys.machine.iommu.roots[BLOCK_DEVICE]).toBe(-1);
    expect(sys.machine.gic.pending & (1 << 4)).toBe(0);
    // dom0's emulated device is its own.
    expect(domainNamed(sys, 'dom0').vblk).toEqual({ sector: 0, addr: 0, count: 0, status: 0 });
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-DEV-1: the device\'s DMA goes through the domain\'s stage 2 — nowhere unmapped, never into a read-only page', () => {
    let sys = disks();
    sys = ok(sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, idOf(sys, 'dom0'), 0, 9, 1]).sys;
    sys = blockCommand(sys, 1, WRITE, 0, PAGE_BYTES);
    const mem = sys.machine.memory;
    for (const addr of [0x4000, UART_IPA, 9 * PAGE_BYTES]) {
      const s = blockCommand(sys, 1, READ, 0, addr);
      expect(blockStatus(s, 1), `read into ${addr.toString(16)}`).toBe(BLOCK_STATUS.DMA_FAULT);
      expect(s.machine.memory).toEqual(mem);
    }
    // Writing a read-only page to disk is allowed: the DMA reads it.
    const w = blockCommand(sys, 1, WRITE, 2, 9 * PAGE_BYTES);
    expect(blockStatus(w, 1)).toBe(BLOCK_STATUS.DONE);
    expect(hvViolations(w)).toEqual([]);
  });

  it('HV-MEM-5, HV-DEV-1: a command beyond the domain\'s storage allowance fails with RANGE_ERROR and touches neither disk nor memory', () => {
    let sys = disks();
    sys = blockCommand(sys, 1, WRITE, 3, PAGE_BYTES);
    expect(blockStatus(sys, 1)).toBe(BLOCK_STATUS.DONE);
    expect(sector(sys, 7)).toEqual(ramp);
    for (const [sec, count] of [
      [4, 1],
      [3, 2],
      [0, 5],
      [0, 0],
      [0xfffffffc, 8],
    ] as const) {
      const disk = (sys.machine.devices[BLOCK_DEVICE] as BlockState).disk;
      const w = blockCommand(sys, 1, WRITE, sec, PAGE_BYTES, count);
      expect(blockStatus(w, 1), `write ${count} at ${sec}`).toBe(BLOCK_STATUS.RANGE_ERROR);
      expect((w.machine.devices[BLOCK_DEVICE] as BlockState).disk).toEqual(disk);
      const r = blockCommand(sys, 1, READ, sec, 2 * PAGE_BYTES, count);
      expect(blockStatus(r, 1), `read ${count} at ${sec}`).toBe(BLOCK_STATUS.RANGE_ERROR);
      expect(r.machine.memory).toEqual(sys.machine.memory);
    }
  });

  it('HV-MEM-5: a domain without storage has no sectors at all', () => {
    let sys = withGuest();
    sys = blockCommand(sys, 1, READ, 0, PAGE_BYTES);
    expect(blockStatus(sys, 1)).toBe(BLOCK_STATUS.RANGE_ERROR);
  });

  it('HV-DEV-2, HV-EXIT-6: an assigned NIC\'s registers are mapped (not executable) at the chosen page, its DMA goes through the domain\'s stage 2, and its line makes the domain\'s port pending', () => {
    let sys = withGuest({ devices: [{ device: NIC_DEVICE, gfn: 8 }] });
    const a = domainNamed(sys, 'a');
    const NIC_PAGE = HV_MACHINE.frames + NIC_DEVICE;
    expect(stage2(sys, 'a').get(8)).toEqual({ mfn: NIC_PAGE, flags: 0b0011 });
    expect(sys.machine.iommu.roots[NIC_DEVICE]).toBe(a.s2root);
    expect(a.devices).toEqual([NIC_DEVICE]);
    expect(a.ports[1]!.binding).toEqual({ kind: 'pirq', line: NIC_IRQ });
    expect(sys.state.pirqs[NIC_IRQ]).toEqual({ dom: a.id, port: 1 });
    // The guest drives the NIC directly: no exit.
    const BASE = 8 * PAGE_BYTES;
    sys = store(sys, 1, BASE + NIC.RX_ADDR, 3 * PAGE_BYTES);
    sys = store(sys, 1, BASE + NIC.RX_CAP, 4);
    const packet = stepHv(sys, { kind: 'device', device: NIC_DEVICE, packet: [7, 8, 9] });
    expect(packet.error).toBeNull();
    sys = packet.system;
    expect([0, 1, 2].map((i) => guestWord(sys, 'a', 3, i))).toEqual([7, 8, 9]);
    // Its line goes to pCPU 0; the hypervisor makes a's port pending and upcalls a on pCPU 1.
    const irq = stepHv(sys, { kind: 'exec', cpu: 0 });
    expect(irq.trap?.kind).toBe('irq');
    expect(irq.observations).toContainEqual({ domain: 'a', subject: 'a.vcpu0', kind: 'event', values: [1] });
    sys = irq.system;
    expect(domainNamed(sys, 'a').ports[1]!.pending).toBe(true);
    sys = settle(sys);
    expect(sys.machine.cpus[1]!.sys[SYS.ICH_PEND_EL2]! & (1 << 3)).toBe(1 << 3);
    expect(reg(load(sys, 1, 7, BASE + NIC.STATUS), 1, 7) & NIC_STATUS.RX_DONE).toBe(NIC_STATUS.RX_DONE);
    // Transmit from a's page 3; from a page a does not have, the DMA faults.
    sys = store(sys, 1, BASE + NIC.TX_ADDR, 3 * PAGE_BYTES);
    sys = store(sys, 1, BASE + NIC.TX_LEN, 2);
    sys = store(sys, 1, BASE + NIC.TX_GO, 1);
    expect((sys.machine.devices[NIC_DEVICE] as NicState).transmitted).toEqual([[7, 8]]);
    sys = store(sys, 1, BASE + NIC.TX_ADDR, 0x4000);
    sys = store(sys, 1, BASE + NIC.TX_GO, 1);
    expect((sys.machine.devices[NIC_DEVICE] as NicState).transmitted).toEqual([[7, 8]]);
    expect(reg(load(sys, 1, 7, BASE + NIC.STATUS), 1, 7) & NIC_STATUS.TX_FAULT).toBe(NIC_STATUS.TX_FAULT);
    expect(hvViolations(sys)).toEqual([]);
    // Fetching from the register page is refused (not executable): an abort to the guest.
    sys = setR(sys, 1, 3, BASE);
    sys = inject(sys, 1, { op: 'jalr', rd: 0, rs1: 3, imm: 0 });
    const f = stepHv(sys, { kind: 'exec', cpu: 1 });
    expect(f.trap?.kind === 'abort' && f.trap.access === 'fetch').toBe(true);
    expect(f.system.machine.cpus[1]!.pc).toBe(0x200);
  });

  it('HV-DEV-2: a device is assigned to one domain at most', () => {
    const r = bootHypervisorSystem(HV_MACHINE, {
      domains: [
        { name: 'dom0', kernel: PARK, memory: 4, devices: [{ device: NIC_DEVICE, gfn: 8 }] },
        { name: 'a', kernel: PARK, memory: 4, devices: [{ device: NIC_DEVICE, gfn: 8 }] },
      ],
    });
    expect(E.isLeft(r) && r.left.path).toBe('domains[1].devices[0]');
  });

  it('HV-DEV-4: the machine\'s block device is never assigned', () => {
    const r = bootHypervisorSystem(HV_MACHINE, { domains: [{ name: 'dom0', kernel: PARK, memory: 4, devices: [{ device: BLOCK_DEVICE, gfn: 8 }] }] });
    expect(E.isLeft(r) && r.left.path).toBe('domains[0].devices[0]');
  });

  it('HV-DEV-3: a split driver — the frontend grants its data page and signals over a channel; the backend maps it and does the I/O on its own emulated disk, whose DMA reaches the granted page', () => {
    let sys = bootHv({
      domains: [
        { name: 'dom0', kernel: PARK, memory: 4 },
        { name: 'backend', kernel: VECTORS, memory: 8, pages: 6, storage: 2, affinity: [1] },
        { name: 'frontend', kernel: VECTORS, memory: 8, pages: 6, affinity: [0] },
      ],
      channels: [{ from: 'frontend', to: 'backend' }],
    });
    const [fe, be] = [idOf(sys, 'frontend'), idOf(sys, 'backend')];
    sys = yieldTo(sys, 0, 'frontend');
    // The frontend writes its request data in page 5, grants it and signals.
    sys = store(sys, 0, 5 * PAGE_BYTES, 0x68);
    sys = store(sys, 0, 5 * PAGE_BYTES + 4, 0x69);
    const g = ok(sys, 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.GRANT, be, 5, 0]);
    sys = ok(g.sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]).sys;
    sys = settle(sys);
    expect(vPendingOf(sys, 'backend') & (1 << 3)).toBe(1 << 3);
    const pending = ok(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.PENDING]);
    expect(pending.r1).toBe(1);
    // The backend maps the page and writes it to its disk (sector 1 of its allowance, the disk's 1)...
    const m = ok(pending.sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.MAP, fe, g.r1, 7, 0]);
    sys = blockCommand(m.sys, 1, WRITE, 1, 7 * PAGE_BYTES);
    expect(blockStatus(sys, 1)).toBe(BLOCK_STATUS.DONE);
    expect(sector(sys, 1).slice(0, 3)).toEqual([0x68, 0x69, 0]);
    // ... and reads sector 0 (which it filled from its own page 5) into it.
    sys = store(sys, 1, 5 * PAGE_BYTES, 0x4f);
    sys = blockCommand(sys, 1, WRITE, 0, 5 * PAGE_BYTES);
    sys = blockCommand(sys, 1, READ, 0, 7 * PAGE_BYTES);
    expect(blockStatus(sys, 1)).toBe(BLOCK_STATUS.DONE);
    sys = ok(sys, 1, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.UNMAP, m.r1]).sys;
    sys = ok(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]).sys;
    // The frontend sees the data in its own page.
    expect(guestWord(sys, 'frontend', 5, 0)).toBe(0x4f);
    expect(guestWord(sys, 'frontend', 5, 1)).toBe(0);
    expect(domainNamed(sys, 'frontend').ports[1]!.pending).toBe(true);
    expect(hvViolations(sys)).toEqual([]);
    // The backend has unmapped it: the frontend may end the grant.
    expect(call(settle(sys), 0, HYPERCALL.GRANT_TABLE_OP, [GNTTAB.END, g.r1]).r1).toBe(0);
  });
});
