/**
 * Exceptions: syndromes (HW-EXC-4), vectors (HW-EXC-5), exception return (HW-EXC-6),
 * preferred return addresses (HW-EXC-7), abort routing through both translation stages
 * (HW-EXC-2), and the absence of partial effects of a faulting access (HW-EXC-8).
 *
 * Syndromes are written out as literal numbers worked by hand from the table of HW-EXC-4,
 * never by calling the model's `syndrome`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HCR,
  PTE,
  SYS,
  configureLine,
  execute,
  makeBase,
  makeTrap,
  raiseIrq,
  resetMachine,
  takeException,
  type Cpu,
  type ExecResult,
  type Machine,
  type MachineConfig,
} from '../../src/hw/index.ts';
import { loadWords, map, patchCpu, setSysRegs, SMALL_MACHINE, word } from './fixtures.ts';


/** One CPU, 16 frames of 64 bytes, 10-bit addresses; a console at page 16, a hole from page 17. */
const CFG: MachineConfig = { ...SMALL_MACHINE, devices: [{ kind: 'console', irq: 3 }] };
const CONSOLE_PA = 16 * 64;
const HOLE_PA = 17 * 64;

/** A value that no exception entry writes: makes "ESR written as 0" observable. */
const JUNK = 0xdeadbeef;

/** A machine with CPU 0 at `el`, vectors at distinct bases and junk in the syndrome registers. */
function at(el: 0 | 1 | 2, patch: Partial<Cpu> = {}, sys: Readonly<Record<number, number>> = {}): Machine {
  const m = setSysRegs(resetMachine(CFG), 0, {
    [SYS.VBAR_EL1]: 0x100,
    [SYS.VBAR_EL2]: 0x300,
    [SYS.ESR_EL1]: JUNK,
    [SYS.ESR_EL2]: JUNK,
    [SYS.FAR_EL1]: JUNK,
    [SYS.FAR_EL2]: JUNK,
    [SYS.HPFAR_EL2]: JUNK,
    ...sys,
  });
  return patchCpu(m, 0, { el, pc: 0x40, ...patch });
}

function withRegs(m: Machine, values: Readonly<Record<number, number>>): Machine {
  const regs = m.cpus[0]!.regs.slice();
  for (const [r, v] of Object.entries(values)) regs[Number(r)] = v >>> 0;
  return patchCpu(m, 0, { regs });
}

const cpu0 = (r: ExecResult): Cpu => r.machine.cpus[0]!;

/** Stage-1 tables: root frame 8, inner tables from frames 9..11; VA page 4 → frame 2 (user RW), VA page 0 → frame 3 (kernel RW). */
function withStage1(m: Machine): Machine {
  const spares = [9, 10, 11];
  m = map(m, 8, 0x100, 2, PTE.P | PTE.W | PTE.U, spares);
  m = map(m, 8, 0x000, 3, PTE.P | PTE.W, spares);
  return setSysRegs(m, 0, { [SYS.SCTLR_EL1]: 1, [SYS.TTBR0_EL1]: makeBase(8, 1) });
}

/** Stage-2 tables: root frame 12, inner from 13..15; IPA page 4 → frame 2 (RW), page 5 → frame 5 (read-only), page 6 → the hole, page 7 → the console. */
function withStage2(m: Machine): Machine {
  const spares = [13, 14, 15];
  m = map(m, 12, 0x100, 2, PTE.P | PTE.W, spares);
  m = map(m, 12, 0x140, 5, PTE.P, spares);
  m = map(m, 12, 0x180, 17, PTE.P | PTE.W, spares);
  m = map(m, 12, 0x1c0, 16, PTE.P | PTE.W, spares);
  const hcr = m.cpus[0]!.sys[SYS.HCR_EL2]!;
  return setSysRegs(m, 0, { [SYS.HCR_EL2]: hcr | HCR.VM, [SYS.VTTBR_EL2]: makeBase(12, 3) });
}

const ld = (rd: number, rs1: number, imm = 0): number => word({ op: 'ld', rd, rs1, imm });
const st = (rs2: number, rs1: number, imm = 0): number => word({ op: 'st', rs2, rs1, imm });

describe('HW-EXC-4 syndromes', () => {
  const cases: ReadonlyArray<{ readonly name: string; readonly m: Machine; readonly w: number | undefined; readonly to: 1 | 2; readonly esr: number }> = [
    // EC 0x00, ISS 0.
    { name: 'undefined word', m: at(0), w: 0, to: 1, esr: 0x00000000 },
    // EC 0x01.
    { name: 'wfi from EL0', m: at(0), w: word({ op: 'wfi' }), to: 1, esr: 0x04000000 },
    // EC 0x15 | imm16.
    { name: 'svc #0x1234', m: at(0), w: word({ op: 'svc', imm: 0x1234 }), to: 1, esr: 0x54001234 },
    // EC 0x16 | imm16.
    { name: 'hvc #0xbeef', m: at(1), w: word({ op: 'hvc', imm: 0xbeef }), to: 2, esr: 0x5800beef },
    // EC 0x18 | sysreg 19 (HCR_EL2) | rt 5 << 8, read.
    { name: 'mrs r5, HCR_EL2 at EL1', m: at(1), w: word({ op: 'mrs', rd: 5, sysreg: SYS.HCR_EL2 }), to: 2, esr: 0x60000513 },
    // EC 0x18 | sysreg 3 (TTBR0_EL1) | rt 6 << 8 | write << 12.
    { name: 'msr TTBR0_EL1, r6 under TVM', m: at(1, {}, { [SYS.HCR_EL2]: HCR.TVM }), w: word({ op: 'msr', sysreg: SYS.TTBR0_EL1, rs: 6 }), to: 2, esr: 0x60001603 },
    // EC 0x18 | scope va (1) | broadcast << 2 | rs 7 << 8 | 1 << 24.
    { name: 'tlbi.is va, r7 under TTLB', m: at(1, {}, { [SYS.HCR_EL2]: HCR.TTLB }), w: word({ op: 'tlbi', scope: 'va', broadcast: true, rs: 7 }), to: 2, esr: 0x61000705 },
    // EC 0x18 | scope vmid (3) | rs 2 << 8 | 1 << 24.
    { name: 'tlbi vmid, r2 at EL1', m: at(1), w: word({ op: 'tlbi', scope: 'vmid', broadcast: false, rs: 2 }), to: 2, esr: 0x61000203 },
    // EC 0x24 | FSC 0x21 | WnR << 6 | rt 9 << 9 | ISV << 24.
    { name: 'misaligned store of r9', m: withRegs(at(1), { 1: 0x42 }), w: st(9, 1), to: 1, esr: 0x91001261 },
    // EC 0x24 | FSC 0x10 | rt 3 << 9 | ISV.
    { name: 'load of r3 from a hole', m: withRegs(at(1), { 1: HOLE_PA }), w: ld(3, 1), to: 1, esr: 0x91000610 },
    // EC 0x20 | FSC 0x21: fetch at a misaligned pc.
    { name: 'fetch at a misaligned pc', m: at(1, { pc: 0x42 }), w: undefined, to: 1, esr: 0x80000021 },
    // EC 0x20 | FSC 0x10: fetch from the console's register page.
    { name: 'fetch from a device page', m: at(1, { pc: CONSOLE_PA }), w: undefined, to: 1, esr: 0x80000010 },
    // EC 0x24 | FSC 0x04 + level 0 (stage 1, root entry absent) | rt 4 << 9 | ISV.
    { name: 'stage-1 translation fault at level 0', m: withRegs(withStage1(at(1)), { 1: 0x200 }), w: ld(4, 1), to: 1, esr: 0x91000804 },
    // EC 0x24 | FSC 0x04 + level 1 | rt 4 << 9 | ISV.
    { name: 'stage-1 translation fault at level 1', m: withRegs(withStage1(at(1)), { 1: 0x140 }), w: ld(4, 1), to: 1, esr: 0x91000805 },
    // EC 0x24 | FSC 0x0c + level 1: EL0 load from a page without U.
    { name: 'stage-1 permission fault (EL0, no U)', m: withRegs(withStage1(at(0)), { 1: 0x000 }), w: ld(4, 1), to: 1, esr: 0x9100080d },
    // EC 0x24 | FSC 0x04 + level 0 | S2 << 7 | rt 4 << 9 | ISV: IPA 0x240 has no level-0 entry.
    { name: 'stage-2 translation fault at level 0', m: withRegs(withStage2(at(1)), { 1: 0x240 }), w: ld(4, 1), to: 2, esr: 0x91000884 },
    // EC 0x24 | FSC 0x0c + 1 | WnR | S2 | rt 4 << 9 | ISV: store to a read-only IPA.
    { name: 'stage-2 permission fault on a store', m: withRegs(withStage2(at(1)), { 1: 0x140 }), w: st(4, 1), to: 2, esr: 0x910008cd },
  ];
  for (const k of cases) {
    it(`HW-EXC-4: ${k.name} has syndrome 0x${k.esr.toString(16).padStart(8, '0')}`, () => {
      const r = execute(k.m, 0, k.w);
      expect(r.trap?.to).toBe(k.to);
      expect(r.trap?.esr).toBe(k.esr);
      expect(cpu0(r).sys[k.to === 1 ? SYS.ESR_EL1 : SYS.ESR_EL2]).toBe(k.esr);
    });
  }

  it('HW-EXC-4: a stage-2 fault while walking a stage-1 table sets the on-walk bit and reports the IPA of the table entry', () => {
    // Stage 1's root is frame 8 (IPA 0x200), which stage 2 does not map.
    const m = withRegs(withStage2(withStage1(at(1))), { 1: 0x100 });
    const r = execute(m, 0, ld(4, 1));
    // The root entry for VA 0x100 is entry 1 of the root table: IPA 0x204. Stage 2 has no
    // level-0 entry for it: FSC 0x04 | S2 << 7 | S1PTW << 8 | rt 4 << 9 | ISV.
    expect(r.trap).toMatchObject({ kind: 'abort', stage: 2, onWalk: true, ipa: 0x204, to: 2 });
    expect(r.trap?.esr).toBe(0x91000984);
    expect(cpu0(r).sys[SYS.HPFAR_EL2]).toBe(0x204);
    expect(cpu0(r).sys[SYS.FAR_EL2]).toBe(0x100);
  });

  it('HW-EXC-3 / HW-EXC-4: an interrupt writes no syndrome', () => {
    let m = at(1, { irqMasked: false });
    m = { ...m, gic: configureLine(m.gic, 4, true, 0) };
    m = raiseIrq(m, 4).machine;
    const r = execute(m, 0, word({ op: 'addi', rd: 1, rs1: 0, imm: 1 }));
    expect(r.trap).toMatchObject({ kind: 'irq', to: 1 });
    expect(cpu0(r).sys[SYS.ESR_EL1]).toBe(JUNK);
    expect(cpu0(r).sys[SYS.FAR_EL1]).toBe(JUNK);
  });
});

describe('HW-EXC-2 abort routing', () => {
  it('HW-EXC-2: stage-1 faults go to EL1, from EL0 and from EL1, with or without stage 2', () => {
    for (const el of [0, 1] as const) {
      for (const vm of [false, true]) {
        let m = withStage1(at(el));
        // Stage 1's tables and the page it maps must be reachable through stage 2: identity-map them.
        if (vm) {
          m = withStage2(m);
          const spares = [14, 15];
          for (const page of [2, 3, 8, 9, 10, 11]) m = map(m, 12, page * 64, page, PTE.P | PTE.W, spares);
        }
        const r = execute(withRegs(m, { 1: 0x140 }), 0, ld(4, 1));
        expect(r.trap, `EL${el} vm=${vm}`).toMatchObject({ kind: 'abort', stage: 1, fault: 'translation', to: 1, from: el });
        expect(cpu0(r).sys[SYS.FAR_EL1]).toBe(0x140);
        // EL2's state is untouched by a fault the guest handles.
        expect(cpu0(r).sys[SYS.ESR_EL2]).toBe(JUNK);
        expect(cpu0(r).sys[SYS.HPFAR_EL2]).toBe(JUNK);
      }
    }
  });

  it('HW-EXC-2: stage-2 faults go to EL2 from EL0 and EL1, with FAR_EL2 and HPFAR_EL2', () => {
    for (const el of [0, 1] as const) {
      const r = execute(withRegs(withStage2(at(el)), { 1: 0x240 }), 0, st(4, 1));
      expect(r.trap).toMatchObject({ kind: 'abort', stage: 2, fault: 'translation', to: 2, from: el, ipa: 0x240 });
      expect(cpu0(r).pc).toBe(0x300 + 0x400);
      expect(cpu0(r).sys[SYS.FAR_EL2]).toBe(0x240);
      expect(cpu0(r).sys[SYS.HPFAR_EL2]).toBe(0x240);
      expect(cpu0(r).sys[SYS.ESR_EL1]).toBe(JUNK);
    }
  });

  it('HW-EXC-2: external aborts go to EL2 under HCR.VM and at EL2, else to EL1', () => {
    const cases: ReadonlyArray<readonly [Machine, 1 | 2]> = [
      [withRegs(at(0), { 1: HOLE_PA }), 1],
      [withRegs(at(1), { 1: HOLE_PA }), 1],
      [withRegs(at(2), { 1: HOLE_PA }), 2],
      // IPA page 6 maps to physical page 17, the hole.
      [withRegs(withStage2(at(0)), { 1: 0x180 }), 2],
      [withRegs(withStage2(at(1)), { 1: 0x180 }), 2],
    ];
    for (const [m, to] of cases) {
      const r = execute(m, 0, ld(4, 1));
      expect(r.trap).toMatchObject({ kind: 'abort', fault: 'external', to });
    }
  });

  it('HW-EXC-2 / HW-MEM-2: misaligned accesses are alignment faults, to EL1 from EL0/EL1 and to EL2 at EL2', () => {
    for (const el of [0, 1, 2] as const) {
      const r = execute(withRegs(at(el), { 1: 0x101 }), 0, ld(4, 1));
      expect(r.trap).toMatchObject({ kind: 'abort', fault: 'alignment', to: el === 2 ? 2 : 1, va: 0x101 });
    }
  });

  it('HW-EXEC-4: through stage 2, a store to an IPA mapped to a device page reaches the device', () => {
    const m = withRegs(withStage2(at(1)), { 1: 0x1c0, 2: 0x41 });
    const r = execute(m, 0, st(2, 1));
    expect(r.trap).toBeNull();
    expect(r.machine.devices[0]).toEqual({ kind: 'console', output: 'A' });
  });

  it('HW-EXC-8: a store that faults writes nothing, and a load that faults writes no register', () => {
    const m = withRegs(withStage2(at(1)), { 1: 0x140, 4: 0x1234 });
    const before = m.memory;
    const r = execute(m, 0, st(4, 1));
    expect(r.trap?.kind).toBe('abort');
    expect(r.machine.memory).toBe(before);
    const l = execute(withRegs(at(1), { 1: HOLE_PA, 4: 77 }), 0, ld(4, 1));
    expect(cpu0(l).regs[4]).toBe(77);
    expect(l.record.regWrite).toBeNull();
  });
});

describe('HW-EXC-3 entry, for supervisors', () => {
  it('HW-EXC-3: takeException on a CPU waiting in WFI stops the wait, as execute does before taking an interrupt', () => {
    const waiting = { ...at(1, { irqMasked: false }).cpus[0]!, waiting: true };
    const now = takeException(waiting, makeTrap({ kind: 'irq', virtual: true }, 1, 1), 0x44);
    expect(now).toMatchObject({ waiting: false, el: 1, irqMasked: true, pc: 0x100 + 0x280 });
    expect(now.sys[SYS.ELR_EL1]).toBe(0x44);
  });
});

describe('HW-EXC-5 vectors', () => {
  it('HW-EXC-5: synchronous from the same level 0x200, from a lower level 0x400; IRQ 0x280 and 0x480', () => {
    const svc = word({ op: 'svc', imm: 1 });
    const hvc = word({ op: 'hvc', imm: 1 });
    expect(cpu0(execute(at(1), 0, svc)).pc).toBe(0x100 + 0x200);
    expect(cpu0(execute(at(0), 0, svc)).pc).toBe(0x100 + 0x400);
    expect(cpu0(execute(at(2), 0, hvc)).pc).toBe(0x300 + 0x200);
    expect(cpu0(execute(at(1), 0, hvc)).pc).toBe(0x300 + 0x400);
    expect(cpu0(execute(at(0), 0, 0)).pc).toBe(0x100 + 0x400);

    const pendingIrq = (m: Machine): Machine => raiseIrq({ ...m, gic: configureLine(m.gic, 5, true, 0) }, 5).machine;
    const nop = word({ op: 'addi', rd: 0, rs1: 0, imm: 0 });
    expect(cpu0(execute(pendingIrq(at(1, { irqMasked: false })), 0, nop)).pc).toBe(0x100 + 0x280);
    expect(cpu0(execute(pendingIrq(at(0, { irqMasked: false })), 0, nop)).pc).toBe(0x100 + 0x480);
    const imo = { [SYS.HCR_EL2]: HCR.IMO };
    expect(cpu0(execute(pendingIrq(at(2, { irqMasked: false }, imo)), 0, nop)).pc).toBe(0x300 + 0x280);
    expect(cpu0(execute(pendingIrq(at(1, { irqMasked: true }, imo)), 0, nop)).pc).toBe(0x300 + 0x480);
  });

  it('HW-EXC-5: the vector address wraps modulo 2^32', () => {
    const m = at(1, {}, { [SYS.VBAR_EL1]: 0xfffffe00 + 0x100 });
    expect(cpu0(execute(m, 0, word({ op: 'svc', imm: 0 }))).pc).toBe(0x100);
  });
});

describe('HW-EXC-6 exception return', () => {
  const eret = word({ op: 'eret' });
  const u32 = fc.integer({ min: 0, max: 0xffffffff });

  it('HW-EXC-6: ERET restores pc from ELR and EL and I from SPSR of the current level, and changes nothing else', () => {
    fc.assert(
      fc.property(fc.constantFrom(1 as const, 2 as const), fc.integer({ min: 0, max: 2 }), fc.boolean(), u32, u32, fc.boolean(), (el, target, masked, elr, otherBits, nowMasked) => {
        fc.pre(target <= el);
        // SPSR bits other than EL (3:2) and I (7) do not matter.
        const spsr = ((otherBits & ~0x8c) | (target << 2) | (masked ? 0x80 : 0)) >>> 0;
        const bank = el === 1 ? { elr: SYS.ELR_EL1, spsr: SYS.SPSR_EL1 } : { elr: SYS.ELR_EL2, spsr: SYS.SPSR_EL2 };
        // The other bank holds decoys that must not be used.
        const decoy = el === 1 ? { [SYS.ELR_EL2]: 0x1111, [SYS.SPSR_EL2]: 0x8 } : { [SYS.ELR_EL1]: 0x2222, [SYS.SPSR_EL1]: 0x0 };
        const m = at(el, { irqMasked: nowMasked }, { [bank.elr]: elr, [bank.spsr]: spsr, ...decoy });
        const r = execute(m, 0, eret);
        expect(r.trap).toBeNull();
        expect(r.record.status).toBe('retired');
        const now = cpu0(r);
        expect({ pc: now.pc, el: now.el, irqMasked: now.irqMasked }).toEqual({ pc: elr, el: target, irqMasked: masked });
        expect(now.sys).toEqual(m.cpus[0]!.sys);
        expect(now.regs).toEqual(m.cpus[0]!.regs);
        expect(r.machine.memory).toBe(m.memory);
        expect(r.machine.gic).toEqual(m.gic);
      }),
    );
  });

  it('HW-EXC-6: an illegal return (SPSR naming EL3 or a higher level) is UNDEFINED at the current level', () => {
    for (const [el, target] of [
      [1, 2],
      [1, 3],
      [2, 3],
    ] as const) {
      const bank = el === 1 ? SYS.SPSR_EL1 : SYS.SPSR_EL2;
      const m = at(el, {}, { [bank]: target << 2 });
      const r = execute(m, 0, eret);
      expect(r.trap).toMatchObject({ kind: 'undefined', from: el, to: el });
      expect(cpu0(r).sys[el === 1 ? SYS.ELR_EL1 : SYS.ELR_EL2]).toBe(0x40);
    }
  });

  it('HW-EXC-3 / HW-EXC-6: taking an exception and returning from it restores pc (the preferred return address), EL and I', () => {
    const cases: ReadonlyArray<{ readonly el: 0 | 1 | 2; readonly w: number; readonly back: number }> = [
      { el: 0, w: word({ op: 'svc', imm: 3 }), back: 0x44 },
      { el: 1, w: word({ op: 'svc', imm: 3 }), back: 0x44 },
      { el: 2, w: word({ op: 'svc', imm: 3 }), back: 0x44 },
      { el: 1, w: word({ op: 'hvc', imm: 3 }), back: 0x44 },
      { el: 0, w: 0, back: 0x40 },
      { el: 0, w: word({ op: 'wfi' }), back: 0x40 },
      { el: 1, w: word({ op: 'mrs', rd: 1, sysreg: SYS.VTTBR_EL2 }), back: 0x40 },
    ];
    for (const { el, w, back } of cases) {
      for (const masked of [false, true]) {
        const m = at(el, { irqMasked: masked });
        const trapped = execute(m, 0, w);
        expect(trapped.trap).not.toBeNull();
        const returned = execute(trapped.machine, 0, eret);
        const now = cpu0(returned);
        expect({ pc: now.pc, el: now.el, irqMasked: now.irqMasked }).toEqual({ pc: back, el, irqMasked: masked });
      }
    }
  });
});

describe('HW-EXC-7 preferred return addresses', () => {
  const elrAfter = (m: Machine, w: number | undefined): number => {
    const r = execute(m, 0, w);
    expect(r.trap).not.toBeNull();
    return cpu0(r).sys[r.trap!.to === 1 ? SYS.ELR_EL1 : SYS.ELR_EL2]!;
  };

  it('HW-EXC-7: SVC and HVC return to the next instruction; every other synchronous trap to the instruction itself', () => {
    const pc = 0x80;
    expect(elrAfter(at(0, { pc }), word({ op: 'svc', imm: 0 }))).toBe(pc + 4);
    expect(elrAfter(at(1, { pc }), word({ op: 'hvc', imm: 0 }))).toBe(pc + 4);
    expect(elrAfter(at(0, { pc }), word({ op: 'hvc', imm: 0 }))).toBe(pc);
    expect(elrAfter(at(0, { pc }), 0xffffffff)).toBe(pc);
    expect(elrAfter(at(0, { pc }), word({ op: 'wfi' }))).toBe(pc);
    expect(elrAfter(at(1, { pc }, { [SYS.HCR_EL2]: HCR.TWI }), word({ op: 'wfi' }))).toBe(pc);
    expect(elrAfter(at(1, { pc }, { [SYS.HCR_EL2]: HCR.TPT }), word({ op: 'mrs', rd: 2, sysreg: SYS.CNTPCT }))).toBe(pc);
    expect(elrAfter(at(1, { pc }), word({ op: 'tlbi', scope: 'vmid', broadcast: false, rs: 1 }))).toBe(pc);
    expect(elrAfter(withRegs(at(1, { pc }), { 1: HOLE_PA }), ld(2, 1))).toBe(pc);
    expect(elrAfter(at(1, { pc: 0x82 }), undefined)).toBe(0x82);
    expect(elrAfter(at(1, { pc: CONSOLE_PA }), undefined)).toBe(CONSOLE_PA);
  });

  it('HW-EXC-7: the return address of SVC at the top of the address space wraps to 0', () => {
    expect(elrAfter(at(1, { pc: 0xfffffffc }), word({ op: 'svc', imm: 0 }))).toBe(0);
  });

  it('HW-EXC-7: an interrupt returns to the instruction not yet executed, which is not executed', () => {
    let m = withRegs(at(1, { pc: 0x84, irqMasked: false }), { 1: 5 });
    m = raiseIrq({ ...m, gic: configureLine(m.gic, 6, true, 0) }, 6).machine;
    const r = execute(m, 0, word({ op: 'addi', rd: 1, rs1: 1, imm: 1 }));
    expect(r.record.status).toBe('interrupted');
    expect(cpu0(r).sys[SYS.ELR_EL1]).toBe(0x84);
    expect(cpu0(r).regs[1]).toBe(5);
  });

  it('HW-EXC-7: a fetched program that traps returns to the address of the trapping word', () => {
    const program = [word({ op: 'addi', rd: 1, rs1: 0, imm: 1 }), word({ op: 'svc', imm: 9 }), 0];
    let m = loadWords(at(0, { pc: 0x40 }), 0x40, program);
    m = execute(m, 0).machine;
    const s = execute(m, 0);
    expect(s.trap).toMatchObject({ kind: 'svc', imm: 9 });
    expect(cpu0(s).sys[SYS.ELR_EL1]).toBe(0x48);
    const back = execute(s.machine, 0, word({ op: 'eret' }));
    const u = execute(back.machine, 0);
    expect(u.trap).toMatchObject({ kind: 'undefined', word: 0 });
    expect(cpu0(u).sys[SYS.ELR_EL1]).toBe(0x48);
  });
});

describe('HW-OPS-1 / HW-EXC-1: what a step reports', () => {
  /** The primitive operations of a step, as a multiset (the rule does not fix their order). */
  const opsOf = (r: ExecResult): string[] => [...r.ops].sort();
  const sorted = (ops: readonly string[]): string[] => [...ops].sort();

  it('HW-OPS-1: traps, returns, accesses, system-register and TLB instructions list their primitive operations', () => {
    const cases: ReadonlyArray<readonly [string, ExecResult, readonly string[]]> = [
      ['svc from EL0', execute(at(0), 0, word({ op: 'svc', imm: 1 })), ['instruction', 'trapEntryEl1']],
      ['hvc from EL1', execute(at(1), 0, word({ op: 'hvc', imm: 1 })), ['instruction', 'trapEntryEl2']],
      ['eret at EL1', execute(at(1), 0, word({ op: 'eret' })), ['instruction', 'trapReturnEl1']],
      ['eret at EL2', execute(at(2), 0, word({ op: 'eret' })), ['instruction', 'trapReturnEl2']],
      ['load from RAM', execute(withRegs(at(1), { 1: 0x80 }), 0, ld(2, 1)), ['instruction', 'dataAccess']],
      ['store to the console', execute(withRegs(at(1), { 1: CONSOLE_PA }), 0, st(2, 1)), ['instruction', 'mmioAccess']],
      ['mrs', execute(at(1), 0, word({ op: 'mrs', rd: 1, sysreg: SYS.TPIDR_EL1 })), ['instruction', 'sysregRead']],
      ['mrs ICC_IAR', execute(at(1), 0, word({ op: 'mrs', rd: 1, sysreg: SYS.ICC_IAR })), ['instruction', 'sysregRead', 'irqAck']],
      ['msr ICC_EOIR', execute(at(1), 0, word({ op: 'msr', sysreg: SYS.ICC_EOIR, rs: 1 })), ['instruction', 'sysregWrite', 'eoi']],
      ['msr ICC_SGIR', execute(at(1), 0, word({ op: 'msr', sysreg: SYS.ICC_SGIR, rs: 1 })), ['instruction', 'sysregWrite', 'ipi']],
      ['wfi at EL1', execute(at(1), 0, word({ op: 'wfi' })), ['instruction', 'wfi']],
      ['tlbi.is all', execute(at(1), 0, word({ op: 'tlbi', scope: 'all', broadcast: true, rs: 0 })), ['instruction', 'tlbiAll', 'tlbiBroadcast']],
      ['tlbi asid', execute(at(1), 0, word({ op: 'tlbi', scope: 'asid', broadcast: false, rs: 1 })), ['instruction', 'tlbiAsid']],
      ['tlbi va', execute(at(1), 0, word({ op: 'tlbi', scope: 'va', broadcast: false, rs: 1 })), ['instruction', 'tlbiVa']],
      ['tlbi vmid at EL2', execute(at(2), 0, word({ op: 'tlbi', scope: 'vmid', broadcast: false, rs: 1 })), ['instruction', 'tlbiVmid']],
      ['stage-1 miss (two levels)', execute(withRegs(withStage1(at(1)), { 1: 0x100 }), 0, ld(2, 1)), ['instruction', 'tlbMiss', 'pageWalkStep', 'pageWalkStep', 'dataAccess']],
    ];
    for (const [name, r, ops] of cases) expect(opsOf(r), name).toEqual(sorted(ops));
  });

  it('HW-OPS-1: a TLB hit walks nothing; interrupts list their delivery; a waiting step lists nothing', () => {
    const first = execute(withRegs(withStage1(at(1)), { 1: 0x100 }), 0, ld(2, 1));
    expect(opsOf(execute(first.machine, 0, ld(2, 1)))).toEqual(sorted(['instruction', 'dataAccess']));

    let m = at(1, { irqMasked: false });
    m = raiseIrq({ ...m, gic: configureLine(m.gic, 4, true, 0) }, 4).machine;
    expect(opsOf(execute(m, 0, word({ op: 'addi', rd: 0, rs1: 0, imm: 0 })))).toEqual(sorted(['irqDelivery', 'trapEntryEl1']));
    const v = setSysRegs(at(1, { irqMasked: false }), 0, { [SYS.HCR_EL2]: HCR.IMO, [SYS.ICH_PEND_EL2]: 1 });
    expect(opsOf(execute(v, 0, word({ op: 'addi', rd: 0, rs1: 0, imm: 0 })))).toEqual(sorted(['virtualIrqDelivery', 'trapEntryEl1']));
    const waiting = patchCpu(at(1), 0, { waiting: true });
    expect(execute(waiting, 0).ops).toEqual([]);
  });

  it('HW-EXC-1: a trap reports its cause, its syndrome and both levels; a retired step reports none', () => {
    const r = execute(at(0), 0, word({ op: 'svc', imm: 42 }));
    expect(r.trap).toEqual({ kind: 'svc', imm: 42, from: 0, to: 1, esr: 0x5400002a });
    expect(r.record).toMatchObject({ status: 'trapped', el: 0, nextEl: 1, word: word({ op: 'svc', imm: 42 }) });
    const ok = execute(at(0), 0, word({ op: 'addi', rd: 3, rs1: 0, imm: 5 }));
    expect(ok.trap).toBeNull();
    expect(ok.record).toMatchObject({ status: 'retired', regWrite: { reg: 3, value: 5 }, nextPc: 0x44 });
  });
});
