/**
 * vCPU contexts and the world switch (HV-DOM-3, HV-EXIT-1). A guest runs on the hardware at
 * EL1/EL0 under its domain's stage 2. On every exit to EL2 its general registers and return
 * state are saved; the EL1 system-register bank, the virtual interrupt state and the stage-2
 * base move only when the pCPU switches to another vCPU; on the way back in, pending virtual
 * interrupts are delivered to the hardware's virtual CPU interface.
 *
 * @module
 */
import { decodeSpsr, encodeSpsr, HCR, makeBase, SYS, type Cpu } from '../hw/index.ts';
import type { DomId, VcpuContext } from './types.ts';
import { getDomain, updateVcpu, type HvLog, type HvWorld } from './world.ts';

/** The EL1/EL0 registers a world switch saves and restores. */
export const EL1_BANK: readonly number[] = [
  SYS.SCTLR_EL1,
  SYS.TTBR0_EL1,
  SYS.VBAR_EL1,
  SYS.ELR_EL1,
  SYS.SPSR_EL1,
  SYS.ESR_EL1,
  SYS.FAR_EL1,
  SYS.CNTV_CTL,
  SYS.CNTV_CVAL,
  SYS.TPIDR_EL0,
  SYS.TPIDR_EL1,
];

/** Trap controls while a guest runs (HV-EXIT-1): stage 2, IRQs to EL2, WFI and the physical timer trapped. */
export const GUEST_HCR = HCR.VM | HCR.IMO | HCR.TWI | HCR.TPT;

/** A vCPU about to start at `pc` in its kernel, with IRQs masked (as a CPU at reset). */
export function freshContext(pc: number, r1 = 0): VcpuContext {
  const regs = new Array<number>(16).fill(0);
  regs[1] = r1 >>> 0;
  return { regs, pc, el: 1, irqMasked: true, sys: {}, vPending: 0, vActive: 0, waiting: false };
}

function cpuAt(w: HvWorld, c: number): Cpu {
  return w.m.cpus[c]!;
}

function withCpu(w: HvWorld, c: number, cpu: Cpu): HvWorld {
  const cpus = w.m.cpus.slice();
  cpus[c] = cpu;
  return { ...w, m: { ...w.m, cpus } };
}

/** On an exit: the running vCPU's registers and where it returns to (HV-EXIT-1). */
export function saveGuestRegs(w: HvWorld, log: HvLog, c: number): HvWorld {
  const cur = w.h.pcpus[c]?.current ?? null;
  if (cur === null) return w;
  const cpu = cpuAt(w, c);
  const ret = decodeSpsr(cpu.sys[SYS.SPSR_EL2]!);
  const dom = getDomain(w.h, cur.dom)!;
  const ctx = dom.vcpus[cur.vcpu]!.context;
  log.ops.push('vmExit');
  return updateVcpu(w, cur.dom, cur.vcpu, {
    context: { ...ctx, regs: cpu.regs, pc: cpu.sys[SYS.ELR_EL2]!, el: ret === null || ret.el === 2 ? 1 : ret.el, irqMasked: ret?.irqMasked ?? true },
  });
}

/** Switch-out: the EL1 bank and virtual interrupt state leave the pCPU with the vCPU. */
export function saveVcpuBank(w: HvWorld, log: HvLog, c: number): HvWorld {
  const cur = w.h.pcpus[c]?.current ?? null;
  if (cur === null) return w;
  const cpu = cpuAt(w, c);
  const ctx = getDomain(w.h, cur.dom)!.vcpus[cur.vcpu]!.context;
  const sys: Record<number, number> = {};
  for (const r of EL1_BANK) sys[r] = cpu.sys[r]!;
  log.ops.push('sysregBankSave');
  return updateVcpu(w, cur.dom, cur.vcpu, {
    // Injections posted while it ran (the mailbox in vPending) are kept with the live ones.
    context: { ...ctx, sys, vPending: (cpu.sys[SYS.ICH_PEND_EL2]! | ctx.vPending) >>> 0, vActive: cpu.sys[SYS.ICH_ACTIVE_EL2]! },
  });
}

/** Switch-in: the vCPU's EL1 bank, virtual interrupts, stage-2 base and trap controls go onto pCPU `c`. */
export function loadVcpu(w: HvWorld, log: HvLog, c: number, d: DomId, v: number): HvWorld {
  const dom = getDomain(w.h, d)!;
  const ctx = dom.vcpus[v]!.context;
  const cpu = cpuAt(w, c);
  const sys = cpu.sys.slice();
  for (const r of EL1_BANK) sys[r] = ctx.sys[r] ?? 0;
  sys[SYS.ICH_PEND_EL2] = ctx.vPending;
  sys[SYS.ICH_ACTIVE_EL2] = ctx.vActive;
  const vttbr = makeBase(dom.s2root, dom.vmid);
  if (sys[SYS.VTTBR_EL2] !== vttbr) log.ops.push('addressSpaceSwitch');
  sys[SYS.VTTBR_EL2] = vttbr;
  sys[SYS.HCR_EL2] = GUEST_HCR;
  sys[SYS.VMPIDR_EL2] = v;
  sys[SYS.CNTVOFF_EL2] = dom.counterOffset >>> 0;
  log.ops.push('sysregBankRestore');
  const world = updateVcpu(w, d, v, { context: { ...ctx, vPending: 0 } });
  return withCpu(world, c, { ...cpu, sys });
}

/**
 * Returns from EL2 to the vCPU on pCPU `c` (HV-EXIT-1): its registers and pc at its level,
 * with any virtual interrupts posted for it while it ran merged into the hardware.
 */
export function enterGuest(w: HvWorld, log: HvLog, c: number): HvWorld {
  const cur = w.h.pcpus[c]!.current!;
  const ctx = getDomain(w.h, cur.dom)!.vcpus[cur.vcpu]!.context;
  const cpu = cpuAt(w, c);
  const sys = cpu.sys.slice();
  sys[SYS.ICH_PEND_EL2] = (sys[SYS.ICH_PEND_EL2]! | ctx.vPending) >>> 0;
  sys[SYS.ELR_EL2] = ctx.pc;
  sys[SYS.SPSR_EL2] = encodeSpsr(ctx.el, ctx.irqMasked);
  log.ops.push('vmEntry', 'trapReturnEl2');
  const world = ctx.vPending === 0 ? w : updateVcpu(w, cur.dom, cur.vcpu, { context: { ...ctx, vPending: 0 } });
  return withCpu(world, c, { ...cpu, sys, regs: ctx.regs, pc: ctx.pc, el: ctx.el, irqMasked: ctx.irqMasked, waiting: false });
}

/** Parks pCPU `c` in the hypervisor's idle loop: EL2, waiting, IRQs unmasked (HV-SCHED-5). */
export function idlePcpu(w: HvWorld, c: number): HvWorld {
  const cpu = cpuAt(w, c);
  const sys = cpu.sys.slice();
  sys[SYS.HCR_EL2] = HCR.IMO;
  // The last guest's virtual timer must not fire on an idle pCPU.
  sys[SYS.CNTV_CTL] = 0;
  return withCpu(w, c, { ...cpu, sys, el: 2, pc: w.h.config.idlePc, irqMasked: false, waiting: true });
}

/** The live context of vCPU (d, v): from its pCPU while it runs there, else saved. */
export function liveVcpuContext(w: HvWorld, d: DomId, v: number): VcpuContext {
  const ctx = getDomain(w.h, d)!.vcpus[v]!.context;
  const c = w.h.pcpus.findIndex((p) => p.current !== null && p.current.dom === d && p.current.vcpu === v);
  if (c < 0) return ctx;
  const cpu = cpuAt(w, c);
  if (cpu.el === 2) return ctx;
  const sys: Record<number, number> = {};
  for (const r of EL1_BANK) sys[r] = cpu.sys[r]!;
  return {
    regs: cpu.regs,
    pc: cpu.pc,
    el: cpu.el === 0 ? 0 : 1,
    irqMasked: cpu.irqMasked,
    sys,
    vPending: (cpu.sys[SYS.ICH_PEND_EL2]! | ctx.vPending) >>> 0,
    vActive: cpu.sys[SYS.ICH_ACTIVE_EL2]!,
    waiting: cpu.waiting,
  };
}
