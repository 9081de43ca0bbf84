/**
 * Helpers for the rule-by-rule unit tests of the hypervisor (domains, exits, memory, events,
 * sched, migration): reading a vCPU's live registers, hypercalls that report the caller's
 * r1, checking that a refused hypercall changed nothing but r1, stepping pCPUs and reading
 * stage-2 tables with a walker of the tests' own (spec/hardware.md HW-MMU-2..3), so that
 * expectations never come from the hypervisor function under test.
 */
import { expect } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import { assemble, PTE, readWord, readWords, SYS } from '../../src/hw/index.ts';
import { HYPERCALL, SCHED } from '../../src/hypervisor/index.ts';
import type { Domain, HypervisorState, VcpuContext } from '../../src/hypervisor/index.ts';
import type { HypervisorSystem, StepResult } from '../../src/system/index.ts';
import { domainNamed, HV_MACHINE, hvViolations, hypercall, insn, runningOn, stepHv } from './fixtures.ts';

/** Bytes and words per page of HV_MACHINE. */
export const PAGE_BYTES = HV_MACHINE.wordsPerFrame * 4;
export const WPF = HV_MACHINE.wordsPerFrame;

/**
 * A guest kernel for domains driven by injected hypercalls: a whole page of `b 0`, so that
 * whatever pc the injections have advanced it to, a fetched step branches back to 0.
 */
export const PARK = Array.from({ length: WPF }, () => 'b 0').join('\n');

/** An unknown hypercall number: ENOSYS, the reference "does nothing but set r1" call. */
export const NO_SUCH_HYPERCALL = 99;

export function idOf(sys: HypervisorSystem, name: string): number {
  return domainNamed(sys, name).id;
}

/** The pCPU vCPU `v` of domain `name` is current on, or -1. */
export function pcpuOf(sys: HypervisorSystem, name: string, v = 0): number {
  const d = idOf(sys, name);
  return sys.state.pcpus.findIndex((p) => p.current !== null && p.current.dom === d && p.current.vcpu === v);
}

/** The (domain id, vCPU) current on pCPU `cpu`; the pCPU must run one. */
export function currentOn(sys: HypervisorSystem, cpu: number): { dom: number; vcpu: number } {
  const cur = sys.state.pcpus[cpu]!.current;
  if (cur === null) throw new Error(`pCPU ${cpu} runs no vCPU`);
  return cur;
}

/** The registers of vCPU (d, v) as it sees them: on its pCPU while it is in the guest, else saved. */
export function liveRegsById(sys: HypervisorSystem, d: number, v: number): { regs: readonly number[]; pc: number; el: number; irqMasked: boolean } {
  const c = sys.state.pcpus.findIndex((p) => p.current !== null && p.current.dom === d && p.current.vcpu === v);
  const cpu = c >= 0 ? sys.machine.cpus[c]! : null;
  if (cpu !== null && cpu.el !== 2) return { regs: cpu.regs, pc: cpu.pc, el: cpu.el, irqMasked: cpu.irqMasked };
  const ctx = sys.state.domains[d]!.vcpus[v]!.context;
  return { regs: ctx.regs, pc: ctx.pc, el: ctx.el, irqMasked: ctx.irqMasked };
}

export function liveRegs(sys: HypervisorSystem, name: string, v = 0) {
  return liveRegsById(sys, idOf(sys, name), v);
}

/** A saved vCPU context (the vCPU must not be in the guest on a pCPU). */
export function savedContext(sys: HypervisorSystem, name: string, v = 0): VcpuContext {
  return domainNamed(sys, name).vcpus[v]!.context;
}

export interface Called {
  readonly sys: HypervisorSystem;
  /** The caller's r1 afterwards, signed (negative = −errno). */
  readonly r1: number;
  readonly res: StepResult<HypervisorState>;
}

/** Hypercall `n` by the vCPU on pCPU `cpu`; the step must really take the HVC. */
export function call(sys: HypervisorSystem, cpu: number, n: number, args: readonly number[] = []): Called {
  const caller = currentOn(sys, cpu);
  const res = hypercall(sys, cpu, n, args);
  expect(res.error).toBeNull();
  expect(res.trap?.kind, 'the injected HVC was taken (no interrupt was pending)').toBe('hvc');
  return { sys: res.system, r1: liveRegsById(res.system, caller.dom, caller.vcpu).regs[1]! | 0, res };
}

/** `call`, expecting success (r1 ≥ 0) and no invariant violation; returns the new system and r1. */
export function ok(sys: HypervisorSystem, cpu: number, n: number, args: readonly number[] = []): { sys: HypervisorSystem; r1: number; res: StepResult<HypervisorState> } {
  const c = call(sys, cpu, n, args);
  expect(c.r1, `hypercall ${n}(${args.join(', ')}) succeeds`).toBeGreaterThanOrEqual(0);
  expect(hvViolations(c.sys)).toEqual([]);
  return c;
}

/**
 * The system with r1 of vCPU (d, v) set to `value` wherever it lives, and pCPU `cpu`'s
 * ESR_EL2 cleared (it holds the HVC number, which differs from the reference call's).
 */
function normalised(sys: HypervisorSystem, cpu: number, d: number, v: number, value: number): HypervisorSystem {
  const domains = sys.state.domains.slice();
  const dom = domains[d]!;
  const vcpus = dom.vcpus.slice();
  const ctx = vcpus[v]!.context;
  const regs = ctx.regs.slice();
  regs[1] = value;
  vcpus[v] = { ...vcpus[v]!, context: { ...ctx, regs } };
  domains[d] = { ...dom, vcpus };
  const c = sys.state.pcpus.findIndex((p) => p.current !== null && p.current.dom === d && p.current.vcpu === v);
  const cpus = sys.machine.cpus.slice();
  if (c >= 0) {
    const cregs = cpus[c]!.regs.slice();
    cregs[1] = value;
    cpus[c] = { ...cpus[c]!, regs: cregs };
  }
  const esr = cpus[cpu]!.sys.slice();
  esr[SYS.ESR_EL2] = 0;
  cpus[cpu] = { ...cpus[cpu]!, sys: esr };
  return { machine: { ...sys.machine, cpus }, state: { ...sys.state, domains } };
}

/**
 * HV-ABI-3: hypercall `n` fails with `errno` and changes nothing but the caller's r1 — the
 * system equals, but for r1, the one after an unknown hypercall (which takes the same exit
 * and return path and does nothing).
 */
export function expectRefused(sys: HypervisorSystem, cpu: number, n: number, args: readonly number[], errno: number): void {
  const caller = currentOn(sys, cpu);
  const failed = call(sys, cpu, n, args);
  expect(failed.r1, `hypercall ${n}(${args.join(', ')}) fails with -${errno}`).toBe(-errno);
  const reference = call(sys, cpu, NO_SUCH_HYPERCALL, args);
  expect(normalised(failed.sys, cpu, caller.dom, caller.vcpu, 0)).toEqual(normalised(reference.sys, cpu, caller.dom, caller.vcpu, 0));
  expect(failed.res.lifecycle).toEqual([]);
  expect(hvViolations(failed.sys)).toEqual([]);
}

/** Runs `n` steps of pCPU `cpu`, each an instruction fetched at pc (or an interrupt). */
export function run(sys: HypervisorSystem, cpu: number, n: number): HypervisorSystem {
  let s = sys;
  for (let i = 0; i < n; i++) {
    const r = stepHv(s, { kind: 'exec', cpu });
    expect(r.error).toBeNull();
    s = r.system;
  }
  return s;
}

/** Runs pCPU `cpu` until `done` holds (at most `limit` steps); fails the test if it never does. */
export function runUntil(sys: HypervisorSystem, cpu: number, done: (s: HypervisorSystem) => boolean, limit = 200): HypervisorSystem {
  let s = sys;
  for (let i = 0; i < limit && !done(s); i++) {
    const r = stepHv(s, { kind: 'exec', cpu });
    expect(r.error).toBeNull();
    s = r.system;
  }
  expect(done(s), `condition reached within ${limit} steps of pCPU ${cpu}`).toBe(true);
  return s;
}

/** One scheduler tick on pCPU `cpu`: its counter advances, and the next step takes the physical timer interrupt to EL2. */
export function schedTick(sys: HypervisorSystem, cpu: number): StepResult<HypervisorState> {
  const t = stepHv(sys, { kind: 'tick', cpu });
  expect(t.error).toBeNull();
  const r = stepHv(t.system, { kind: 'exec', cpu });
  expect(r.trap?.kind, `pCPU ${cpu} takes its timer interrupt`).toBe('irq');
  expect(r.trap?.to).toBe(2);
  return r;
}

export function schedTicks(sys: HypervisorSystem, cpu: number, n: number): HypervisorSystem {
  let s = sys;
  for (let i = 0; i < n; i++) s = schedTick(s, cpu).system;
  return s;
}

/** Advances pCPU `cpu`'s counter only (no step). */
export function counterTicks(sys: HypervisorSystem, cpu: number, n: number): HypervisorSystem {
  let s = sys;
  for (let i = 0; i < n; i++) s = stepHv(s, { kind: 'tick', cpu }).system;
  return s;
}

/** Every present leaf of a stage-2 table, by walking it as the hardware does (HW-MMU-2..3). */
export function stage2Of(sys: HypervisorSystem, dom: Domain): Map<number, { mfn: number; flags: number }> {
  const { pageTableLevels: levels, pageTableIndexBits: bits, wordsPerFrame } = HV_MACHINE;
  const out = new Map<number, { mfn: number; flags: number }>();
  const walk = (table: number, level: number, base: number): void => {
    for (let i = 0; i < 2 ** bits; i++) {
      const e = readWord(sys.machine.memory, table * wordsPerFrame + i);
      if ((e & PTE.P) === 0) continue;
      const page = base * 2 ** bits + i;
      if (level === levels - 1) out.set(page, { mfn: e >>> 4, flags: e & 0xf });
      else walk(e >>> 4, level + 1, page);
    }
  };
  walk(dom.s2root, 0, 0);
  return out;
}

export function stage2(sys: HypervisorSystem, name: string): Map<number, { mfn: number; flags: number }> {
  return stage2Of(sys, domainNamed(sys, name));
}

/** Words of host frame `mfn`. */
export function frame(sys: HypervisorSystem, mfn: number): number[] {
  return readWords(sys.machine.memory, mfn * WPF, WPF);
}

export function isZeroFrame(sys: HypervisorSystem, mfn: number): boolean {
  return frame(sys, mfn).every((w) => w === 0);
}

/** Word `i` of domain `name`'s own guest page `gfn`. */
export function guestWord(sys: HypervisorSystem, name: string, gfn: number, i = 0): number {
  const mfn = domainNamed(sys, name).p2m.get(gfn);
  if (mfn === undefined) throw new Error(`${name} has no page ${gfn}`);
  return readWord(sys.machine.memory, mfn * WPF + i);
}

/** TLB entries of pCPU `cpu` tagged with `vmid`. */
export function tlbEntriesOf(sys: HypervisorSystem, cpu: number, vmid: number) {
  return sys.machine.cpus[cpu]!.tlb.entries.filter((e) => e.vmid === vmid);
}

/** Virtual interrupts pending for vCPU `v` of `name`: posted in its context or live in its pCPU's interface. */
export function vPendingOf(sys: HypervisorSystem, name: string, v = 0): number {
  const c = pcpuOf(sys, name, v);
  const ctx = savedContext(sys, name, v).vPending;
  return c >= 0 ? (ctx | sys.machine.cpus[c]!.sys[SYS.ICH_PEND_EL2]!) >>> 0 : ctx;
}

/** A 32-bit word of −errno, as a hypercall returns it (HV-ABI-3), computed here and not by abi.ts. */
export function errWord(errno: number): number {
  return (2 ** 32 - errno) >>> 0;
}

/** The words an assembly source assembles to at `origin`. */
export function words(source: string, origin = 0): readonly number[] {
  const r = assemble(source, origin);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right.words;
}

/**
 * One kernel source from pieces placed at given addresses (ascending), padded with `.zero`.
 * Pieces refer to each other by absolute address only.
 */
export function layout(pieces: readonly (readonly [number, string])[]): string {
  const out: string[] = [];
  let at = 0;
  for (const [addr, src] of pieces) {
    if (addr < at || addr % 4 !== 0) throw new Error(`piece at ${addr} overlaps the one before`);
    if (addr > at) out.push(`.zero ${(addr - at) / 4}`);
    out.push(src);
    at = addr + 4 * words(src, addr).length;
  }
  return out.join('\n');
}

/**
 * A guest kernel with EL1 vectors at VBAR 0 (HW-EXC-5): page 0 is PARK for injected
 * hypercalls; a synchronous exception from EL1 (0x200) or EL0 (0x400) records ESR_EL1 in
 * r12 and ELR_EL1 in r13 and stops; an IRQ (0x280) acknowledges the virtual interrupt into
 * r11, counts it in r10, ends it and returns.
 */
export const VECTORS = layout([
  [0x000, PARK],
  [0x200, 'mrs r12, ESR_EL1\nmrs r13, ELR_EL1\nb 0x208'],
  [0x280, 'mrs r11, ICC_IAR\naddi r10, r10, 1\nmsr ICC_EOIR, r11\neret'],
  [0x400, 'mrs r12, ESR_EL1\nmrs r13, ELR_EL1\nb 0x408'],
]);

/** Executes one injected instruction on pCPU `cpu`, which must be in a guest and take it. */
export function inject(sys: HypervisorSystem, cpu: number, i: Parameters<typeof insn>[0]): HypervisorSystem {
  const r = stepHv(sys, { kind: 'exec', cpu, insn: insn(i) });
  expect(r.error).toBeNull();
  expect(r.record?.status, `pCPU ${cpu} executes the injected ${i.op}`).not.toBe('interrupted');
  return r.system;
}

/** Puts the guest on pCPU `cpu` at `pc`, EL1, IRQs unmasked, by an ERET it executes (clobbers r1). */
export function unmaskAt(sys: HypervisorSystem, cpu: number, pc = 0): HypervisorSystem {
  let s = inject(sys, cpu, { op: 'addi', rd: 1, rs1: 0, imm: pc });
  s = inject(s, cpu, { op: 'msr', sysreg: SYS.ELR_EL1, rs: 1 });
  s = inject(s, cpu, { op: 'addi', rd: 1, rs1: 0, imm: 4 });
  s = inject(s, cpu, { op: 'msr', sysreg: SYS.SPSR_EL1, rs: 1 });
  return inject(s, cpu, { op: 'eret' });
}

/** Takes whatever interrupts are pending on every pCPU (IPIs, timers), so that injected instructions run next. */
export function settle(sys: HypervisorSystem): HypervisorSystem {
  let s = sys;
  for (let c = 0; c < HV_MACHINE.cpus; c++) {
    for (let i = 0; i < 4; i++) {
      const r = stepHv(s, { kind: 'exec', cpu: c });
      if (r.record?.status !== 'interrupted') break;
      s = r.system;
    }
  }
  return s;
}

/** Yields on pCPU `cpu` until domain `name` runs there. */
export function yieldTo(sys: HypervisorSystem, cpu: number, name: string): HypervisorSystem {
  let s = sys;
  for (let i = 0; i < 8 && runningOn(s, cpu) !== name; i++) s = ok(s, cpu, HYPERCALL.SCHED_OP, [SCHED.YIELD]).sys;
  expect(runningOn(s, cpu)).toBe(name);
  return s;
}
