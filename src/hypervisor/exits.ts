/**
 * VM exits (HV-EXIT-1..7): one trap to EL2, handled to completion on the pCPU that took it.
 * The guest's registers are saved; the cause is handled — a hypercall, a stage-2 abort (an
 * emulated device, a dirty-logging write, or a fault reported to the guest), WFI, a trapped
 * system-register access, a physical interrupt — the scheduler chooses what runs, and the
 * pCPU returns to a guest or idles. A guest's own exceptions (its SVCs, its stage-1 faults)
 * never come here: the hardware takes them to the guest's EL1.
 *
 * @module
 */
import {
  acknowledge,
  endOfInterrupt,
  IRQ_IPI,
  IRQ_PHYS_TIMER,
  IRQ_VIRT_TIMER,
  setSys,
  SPURIOUS_IRQ,
  syndrome,
  SYS,
  timerAsserted,
  TIMER_CTL,
  type Trap,
} from '../hw/index.ts';
import { DOMCTL, ERRNO, errnoWord, EVTCHN, GNTTAB, HYPERCALL, MEMORY, SCHED, VCPU, VIRQ, VIRQ_ID, XEN_VERSION_WORD } from './abi.ts';
import { emulatedDevice, emulatedRead, emulatedWrite } from './devices.ts';
import { allocUnbound, bindInterdomain, close, hasPendingWork, injectVirq, openPort, send, setMasked, setPending, takePending } from './events.ts';
import { copyGrant, endAccess, grantAccess, mapGrant, unmapGrant } from './grants.ts';
import { createDomain, destroyDomain, logDirty, pauseDomain, restoreDomain, saveDomain, unpauseDomain } from './lifecycle.ts';
import { decrease, populate } from './memory.ts';
import { kickPcpus, scheduleAndEnter, schedulerTick, stopDomainElsewhere } from './sched.ts';
import type { DomId } from './types.ts';
import { freshContext, saveGuestRegs } from './vcpu.ts';
import { getDomain, newHvLog, updateVcpu, type HvLog, type HvWorld } from './world.ts';

/** Handles a trap to EL2 on pCPU `c` (HV-EXIT-1). */
export function handleExit(w0: HvWorld, c: number, trap: Trap): { w: HvWorld; log: HvLog } {
  const log = newHvLog(c);
  let w = saveGuestRegs(w0, log, c);
  const cur = w.h.pcpus[c]!.current;
  if (trap.kind === 'irq') {
    w = physicalInterrupt(w, log, c);
  } else if (cur !== null && trap.from < 2) {
    w = guestExit(w, log, c, cur.dom, cur.vcpu, trap);
  }
  w = scheduleAndEnter(w, log, c);
  return { w: kickPcpus(w, log), log };
}

function regs(w: HvWorld, d: DomId, v: number): readonly number[] {
  return getDomain(w.h, d)!.vcpus[v]!.context.regs;
}

/** Sets r1 (the hypercall result, or a loaded value's register) and optionally skips the instruction. */
function setReg(w: HvWorld, d: DomId, v: number, reg: number, value: number, skip = false): HvWorld {
  const ctx = getDomain(w.h, d)!.vcpus[v]!.context;
  const next = ctx.regs.slice();
  if (reg !== 0) next[reg] = value >>> 0;
  return updateVcpu(w, d, v, { context: { ...ctx, regs: next, pc: skip ? (ctx.pc + 4) >>> 0 : ctx.pc } });
}

function skip(w: HvWorld, d: DomId, v: number): HvWorld {
  const ctx = getDomain(w.h, d)!.vcpus[v]!.context;
  return updateVcpu(w, d, v, { context: { ...ctx, pc: (ctx.pc + 4) >>> 0 } });
}

/** Answers a hypercall: r1 = value, or the negative errno (HV-ABI-3). */
function answer(w: HvWorld | number, before: HvWorld, d: DomId, v: number, value = 0): HvWorld {
  if (typeof w === 'number') return setReg(before, d, v, 1, errnoWord(w));
  return getDomain(w.h, d) === null ? w : setReg(w, d, v, 1, value);
}

/** The exit of a running guest (HV-EXIT-2..5). */
function guestExit(w: HvWorld, log: HvLog, c: number, d: DomId, v: number, trap: Trap): HvWorld {
  switch (trap.kind) {
    case 'hvc':
      return hypercall(w, log, c, d, v, trap.imm);
    case 'abort':
      return abortExit(w, log, c, d, v, trap);
    case 'wfi':
      // HV-EXIT-4: WFI blocks the vCPU until it has an event; it resumes after the WFI.
      return block(skip(w, d, v), log, c, d, v, null);
    case 'sysreg':
      if (trap.write && trap.sysreg === SYS.ICC_SGIR) return virtualIpi(skip(w, d, v), log, d, regs(w, d, v)[trap.rt]!);
      return injectUndefined(w, c);
    default:
      return injectUndefined(w, c);
  }
}

/**
 * A stage-2 abort (HV-EXIT-3): an emulated device register is read or written and the
 * instruction skipped; a write to a page write-protected for dirty logging is recorded and
 * retried; anything else is reported to the guest as an external abort at its EL1.
 */
function abortExit(w: HvWorld, log: HvLog, c: number, d: DomId, v: number, trap: Extract<Trap, { kind: 'abort' }>): HvWorld {
  const dom = getDomain(w.h, d)!;
  if (trap.ipa !== null && trap.stage === 2 && !trap.onWalk && trap.access !== 'fetch') {
    const dev = emulatedDevice(w, trap.ipa);
    if (dev !== null && trap.fault === 'translation') {
      log.ops.push('mmioAccess');
      const load = trap.access === 'load';
      const value = load ? emulatedRead(w, d, dev.device, dev.reg) : regs(w, d, v)[trap.rt]!;
      if (dev.device === 'vblk') log.observations.push({ dom: d, vcpu: v, kind: load ? 'device-read' : 'device-write', values: [dev.reg, value] });
      if (load) return setReg(w, d, v, trap.rt, value, true);
      return skip(emulatedWrite(w, log, d, v, dev.device, dev.reg, value), d, v);
    }
    const gfn = Math.floor(trap.ipa / w.m.geometry.pageBytes);
    if (trap.fault === 'permission' && trap.access === 'store' && dom.dirty !== null && dom.p2m.has(gfn)) return logDirty(w, log, d, gfn);
  }
  // HV-MEM-7: a demand-paged domain gets a free page where it touched unbacked memory within
  // its quota, and the access is retried (Xen's populate-on-demand; KVM backs every page so).
  if (dom.demandPaging && trap.ipa !== null && trap.stage === 2 && trap.fault === 'translation') {
    const backed = populate(w, log, d, Math.floor(trap.ipa / w.m.geometry.pageBytes), 1);
    if (typeof backed !== 'number') return backed;
  }
  log.observations.push({ dom: d, vcpu: v, kind: 'fault', values: [trap.va, trap.ipa ?? 0, trap.esr] });
  return injectAbort(w, c, trap);
}

/** Delivers a synchronous exception to the guest's EL1 vector, as the hardware would have (HV-EXIT-3). */
function injectException(w: HvWorld, c: number, esr: number, far: number | null): HvWorld {
  const cur = w.h.pcpus[c]!.current!;
  const ctx = getDomain(w.h, cur.dom)!.vcpus[cur.vcpu]!.context;
  const cpu = w.m.cpus[c]!;
  let sys = setSys(setSys(cpu.sys, SYS.ESR_EL1, esr), SYS.ELR_EL1, ctx.pc);
  sys = setSys(sys, SYS.SPSR_EL1, (ctx.el << 2) | (ctx.irqMasked ? 0x80 : 0));
  if (far !== null) sys = setSys(sys, SYS.FAR_EL1, far);
  const cpus = w.m.cpus.slice();
  cpus[c] = { ...cpu, sys };
  const pc = (sys[SYS.VBAR_EL1]! + (ctx.el === 1 ? 0x200 : 0x400)) >>> 0;
  return updateVcpu({ ...w, m: { ...w.m, cpus } }, cur.dom, cur.vcpu, { context: { ...ctx, pc, el: 1, irqMasked: true } });
}

/**
 * HV-EXIT-3: an external abort at the guest's EL1 with the syndrome the hardware gives one
 * (HW-EXC-4) — for a data abort that includes ISV and the register, as a guest's handler
 * emulating the access would need.
 */
function injectAbort(w: HvWorld, c: number, trap: Extract<Trap, { kind: 'abort' }>): HvWorld {
  const esr = syndrome({ kind: 'abort', access: trap.access, stage: 1, fault: 'external', level: 0, va: trap.va, ipa: null, onWalk: false, rt: trap.rt });
  return injectException(w, c, esr, trap.va);
}

function injectUndefined(w: HvWorld, c: number): HvWorld {
  return injectException(w, c, 0, null);
}

/** A virtual IPI (HV-EVT-4): ICC_SGIR from a guest names vCPUs of its own domain. */
function virtualIpi(w: HvWorld, log: HvLog, d: DomId, mask: number): HvWorld {
  let world = w;
  getDomain(w.h, d)!.vcpus.forEach((vc, i) => {
    if ((mask & (1 << i)) !== 0 && vc.state !== 'offline') world = injectVirq(world, log, d, i, VIRQ_ID.IPI);
  });
  return world;
}

/** Blocks vCPU (d, v) unless it has work pending (HV-SCHED-4); `port` makes it a poll. */
function block(w: HvWorld, log: HvLog, c: number, d: DomId, v: number, port: number | null): HvWorld {
  const dom = getDomain(w.h, d)!;
  if (hasPendingWork(w, d, v) || (port !== null && dom.ports[port]?.pending === true)) return w;
  const cpu = w.m.cpus[c]!;
  // Interrupts already delivered to the hardware interface count as pending too.
  if (cpu.sys[SYS.ICH_PEND_EL2] !== 0) return w;
  void log;
  return updateVcpu(w, d, v, { state: 'blocked', polling: port });
}

/** A physical interrupt at EL2 (HV-EXIT-6). */
function physicalInterrupt(w: HvWorld, log: HvLog, c: number): HvWorld {
  const cpu = w.m.cpus[c]!;
  const acked = acknowledge(w.m.gic, c, cpu);
  log.ops.push('irqAck');
  let world: HvWorld = { ...w, m: { ...w.m, gic: acked.gic } };
  const id = acked.id;
  if (id === SPURIOUS_IRQ) return world;
  // HV-SCHED-3: a tick that is due when an IPI is taken first (the lower ID, HW-IRQ-3) is the
  // tick of the vCPU that ran through it, so it is handled now; taken after the IPI's switch,
  // it would be charged to the vCPU switched in, which has not run at all.
  if (id === IRQ_PHYS_TIMER || (id === IRQ_IPI && timerAsserted(cpu.sys[SYS.CNTP_CTL]!, cpu.counter, cpu.sys[SYS.CNTP_CVAL]!))) {
    const cpus = world.m.cpus.slice();
    cpus[c] = { ...cpu, sys: setSys(cpu.sys, SYS.CNTP_CVAL, cpu.counter + 1) };
    log.ops.push('sysregWrite');
    world = schedulerTick({ ...world, m: { ...world.m, cpus } }, c);
    world = wakeExpiredTimers(world, log, c);
  } else if (id === IRQ_VIRT_TIMER) {
    // The running vCPU's virtual timer: mask it in the hardware (so the level drops) and
    // give the guest its virtual timer interrupt; the guest unmasks it when it reprograms.
    const cur = world.h.pcpus[c]!.current;
    const cpus = world.m.cpus.slice();
    cpus[c] = { ...cpu, sys: setSys(cpu.sys, SYS.CNTV_CTL, cpu.sys[SYS.CNTV_CTL]! | TIMER_CTL.IMASK) };
    world = { ...world, m: { ...world.m, cpus } };
    if (cur !== null) world = injectVirq(world, log, cur.dom, cur.vcpu, VIRQ_ID.TIMER);
  } else if (id !== IRQ_IPI) {
    const route = world.h.pirqs[id] ?? null;
    if (route !== null) world = setPending(world, log, route.dom, route.port);
  }
  log.ops.push('eoi');
  return { ...world, m: { ...world.m, gic: endOfInterrupt(world.m.gic, c, id) } };
}

/** Blocked vCPUs of pCPU `c` whose virtual timer has come due get their timer interrupt (HV-EVT-4). */
function wakeExpiredTimers(w: HvWorld, log: HvLog, c: number): HvWorld {
  let world = w;
  const counter = w.m.cpus[c]!.counter;
  for (const dom of w.h.domains) {
    if (dom === null || dom.lifecycle !== 'running') continue;
    for (const v of dom.vcpus) {
      if (v.state !== 'blocked' || v.affinity !== c) continue;
      const ctl = v.context.sys[SYS.CNTV_CTL] ?? 0;
      const due = timerAsserted(ctl, (counter - dom.counterOffset) >>> 0, v.context.sys[SYS.CNTV_CVAL] ?? 0);
      if (due && (v.context.vPending & (1 << VIRQ_ID.TIMER)) === 0) {
        const sys = { ...v.context.sys, [SYS.CNTV_CTL]: ctl | TIMER_CTL.IMASK };
        world = updateVcpu(world, dom.id, v.id, { context: { ...v.context, sys } });
        world = injectVirq(world, log, dom.id, v.id, VIRQ_ID.TIMER);
      }
    }
  }
  return world;
}

/** A hypercall from the guest kernel of (d, v) (HV-ABI-1..4); the domain observes its result in r1. */
function hypercall(w: HvWorld, log: HvLog, c: number, d: DomId, v: number, n: number): HvWorld {
  const sub = regs(w, d, v)[1]!;
  const after = dispatchHypercall(w, log, c, d, v, n);
  const dom = getDomain(after.h, d);
  if (dom !== null) log.observations.push({ dom: d, vcpu: v, kind: 'hypercall', values: [n, sub, dom.vcpus[v]!.context.regs[1]!] });
  return after;
}

function dispatchHypercall(w: HvWorld, log: HvLog, c: number, d: DomId, v: number, n: number): HvWorld {
  const [, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0] = regs(w, d, v);
  const dom = getDomain(w.h, d)!;
  switch (n) {
    case HYPERCALL.CONSOLE_IO: {
      log.observations.push({ dom: d, vcpu: v, kind: 'console', values: [a1 & 0xff] });
      const world = { ...w, h: { ...w.h, domains: w.h.domains.map((x) => (x?.id === d ? { ...x, console: x.console + String.fromCharCode(a1 & 0xff) } : x)) } };
      return answer(world, w, d, v);
    }
    case HYPERCALL.SCHED_OP:
      return schedOp(w, log, c, d, v, a1, a2);
    case HYPERCALL.DOMCTL:
      // HV-DOM-2: only the control domain may manage domains.
      if (!dom.privileged) return answer(ERRNO.EPERM, w, d, v);
      return domctl(w, log, d, v, a1, a2);
    case HYPERCALL.MEMORY_OP:
      if (a1 === MEMORY.POPULATE) return answer(populate(w, log, d, a2, a3), w, d, v);
      if (a1 === MEMORY.DECREASE) return answer(decrease(w, log, d, a2, a3), w, d, v);
      return answer(ERRNO.EINVAL, w, d, v);
    case HYPERCALL.GRANT_TABLE_OP:
      return grantOp(w, log, d, v, a1, a2, a3, a4, a5, a6);
    case HYPERCALL.EVENT_CHANNEL_OP:
      return eventOp(w, log, d, v, a1, a2, a3);
    case HYPERCALL.VCPU_OP:
      return vcpuOp(w, log, d, v, a1, a2, a3);
    case HYPERCALL.XEN_VERSION:
      // HV-ABI-1: the cheapest hypercall, which benchmarks measure as the null hypercall.
      return answer(w, w, d, v, XEN_VERSION_WORD);
    default:
      return answer(ERRNO.ENOSYS, w, d, v);
  }
}

function schedOp(w: HvWorld, log: HvLog, c: number, d: DomId, v: number, cmd: number, arg: number): HvWorld {
  const ok = answer(w, w, d, v);
  switch (cmd) {
    case SCHED.YIELD: {
      // HV-SCHED-2: yielding ends the slice; the vCPU goes to the back of the queue.
      const pcpus = ok.h.pcpus.slice();
      pcpus[c] = { ...pcpus[c]!, sliceLeft: 0 };
      return { ...ok, h: { ...ok.h, pcpus } };
    }
    case SCHED.BLOCK:
      return block(ok, log, c, d, v, null);
    case SCHED.POLL: {
      const port = getDomain(w.h, d)!.ports[arg] ?? null;
      if (port === null) return answer(ERRNO.EINVAL, w, d, v);
      return block(ok, log, c, d, v, arg);
    }
    case SCHED.SHUTDOWN: {
      // HV-ABI-3: a domain that may not go — the control domain (HV-DOM-2) — gets the error in r1.
      const r = destroyDomain(w, log, d);
      return typeof r === 'number' ? answer(r, w, d, v) : notifyControl(r, log, d);
    }
    default:
      return answer(ERRNO.EINVAL, w, d, v);
  }
}

/** Tells the control domain a domain has gone, on its DOM_EXC virtual-IRQ port if it bound one (HV-EVT-2). */
export function notifyControl(w: HvWorld, log: HvLog, gone: DomId): HvWorld {
  let world = w;
  for (const dom of w.h.domains) {
    if (dom === null || !dom.privileged || dom.lifecycle === 'destroyed' || dom.id === gone) continue;
    dom.ports.forEach((p, i) => {
      if (p?.binding.kind === 'virq' && p.binding.virq === VIRQ.DOM_EXC) world = setPending(world, log, dom.id, i);
    });
  }
  return world;
}

function domctl(w: HvWorld, log: HvLog, d: DomId, v: number, cmd: number, arg: number): HvWorld {
  switch (cmd) {
    case DOMCTL.CREATE: {
      const image = w.h.images[arg];
      if (image === undefined) return answer(ERRNO.EINVAL, w, d, v);
      const r = createDomain(w, log, {
        name: image.name,
        privileged: false,
        maxPages: image.maxPages,
        vcpus: image.vcpus,
        weight: image.weight,
        cap: image.cap,
        storage: image.storage,
        image: { words: image.words, origin: image.origin, pages: image.pages },
      });
      return typeof r === 'number' ? answer(r, w, d, v) : answer(r.w, w, d, v, r.dom);
    }
    case DOMCTL.DESTROY:
      if (arg === d) return answer(ERRNO.EINVAL, w, d, v);
      {
        const r = destroyDomain(w, log, arg);
        return typeof r === 'number' ? answer(r, w, d, v) : answer(notifyControl(r, log, arg), w, d, v);
      }
    case DOMCTL.PAUSE:
      if (arg === d) return answer(ERRNO.EINVAL, w, d, v);
      return answer(pauseDomain(w, log, arg), w, d, v);
    case DOMCTL.UNPAUSE:
      return answer(unpauseDomain(w, log, arg), w, d, v);
    case DOMCTL.SAVE: {
      const r = saveDomain(w, log, arg);
      return typeof r === 'number' ? answer(r, w, d, v) : answer(r.w, w, d, v, r.handle);
    }
    case DOMCTL.RESTORE: {
      const r = restoreDomain(w, log, arg);
      return typeof r === 'number' ? answer(r, w, d, v) : answer(r.w, w, d, v, r.dom);
    }
    default:
      return answer(ERRNO.EINVAL, w, d, v);
  }
}

function grantOp(w: HvWorld, log: HvLog, d: DomId, v: number, cmd: number, a2: number, a3: number, a4: number, a5: number, a6: number): HvWorld {
  switch (cmd) {
    case GNTTAB.GRANT: {
      const r = grantAccess(w, d, a2, a3, a4 !== 0);
      return typeof r === 'number' ? answer(r, w, d, v) : answer(r.w, w, d, v, r.ref);
    }
    case GNTTAB.END:
      return answer(endAccess(w, d, a2), w, d, v);
    case GNTTAB.MAP: {
      const r = mapGrant(w, log, d, a2, a3, a4, a5 !== 0);
      return typeof r === 'number' ? answer(r, w, d, v) : answer(r.w, w, d, v, r.handle);
    }
    case GNTTAB.UNMAP:
      return answer(unmapGrant(w, log, d, a2), w, d, v);
    case GNTTAB.COPY:
      return answer(copyGrant(w, log, d, a2, a3, a4, a5 !== 0, a6), w, d, v);
    default:
      return answer(ERRNO.EINVAL, w, d, v);
  }
}

function eventOp(w: HvWorld, log: HvLog, d: DomId, v: number, cmd: number, a2: number, a3: number): HvWorld {
  const withPort = (r: { w: HvWorld; port: number } | number) => (typeof r === 'number' ? answer(r, w, d, v) : answer(r.w, w, d, v, r.port));
  switch (cmd) {
    case EVTCHN.ALLOC_UNBOUND:
      return withPort(allocUnbound(w, d, a2));
    case EVTCHN.BIND_INTERDOMAIN:
      return withPort(bindInterdomain(w, d, a2, a3));
    case EVTCHN.BIND_VIRQ:
      if (a2 !== VIRQ.DOM_EXC || a3 >= getDomain(w.h, d)!.vcpus.length) return answer(ERRNO.EINVAL, w, d, v);
      return withPort(openPort(w, d, { kind: 'virq', virq: a2 }, a3));
    case EVTCHN.SEND:
      return answer(send(w, log, d, a2), w, d, v);
    case EVTCHN.CLOSE:
      return answer(close(w, d, a2), w, d, v);
    case EVTCHN.UNMASK:
      return answer(setMasked(w, log, d, a2, false), w, d, v);
    case EVTCHN.MASK:
      return answer(setMasked(w, log, d, a2, true), w, d, v);
    case EVTCHN.PENDING: {
      const r = takePending(w, d);
      return answer(r.w, w, d, v, r.port);
    }
    default:
      return answer(ERRNO.EINVAL, w, d, v);
  }
}

/** VCPUOP_up / down (HV-DOM-3): bring one of the domain's own vCPUs up at `pc`, or take it down. */
function vcpuOp(w: HvWorld, log: HvLog, d: DomId, v: number, cmd: number, target: number, pc: number): HvWorld {
  const dom = getDomain(w.h, d)!;
  const vc = dom.vcpus[target];
  if (vc === undefined) return answer(ERRNO.EINVAL, w, d, v);
  if (cmd === VCPU.UP) {
    if (vc.state !== 'offline') return answer(ERRNO.EEXIST, w, d, v);
    const world = updateVcpu(w, d, target, { state: 'runnable', context: freshContext(pc, target), credit: 0, priority: 'under' });
    return answer({ ...world, h: { ...world.h, runq: [...world.h.runq, { dom: d, vcpu: target }] } }, w, d, v);
  }
  if (cmd === VCPU.DOWN) {
    if (vc.state === 'offline') return answer(w, w, d, v);
    const world = answer(stopDomainElsewhere(w, log, d, target), w, d, v);
    const down = updateVcpu(world, d, target, { state: 'offline' });
    return { ...down, h: { ...down.h, runq: down.h.runq.filter((q) => !(q.dom === d && q.vcpu === target)) } };
  }
  return answer(ERRNO.EINVAL, w, d, v);
}
