/**
 * Totality and determinism of the hardware model (HW-EXEC-6, HW-MACH-1, HW-EXEC-2): random
 * machines under random sequences of events — instructions (fetched or injected), ticks,
 * interrupt lines and packets, valid or not — never throw; invalid requests are rejected
 * with an error value and the very machine passed in; equal inputs give equal outputs; and
 * no step mutates the machine it was given.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HCR_DEFINED_BITS,
  OPCODES,
  SYSREG_COUNT,
  TINY_MACHINE,
  TLBI_SCOPES,
  configureLine,
  execute,
  makeBase,
  raiseIrq,
  receivePacket,
  resetMachine,
  setIommuRoot,
  tick,
  writeWords,
  type Cpu,
  type ExecRecord,
  type Machine,
  type MachineConfig,
  type MkhvError,
  type Trap,
} from '../../src/hw/index.ts';
import { SMALL_MACHINE, word } from './fixtures.ts';


/** Two CPUs and one device of each kind. */
const TWO_CPU: MachineConfig = { ...SMALL_MACHINE, cpus: 2 };
const CONFIGS = [TINY_MACHINE, TWO_CPU] as const;
/** RAM of 8 KiB: room for every vector (VBAR + 0x480) inside RAM, for fetched programs. */
const BIG_RAM: MachineConfig = { ...TWO_CPU, frames: 32, wordsPerFrame: 64 };

const u32 = fc.integer({ min: 0, max: 0xffffffff });

// ---------------------------------------------------------------------------------------------
// Words: a mix of uniformly random words (mostly UNDEFINED), words with an assigned opcode and
// random operands, and well-formed system instructions.

const ASSIGNED_OPCODES = Object.values(OPCODES);
const arbReg = fc.integer({ min: 0, max: 15 });
const arbSystem: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((imm) => word({ op: 'svc', imm })),
  fc.integer({ min: 0, max: 0xffff }).map((imm) => word({ op: 'hvc', imm })),
  fc.constant(word({ op: 'eret' })),
  fc.constant(word({ op: 'wfi' })),
  fc.tuple(arbReg, fc.integer({ min: 0, max: SYSREG_COUNT - 1 })).map(([rd, sysreg]) => word({ op: 'mrs', rd, sysreg })),
  fc.tuple(arbReg, fc.integer({ min: 0, max: SYSREG_COUNT - 1 })).map(([rs, sysreg]) => word({ op: 'msr', sysreg, rs })),
  fc.tuple(fc.constantFrom(...TLBI_SCOPES), fc.boolean(), arbReg).map(([scope, broadcast, rs]) => word({ op: 'tlbi', scope, broadcast, rs: scope === 'all' ? 0 : rs })),
);
/** Small offsets keep loads, stores and branches near RAM and devices. */
const arbNearby: fc.Arbitrary<number> = fc.oneof(
  fc.tuple(arbReg, arbReg, fc.integer({ min: -256, max: 1300 })).map(([rd, rs1, imm]) => word({ op: 'ld', rd, rs1, imm })),
  fc.tuple(arbReg, arbReg, fc.integer({ min: -256, max: 1300 })).map(([rs2, rs1, imm]) => word({ op: 'st', rs2, rs1, imm })),
  fc.tuple(arbReg, arbReg, fc.integer({ min: -8, max: 8 })).map(([rs1, rs2, offset]) => word({ op: 'bne', rs1, rs2, offset })),
  fc.tuple(arbReg, arbReg, fc.integer({ min: -300, max: 1300 })).map(([rd, rs1, imm]) => word({ op: 'addi', rd, rs1, imm })),
);
const arbWord: fc.Arbitrary<number> = fc.oneof(
  u32,
  fc.tuple(fc.constantFrom(...ASSIGNED_OPCODES), fc.integer({ min: 0, max: 0x3ffffff })).map(([op, low]) => ((op << 26) | low) >>> 0),
  arbSystem,
  arbNearby,
);

// ---------------------------------------------------------------------------------------------
// Random machines: any CPU state the types allow, any controller and IOMMU programming.

interface CpuSeed {
  readonly el: 0 | 1 | 2;
  readonly irqMasked: boolean;
  readonly waiting: boolean;
  readonly pc: number;
  readonly regs: readonly number[];
  readonly sys: readonly number[];
  readonly counter: number;
  readonly translation: boolean;
}

const arbSmall = fc.oneof(fc.integer({ min: 0, max: 1300 }), u32);
const arbCpuSeed: fc.Arbitrary<CpuSeed> = fc.record({
  el: fc.constantFrom(0 as const, 1 as const, 2 as const),
  irqMasked: fc.boolean(),
  waiting: fc.boolean(),
  pc: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 300 }).map((w) => w * 4), weight: 4 }, u32),
  regs: fc.array(arbSmall, { minLength: 15, maxLength: 15 }),
  sys: fc.array(arbSmall, { minLength: SYSREG_COUNT, maxLength: SYSREG_COUNT }),
  counter: arbSmall,
  translation: fc.boolean(),
});

interface MachineSeed {
  readonly config: 0 | 1;
  readonly cpus: readonly CpuSeed[];
  readonly memory: readonly number[];
  readonly lines: ReadonlyArray<readonly [id: number, enabled: boolean, target: number]>;
  readonly roots: readonly number[];
}

const arbMachineSeed: fc.Arbitrary<MachineSeed> = fc.record({
  config: fc.constantFrom(0 as const, 1 as const),
  cpus: fc.array(arbCpuSeed, { minLength: 2, maxLength: 2 }),
  memory: fc.array(arbWord, { maxLength: 256 }),
  lines: fc.array(fc.tuple(fc.integer({ min: 3, max: 7 }), fc.boolean(), fc.integer({ min: 0, max: 1 })), { maxLength: 6 }),
  roots: fc.array(fc.integer({ min: -1, max: 16 }), { minLength: 3, maxLength: 3 }),
});

function seedCpu(base: Cpu, s: CpuSeed): Cpu {
  const sys = s.sys.map((v) => v >>> 0);
  // Keep the table bases inside RAM often enough for walks to get somewhere.
  sys[3] = makeBase(sys[3]! % 16, sys[3]! >>> 28);
  sys[20] = makeBase(sys[20]! % 16, sys[20]! >>> 28);
  sys[19] = sys[19]! & HCR_DEFINED_BITS;
  if (!s.translation) {
    sys[2] = (sys[2]! & ~1) >>> 0;
    sys[19] = sys[19]! & ~1;
  }
  return { ...base, el: s.el, irqMasked: s.irqMasked, waiting: s.waiting, pc: s.pc >>> 0, regs: [0, ...s.regs.map((v) => v >>> 0)], sys, counter: s.counter >>> 0 };
}

function buildMachine(seed: MachineSeed): Machine {
  const config = CONFIGS[seed.config];
  let m = resetMachine(config);
  m = { ...m, cpus: m.cpus.map((c, i) => seedCpu(c, seed.cpus[i]!)), memory: writeWords(m.memory, 0, seed.memory) };
  let gic = m.gic;
  for (const [id, enabled, target] of seed.lines) gic = configureLine(gic, id, enabled, target);
  m = { ...m, gic };
  for (let d = 0; d < config.devices.length; d++) m = setIommuRoot(m, d, seed.roots[d]!);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Events, valid or not.

type Event =
  | { readonly t: 'exec'; readonly c: number; readonly w: number | undefined }
  | { readonly t: 'tick'; readonly c: number }
  | { readonly t: 'irq'; readonly id: number }
  | { readonly t: 'packet'; readonly d: number; readonly words: readonly number[] };

const WEIRD = [Number.NaN, Infinity, -Infinity, 0.5, -1, 2 ** 32, -0, Number.MAX_SAFE_INTEGER + 2] as const;
// Mostly valid requests, so that sequences get somewhere; the rest probe every way to be invalid.
const arbCpuNumber = fc.oneof(
  { arbitrary: fc.constant(0), weight: 10 },
  { arbitrary: fc.constant(1), weight: 6 },
  { arbitrary: fc.integer({ min: -2, max: 4 }), weight: 1 },
  { arbitrary: fc.constantFrom(...WEIRD), weight: 1 },
);
const arbInjected = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 4 },
  { arbitrary: arbWord, weight: 5 },
  { arbitrary: fc.constantFrom(...WEIRD), weight: 1 },
);
const arbPacketWord = fc.oneof({ arbitrary: u32, weight: 8 }, { arbitrary: fc.double(), weight: 1 }, { arbitrary: fc.integer({ min: -5, max: 5 }), weight: 1 });
const arbPacket = fc.oneof(
  { arbitrary: fc.array(arbPacketWord, { maxLength: 20 }), weight: 9 },
  { arbitrary: fc.integer({ min: 250, max: 300 }).map((n) => new Array<number>(n).fill(7)), weight: 1 },
);
const arbEvent: fc.Arbitrary<Event> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('exec' as const), c: arbCpuNumber, w: arbInjected }), weight: 12 },
  { arbitrary: fc.record({ t: fc.constant('tick' as const), c: arbCpuNumber }), weight: 3 },
  {
    arbitrary: fc.record({
      t: fc.constant('irq' as const),
      id: fc.oneof({ arbitrary: fc.integer({ min: 3, max: 7 }), weight: 4 }, fc.integer({ min: -2, max: 40 }), fc.constantFrom(...WEIRD)),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('packet' as const),
      // Device 2 is the NIC of the two-CPU machine.
      d: fc.oneof({ arbitrary: fc.constant(2), weight: 4 }, fc.integer({ min: -1, max: 4 }), fc.constantFrom(...WEIRD)),
      words: arbPacket,
    }),
    weight: 2,
  },
);

/** Whether the rules accept an event on `m` (HW-EXEC-6, HW-EVT-1..3), restated. */
function accepted(m: Machine, e: Event): boolean {
  const cpuOk = (c: number): boolean => Number.isInteger(c) && c >= 0 && c < m.cpus.length;
  switch (e.t) {
    case 'exec':
      return cpuOk(e.c) && (e.w === undefined || (Number.isInteger(e.w) && e.w >= 0 && e.w <= 0xffffffff));
    case 'tick':
      return cpuOk(e.c);
    case 'irq':
      return Number.isInteger(e.id) && e.id >= 3 && e.id < m.geometry.config.irqLines;
    case 'packet':
      return Number.isInteger(e.d) && m.geometry.config.devices[e.d]?.kind === 'nic';
  }
}

interface Outcome {
  readonly machine: Machine;
  readonly error: MkhvError | null;
  readonly record: ExecRecord | null;
  readonly trap: Trap | null;
  readonly ops: readonly string[];
}

function apply(m: Machine, e: Event): Outcome {
  switch (e.t) {
    case 'exec': {
      const r = execute(m, e.c, e.w);
      return { machine: r.machine, error: r.error, record: r.record, trap: r.trap, ops: r.ops };
    }
    case 'tick':
      return { ...tick(m, e.c), record: null, trap: null };
    case 'irq':
      return { ...raiseIrq(m, e.id), record: null, trap: null };
    case 'packet':
      return { ...receivePacket(m, e.d, e.words), record: null, trap: null };
  }
}

const isU32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

/** The shape every machine keeps (HW-CPU-1, HW-CPU-2). */
function checkWellFormed(m: Machine): void {
  for (const cpu of m.cpus) {
    expect(cpu.regs.length).toBe(16);
    expect(cpu.regs[0]).toBe(0);
    if (!cpu.regs.every(isU32) || !cpu.sys.every(isU32) || !isU32(cpu.pc) || !isU32(cpu.counter)) {
      throw new Error(`not a 32-bit value in ${JSON.stringify({ regs: cpu.regs, sys: cpu.sys, pc: cpu.pc, counter: cpu.counter })}`);
    }
    expect(cpu.sys.length).toBe(SYSREG_COUNT);
    expect([0, 1, 2]).toContain(cpu.el);
  }
}

/** Runs the events, checking each step; returns every outcome. */
function runChecked(m0: Machine, events: readonly Event[]): Outcome[] {
  const outcomes: Outcome[] = [];
  let m = m0;
  for (const e of events) {
    const o = apply(m, e);
    if (!accepted(m, e)) {
      // The rejected-operation rule: an error value, and the very machine passed in.
      expect(o.error, JSON.stringify(e)).not.toBeNull();
      expect(o.machine).toBe(m);
      expect(o.trap).toBeNull();
      expect(o.ops).toEqual([]);
      if (o.record !== null) expect(o.record.status).toBe('rejected');
    } else {
      expect(o.error, JSON.stringify(e)).toBeNull();
      if (e.t === 'exec' && o.record !== null) {
        const before = m.cpus[e.c]!;
        const after = o.machine.cpus[e.c]!;
        expect(o.record).toMatchObject({ cpu: e.c, pc: before.pc, el: before.el, nextPc: after.pc, nextEl: after.el });
        if (o.record.status === 'waiting') expect(o.machine).toBe(m);
        expect(o.trap !== null).toBe(o.record.status === 'trapped' || o.record.status === 'interrupted');
      }
      checkWellFormed(o.machine);
    }
    outcomes.push(o);
    m = o.machine;
  }
  return outcomes;
}

// ---------------------------------------------------------------------------------------------

describe('HW-EXEC-6 totality and determinism', () => {
  it('HW-EXEC-6: random event sequences never throw, rejected events leave the very machine unchanged, and replaying gives equal results', () => {
    fc.assert(
      fc.property(arbMachineSeed, fc.array(arbEvent, { minLength: 1, maxLength: 40 }), (seed, events) => {
        const m0 = buildMachine(seed);
        const snapshot = structuredClone(m0);
        const first = runChecked(m0, events);
        // HW-MACH-1: no step mutated the machine it was given.
        expect(m0).toEqual(snapshot);
        // Determinism: the same events on an equal (not identical) machine give equal outcomes.
        const second = runChecked(snapshot, events);
        expect(second).toEqual(first);
      }),
    );
  });

  it('HW-EXEC-6: every kind of invalid request is rejected with an error value and the same machine', () => {
    for (const config of CONFIGS) {
      const m = resetMachine(config);
      const rejected: ReadonlyArray<{ readonly machine: Machine; readonly error: MkhvError | null }> = [
        execute(m, -1),
        execute(m, config.cpus),
        execute(m, 0.5),
        execute(m, Number.NaN),
        execute(m, 0, -1),
        execute(m, 0, 2 ** 32),
        execute(m, 0, 1.5),
        execute(m, 0, Number.NaN),
        tick(m, -1),
        tick(m, config.cpus),
        tick(m, Number.NaN),
        raiseIrq(m, 0),
        raiseIrq(m, 2),
        raiseIrq(m, config.irqLines),
        raiseIrq(m, 3.5),
        receivePacket(m, 0, [1]),
        receivePacket(m, config.devices.length, [1]),
        receivePacket(m, Number.NaN, [1]),
      ];
      for (const r of rejected) {
        expect(r.error).not.toBeNull();
        expect(typeof r.error?.message).toBe('string');
        expect(r.machine).toBe(m);
      }
    }
  });

  it('HW-EXEC-2: a rejected step reports the requested CPU and that CPU’s own pc and EL', () => {
    let m = resetMachine(TWO_CPU);
    const cpus = m.cpus.slice();
    cpus[1] = { ...cpus[1]!, pc: 0x80, el: 2 };
    m = { ...m, cpus };
    const r = execute(m, 1, -5);
    expect(r.record).toMatchObject({ cpu: 1, status: 'rejected', pc: 0x80, el: 2, nextPc: 0x80, nextEl: 2 });
  });

  it('HW-EXEC-6: random programs fetched from memory run for hundreds of steps without throwing', () => {
    fc.assert(
      fc.property(
        fc.array(arbCpuSeed, { minLength: 2, maxLength: 2 }),
        fc.array(arbWord, { minLength: 16, maxLength: 128 }),
        fc.integer({ min: 100, max: 300 }),
        (seeds, program, steps) => {
          // Translation off, pc 0, vectors inside RAM, and the program tiled over all of RAM
          // so that every trap lands in code.
          const base = resetMachine(BIG_RAM);
          const ramWords = base.geometry.ramWords;
          const tiled = Array.from({ length: ramWords }, (_, i) => program[i % program.length]!);
          const cpus = base.cpus.map((c, i) => {
            const cpu = seedCpu(c, { ...seeds[i]!, translation: false, waiting: false, pc: 0 });
            const sys = cpu.sys.slice();
            sys[4] = (sys[4]! % 256) * 4;
            sys[21] = (sys[21]! % 256) * 4;
            return { ...cpu, sys };
          });
          let m: Machine = { ...base, cpus, memory: writeWords(base.memory, 0, tiled) };
          for (let i = 0; i < steps; i++) {
            const c = i % m.cpus.length;
            const r = execute(m, c);
            expect(r.error).toBeNull();
            expect(r.record.status).not.toBe('rejected');
            m = r.machine;
            if (i % 16 === 15) m = tick(m, c).machine;
          }
          checkWellFormed(m);
        },
      ),
    );
  });
});
