/**
 * `execute`: one step of one CPU (HW-EXEC-1..6 in spec/hardware.md).
 *
 * The step, in order: wake from WFI if anything is pending; take a deliverable interrupt if
 * there is one; otherwise fetch the word at pc (or use the injected one, as RVFI-DII
 * injects instructions), decode it and execute it. Every outcome is a value: the new
 * machine, a record of the architectural effects, the primitive ops performed, and the trap
 * taken, if any. No input throws; a CPU number or injected word that is not valid is
 * rejected with the machine unchanged.
 *
 * @module
 */
import type { PrimitiveOp } from '../perf/ops.ts';
import type { Cpu, ExceptionLevel } from './cpu.ts';
import { deviceRead, deviceWrite } from './devices/mmio.ts';
import { mkError, type MkhvError } from './error.ts';
import { exceptionReturn, makeTrap, takeException, type Trap, type TrapCause } from './exceptions.ts';
import {
  acknowledge,
  anyPending,
  deliverable,
  endOfInterrupt,
  sendIpi,
  virtualCount,
  virtualDeliverable,
} from './gic.ts';
import type { Instruction, TlbiScope } from './isa/instruction.ts';
import { decode } from './isa/encoding.ts';
import { HCR, HCR_DEFINED_BITS, SPURIOUS_IRQ, SYS, SYSREGS, TIMER_CTL } from './isa/sysregs.ts';
import { classifyPage, withCpu, type Machine } from './machine.ts';
import { readWord, writeWord } from './memory.ts';
import { tlbiMatcher, tlbRemove, type Tlb, type TlbEntry } from './tlb.ts';
import { currentVmidTag, translate, type TranslationFault } from './translate.ts';
import type { Access, FaultKind } from './mmu.ts';

/** How a step ended. */
export type StepStatus =
  /** An instruction completed. */
  | 'retired'
  /** A synchronous exception was taken (the instruction did not complete, or was SVC/HVC). */
  | 'trapped'
  /** An interrupt was taken before fetching. */
  | 'interrupted'
  /** The CPU is waiting in WFI and nothing is pending. */
  | 'waiting'
  /** The request itself was invalid; nothing changed. */
  | 'rejected';

/** A load or store as it reached memory or a device. */
export interface MemAccess {
  readonly access: 'load' | 'store';
  readonly va: number;
  readonly pa: number;
  readonly value: number;
  /** Index of the device whose register was accessed, or null for RAM. */
  readonly device: number | null;
}

/** The architectural effects of one step, in the spirit of an RVFI record (HW-EXEC-2). */
export interface ExecRecord {
  readonly cpu: number;
  readonly status: StepStatus;
  readonly pc: number;
  readonly el: ExceptionLevel;
  /** The instruction word executed (fetched or injected), or null if none was. */
  readonly word: number | null;
  readonly nextPc: number;
  readonly nextEl: ExceptionLevel;
  readonly regWrite: { readonly reg: number; readonly value: number } | null;
  readonly memAccess: MemAccess | null;
  readonly sysregWrite: { readonly sysreg: number; readonly value: number } | null;
}

export interface ExecResult {
  readonly machine: Machine;
  readonly record: ExecRecord;
  readonly ops: readonly PrimitiveOp[];
  readonly trap: Trap | null;
  readonly error: MkhvError | null;
}

const NO_OPS: readonly PrimitiveOp[] = Object.freeze([]);

/** Mutable scratch for one step; never escapes `execute`. */
interface Step {
  readonly m: Machine;
  readonly c: number;
  readonly before: Cpu;
  readonly word: number | null;
  readonly ops: PrimitiveOp[];
  tlb: Tlb;
}

type RegWrite = ExecRecord['regWrite'];
type SysregWrite = ExecRecord['sysregWrite'];

function record(
  s: Step,
  after: Cpu,
  status: StepStatus,
  regWrite: RegWrite = null,
  memAccess: MemAccess | null = null,
  sysregWrite: SysregWrite = null,
): ExecRecord {
  return {
    cpu: s.c,
    status,
    pc: s.before.pc,
    el: s.before.el,
    word: s.word,
    nextPc: after.pc,
    nextEl: after.el,
    regWrite,
    memAccess,
    sysregWrite,
  };
}

function result(s: Step, m: Machine, after: Cpu, status: StepStatus, trap: Trap | null): ExecResult {
  return { machine: withCpu(m, s.c, after), record: record(s, after, status), ops: s.ops, trap, error: null };
}

/** Takes a synchronous exception for `cause` (HW-EXC-2 decides `to`), returning to `returnPc`. */
function trapTo(s: Step, cpu: Cpu, cause: TrapCause, to: 1 | 2, returnPc: number): ExecResult {
  const trap = makeTrap(cause, cpu.el, to);
  s.ops.push(to === 1 ? 'trapEntryEl1' : 'trapEntryEl2');
  const after = takeException({ ...cpu, tlb: s.tlb }, trap, returnPc);
  return result(s, s.m, after, 'trapped', trap);
}

/** An UNDEFINED or not-permitted instruction: to EL1 from EL0/EL1, to EL2 at EL2 (HW-EXC-2). */
function undefinedInsn(s: Step, cpu: Cpu): ExecResult {
  return trapTo(s, cpu, { kind: 'undefined', word: s.word ?? 0 }, cpu.el === 2 ? 2 : 1, cpu.pc);
}

/** Retires an instruction: pc advances (or jumps), at most one register changes. */
function retire(
  s: Step,
  m: Machine,
  cpu: Cpu,
  nextPc: number,
  rd = 0,
  value = 0,
  memAccess: MemAccess | null = null,
  sysregWrite: SysregWrite = null,
): ExecResult {
  const regs = rd === 0 ? cpu.regs : setRegFast(cpu.regs, rd, value);
  const after: Cpu = {
    regs,
    pc: nextPc >>> 0,
    el: cpu.el,
    irqMasked: cpu.irqMasked,
    waiting: cpu.waiting,
    sys: cpu.sys,
    counter: cpu.counter,
    tlb: s.tlb,
  };
  const regWrite = rd === 0 ? null : { reg: rd, value: value >>> 0 };
  return {
    machine: withCpu(m, s.c, after),
    record: record(s, after, 'retired', regWrite, memAccess, sysregWrite),
    ops: s.ops,
    trap: null,
    error: null,
  };
}

function setRegFast(regs: readonly number[], rd: number, value: number): readonly number[] {
  const next = regs.slice();
  next[rd] = value >>> 0;
  return next;
}

/**
 * The interrupt CPU `c` takes now, if any (HW-IRQ-8): physical interrupts go to EL2 under
 * HCR.IMO and to EL1 otherwise; virtual ones (HCR.IMO, EL0 or EL1 only) to EL1.
 */
export function interruptToTake(m: Machine, c: number, cpu: Cpu): { to: 1 | 2; virtual: boolean } | null {
  const imo = (cpu.sys[SYS.HCR_EL2]! & HCR.IMO) !== 0;
  if (deliverable(m.gic, c, cpu) >= 0) {
    const to = imo ? 2 : 1;
    if (interruptTakenAt(cpu, to)) return { to, virtual: false };
  }
  if (imo && cpu.el <= 1 && virtualDeliverable(cpu) >= 0 && interruptTakenAt(cpu, 1)) return { to: 1, virtual: true };
  return null;
}

/**
 * HW-IRQ-8: PSTATE.I masks interrupts aimed at EL1 (from EL0 or EL1) and at the current
 * level; an interrupt routed to EL2 from below is never masked; none is taken below.
 */
function interruptTakenAt(cpu: Cpu, to: 1 | 2): boolean {
  if (to === 2 && cpu.el < 2) return true;
  return to >= cpu.el && !cpu.irqMasked;
}

function reject(m: Machine, c: number, error: MkhvError): ExecResult {
  // HW-EXEC-2: the record shows the requested CPU's own pc and EL (CPU 0's when `c` is not a CPU).
  const cpu = m.cpus[c] ?? m.cpus[0]!;
  return {
    machine: m,
    record: {
      cpu: c,
      status: 'rejected',
      pc: cpu.pc,
      el: cpu.el,
      word: null,
      nextPc: cpu.pc,
      nextEl: cpu.el,
      regWrite: null,
      memAccess: null,
      sysregWrite: null,
    },
    ops: NO_OPS,
    trap: null,
    error,
  };
}

/**
 * Runs one step of CPU `c` (HW-EXEC-1). With `injected`, that word is executed in place of
 * the one at pc (no fetch, no fetch translation), as in RVFI-DII instruction injection.
 */
export function execute(m: Machine, c: number, injected?: number): ExecResult {
  if (!Number.isInteger(c) || c < 0 || c >= m.cpus.length) {
    return reject(m, 0, mkError('exec.cpu', `execute: cpu must be an integer from 0 to ${m.cpus.length - 1} (got ${String(c)})`, 'cpu'));
  }
  if (injected !== undefined && !(Number.isInteger(injected) && injected >= 0 && injected <= 0xffffffff)) {
    return reject(m, c, mkError('exec.word', `execute: injected instruction must be a 32-bit unsigned integer (got ${String(injected)})`, 'insn'));
  }
  let cpu = m.cpus[c]!;

  // HW-IRQ-8: WFI waits until something is pending, masked or not.
  if (cpu.waiting) {
    if (!anyPending(m.gic, c, cpu)) {
      const s: Step = { m, c, before: cpu, word: null, ops: [], tlb: cpu.tlb };
      return { machine: m, record: record(s, cpu, 'waiting'), ops: NO_OPS, trap: null, error: null };
    }
    cpu = { ...cpu, waiting: false };
  }

  const irq = interruptToTake(m, c, cpu);
  if (irq !== null) {
    const s: Step = { m, c, before: m.cpus[c]!, word: null, ops: [], tlb: cpu.tlb };
    s.ops.push(irq.virtual ? 'virtualIrqDelivery' : 'irqDelivery', irq.to === 1 ? 'trapEntryEl1' : 'trapEntryEl2');
    const trap = makeTrap({ kind: 'irq', virtual: irq.virtual }, cpu.el, irq.to);
    return result(s, m, takeException(cpu, trap, cpu.pc), 'interrupted', trap);
  }

  const ops: PrimitiveOp[] = [];
  let tlb = cpu.tlb;
  let word: number;
  if (injected !== undefined) {
    word = injected;
  } else {
    const fetched = fetch(m, cpu, ops);
    tlb = fetched.tlb;
    if (!fetched.ok) {
      const s: Step = { m, c, before: m.cpus[c]!, word: null, ops, tlb };
      return trapTo(s, cpu, fetched.cause, fetched.to, cpu.pc);
    }
    word = fetched.word;
  }
  const s: Step = { m, c, before: m.cpus[c]!, word, ops, tlb };
  const insn = decode(word);
  if (insn.op === 'undefined') return undefinedInsn(s, cpu);
  ops.push('instruction');
  return run(s, cpu, insn);
}

type Fetched =
  | { ok: true; word: number; tlb: Tlb }
  | { ok: false; cause: TrapCause; to: 1 | 2; tlb: Tlb };

/** Fetches the word at pc (HW-EXEC-3): aligned, executable, and in RAM. */
function fetch(m: Machine, cpu: Cpu, ops: PrimitiveOp[]): Fetched {
  const pc = cpu.pc;
  if ((pc & 3) !== 0) return fetchAbort(cpu, ALIGNMENT, cpu.tlb);
  const t = translate(m.geometry, m.memory, cpu, pc, 'fetch', ops);
  if (!t.ok) return fetchAbort(cpu, t, t.tlb);
  // Instructions come from RAM only; a device page or a hole is an external abort.
  if (t.pa >= m.geometry.ramBytes) return fetchAbort(cpu, EXTERNAL, t.tlb);
  return { ok: true, word: readWord(m.memory, t.pa >>> 2), tlb: t.tlb };
}

/** The fields of an abort that depend on what went wrong. */
type AbortInfo = Pick<TranslationFault, 'stage' | 'fault' | 'level' | 'ipa' | 'onWalk'>;
const ALIGNMENT: AbortInfo = { stage: 1, fault: 'alignment', level: 0, ipa: null, onWalk: false };
const EXTERNAL: AbortInfo = { stage: 1, fault: 'external', level: 0, ipa: null, onWalk: false };

function abortCause(access: Access, va: number, rt: number, f: AbortInfo): TrapCause {
  return { kind: 'abort', access, stage: f.stage, fault: f.fault, level: f.level, va, ipa: f.ipa, onWalk: f.onWalk, rt };
}

function fetchAbort(cpu: Cpu, f: AbortInfo, tlb: Tlb): Fetched {
  return { ok: false, cause: abortCause('fetch', cpu.pc, -1, f), to: abortTarget(cpu, f.stage, f.fault), tlb };
}

function dataAbort(s: Step, cpu: Cpu, access: Access, va: number, rt: number, f: AbortInfo): ExecResult {
  return trapTo(s, cpu, abortCause(access, va, rt, f), abortTarget(cpu, f.stage, f.fault), cpu.pc);
}

/**
 * Where an abort goes (HW-EXC-2): stage-2 faults to EL2; stage-1, alignment and external
 * faults to the current level's handler — EL1 from EL0 or EL1, EL2 at EL2 — except that an
 * external abort under stage 2 goes to EL2, which owns the physical map.
 */
function abortTarget(cpu: Cpu, stage: 1 | 2, fault: FaultKind): 1 | 2 {
  if (cpu.el === 2 || stage === 2) return 2;
  if (fault === 'external' && (cpu.sys[SYS.HCR_EL2]! & HCR.VM) !== 0) return 2;
  return 1;
}

function run(s: Step, cpu: Cpu, insn: Instruction): ExecResult {
  const r = cpu.regs;
  const pc = cpu.pc;
  const next = (pc + 4) >>> 0;
  switch (insn.op) {
    case 'add':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! + r[insn.rs2]!);
    case 'sub':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! - r[insn.rs2]!);
    case 'and':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! & r[insn.rs2]!);
    case 'or':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! | r[insn.rs2]!);
    case 'xor':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! ^ r[insn.rs2]!);
    case 'shl':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! << (r[insn.rs2]! & 31));
    case 'shr':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! >>> (r[insn.rs2]! & 31));
    case 'sar':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! >> (r[insn.rs2]! & 31));
    case 'mul':
      return retire(s, s.m, cpu, next, insn.rd, Math.imul(r[insn.rs1]!, r[insn.rs2]!));
    case 'slt':
      return retire(s, s.m, cpu, next, insn.rd, (r[insn.rs1]! | 0) < (r[insn.rs2]! | 0) ? 1 : 0);
    case 'sltu':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! < r[insn.rs2]! ? 1 : 0);
    case 'addi':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! + insn.imm);
    case 'andi':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! & insn.imm);
    case 'ori':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! | insn.imm);
    case 'xori':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! ^ insn.imm);
    case 'shli':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! << insn.imm);
    case 'shri':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! >>> insn.imm);
    case 'sari':
      return retire(s, s.m, cpu, next, insn.rd, r[insn.rs1]! >> insn.imm);
    case 'slti':
      return retire(s, s.m, cpu, next, insn.rd, (r[insn.rs1]! | 0) < insn.imm ? 1 : 0);
    case 'lui':
      return retire(s, s.m, cpu, next, insn.rd, insn.imm << 14);
    case 'beq':
    case 'bne':
    case 'blt':
    case 'bge':
    case 'bltu':
    case 'bgeu':
      return retire(s, s.m, cpu, branchTaken(insn.op, r[insn.rs1]!, r[insn.rs2]!) ? pc + 4 * insn.offset : next);
    case 'jal':
      return retire(s, s.m, cpu, pc + 4 * insn.offset, insn.rd, next);
    case 'jalr':
      // The target is read before rd is written, so `jalr r1, r1, 0` works.
      return retire(s, s.m, cpu, r[insn.rs1]! + insn.imm, insn.rd, next);
    case 'ld':
    case 'st':
      return memoryAccess(s, cpu, insn.op === 'ld' ? 'load' : 'store', (r[insn.rs1]! + insn.imm) >>> 0, insn.op === 'ld' ? insn.rd : insn.rs2);
    case 'svc':
      // HW-EXC-2: SVC goes to EL1 from EL0 and EL1, stays at EL2; ELR is the next instruction.
      return trapTo(s, cpu, { kind: 'svc', imm: insn.imm }, cpu.el === 2 ? 2 : 1, next);
    case 'hvc':
      if (cpu.el === 0) return undefinedInsn(s, cpu);
      return trapTo(s, cpu, { kind: 'hvc', imm: insn.imm }, 2, next);
    case 'eret': {
      const back = exceptionReturn({ ...cpu, tlb: s.tlb });
      if (back === null) return undefinedInsn(s, cpu);
      s.ops.push(cpu.el === 1 ? 'trapReturnEl1' : 'trapReturnEl2');
      return result(s, s.m, back, 'retired', null);
    }
    case 'wfi':
      return waitForInterrupt(s, cpu, next);
    case 'mrs':
    case 'msr':
      return systemRegister(s, cpu, insn, next);
    case 'tlbi':
      return tlbMaintenance(s, cpu, insn.scope, insn.broadcast, insn.rs, next);
  }
}

function branchTaken(op: 'beq' | 'bne' | 'blt' | 'bge' | 'bltu' | 'bgeu', a: number, b: number): boolean {
  switch (op) {
    case 'beq':
      return a === b;
    case 'bne':
      return a !== b;
    case 'blt':
      return (a | 0) < (b | 0);
    case 'bge':
      return (a | 0) >= (b | 0);
    case 'bltu':
      return a < b;
    case 'bgeu':
      return a >= b;
  }
}

/** LD/ST (HW-EXEC-4): aligned, translated, permitted, then RAM or a device register. */
function memoryAccess(s: Step, cpu: Cpu, access: 'load' | 'store', va: number, rt: number): ExecResult {
  if ((va & 3) !== 0) return dataAbort(s, cpu, access, va, rt, ALIGNMENT);
  const t = translate(s.m.geometry, s.m.memory, cpu, va, access, s.ops);
  s.tlb = t.tlb;
  if (!t.ok) return dataAbort(s, cpu, access, va, rt, t);
  const pa = t.pa;
  const geo = s.m.geometry;
  const next = cpu.pc + 4;
  if (pa < geo.ramBytes) {
    s.ops.push('dataAccess');
    if (access === 'load') {
      const value = readWord(s.m.memory, pa >>> 2);
      return retire(s, s.m, cpu, next, rt, value, { access, va, pa, value, device: null });
    }
    const value = cpu.regs[rt]!;
    const m: Machine = { ...s.m, memory: writeWord(s.m.memory, pa >>> 2, value) };
    return retire(s, m, cpu, next, 0, 0, { access, va, pa, value, device: null });
  }
  const page = classifyPage(geo, Math.floor(pa / geo.pageBytes));
  if (page.kind !== 'device') return dataAbort(s, cpu, access, va, rt, EXTERNAL);
  s.ops.push('mmioAccess');
  const reg = (pa % geo.pageBytes) >>> 2;
  if (access === 'load') {
    const value = deviceRead(s.m, page.index, reg);
    return retire(s, s.m, cpu, next, rt, value, { access, va, pa, value, device: page.index });
  }
  const value = cpu.regs[rt]!;
  const written = deviceWrite(s.m, page.index, reg, value);
  s.ops.push(...written.ops);
  return retire(s, written.machine, cpu, next, 0, 0, { access, va, pa, value, device: page.index });
}

/** WFI (HW-EXEC-5): trapped from EL0, or from EL1 under HCR.TWI; otherwise wait unless something is pending. */
function waitForInterrupt(s: Step, cpu: Cpu, next: number): ExecResult {
  if (cpu.el === 0) return trapTo(s, cpu, { kind: 'wfi' }, 1, cpu.pc);
  if (cpu.el === 1 && (cpu.sys[SYS.HCR_EL2]! & HCR.TWI) !== 0) return trapTo(s, cpu, { kind: 'wfi' }, 2, cpu.pc);
  s.ops.push('wfi');
  const after: Cpu = { ...cpu, pc: next, tlb: s.tlb, waiting: !anyPending(s.m.gic, s.c, cpu) };
  return result(s, s.m, after, 'retired', null);
}

/**
 * MRS/MSR (HW-SYS-2..6). In order: below the register's level it traps — to EL1 from EL0
 * (as UNDEFINED), to EL2 from EL1 (as a sysreg trap); a read of a write-only or a write of a
 * read-only register is UNDEFINED; an EL1 access whose HCR_EL2 trap bit is set traps to EL2.
 */
function systemRegister(s: Step, cpu: Cpu, insn: Extract<Instruction, { op: 'mrs' | 'msr' }>, next: number): ExecResult {
  const info = SYSREGS[insn.sysreg]!;
  const write = insn.op === 'msr';
  const rt = write ? insn.rs : insn.rd;
  const el = cpu.el;
  const hcr = cpu.sys[SYS.HCR_EL2]!;
  const toEl2: TrapCause = { kind: 'sysreg', sysreg: info.id, rt, write };
  if (el < info.level) return el === 0 ? undefinedInsn(s, cpu) : trapTo(s, cpu, toEl2, 2, cpu.pc);
  if (write ? !info.writable : !info.readable) return undefinedInsn(s, cpu);
  if (el === 1 && (hcr & info.trapBit) !== 0) return trapTo(s, cpu, toEl2, 2, cpu.pc);
  const virtualGic = el === 1 && (hcr & HCR.IMO) !== 0;
  const withTlb: Cpu = { ...cpu, tlb: s.tlb };
  if (!write) {
    s.ops.push('sysregRead');
    return readSystemRegister(s, withTlb, info.id, rt, virtualGic, next);
  }
  s.ops.push('sysregWrite');
  return writeSystemRegister(s, withTlb, info.id, cpu.regs[rt]!, virtualGic, next);
}

function readSystemRegister(s: Step, cpu: Cpu, id: number, rd: number, virtualGic: boolean, next: number): ExecResult {
  const sys = cpu.sys;
  switch (id) {
    case SYS.CNTVCT:
      return retire(s, s.m, cpu, next, rd, virtualCount(cpu));
    case SYS.CNTPCT:
      return retire(s, s.m, cpu, next, rd, cpu.counter);
    case SYS.CNTP_CTL:
      return retire(s, s.m, cpu, next, rd, timerCtl(sys[SYS.CNTP_CTL]!, cpu.counter, sys[SYS.CNTP_CVAL]!));
    case SYS.CNTV_CTL:
      return retire(s, s.m, cpu, next, rd, timerCtl(sys[SYS.CNTV_CTL]!, virtualCount(cpu), sys[SYS.CNTV_CVAL]!));
    case SYS.MPIDR_EL1:
      return retire(s, s.m, cpu, next, rd, (sys[SYS.HCR_EL2]! & HCR.VM) !== 0 ? sys[SYS.VMPIDR_EL2]! : s.c);
    case SYS.ICC_IAR: {
      s.ops.push('irqAck');
      if (virtualGic) {
        // HW-IRQ-9: the virtual interface acknowledges from ICH_PEND_EL2 into ICH_ACTIVE_EL2.
        const id2 = virtualDeliverable(cpu);
        if (id2 < 0) return retire(s, s.m, cpu, next, rd, SPURIOUS_IRQ);
        const sys2 = sys.slice();
        sys2[SYS.ICH_PEND_EL2] = (sys[SYS.ICH_PEND_EL2]! & ~(1 << id2)) >>> 0;
        sys2[SYS.ICH_ACTIVE_EL2] = (sys[SYS.ICH_ACTIVE_EL2]! | (1 << id2)) >>> 0;
        return retire(s, s.m, { ...cpu, sys: sys2 }, next, rd, id2);
      }
      const acked = acknowledge(s.m.gic, s.c, cpu);
      return retire(s, { ...s.m, gic: acked.gic }, cpu, next, rd, acked.id);
    }
    default:
      return retire(s, s.m, cpu, next, rd, sys[id]!);
  }
}

function timerCtl(ctl: number, count: number, compare: number): number {
  const status = count >>> 0 >= compare >>> 0 ? TIMER_CTL.ISTATUS : 0;
  return (ctl & (TIMER_CTL.ENABLE | TIMER_CTL.IMASK)) | status;
}

function writeSystemRegister(s: Step, cpu: Cpu, id: number, value: number, virtualGic: boolean, next: number): ExecResult {
  const written: SysregWrite = { sysreg: id, value: value >>> 0 };
  switch (id) {
    case SYS.ICC_EOIR: {
      s.ops.push('eoi');
      if (virtualGic) {
        const sys = cpu.sys.slice();
        sys[SYS.ICH_ACTIVE_EL2] = value < 32 ? (cpu.sys[SYS.ICH_ACTIVE_EL2]! & ~(1 << value)) >>> 0 : cpu.sys[SYS.ICH_ACTIVE_EL2]!;
        return retire(s, s.m, { ...cpu, sys }, next, 0, 0, null, written);
      }
      return retire(s, { ...s.m, gic: endOfInterrupt(s.m.gic, s.c, value) }, cpu, next, 0, 0, null, written);
    }
    case SYS.ICC_SGIR:
      s.ops.push('ipi');
      return retire(s, { ...s.m, gic: sendIpi(s.m.gic, value, s.m.cpus.length) }, cpu, next, 0, 0, null, written);
    default: {
      const sys = cpu.sys.slice();
      sys[id] = storedValue(id, value);
      return retire(s, s.m, { ...cpu, sys }, next, 0, 0, null, written);
    }
  }
}

/** What a write leaves in a stored register: reserved bits read as zero. */
function storedValue(id: number, value: number): number {
  switch (id) {
    case SYS.HCR_EL2:
      return value & HCR_DEFINED_BITS;
    case SYS.CNTP_CTL:
    case SYS.CNTV_CTL:
      return value & (TIMER_CTL.ENABLE | TIMER_CTL.IMASK);
    default:
      return value >>> 0;
  }
}

/**
 * TLBI (HW-TLB-4). From EL0 it is UNDEFINED; from EL1 the VMID scope, or any scope under
 * HCR.TTLB, traps to EL2. Scopes act within the current guest regime's VMID tag (the VMID
 * of VTTBR_EL2 when stage 2 is on): `all` drops every entry of that VMID (every entry at
 * EL2), `asid` those of one ASID, `va` those of one page under any ASID; `vmid` (EL2 only)
 * those of the VMID in the operand. With `broadcast` every CPU's TLB is invalidated.
 */
function tlbMaintenance(s: Step, cpu: Cpu, scope: TlbiScope, broadcast: boolean, rs: number, next: number): ExecResult {
  if (cpu.el === 0) return undefinedInsn(s, cpu);
  if (cpu.el === 1 && (scope === 'vmid' || (cpu.sys[SYS.HCR_EL2]! & HCR.TTLB) !== 0)) {
    return trapTo(s, cpu, { kind: 'tlbi', scope, broadcast, rs }, 2, cpu.pc);
  }
  const operand = cpu.regs[rs]!;
  const matches = tlbiPredicate(s, cpu, scope, operand);
  s.ops.push(TLBI_OP[scope]);
  if (broadcast) s.ops.push('tlbiBroadcast');
  const cpus = s.m.cpus.map((other, i) => {
    if (i === s.c) return { ...cpu, tlb: tlbRemove(s.tlb, matches), pc: next >>> 0 };
    return broadcast ? { ...other, tlb: tlbRemove(other.tlb, matches) } : other;
  });
  const m: Machine = { ...s.m, cpus };
  return { machine: m, record: record(s, cpus[s.c]!, 'retired'), ops: s.ops, trap: null, error: null };
}

const TLBI_OP = { all: 'tlbiAll', va: 'tlbiVa', asid: 'tlbiAsid', vmid: 'tlbiVmid' } as const satisfies Record<TlbiScope, PrimitiveOp>;

function tlbiPredicate(s: Step, cpu: Cpu, scope: TlbiScope, operand: number): (e: TlbEntry) => boolean {
  return tlbiMatcher(scope, operand, currentVmidTag(cpu), cpu.el === 2, s.m.geometry.offsetBits);
}
