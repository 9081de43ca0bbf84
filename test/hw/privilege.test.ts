/**
 * Privilege: trap routing (HW-EXC-2, HW-SYS-2) and the Popek–Goldberg property (HW-EXC-3,
 * HW-EXC-8, HW-SYS-3).
 *
 * The routing table and the system-register table below are written from the rule text of
 * spec/hardware.md, not read from src/hw: if the model's SYSREGS table or its routing code
 * drifts from the rules, these tests disagree with it. Only decoding (`decode`, `encode`) is
 * taken from the model; the ISA suites check that separately.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SYSREGS,
  decode,
  encode,
  execute,
  resetMachine,
  tlbInsert,
  tlbKey,
  writeWord,
  type Cpu,
  type ExecResult,
  type Instruction,
  type Machine,
  type MachineConfig,
  type Tlb,
  type TlbiScope,
} from '../../src/hw/index.ts';
import { SMALL_MACHINE, unwrap } from './fixtures.ts';

const encodeOrThrow = (insn: Instruction): number => unwrap(encode(insn));

// ---------------------------------------------------------------------------------------------
// The rules, restated independently.

/** HCR_EL2 bits (HW-SYS-4). */
const VM = 1 << 0;
const IMO = 1 << 1;
const TWI = 1 << 2;
const TVM = 1 << 3;
const TTLB = 1 << 4;
const TPT = 1 << 5;

interface RegRule {
  readonly name: string;
  readonly level: 0 | 1 | 2;
  readonly read: boolean;
  readonly write: boolean;
  /** HCR_EL2 bit that traps EL1 accesses, 0 for none. */
  readonly trap: number;
}

const rw = (name: string, level: 0 | 1 | 2, trap = 0): RegRule => ({ name, level, read: true, write: true, trap });
const ro = (name: string, level: 0 | 1 | 2, trap = 0): RegRule => ({ name, level, read: true, write: false, trap });
const wo = (name: string, level: 0 | 1 | 2, trap = 0): RegRule => ({ name, level, read: false, write: true, trap });

/** The table of HW-SYS-1, by register number. */
const REGS: readonly RegRule[] = [
  rw('TPIDR_EL0', 0),
  ro('CNTVCT', 0),
  rw('SCTLR_EL1', 1, TVM),
  rw('TTBR0_EL1', 1, TVM),
  rw('VBAR_EL1', 1),
  rw('ELR_EL1', 1),
  rw('SPSR_EL1', 1),
  rw('ESR_EL1', 1),
  rw('FAR_EL1', 1),
  rw('CNTV_CTL', 1),
  rw('CNTV_CVAL', 1),
  rw('CNTP_CTL', 1, TPT),
  rw('CNTP_CVAL', 1, TPT),
  ro('CNTPCT', 1, TPT),
  ro('ICC_IAR', 1),
  wo('ICC_EOIR', 1),
  wo('ICC_SGIR', 1, IMO),
  ro('MPIDR_EL1', 1),
  rw('TPIDR_EL1', 1),
  rw('HCR_EL2', 2),
  rw('VTTBR_EL2', 2),
  rw('VBAR_EL2', 2),
  rw('ELR_EL2', 2),
  rw('SPSR_EL2', 2),
  rw('ESR_EL2', 2),
  rw('FAR_EL2', 2),
  rw('HPFAR_EL2', 2),
  rw('CNTVOFF_EL2', 2),
  rw('ICH_PEND_EL2', 2),
  rw('ICH_ACTIVE_EL2', 2),
  rw('VMPIDR_EL2', 2),
  rw('TPIDR_EL2', 2),
];

const reg = (name: string): number => {
  const i = REGS.findIndex((r) => r.name === name);
  if (i < 0) throw new Error(`no register ${name}`);
  return i;
};
const R = {
  SCTLR_EL1: reg('SCTLR_EL1'),
  VBAR_EL1: reg('VBAR_EL1'),
  ELR_EL1: reg('ELR_EL1'),
  SPSR_EL1: reg('SPSR_EL1'),
  ESR_EL1: reg('ESR_EL1'),
  FAR_EL1: reg('FAR_EL1'),
  CNTV_CTL: reg('CNTV_CTL'),
  CNTP_CTL: reg('CNTP_CTL'),
  HCR_EL2: reg('HCR_EL2'),
  VBAR_EL2: reg('VBAR_EL2'),
  ELR_EL2: reg('ELR_EL2'),
  SPSR_EL2: reg('SPSR_EL2'),
  ESR_EL2: reg('ESR_EL2'),
  FAR_EL2: reg('FAR_EL2'),
  HPFAR_EL2: reg('HPFAR_EL2'),
  ICH_PEND_EL2: reg('ICH_PEND_EL2'),
  ICH_ACTIVE_EL2: reg('ICH_ACTIVE_EL2'),
} as const;

/** What the rules say a trap carries. */
type ExpectedCause =
  | { readonly kind: 'svc' | 'hvc'; readonly imm: number }
  | { readonly kind: 'undefined'; readonly word: number }
  | { readonly kind: 'wfi' }
  | { readonly kind: 'sysreg'; readonly sysreg: number; readonly rt: number; readonly write: boolean }
  | { readonly kind: 'tlbi'; readonly scope: TlbiScope; readonly broadcast: boolean; readonly rs: number }
  | { readonly kind: 'abort'; readonly access: 'load' | 'store'; readonly fault: 'alignment' | 'external'; readonly va: number; readonly rt: number };

type Expected =
  | { readonly outcome: 'executes' }
  | { readonly outcome: 'traps'; readonly to: 1 | 2; readonly cause: ExpectedCause; readonly returnPc: number };

/** The physical map of a machine with translation off (HW-MEM-4). */
interface PhysMap {
  readonly ramBytes: number;
  readonly deviceEnd: number;
}

/** HW-EXC-2 + HW-SYS-2 + HW-TLB-4 + HW-EXEC-4, for a CPU with translation off. */
function expectedOutcome(cpu: Cpu, word: number, phys: PhysMap): Expected {
  const el = cpu.el;
  const hcr = cpu.sys[R.HCR_EL2]!;
  const pc = cpu.pc;
  const sameOr1: 1 | 2 = el === 2 ? 2 : 1;
  const trap = (to: 1 | 2, cause: ExpectedCause, returnPc = pc): Expected => ({ outcome: 'traps', to, cause, returnPc });
  const undef = (to: 1 | 2): Expected => trap(to, { kind: 'undefined', word });
  const insn = decode(word);
  switch (insn.op) {
    case 'undefined':
      return undef(sameOr1);
    case 'svc':
      return trap(sameOr1, { kind: 'svc', imm: insn.imm }, pc + 4);
    case 'hvc':
      return el === 0 ? undef(1) : trap(2, { kind: 'hvc', imm: insn.imm }, pc + 4);
    case 'eret': {
      if (el === 0) return undef(1);
      const spsr = cpu.sys[el === 1 ? R.SPSR_EL1 : R.SPSR_EL2]!;
      const target = (spsr >>> 2) & 3;
      return target === 3 || target > el ? undef(sameOr1) : { outcome: 'executes' };
    }
    case 'wfi':
      if (el === 0) return trap(1, { kind: 'wfi' });
      if (el === 1 && (hcr & TWI) !== 0) return trap(2, { kind: 'wfi' });
      return { outcome: 'executes' };
    case 'tlbi':
      if (el === 0) return undef(1);
      if (el === 1 && (insn.scope === 'vmid' || (hcr & TTLB) !== 0)) {
        return trap(2, { kind: 'tlbi', scope: insn.scope, broadcast: insn.broadcast, rs: insn.rs });
      }
      return { outcome: 'executes' };
    case 'mrs':
    case 'msr': {
      const rule = REGS[insn.sysreg]!;
      const write = insn.op === 'msr';
      const rt = insn.op === 'msr' ? insn.rs : insn.rd;
      const sysregTrap = trap(2, { kind: 'sysreg', sysreg: insn.sysreg, rt, write });
      if (el < rule.level) return el === 0 ? undef(1) : sysregTrap;
      if (write ? !rule.write : !rule.read) return undef(sameOr1);
      if (el === 1 && (hcr & rule.trap) !== 0) return sysregTrap;
      return { outcome: 'executes' };
    }
    case 'ld':
    case 'st': {
      const access = insn.op === 'ld' ? 'load' : 'store';
      const rt = insn.op === 'ld' ? insn.rd : insn.rs2;
      const va = (cpu.regs[insn.rs1]! + insn.imm) >>> 0;
      if ((va & 3) !== 0) return trap(sameOr1, { kind: 'abort', access, fault: 'alignment', va, rt });
      // Translation is off: the VA is the PA. RAM and device pages work; the rest is a hole.
      if (va < phys.deviceEnd) return { outcome: 'executes' };
      const to: 1 | 2 = el === 2 || (hcr & VM) !== 0 ? 2 : 1;
      return trap(to, { kind: 'abort', access, fault: 'external', va, rt });
    }
    default:
      return { outcome: 'executes' };
  }
}

/** The syndrome of HW-EXC-4, by hand. */
function handSyndrome(cause: ExpectedCause): number {
  const esr = (ec: number, iss: number): number => ((ec << 26) | iss) >>> 0;
  switch (cause.kind) {
    case 'undefined':
      return 0;
    case 'wfi':
      return esr(0x01, 0);
    case 'svc':
      return esr(0x15, cause.imm);
    case 'hvc':
      return esr(0x16, cause.imm);
    case 'sysreg':
      return esr(0x18, cause.sysreg | (cause.rt << 8) | (cause.write ? 1 << 12 : 0));
    case 'tlbi': {
      const scope = { all: 0, va: 1, asid: 2, vmid: 3 }[cause.scope];
      return esr(0x18, scope | (cause.broadcast ? 4 : 0) | (cause.rs << 8) | (1 << 24));
    }
    case 'abort': {
      const fsc = cause.fault === 'alignment' ? 0x21 : 0x10;
      return esr(0x24, fsc | (cause.access === 'store' ? 1 << 6 : 0) | (cause.rt << 9) | (1 << 24));
    }
  }
}

/** SPSR of HW-EXC-3: EL in bits 3:2, I in bit 7. */
const spsrOf = (el: number, masked: boolean): number => (el << 2) | (masked ? 0x80 : 0);

// ---------------------------------------------------------------------------------------------
// Checking one step against the rules.

/**
 * HW-EXC-3 + HW-EXC-8: the step took exactly the exception the rules name, and changed
 * nothing but the exception state of the target level.
 */
function checkTrapped(before: Machine, c: number, r: ExecResult, exp: Extract<Expected, { outcome: 'traps' }>): void {
  const old = before.cpus[c]!;
  const trap = r.trap;
  expect(r.error).toBeNull();
  expect(r.record.status).toBe('trapped');
  expect(trap).not.toBeNull();
  if (trap === null) return;
  expect({ to: trap.to, from: trap.from, kind: trap.kind }).toEqual({ to: exp.to, from: old.el, kind: exp.cause.kind });
  expect(trap).toMatchObject(exp.cause);
  expect(trap.esr).toBe(handSyndrome(exp.cause));

  const after = r.machine;
  // Nothing outside this CPU changed.
  expect(after.memory).toEqual(before.memory);
  expect(after.devices).toEqual(before.devices);
  expect(after.gic).toEqual(before.gic);
  expect(after.iommu).toEqual(before.iommu);
  for (let o = 0; o < before.cpus.length; o++) if (o !== c) expect(after.cpus[o]).toEqual(before.cpus[o]);

  const now = after.cpus[c]!;
  expect(now.regs).toEqual(old.regs);
  expect(now.counter).toBe(old.counter);
  expect(now.tlb).toEqual(old.tlb);
  expect(now.waiting).toBe(false);
  expect(now.el).toBe(exp.to);
  expect(now.irqMasked).toBe(true);

  const bank =
    exp.to === 1
      ? { elr: R.ELR_EL1, spsr: R.SPSR_EL1, esr: R.ESR_EL1, far: R.FAR_EL1, vbar: R.VBAR_EL1 }
      : { elr: R.ELR_EL2, spsr: R.SPSR_EL2, esr: R.ESR_EL2, far: R.FAR_EL2, vbar: R.VBAR_EL2 };
  const offset = old.el === exp.to ? 0x200 : 0x400;
  expect(now.pc).toBe((old.sys[bank.vbar]! + offset) >>> 0);
  expect(now.sys[bank.elr]).toBe(exp.returnPc >>> 0);
  expect(now.sys[bank.spsr]).toBe(spsrOf(old.el, old.irqMasked));
  expect(now.sys[bank.esr]).toBe(handSyndrome(exp.cause));
  if (exp.cause.kind === 'abort') expect(now.sys[bank.far]).toBe(exp.cause.va);
  const mayChange = new Set<number>([bank.elr, bank.spsr, bank.esr, bank.far, R.HPFAR_EL2]);
  for (let id = 0; id < REGS.length; id++) {
    if (!mayChange.has(id) && now.sys[id] !== old.sys[id]) {
      throw new Error(`trap changed ${REGS[id]!.name}: ${old.sys[id]} -> ${now.sys[id]}`);
    }
  }
  expect(r.record).toMatchObject({ cpu: c, pc: old.pc, el: old.el, nextPc: now.pc, nextEl: exp.to, regWrite: null, memAccess: null, sysregWrite: null });
}

/** Checks one step on CPU `c` against the routing rules; returns what the rules expected. */
function checkStep(before: Machine, c: number, word: number): Expected {
  const geo = before.geometry;
  const phys: PhysMap = { ramBytes: geo.ramBytes, deviceEnd: (geo.config.frames + geo.config.devices.length) * geo.pageBytes };
  const exp = expectedOutcome(before.cpus[c]!, word, phys);
  const r = execute(before, c, word);
  if (exp.outcome === 'traps') {
    checkTrapped(before, c, r, exp);
  } else {
    expect(r.error).toBeNull();
    expect(r.trap).toBeNull();
    expect(r.record.status).toBe('retired');
  }
  return exp;
}

// ---------------------------------------------------------------------------------------------
// Machines.

/** Two CPUs and one device of each kind; RAM is 16 frames of 64 bytes. */
const TWO_CPU: MachineConfig = { ...SMALL_MACHINE, cpus: 2 };

function withCpuState(m: Machine, c: number, patch: Partial<Cpu>): Machine {
  const cpus = m.cpus.slice();
  cpus[c] = { ...m.cpus[c]!, ...patch };
  return { ...m, cpus };
}

/** System registers with translation off, no timer asserted and no virtual interrupt pending. */
function quietSys(values: readonly number[], hcrBits: number): number[] {
  const sys = values.slice();
  sys[R.SCTLR_EL1] = (sys[R.SCTLR_EL1]! & ~1) >>> 0;
  sys[R.HCR_EL2] = hcrBits & (IMO | TWI | TVM | TTLB | TPT);
  // A timer with IMASK set, or not enabled, asserts nothing (HW-IRQ-6).
  sys[R.CNTP_CTL] = [0, 2, 3][sys[R.CNTP_CTL]! % 3]!;
  sys[R.CNTV_CTL] = [0, 2, 3][sys[R.CNTV_CTL]! % 3]!;
  sys[R.ICH_PEND_EL2] = 0;
  return sys.map((v) => v >>> 0);
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** Values that are often addresses of RAM, device registers or the hole after them. */
const arbRegValue = fc.oneof(u32, fc.integer({ min: 0, max: 1400 }), fc.constantFrom(0, 1024, 1088, 1152, 1216, 4096));
const arbRegs = fc.array(arbRegValue, { minLength: 15, maxLength: 15 }).map((rs) => [0, ...rs]);
/** System-register values; SPSRs are drawn so that their EL field takes every value. */
const arbSys = fc
  .tuple(fc.array(u32, { minLength: REGS.length, maxLength: REGS.length }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.boolean())
  .map(([vals, el1Target, el2Target, i1, i2]) => {
    const sys = vals.slice();
    sys[R.SPSR_EL1] = (el1Target << 2) | (i1 ? 0x80 : 0);
    sys[R.SPSR_EL2] = (el2Target << 2) | (i2 ? 0x80 : 0);
    return sys;
  });

/** TLB entries: a trap must leave them as they were (HW-EXC-8), so there must be some. */
const arbTlbEntries = fc.array(
  fc.record({ vmid: fc.integer({ min: 0, max: 256 }), asid: fc.integer({ min: 0, max: 256 }), vpn: fc.integer({ min: 0, max: 15 }), ppn: fc.integer({ min: 0, max: 15 }) }),
  { maxLength: 4 },
);

function tlbOf(base: Tlb, entries: ReadonlyArray<{ vmid: number; asid: number; vpn: number; ppn: number }>): Tlb {
  let tlb = base;
  for (const e of entries) tlb = tlbInsert(tlb, { key: tlbKey(e.vmid, e.asid, e.vpn), ...e, ipn: e.vpn, s1: 15, s2: 15 });
  return tlb;
}

interface CpuSetup {
  readonly tlb: ReadonlyArray<{ vmid: number; asid: number; vpn: number; ppn: number }>;
  readonly el: 0 | 1 | 2;
  readonly irqMasked: boolean;
  readonly regs: number[];
  readonly sys: readonly number[];
  readonly hcr: number;
  readonly pc: number;
  readonly counter: number;
}

const arbCpuSetup: fc.Arbitrary<CpuSetup> = fc.record({
  tlb: arbTlbEntries,
  el: fc.constantFrom(0 as const, 1 as const, 2 as const),
  irqMasked: fc.boolean(),
  regs: arbRegs,
  sys: arbSys,
  hcr: fc.integer({ min: 0, max: 63 }),
  pc: u32.map((v) => v & ~3),
  counter: u32,
});

function applySetup(m: Machine, c: number, s: CpuSetup): Machine {
  const tlb = tlbOf(m.cpus[c]!.tlb, s.tlb);
  return withCpuState(m, c, { el: s.el, irqMasked: s.irqMasked, regs: s.regs, sys: quietSys(s.sys, s.hcr), pc: s.pc >>> 0, counter: s.counter, tlb });
}

// ---------------------------------------------------------------------------------------------
// Instruction words, biased toward the sensitive ones.

const arbReg = fc.integer({ min: 0, max: 15 });
const arbSysregId = fc.integer({ min: 0, max: REGS.length - 1 });
const arbScope = fc.constantFrom<TlbiScope>('all', 'va', 'asid', 'vmid');

const arbSensitiveWord: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((imm) => encodeOrThrow({ op: 'svc', imm })),
  fc.integer({ min: 0, max: 0xffff }).map((imm) => encodeOrThrow({ op: 'hvc', imm })),
  fc.constant(encodeOrThrow({ op: 'eret' })),
  fc.constant(encodeOrThrow({ op: 'wfi' })),
  fc.tuple(arbReg, arbSysregId).map(([rd, sysreg]) => encodeOrThrow({ op: 'mrs', rd, sysreg })),
  fc.tuple(arbReg, arbSysregId).map(([rs, sysreg]) => encodeOrThrow({ op: 'msr', sysreg, rs })),
  fc.tuple(arbScope, fc.boolean(), arbReg).map(([scope, broadcast, rs]) => encodeOrThrow({ op: 'tlbi', scope, broadcast, rs: scope === 'all' ? 0 : rs })),
  fc.tuple(arbReg, arbReg, fc.integer({ min: -64, max: 64 })).map(([rd, rs1, imm]) => encodeOrThrow({ op: 'ld', rd, rs1, imm })),
  fc.tuple(arbReg, arbReg, fc.integer({ min: -64, max: 64 })).map(([rs2, rs1, imm]) => encodeOrThrow({ op: 'st', rs2, rs1, imm })),
  u32,
);

/** Every system instruction once, for the exhaustive table. */
function systemWords(): number[] {
  const words = [
    encodeOrThrow({ op: 'svc', imm: 0x1234 }),
    encodeOrThrow({ op: 'hvc', imm: 0xbeef }),
    encodeOrThrow({ op: 'eret' }),
    encodeOrThrow({ op: 'wfi' }),
    0x00000000,
    0xffffffff,
  ];
  for (let id = 0; id < REGS.length; id++) {
    words.push(encodeOrThrow({ op: 'mrs', rd: 5, sysreg: id }), encodeOrThrow({ op: 'msr', sysreg: id, rs: 6 }));
  }
  for (const scope of ['all', 'va', 'asid', 'vmid'] as const) {
    for (const broadcast of [false, true]) words.push(encodeOrThrow({ op: 'tlbi', scope, broadcast, rs: scope === 'all' ? 0 : 7 }));
  }
  return words;
}

// ---------------------------------------------------------------------------------------------

describe('privilege and trap routing', () => {
  it('HW-SYS-1: the register numbering of the model is the table of the spec', () => {
    expect(SYSREGS.map((r) => r.name)).toEqual(REGS.map((r) => r.name));
  });

  it('HW-EXC-1 / HW-EXC-2 / HW-SYS-2: every system instruction, at every level, under every HCR trap setting, goes where the routing table says', () => {
    const base = resetMachine(TWO_CPU);
    const words = systemWords();
    let traps = 0;
    let executes = 0;
    for (const el of [0, 1, 2] as const) {
      for (let hcr = 0; hcr < 64; hcr += 2) {
        for (let spsrTarget = 0; spsrTarget < 4; spsrTarget++) {
          const sys = new Array<number>(REGS.length).fill(0);
          sys[R.HCR_EL2] = hcr;
          sys[R.VBAR_EL1] = 0x100;
          sys[R.VBAR_EL2] = 0x300;
          sys[R.SPSR_EL1] = spsrTarget << 2;
          sys[R.SPSR_EL2] = spsrTarget << 2;
          const regs = [0, 11, 22, 33, 44, 55, 66, 77, 88, 99, 110, 121, 132, 143, 154, 165];
          const tlb = tlbOf(base.cpus[1]!.tlb, [
            { vmid: 256, asid: 256, vpn: 1, ppn: 1 },
            { vmid: 3, asid: 7, vpn: 2, ppn: 5 },
          ]);
          const m = withCpuState(base, 1, { el, sys, regs, pc: 0x40, irqMasked: true, tlb });
          // ERET is the only word whose routing depends on SPSR; the others run once.
          for (const w of spsrTarget === 0 ? words : [encodeOrThrow({ op: 'eret' })]) {
            if (checkStep(m, 1, w).outcome === 'traps') traps++;
            else executes++;
          }
        }
      }
    }
    // Both branches of the table were exercised, many times.
    expect(traps).toBeGreaterThan(1000);
    expect(executes).toBeGreaterThan(1000);
  });

  it('HW-EXC-2: HVC at EL0 is UNDEFINED to EL1, not a hypervisor call', () => {
    const m = withCpuState(resetMachine(TWO_CPU), 0, { el: 0, pc: 0x80 });
    const r = execute(m, 0, encodeOrThrow({ op: 'hvc', imm: 7 }));
    expect(r.trap).toMatchObject({ kind: 'undefined', from: 0, to: 1 });
  });

  it('HW-SYS-2: HCR.TVM traps EL1 accesses to TTBR0_EL1 and SCTLR_EL1, and nothing else it does not name', () => {
    const sys = new Array<number>(REGS.length).fill(0);
    sys[R.HCR_EL2] = TVM;
    const m = withCpuState(resetMachine(TWO_CPU), 0, { el: 1, sys });
    for (let id = 0; id < REGS.length; id++) {
      const r = execute(m, 0, encodeOrThrow({ op: 'msr', sysreg: id, rs: 3 }));
      const trappedByTvm = r.trap?.kind === 'sysreg' && REGS[id]!.level === 1;
      expect(trappedByTvm, REGS[id]!.name).toBe(REGS[id]!.trap === TVM);
    }
  });

  it('HW-EXC-2 / HW-EXC-3 / HW-EXC-8 / HW-SYS-3: a sensitive instruction below its level traps to the right level and changes nothing else', () => {
    const base = resetMachine(TWO_CPU);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1 }),
        arbCpuSetup,
        arbCpuSetup,
        arbSensitiveWord,
        fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), u32), { maxLength: 6 }),
        (c, mine, other, word, pokes) => {
          let m = applySetup(applySetup(base, c, mine), 1 - c, other);
          let memory = m.memory;
          for (const [w, v] of pokes) memory = writeWord(memory, w, v);
          m = { ...m, memory };
          checkStep(m, c, word);
        },
      ),
      // Each case is a single step: cheap enough to try five times the profile's count.
      { numRuns: 5 * (fc.readConfigureGlobal().numRuns ?? 100) },
    );
  });

  it('HW-SYS-6: a write stores the value, except HCR_EL2 (defined bits only) and the timer controls (ENABLE and IMASK only); translation controls leave the TLB alone', () => {
    const tlb = tlbOf(resetMachine(TWO_CPU).cpus[0]!.tlb, [{ vmid: 256, asid: 256, vpn: 3, ppn: 3 }]);
    const m = withCpuState(resetMachine(TWO_CPU), 0, { el: 2, tlb });
    const write = (id: number, value: number): Cpu => {
      const regs = m.cpus[0]!.regs.slice();
      regs[4] = value;
      const r = execute(withCpuState(m, 0, { regs }), 0, encodeOrThrow({ op: 'msr', sysreg: id, rs: 4 }));
      expect(r.trap).toBeNull();
      return r.machine.cpus[0]!;
    };
    expect(write(R.HCR_EL2, 0xffffffff).sys[R.HCR_EL2]).toBe(VM | IMO | TWI | TVM | TTLB | TPT);
    expect(write(R.CNTP_CTL, 0xffffffff).sys[R.CNTP_CTL]).toBe(3);
    expect(write(R.CNTV_CTL, 0xfffffffc).sys[R.CNTV_CTL]).toBe(0);
    for (const name of ['TPIDR_EL0', 'VBAR_EL1', 'ELR_EL2', 'CNTVOFF_EL2', 'TPIDR_EL2']) expect(write(reg(name), 0xfedcba98).sys[reg(name)]).toBe(0xfedcba98);
    for (const name of ['SCTLR_EL1', 'TTBR0_EL1', 'HCR_EL2', 'VTTBR_EL2']) expect(write(reg(name), 0x01000005).tlb).toBe(tlb);
  });

  it('HW-EXC-8: an instruction that executes below EL2 never raises its own privilege or writes a register of a higher level', () => {
    const base = resetMachine(TWO_CPU);
    fc.assert(
      fc.property(arbCpuSetup.filter((s) => s.el < 2), arbSensitiveWord, (s, word) => {
        const m = applySetup(base, 0, s);
        const r = execute(m, 0, word);
        if (r.trap !== null) return;
        const old = m.cpus[0]!;
        const now = r.machine.cpus[0]!;
        expect(now.el).toBeLessThanOrEqual(old.el);
        if (old.el === 0) expect(now.irqMasked).toBe(old.irqMasked);
        const virtualInterface = old.el === 1 && (old.sys[R.HCR_EL2]! & IMO) !== 0;
        for (let id = 0; id < REGS.length; id++) {
          if (REGS[id]!.level <= old.el) continue;
          // HW-IRQ-9: under HCR.IMO, EL1's ICC_IAR/ICC_EOIR act on the virtual interface.
          if (virtualInterface && (id === R.ICH_PEND_EL2 || id === R.ICH_ACTIVE_EL2)) continue;
          if (now.sys[id] !== old.sys[id]) throw new Error(`EL${old.el} changed ${REGS[id]!.name}`);
        }
      }),
    );
  });
});
