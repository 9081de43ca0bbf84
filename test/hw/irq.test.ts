/**
 * Interrupts and timers (HW-IRQ-1..9, HW-EVT-1..2): IDs, routing of shared lines, masking
 * and the levels interrupts are aimed at, acknowledge and end, level-triggered timers, IPIs,
 * the virtual CPU interface under HCR.IMO, and WFI.
 *
 * Everything is driven through `execute` (MRS/MSR of the ICC registers, injected
 * instructions) and the external events, as software and the outside world would.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HCR,
  SPURIOUS_IRQ,
  SYS,
  TIMER_CTL,
  configureLine,
  execute,
  raiseIrq,
  resetMachine,
  tick,
  type Cpu,
  type ExecResult,
  type Machine,
  type MachineConfig,
} from '../../src/hw/index.ts';
import { loadWords, patchCpu, setSysRegs, SMALL_MACHINE, word } from './fixtures.ts';

const NOP = word({ op: 'addi', rd: 0, rs1: 0, imm: 0 });
const WFI = word({ op: 'wfi' });

const CFG: MachineConfig = { ...SMALL_MACHINE, cpus: 2, devices: [{ kind: 'console', irq: 3 }] };
const SHARED_IDS = [3, 4, 5, 6, 7] as const;
const VBAR1 = 0x100;
const VBAR2 = 0x300;

/** Both CPUs at `el` with I = `masked`, pc 0x40, distinct vector bases. */
function machineAt(el: 0 | 1 | 2 = 1, masked = false, hcr = 0): Machine {
  let m = resetMachine(CFG);
  for (const c of [0, 1]) {
    m = setSysRegs(m, c, { [SYS.VBAR_EL1]: VBAR1, [SYS.VBAR_EL2]: VBAR2, [SYS.HCR_EL2]: hcr });
    m = patchCpu(m, c, { el, irqMasked: masked, pc: 0x40 });
  }
  return m;
}

const cpu = (m: Machine, c: number): Cpu => m.cpus[c]!;

function enable(m: Machine, id: number, target: number): Machine {
  return { ...m, gic: configureLine(m.gic, id, true, target) };
}

function raise(m: Machine, id: number): Machine {
  const r = raiseIrq(m, id);
  expect(r.error).toBeNull();
  return r.machine;
}

function ticks(m: Machine, c: number, n: number): Machine {
  for (let i = 0; i < n; i++) m = tick(m, c).machine;
  return m;
}

/** Reads a system register on CPU `c` through MRS; returns the value and the new machine. */
function mrs(m: Machine, c: number, sysreg: number): { readonly value: number; readonly m: Machine; readonly r: ExecResult } {
  const r = execute(m, c, word({ op: 'mrs', rd: 1, sysreg }));
  expect(r.trap).toBeNull();
  return { value: cpu(r.machine, c).regs[1]!, m: r.machine, r };
}

/** Writes a system register on CPU `c` through MSR. */
function msr(m: Machine, c: number, sysreg: number, value: number): ExecResult {
  const regs = cpu(m, c).regs.slice();
  regs[2] = value >>> 0;
  return execute(patchCpu(m, c, { regs }), c, word({ op: 'msr', sysreg, rs: 2 }));
}

function msrOk(m: Machine, c: number, sysreg: number, value: number): Machine {
  const r = msr(m, c, sysreg, value);
  expect(r.trap).toBeNull();
  return r.machine;
}

/** Whether CPU `c` takes an interrupt now (executing a NOP otherwise). */
function takes(m: Machine, c: number): ExecResult {
  return execute(m, c, NOP);
}

const ack = (m: Machine, c: number) => mrs(m, c, SYS.ICC_IAR);

describe('HW-IRQ-1 / HW-IRQ-2 / HW-IRQ-8: IDs, routing and taking', () => {
  it('HW-IRQ-1 / HW-EVT-2: only shared IDs (3 and up, below irqLines) can be raised from outside', () => {
    const m = machineAt();
    for (const id of [-1, 0, 1, 2, 8, 9, 1.5, Number.NaN]) {
      const r = raiseIrq(m, id);
      expect(r.error?.code, String(id)).toBe('event.irq');
      expect(r.machine).toBe(m);
    }
    for (const id of SHARED_IDS) expect(raiseIrq(m, id).error).toBeNull();
  });

  it('HW-IRQ-2 / HW-IRQ-8: a raised shared line is taken by its target CPU, at the level and under the mask the rules say, and by no other', () => {
    const arbCpu = fc.record({ el: fc.constantFrom(0 as const, 1 as const, 2 as const), masked: fc.boolean(), imo: fc.boolean() });
    fc.assert(
      fc.property(fc.constantFrom(...SHARED_IDS), fc.integer({ min: 0, max: 1 }), fc.boolean(), arbCpu, arbCpu, (id, target, enabled, s0, s1) => {
        let m = resetMachine(CFG);
        for (const [c, s] of [
          [0, s0],
          [1, s1],
        ] as const) {
          m = setSysRegs(m, c, { [SYS.VBAR_EL1]: VBAR1, [SYS.VBAR_EL2]: VBAR2, [SYS.HCR_EL2]: s.imo ? HCR.IMO : 0 });
          m = patchCpu(m, c, { el: s.el, irqMasked: s.masked, pc: 0x40 + 8 * c });
        }
        m = { ...m, gic: configureLine(m.gic, id, enabled, target) };
        m = raise(m, id);
        for (const [c, s] of [
          [0, s0],
          [1, s1],
        ] as const) {
          // HW-IRQ-8, restated: physical interrupts aim at EL2 under IMO, else EL1; one routed
          // to EL2 from below is taken whatever I; otherwise only if I is clear and it is aimed
          // at the current level or above.
          const to: 1 | 2 = s.imo ? 2 : 1;
          const expected = enabled && c === target && ((to === 2 && s.el < 2) || (to >= s.el && !s.masked));
          const r = takes(m, c);
          if (!expected) {
            expect(r.trap, `cpu ${c}`).toBeNull();
            continue;
          }
          expect(r.record.status).toBe('interrupted');
          expect(r.trap).toMatchObject({ kind: 'irq', virtual: false, from: s.el, to });
          const before = cpu(m, c);
          const now = cpu(r.machine, c);
          const bank = to === 1 ? { vbar: VBAR1, elr: SYS.ELR_EL1, spsr: SYS.SPSR_EL1 } : { vbar: VBAR2, elr: SYS.ELR_EL2, spsr: SYS.SPSR_EL2 };
          expect(now.pc).toBe(bank.vbar + (s.el === to ? 0x280 : 0x480));
          expect(now.sys[bank.elr]).toBe(before.pc);
          expect(now.sys[bank.spsr]).toBe((s.el << 2) | (s.masked ? 0x80 : 0));
          expect({ el: now.el, irqMasked: now.irqMasked }).toEqual({ el: to, irqMasked: true });
          // Taking is not acknowledging: the line stays pending, nothing else moves.
          expect(r.machine.gic).toEqual(m.gic);
          expect(now.regs).toEqual(before.regs);
          expect(r.machine.cpus[1 - c]).toBe(m.cpus[1 - c]);
        }
      }),
    );
  });

  it('HW-IRQ-2: a line raised while disabled is latched and delivered once enabled; disabling hides it again', () => {
    let m = machineAt(1, false);
    m = raise(m, 6);
    expect(takes(m, 0).trap).toBeNull();
    m = enable(m, 6, 0);
    expect(takes(m, 0).trap).toMatchObject({ kind: 'irq', to: 1 });
    m = { ...m, gic: configureLine(m.gic, 6, false, 0) };
    expect(takes(m, 0).trap).toBeNull();
  });

  it('HW-IRQ-2: re-routing a pending line moves it to the new target', () => {
    let m = raise(enable(machineAt(1, false), 5, 0), 5);
    expect(takes(m, 0).trap).not.toBeNull();
    expect(takes(m, 1).trap).toBeNull();
    m = enable(m, 5, 1);
    expect(takes(m, 0).trap).toBeNull();
    expect(takes(m, 1).trap).not.toBeNull();
  });
});

describe('HW-IRQ-3 / HW-IRQ-4 / HW-IRQ-5: selection, acknowledge, end', () => {
  it('HW-IRQ-4: ICC_IAR returns 1023 when nothing is deliverable, and changes nothing', () => {
    const m = raise(enable(machineAt(1, true), 4, 1), 4);
    const a = ack(m, 0);
    expect(a.value).toBe(SPURIOUS_IRQ);
    expect(a.m.gic).toEqual(m.gic);
  });

  it('HW-IRQ-3 / HW-IRQ-4 / HW-IRQ-5: pending lines are acknowledged lowest ID first, one at a time, each blocking the rest until its EOI', () => {
    fc.assert(
      fc.property(fc.subarray([...SHARED_IDS], { minLength: 1 }), fc.subarray([...SHARED_IDS]), (mine, theirs) => {
        let m = machineAt(1, true);
        for (const id of SHARED_IDS) m = enable(m, id, mine.includes(id) ? 0 : 1);
        for (const id of [...mine, ...theirs]) m = raise(m, id);
        const seen: number[] = [];
        for (;;) {
          const a = ack(m, 0);
          if (a.value === SPURIOUS_IRQ) break;
          seen.push(a.value);
          m = a.m;
          // HW-IRQ-4: active, no longer pending.
          expect((m.gic.active >>> a.value) & 1).toBe(1);
          expect((m.gic.pending >>> a.value) & 1).toBe(0);
          // HW-IRQ-3: while it is active nothing else is delivered to this CPU, even unmasked...
          expect(ack(m, 0).value).toBe(SPURIOUS_IRQ);
          expect(takes(patchCpu(m, 0, { irqMasked: false }), 0).trap).toBeNull();
          // ...but the other CPU is not blocked by it.
          const other = theirs.filter((id) => !mine.includes(id));
          if (other.length > 0) expect(ack(m, 1).value).toBe(Math.min(...other));
          m = msrOk(m, 0, SYS.ICC_EOIR, a.value);
          expect((m.gic.active >>> a.value) & 1).toBe(0);
        }
        expect(seen).toEqual([...mine].sort((x, y) => x - y));
      }),
    );
  });

  it('HW-IRQ-5: EOI of an ID that is not active on this CPU is ignored', () => {
    let m = raise(enable(machineAt(1, true), 4, 0), 4);
    m = ack(m, 0).m;
    const gic = m.gic;
    // Not active anywhere, out of range, and active but on the other CPU.
    for (const id of [5, 0, 1, 2, 1023, 0xffffffff]) expect(msrOk(m, 0, SYS.ICC_EOIR, id).gic).toEqual(gic);
    expect(msrOk(m, 1, SYS.ICC_EOIR, 4).gic).toEqual(gic);
    expect(msrOk(m, 0, SYS.ICC_EOIR, 4).gic.active).toBe(0);
  });

  it('HW-IRQ-3: an active banked interrupt (IPI or timer) blocks every other on its CPU until its EOI', () => {
    for (const id of [0, 1, 2]) {
      let m = machineAt(1, true);
      if (id === 0) m = msrOk(m, 1, SYS.ICC_SGIR, 0b01);
      if (id === 1) m = setSysRegs(m, 0, { [SYS.CNTP_CTL]: TIMER_CTL.ENABLE });
      if (id === 2) m = setSysRegs(m, 0, { [SYS.CNTV_CTL]: TIMER_CTL.ENABLE });
      const a = ack(m, 0);
      expect(a.value).toBe(id);
      // Silence the source, then raise a shared line: it waits for the EOI.
      m = setSysRegs(a.m, 0, { [SYS.CNTP_CTL]: 0, [SYS.CNTV_CTL]: 0 });
      m = raise(enable(m, 3, 0), 3);
      expect(ack(m, 0).value, `while ${id} is active`).toBe(SPURIOUS_IRQ);
      expect(takes(patchCpu(m, 0, { irqMasked: false }), 0).trap).toBeNull();
      m = msrOk(m, 0, SYS.ICC_EOIR, id);
      expect(ack(m, 0).value).toBe(3);
    }
  });

  it('HW-IRQ-1 / HW-IRQ-3: the IPI (0) comes before the timers (1, 2), which come before shared lines', () => {
    let m = machineAt(1, true);
    m = setSysRegs(m, 0, { [SYS.CNTP_CTL]: TIMER_CTL.ENABLE, [SYS.CNTV_CTL]: TIMER_CTL.ENABLE });
    m = raise(enable(m, 3, 0), 3);
    m = msrOk(m, 1, SYS.ICC_SGIR, 0b01);
    const order: number[] = [];
    for (let i = 0; i < 4; i++) {
      const a = ack(m, 0);
      order.push(a.value);
      m = a.m;
      // Timers are level: mask each after taking it so that its EOI does not bring it back.
      if (a.value === 1) m = msrOk(m, 0, SYS.CNTP_CTL, TIMER_CTL.ENABLE | TIMER_CTL.IMASK);
      if (a.value === 2) m = msrOk(m, 0, SYS.CNTV_CTL, 0);
      m = msrOk(m, 0, SYS.ICC_EOIR, a.value);
    }
    expect(order).toEqual([0, 1, 2, 3]);
    expect(ack(m, 0).value).toBe(SPURIOUS_IRQ);
  });
});

describe('HW-IRQ-6 timers', () => {
  it('HW-IRQ-6 / HW-EVT-1: the physical timer asserts ID 1 exactly while ENABLE, not IMASK, and counter ≥ CNTP_CVAL', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }), (ctl, cval, n) => {
        let m = machineAt(1, false);
        m = msrOk(m, 0, SYS.CNTP_CVAL, cval);
        m = msrOk(m, 0, SYS.CNTP_CTL, ctl);
        m = ticks(m, 0, n);
        const asserted = (ctl & 3) === TIMER_CTL.ENABLE && n >= cval;
        const r = takes(m, 0);
        expect(r.trap === null ? null : r.trap.kind).toBe(asserted ? 'irq' : null);
        // CNTP_CTL reads back ENABLE and IMASK with ISTATUS = (count ≥ CVAL), masked or not.
        const read = mrs(patchCpu(m, 0, { irqMasked: true }), 0, SYS.CNTP_CTL).value;
        expect(read).toBe((ctl & 3) | (n >= cval ? TIMER_CTL.ISTATUS : 0));
        // The other CPU's timer is its own (banked).
        expect(takes(m, 1).trap).toBeNull();
        expect(ack(patchCpu(m, 0, { irqMasked: true }), 0).value).toBe(asserted ? 1 : SPURIOUS_IRQ);
      }),
    );
  });

  it('HW-IRQ-6: the timer is level-triggered — after EOI it is delivered again until masked or reprogrammed', () => {
    let m = machineAt(1, true);
    m = msrOk(m, 0, SYS.CNTP_CVAL, 3);
    m = msrOk(m, 0, SYS.CNTP_CTL, TIMER_CTL.ENABLE);
    expect(ack(m, 0).value).toBe(SPURIOUS_IRQ);
    m = ticks(m, 0, 3);
    let a = ack(m, 0);
    expect(a.value).toBe(1);
    m = msrOk(a.m, 0, SYS.ICC_EOIR, 1);
    // Still asserted: delivered again, and again after more ticks.
    a = ack(m, 0);
    expect(a.value).toBe(1);
    m = msrOk(a.m, 0, SYS.ICC_EOIR, 1);
    m = ticks(m, 0, 5);
    expect(ack(m, 0).value).toBe(1);
    // Reprogramming the compare value deasserts it...
    const later = msrOk(m, 0, SYS.CNTP_CVAL, 100);
    expect(ack(later, 0).value).toBe(SPURIOUS_IRQ);
    expect(takes(patchCpu(later, 0, { irqMasked: false }), 0).trap).toBeNull();
    // ...as does IMASK, or clearing ENABLE.
    const masked = msrOk(m, 0, SYS.CNTP_CTL, TIMER_CTL.ENABLE | TIMER_CTL.IMASK);
    expect(ack(masked, 0).value).toBe(SPURIOUS_IRQ);
    expect(takes(patchCpu(masked, 0, { irqMasked: false }), 0).trap).toBeNull();
    const off = msrOk(m, 0, SYS.CNTP_CTL, 0);
    expect(ack(off, 0).value).toBe(SPURIOUS_IRQ);
  });

  it('HW-IRQ-6 / HW-SYS-5: the virtual timer (ID 2) counts counter − CNTVOFF_EL2, modulo 2^32', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 0xffffffff }), (start, off, n, cval) => {
        let m = machineAt(1, true);
        m = patchCpu(m, 0, { counter: start });
        m = setSysRegs(m, 0, { [SYS.CNTVOFF_EL2]: off, [SYS.CNTV_CVAL]: cval, [SYS.CNTV_CTL]: TIMER_CTL.ENABLE });
        m = ticks(m, 0, n);
        const vcount = (start + n - off) >>> 0;
        expect(mrs(m, 0, SYS.CNTVCT).value).toBe(vcount);
        expect(mrs(m, 0, SYS.CNTPCT).value).toBe(start + n);
        expect(ack(m, 0).value).toBe(vcount >= cval ? 2 : SPURIOUS_IRQ);
      }),
    );
  });

  it('HW-CPU-4 / HW-EVT-1: tick advances only its own CPU, by one, wrapping at 2^32', () => {
    let m = patchCpu(machineAt(), 1, { counter: 0xffffffff });
    m = tick(m, 1).machine;
    expect(cpu(m, 1).counter).toBe(0);
    expect(cpu(m, 0).counter).toBe(0);
  });
});

describe('HW-IRQ-7 IPIs', () => {
  it('HW-IRQ-7: ICC_SGIR latches an IPI on exactly the CPUs in the mask, and each takes ID 0', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 0xffffffff }), (sender, mask) => {
        const m0 = machineAt(1, true);
        const m = msrOk(m0, sender, SYS.ICC_SGIR, mask);
        for (const c of [0, 1]) {
          const wanted = ((mask >>> c) & 1) === 1;
          expect(ack(m, c).value).toBe(wanted ? 0 : SPURIOUS_IRQ);
          expect(takes(patchCpu(m, c, { irqMasked: false }), c).trap?.kind ?? null).toBe(wanted ? 'irq' : null);
        }
        // Bits beyond the CPUs are ignored: nothing else in the controller changed.
        expect({ ...m.gic, ipiPending: 0 }).toEqual({ ...m0.gic, ipiPending: 0 });
      }),
    );
  });

  it('HW-IRQ-7: an acknowledged IPI is no longer pending and, after EOI, is not delivered again', () => {
    let m = msrOk(machineAt(1, true), 0, SYS.ICC_SGIR, 0b10);
    const a = ack(m, 1);
    expect(a.value).toBe(0);
    m = msrOk(a.m, 1, SYS.ICC_EOIR, 0);
    expect(ack(m, 1).value).toBe(SPURIOUS_IRQ);
  });
});

describe('HW-IRQ-8 / HW-IRQ-9: HCR.IMO and the virtual interface', () => {
  it('HW-IRQ-8: with HCR.IMO a physical interrupt goes to EL2 from EL1 even with I set, and not while at EL2 with I set', () => {
    const m = raise(enable(machineAt(1, true, HCR.IMO), 4, 0), 4);
    expect(takes(m, 0).trap).toMatchObject({ kind: 'irq', virtual: false, from: 1, to: 2 });
    const at2 = patchCpu(m, 0, { el: 2 });
    expect(takes(at2, 0).trap).toBeNull();
    expect(takes(patchCpu(at2, 0, { irqMasked: false }), 0).trap).toMatchObject({ kind: 'irq', from: 2, to: 2 });
    // Without IMO an interrupt aimed at EL1 is not taken at EL2, whatever I.
    const noImo = raise(enable(machineAt(2, false), 4, 0), 4);
    expect(takes(noImo, 0).trap).toBeNull();
  });

  it('HW-IRQ-9: under HCR.IMO, EL1 acknowledges and ends through ICH_PEND_EL2 / ICH_ACTIVE_EL2, leaving the physical controller alone', () => {
    let m = machineAt(1, true, HCR.IMO);
    // A physical line pending for CPU 1 (CPU 0 would take one aimed at it to EL2 at once).
    m = raise(enable(m, 4, 1), 4);
    m = setSysRegs(m, 0, { [SYS.ICH_PEND_EL2]: (1 << 9) | (1 << 6) });
    const gic = m.gic;
    const a = ack(m, 0);
    expect(a.value).toBe(6);
    expect(cpu(a.m, 0).sys[SYS.ICH_PEND_EL2]).toBe(1 << 9);
    expect(cpu(a.m, 0).sys[SYS.ICH_ACTIVE_EL2]).toBe(1 << 6);
    expect(a.m.gic).toEqual(gic);
    // One active virtual interrupt blocks the next.
    expect(ack(a.m, 0).value).toBe(SPURIOUS_IRQ);
    m = msrOk(a.m, 0, SYS.ICC_EOIR, 6);
    expect(cpu(m, 0).sys[SYS.ICH_ACTIVE_EL2]).toBe(0);
    expect(m.gic).toEqual(gic);
    expect(ack(m, 0).value).toBe(9);
    // At EL2 the same registers reach the physical interface.
    expect(ack(patchCpu(m, 1, { el: 2 }), 1).value).toBe(4);
  });

  it('HW-IRQ-8 / HW-IRQ-9: a pending virtual interrupt is taken at EL0 or EL1 when I is clear, as a virtual irq to EL1', () => {
    for (const [el, masked, taken] of [
      [1, false, true],
      [1, true, false],
      [0, true, false],
      [0, false, true],
      [2, false, false],
    ] as const) {
      const m = setSysRegs(machineAt(el, masked, HCR.IMO), 0, { [SYS.ICH_PEND_EL2]: 1 << 3 });
      const r = takes(m, 0);
      if (!taken) {
        expect(r.trap, `EL${el} I=${masked}`).toBeNull();
        continue;
      }
      expect(r.trap).toMatchObject({ kind: 'irq', virtual: true, from: el, to: 1 });
      expect(cpu(r.machine, 0).pc).toBe(VBAR1 + (el === 1 ? 0x280 : 0x480));
      // Taking it does not acknowledge it.
      expect(cpu(r.machine, 0).sys[SYS.ICH_PEND_EL2]).toBe(1 << 3);
    }
    // Without IMO, ICH_PEND_EL2 delivers nothing.
    expect(takes(setSysRegs(machineAt(1, false), 0, { [SYS.ICH_PEND_EL2]: 1 << 3 }), 0).trap).toBeNull();
  });

  it('HW-IRQ-7 / HW-SYS-4: ICC_SGIR at EL1 under HCR.IMO traps to EL2 and sends nothing', () => {
    const m = machineAt(1, true, HCR.IMO);
    const r = msr(m, 0, SYS.ICC_SGIR, 0b11);
    expect(r.trap).toMatchObject({ kind: 'sysreg', sysreg: SYS.ICC_SGIR, write: true, to: 2 });
    expect(r.machine.gic).toEqual(m.gic);
    // From EL2 it sends.
    expect(msrOk(patchCpu(m, 0, { el: 2 }), 0, SYS.ICC_SGIR, 0b11).gic.ipiPending).toBe(0b11);
  });
});

describe('HW-IRQ-8 / HW-EXEC-5: WFI', () => {
  /** CPU 0 at EL1 with I set, running `wfi; addi r1, r0, 7` from 0x40. */
  function waiting(hcr = 0): Machine {
    let m = machineAt(1, true, hcr);
    m = loadWords(m, 0x40, [WFI, word({ op: 'addi', rd: 1, rs1: 0, imm: 7 })]);
    const r = execute(m, 0);
    expect(r.record.status).toBe('retired');
    expect(cpu(r.machine, 0)).toMatchObject({ waiting: true, pc: 0x44 });
    return r.machine;
  }

  type Source = (m: Machine) => Machine;
  const wakers: Readonly<Record<string, Source>> = {
    'a shared line routed here': (m) => raise(enable(m, 5, 0), 5),
    'an IPI': (m) => msrOk(patchCpu(m, 1, { el: 1 }), 1, SYS.ICC_SGIR, 0b01),
    'the physical timer': (m) => setSysRegs(m, 0, { [SYS.CNTP_CTL]: TIMER_CTL.ENABLE }),
    'the virtual timer': (m) => setSysRegs(m, 0, { [SYS.CNTV_CTL]: TIMER_CTL.ENABLE }),
    'a virtual interrupt under HCR.IMO': (m) => setSysRegs(m, 0, { [SYS.ICH_PEND_EL2]: 1 << 4, [SYS.HCR_EL2]: HCR.IMO }),
  };
  const nonWakers: Readonly<Record<string, Source>> = {
    'a line routed to the other CPU': (m) => raise(enable(m, 5, 1), 5),
    'a disabled line': (m) => raise(m, 6),
    'an IPI to the other CPU': (m) => msrOk(patchCpu(m, 1, { el: 1 }), 1, SYS.ICC_SGIR, 0b10),
    'a masked timer': (m) => setSysRegs(m, 0, { [SYS.CNTP_CTL]: TIMER_CTL.ENABLE | TIMER_CTL.IMASK }),
    'a timer not yet due': (m) => setSysRegs(m, 0, { [SYS.CNTP_CTL]: TIMER_CTL.ENABLE, [SYS.CNTP_CVAL]: 5 }),
    'time passing': (m) => ticks(m, 0, 3),
    'a virtual interrupt without HCR.IMO': (m) => setSysRegs(m, 0, { [SYS.ICH_PEND_EL2]: 1 << 4 }),
    'a virtual interrupt while waiting at EL2': (m) =>
      patchCpu(setSysRegs(m, 0, { [SYS.ICH_PEND_EL2]: 1 << 4, [SYS.HCR_EL2]: HCR.IMO }), 0, { el: 2 }),
  };

  it('HW-EXEC-1 / HW-IRQ-8: a waiting CPU with nothing pending stays waiting and the step changes nothing', () => {
    for (const [name, source] of Object.entries(nonWakers)) {
      const m = source(waiting());
      const r = execute(m, 0);
      expect(r.record.status, name).toBe('waiting');
      expect(r.machine).toBe(m);
      expect(r.trap).toBeNull();
      // An injected word is not executed either.
      expect(execute(m, 0, word({ op: 'addi', rd: 1, rs1: 0, imm: 9 })).machine).toBe(m);
    }
  });

  it('HW-IRQ-8: anything pending wakes a waiting CPU even when masked; it continues after the WFI without taking the interrupt', () => {
    for (const [name, source] of Object.entries(wakers)) {
      const m = source(waiting());
      const r = execute(m, 0);
      expect(r.record.status, name).toBe('retired');
      expect(r.trap).toBeNull();
      expect(cpu(r.machine, 0)).toMatchObject({ waiting: false, pc: 0x48, el: 1 });
      expect(cpu(r.machine, 0).regs[1]).toBe(7);
    }
  });

  it('HW-IRQ-8: a waiting CPU that may take the interrupt wakes into the handler, with ELR after the WFI', () => {
    const m = raise(enable(patchCpu(waiting(), 0, { irqMasked: false }), 5, 0), 5);
    const r = execute(m, 0);
    expect(r.record.status).toBe('interrupted');
    expect(cpu(r.machine, 0)).toMatchObject({ waiting: false, pc: VBAR1 + 0x280 });
    expect(cpu(r.machine, 0).sys[SYS.ELR_EL1]).toBe(0x44);
  });

  it('HW-IRQ-8: a timer that comes due while waiting wakes the CPU', () => {
    let m = setSysRegs(waiting(), 0, { [SYS.CNTP_CTL]: TIMER_CTL.ENABLE, [SYS.CNTP_CVAL]: 3 });
    m = ticks(m, 0, 2);
    expect(execute(m, 0).record.status).toBe('waiting');
    m = tick(m, 0).machine;
    expect(execute(m, 0).record.status).toBe('retired');
  });

  it('HW-EXEC-5: WFI with something already pending does not wait', () => {
    let m = raise(enable(machineAt(1, true), 5, 0), 5);
    m = loadWords(m, 0x40, [WFI]);
    const r = execute(m, 0);
    expect(cpu(r.machine, 0)).toMatchObject({ waiting: false, pc: 0x44 });
  });
});

describe('HW-IRQ-8: PSTATE.I at EL0', () => {
  it('HW-IRQ-8: I masks an EL1-routed interrupt at EL0, but not one routed to EL2 under HCR.IMO', () => {
    for (const [imo, masked, taken] of [
      [false, false, true],
      [false, true, false],
      [true, true, true],
      [true, false, true],
    ] as const) {
      let m = machineAt(0, masked, imo ? HCR.IMO : 0);
      m = { ...m, gic: configureLine(m.gic, 5, true, 0) };
      m = raiseIrq(m, 5).machine;
      const r = takes(m, 0);
      if (!taken) {
        expect(r.trap, `IMO=${imo} I=${masked}`).toBeNull();
        continue;
      }
      expect(r.trap, `IMO=${imo} I=${masked}`).toMatchObject({ kind: 'irq', virtual: false, from: 0, to: imo ? 2 : 1 });
    }
  });
});
