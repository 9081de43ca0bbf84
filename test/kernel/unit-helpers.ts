/**
 * Helpers for the rule-by-rule unit tests of the microkernel (objects, cspace, ipc, faults,
 * vspace, sched, irq): naming threads and caps, reading a thread's live registers, making
 * invocations, checking that a rejected call changed nothing but the caller's r2, and reading
 * page tables and TLBs with a walker of the tests' own (spec/hardware.md HW-MMU-3), so that
 * expectations never come from the kernel function under test.
 */
import { expect } from 'vitest';
import { readWord, SYS, type MachineConfig } from '../../src/hw/index.ts';
import {
  decodeInfo,
  errorInfo,
  REG,
  SYSCALL,
  type Cap,
  type Cte,
  type KernelState,
  type MessageInfo,
  type ObjId,
  type ThreadStateKind,
} from '../../src/kernel/index.ts';
import type { MicrokernelSystem, StepResult } from '../../src/system/index.ts';
import { MK_MACHINE, info, stepMk, syscall, tcbOf, violations } from './fixtures.ts';

/** MK_MACHINE with two CPUs. */
export const MK_MACHINE_2CPU: MachineConfig = { ...MK_MACHINE, cpus: 2 };

/** Object id of thread `name`. */
export function tid(sys: MicrokernelSystem, name: string): ObjId {
  const id = sys.state.objects.findIndex((o) => o?.type === 'tcb' && o.name === name);
  if (id < 0) throw new Error(`no thread ${name}`);
  return id;
}

/** The CPU thread `name` is on, or -1. */
export function cpuOf(sys: MicrokernelSystem, name: string): number {
  const t = tid(sys, name);
  return sys.state.cpus.findIndex((c) => c.current === t);
}

/** A thread's registers as it sees them: its CPU's while it runs, else its saved context. */
export function regsOf(sys: MicrokernelSystem, name: string): readonly number[] {
  const c = cpuOf(sys, name);
  return c >= 0 ? sys.machine.cpus[c]!.regs : tcbOf(sys, name).context.regs;
}

/** A thread's pc as it sees it. */
export function pcOf(sys: MicrokernelSystem, name: string): number {
  const c = cpuOf(sys, name);
  return c >= 0 ? sys.machine.cpus[c]!.pc : tcbOf(sys, name).context.pc;
}

export function stateOf(sys: MicrokernelSystem, name: string): ThreadStateKind {
  return tcbOf(sys, name).state.kind;
}

/** The message info in a thread's r2. */
export function infoOf(sys: MicrokernelSystem, name: string): MessageInfo {
  return decodeInfo(regsOf(sys, name)[REG.INFO]!);
}

/** The label in a thread's r2 (an invocation's error code). */
export function labelOf(sys: MicrokernelSystem, name: string): number {
  return infoOf(sys, name).label;
}

/** MR0..MR(n-1) of a thread. */
export function mrsOf(sys: MicrokernelSystem, name: string, n: number): number[] {
  return regsOf(sys, name).slice(REG.MR0, REG.MR0 + n);
}

/** The slot `index` of thread `name`'s CSpace. */
export function slotOf(sys: MicrokernelSystem, name: string, index: number): Cte | null {
  const cspace = tcbOf(sys, name).cspace;
  const node = cspace === null ? null : sys.state.objects[cspace];
  if (node?.type !== 'cnode') throw new Error(`thread ${name} has no CSpace`);
  return node.slots[index] ?? null;
}

export function capOf(sys: MicrokernelSystem, name: string, index: number): Cap | null {
  return slotOf(sys, name, index)?.cap ?? null;
}

/** The object a stored cap names. */
export function objOf(sys: MicrokernelSystem, name: string, index: number): ObjId {
  const cap = capOf(sys, name, index);
  if (cap === null || !('obj' in cap)) throw new Error(`slot ${index} of ${name} names no object`);
  return cap.obj;
}

/** Every stored cap (CNode id, index, entry). */
export function storedCaps(k: KernelState): { cnode: ObjId; index: number; cte: Cte }[] {
  const out: { cnode: ObjId; index: number; cte: Cte }[] = [];
  k.objects.forEach((o, cnode) => {
    if (o?.type === 'cnode') o.slots.forEach((cte, index) => cte !== null && out.push({ cnode, index, cte }));
  });
  return out;
}

export interface InvokeOptions {
  /** CPtr in r11. */
  readonly xcap?: number;
  /** extraCaps of the message info (default 0). */
  readonly extraCaps?: number;
  /** System call (default Call). */
  readonly syscall?: number;
}

/** Registers for an invocation of the cap at `cptr` with `label` and arguments `args` (MK-ABI-2, MK-ABI-3). */
export function invocationRegs(cptr: number, label: number, args: readonly number[] = [], o: InvokeOptions = {}): Record<number, number> {
  const regs: Record<number, number> = { [REG.CAP]: cptr, [REG.INFO]: info(label, args.length, o.extraCaps ?? 0), [REG.XCAP]: o.xcap ?? 0 };
  args.forEach((v, i) => (regs[REG.MR0 + i] = v));
  return regs;
}

/** The thread on `cpu` invokes the cap at `cptr`. */
export function invoke(
  sys: MicrokernelSystem,
  cpu: number,
  cptr: number,
  label: number,
  args: readonly number[] = [],
  o: InvokeOptions = {},
): StepResult<KernelState> {
  return syscall(sys, cpu, o.syscall ?? SYSCALL.CALL, invocationRegs(cptr, label, args, o));
}

/** Like {@link invoke}, and expects it to succeed (label 0 in the caller's r2); returns the system. */
export function invokeOk(
  sys: MicrokernelSystem,
  cpu: number,
  cptr: number,
  label: number,
  args: readonly number[] = [],
  o: InvokeOptions = {},
): MicrokernelSystem {
  const caller = sys.state.cpus[cpu]!.current!;
  const r = invoke(sys, cpu, cptr, label, args, o);
  expect(r.error).toBeNull();
  const t = r.system.state.objects[caller];
  const regs = r.system.state.cpus[cpu]!.current === caller ? r.system.machine.cpus[cpu]!.regs : t?.type === 'tcb' ? t.context.regs : [];
  expect(decodeInfo(regs[REG.INFO] ?? 0).label, `invocation ${label} on slot ${cptr}`).toBe(0);
  return r.system;
}

/** Runs `n` exec steps on `cpu` (fetching at pc). */
export function run(sys: MicrokernelSystem, cpu: number, n: number): MicrokernelSystem {
  let s = sys;
  for (let i = 0; i < n; i++) s = stepMk(s, { kind: 'exec', cpu }).system;
  return s;
}

/** Runs exec steps on `cpu` until `done` holds (at most `limit`); fails if it never does. */
export function runUntil(sys: MicrokernelSystem, cpu: number, done: (s: MicrokernelSystem) => boolean, limit = 500): MicrokernelSystem {
  let s = sys;
  for (let i = 0; i < limit; i++) {
    if (done(s)) return s;
    s = stepMk(s, { kind: 'exec', cpu }).system;
  }
  throw new Error(`condition not reached in ${limit} steps`);
}

/** One timer tick on `cpu`: the counter advances and the next exec step takes the interrupt (MK-SCHED-3). */
export function timerTick(sys: MicrokernelSystem, cpu: number): StepResult<KernelState> {
  const ticked = stepMk(sys, { kind: 'tick', cpu });
  expect(ticked.error).toBeNull();
  return stepMk(ticked.system, { kind: 'exec', cpu });
}

export function expectClean(sys: MicrokernelSystem): void {
  expect(violations(sys)).toEqual([]);
}

/** Ops a rejected system call may perform: the trap itself, table walks while checking arguments. */
const REJECTION_OPS = new Set(['instruction', 'trapEntryEl1', 'regSave', 'pageWalkStep', 'regRestore', 'trapReturnEl1']);

/** Exception registers the trap itself writes; everything else must be unchanged. */
const TRAP_SYSREGS = new Set<number>([SYS.ELR_EL1, SYS.SPSR_EL1, SYS.ESR_EL1, SYS.FAR_EL1]);

/** `k` with thread `t`'s saved context taken from `from` (an entry always rewrites it). */
function withContextOf(k: KernelState, from: KernelState, t: ObjId): KernelState {
  const objects = k.objects.slice();
  const o = objects[t];
  const old = from.objects[t];
  if (o?.type === 'tcb' && old?.type === 'tcb') objects[t] = { ...o, context: old.context };
  return { ...k, objects };
}

/**
 * MK-ABI-4: system call `n` with `regs` from the thread on `cpu` fails with error `code`, and
 * changes nothing but that thread's r2 (and its pc, past the SVC): the kernel state (but the
 * thread's saved context), memory, interrupt controller, devices, every TLB and every other
 * register are as before, and the only ops are those of the trap itself.
 */
export function expectRejected(sys: MicrokernelSystem, cpu: number, n: number, regs: Readonly<Record<number, number>>, code: number): MicrokernelSystem {
  const caller = sys.state.cpus[cpu]!.current;
  if (caller === null) throw new Error(`CPU ${cpu} runs no thread`);
  const r = syscall(sys, cpu, n, regs);
  expect(r.error).toBeNull();
  const before = sys.machine;
  const after = r.system.machine;
  expect(decodeInfo(after.cpus[cpu]!.regs[REG.INFO]!).label, 'error label in r2').toBe(code);
  expect(after.cpus[cpu]!.regs[REG.INFO]).toBe(errorInfo(code));
  expect(r.observations.map((o) => o.kind)).toEqual(['error']);
  expect(r.lifecycle).toEqual([]);
  expect(r.ops.filter((op) => !REJECTION_OPS.has(op))).toEqual([]);
  expect(withContextOf(r.system.state, sys.state, caller)).toEqual(sys.state);
  expect(after.memory).toEqual(before.memory);
  expect(after.gic).toEqual(before.gic);
  expect(after.devices).toEqual(before.devices);
  expect(after.iommu).toEqual(before.iommu);
  after.cpus.forEach((c, i) => {
    const b = before.cpus[i]!;
    const expectedRegs = i === cpu ? Object.assign(b.regs.slice(), regs, { 0: 0, [REG.INFO]: errorInfo(code) }) : b.regs;
    expect(c.regs.map((v) => v >>> 0)).toEqual(expectedRegs.map((v) => v >>> 0));
    expect(c.el).toBe(b.el);
    expect(c.pc).toBe(i === cpu ? (b.pc + 4) >>> 0 : b.pc);
    expect(c.tlb).toEqual(b.tlb);
    expect(c.sys.filter((_, id) => !TRAP_SYSREGS.has(id))).toEqual(b.sys.filter((_, id) => !TRAP_SYSREGS.has(id)));
  });
  expectClean(r.system);
  return r.system;
}

/** Same as {@link expectRejected}, for an invocation. */
export function expectInvocationRejected(
  sys: MicrokernelSystem,
  cpu: number,
  cptr: number,
  label: number,
  args: readonly number[],
  code: number,
  o: InvokeOptions = {},
): MicrokernelSystem {
  return expectRejected(sys, cpu, o.syscall ?? SYSCALL.CALL, invocationRegs(cptr, label, args, o), code);
}

/**
 * The last-level entry for `va` in VSpace `vspace`, read with the walk of HW-MMU-3 (entry =
 * ppn << 4 | U X W P), or null if a table on the way is missing.
 */
export function leafEntry(sys: MicrokernelSystem, vspace: ObjId, va: number): number | null {
  const root = sys.state.objects[vspace];
  if (root?.type !== 'pagetable') throw new Error(`${vspace} is not a page table`);
  const { wordsPerFrame, pageTableLevels: levels, pageTableIndexBits: bits } = sys.machine.geometry.config;
  const offsetBits = Math.log2(wordsPerFrame * 4);
  let table = root.base / (wordsPerFrame * 4);
  for (let level = 0; level < levels; level++) {
    const index = (va >>> (offsetBits + (levels - 1 - level) * bits)) & (2 ** bits - 1);
    const e = readWord(sys.machine.memory, table * wordsPerFrame + index);
    if (level === levels - 1) return e;
    if ((e & 1) === 0) return null;
    table = e >>> 4;
  }
  return null;
}

/** Page number of a physical byte address. */
export function pageOf(sys: MicrokernelSystem, base: number): number {
  return base / sys.machine.geometry.pageBytes;
}

/** The TLB entries of `cpu` tagged with `asid` (and page of `va`, if given). */
export function tlbEntries(sys: MicrokernelSystem, cpu: number, asid: number, va?: number): number {
  const pageBytes = sys.machine.geometry.pageBytes;
  return sys.machine.cpus[cpu]!.tlb.entries.filter((e) => e.asid === asid && (va === undefined || e.vpn === Math.floor(va / pageBytes))).length;
}

/** The ASID of thread `name`'s VSpace. */
export function asidOf(sys: MicrokernelSystem, name: string): number {
  const v = tcbOf(sys, name).vspace;
  const root = v === null ? null : sys.state.objects[v];
  if (root?.type !== 'pagetable') throw new Error(`thread ${name} has no VSpace`);
  return root.asid;
}

/** Physical word at byte address `pa`. */
export function wordAt(sys: MicrokernelSystem, pa: number): number {
  return readWord(sys.machine.memory, pa / 4);
}

/** Thread `name`, which must be the one running on `cpu`, makes system call `n`. */
export function by(sys: MicrokernelSystem, name: string, n: number, regs: Readonly<Record<number, number>> = {}, cpu = 0): StepResult<KernelState> {
  const current = sys.state.cpus[cpu]!.current;
  const o = current === null ? null : sys.state.objects[current];
  expect(o?.type === 'tcb' ? o.name : null, `thread running on CPU ${cpu}`).toBe(name);
  const r = syscall(sys, cpu, n, regs);
  expect(r.error).toBeNull();
  return r;
}
