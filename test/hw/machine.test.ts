/**
 * The machine as a value: its configuration fields, power-on state, CPU reset state, the
 * per-CPU counter, and physical memory as a persistent word store (HW-CFG-1, HW-MACH-1..2,
 * HW-CPU-1..4, HW-MEM-1..3).
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  DEMO_MACHINE,
  emptyStore,
  execute,
  forEachNonZero,
  GENERAL_REGS,
  readWord,
  readWords,
  resetMachine,
  SYSREG_COUNT,
  tick,
  TINY_MACHINE,
  validateMachineConfig,
  writeWord,
  writeWords,
  type Machine,
  type WordStore,
} from '../../src/hw/index.ts';
import { encodeValid } from './arbitraries.ts';

describe('configuration fields (HW-CFG-1)', () => {
  it('HW-CFG-1: a config has exactly the fields of the table, and each is required', () => {
    const fields = ['cpus', 'frames', 'wordsPerFrame', 'pageTableLevels', 'pageTableIndexBits', 'tlbEntries', 'irqLines', 'devices'];
    expect(Object.keys(TINY_MACHINE).sort()).toEqual([...fields].sort());
    for (const f of fields) {
      const partial: Record<string, unknown> = { ...TINY_MACHINE };
      delete partial[f];
      const r = validateMachineConfig(partial);
      expect(E.isLeft(r) && r.left.path, f).toBe(f);
    }
  });

  it('HW-CFG-1: each device kind has exactly its fields', () => {
    const devices = [
      { kind: 'console', irq: 3 },
      { kind: 'block', irq: 4, sectors: 2 },
      { kind: 'nic', irq: 5, rxQueue: 1 },
    ];
    const ok = validateMachineConfig({ ...TINY_MACHINE, devices });
    expect(E.isRight(ok) && ok.right.devices).toEqual(devices);
  });
});

describe('power-on state (HW-MACH-1, HW-MACH-2, HW-CPU-1, HW-CPU-3)', () => {
  it('HW-MACH-2, HW-CPU-1, HW-CPU-3: every CPU starts at EL1, pc 0, IRQs masked, registers zero, TLB empty; nothing is pending, enabled or mapped', () => {
    for (const config of [TINY_MACHINE, DEMO_MACHINE]) {
      const m = resetMachine(config);
      expect(m.cpus).toHaveLength(config.cpus);
      for (const cpu of m.cpus) {
        expect(cpu).toMatchObject({ el: 1, pc: 0, irqMasked: true, waiting: false, counter: 0 });
        expect(cpu.regs).toEqual(new Array(GENERAL_REGS).fill(0));
        expect(cpu.sys).toEqual(new Array(SYSREG_COUNT).fill(0));
        expect(cpu.tlb.entries).toEqual([]);
      }
      expect(m.gic).toMatchObject({ enabled: 0, pending: 0, active: 0, ipiPending: 0 });
      expect(m.gic.localActive).toEqual(new Array(config.cpus).fill(0));
      expect(m.iommu.roots).toEqual(config.devices.map(() => -1));
      for (const d of m.devices) {
        if (d.kind === 'console') expect(d.output).toBe('');
        if (d.kind === 'block') expect({ status: d.status, count: d.count }).toEqual({ status: 0, count: 0 });
        if (d.kind === 'nic') expect({ status: d.status, rxQueue: d.rxQueue, transmitted: d.transmitted }).toEqual({ status: 0, rxQueue: [], transmitted: [] });
      }
    }
  });

  it('HW-MEM-1, HW-MACH-2: RAM and disks are zero at power-on', () => {
    const m = resetMachine(DEMO_MACHINE);
    let nonZero = 0;
    forEachNonZero(m.memory, () => nonZero++);
    expect(nonZero).toBe(0);
    expect(m.memory.size).toBe(DEMO_MACHINE.frames * DEMO_MACHINE.wordsPerFrame);
    const disk = m.devices.find((d) => d.kind === 'block');
    if (disk?.kind === 'block') forEachNonZero(disk.disk, () => nonZero++);
    expect(nonZero).toBe(0);
  });

  it('HW-MACH-1: a step returns a new machine and leaves the one it was given unchanged', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 20 }), (words) => {
        let m: Machine = resetMachine(TINY_MACHINE);
        for (const w of words) {
          const snapshot = structuredClone(m);
          const r = execute(m, 0, w);
          expect(m).toEqual(snapshot);
          m = r.machine;
        }
      }),
    );
  });
});

describe('the counter (HW-CPU-4)', () => {
  it('HW-CPU-4: only tick advances a CPU counter, by one, and only that CPU\'s', () => {
    let m = resetMachine({ ...TINY_MACHINE, cpus: 2 });
    const nop = encodeValid({ op: 'addi', rd: 0, rs1: 0, imm: 0 });
    for (let i = 0; i < 5; i++) m = execute(m, 0, nop).machine;
    expect(m.cpus.map((c) => c.counter)).toEqual([0, 0]);
    m = tick(tick(tick(m, 1).machine, 1).machine, 0).machine;
    expect(m.cpus.map((c) => c.counter)).toEqual([1, 2]);
  });
});

describe('physical memory as a persistent word store (HW-MEM-1..3)', () => {
  type Op = { readonly index: number; readonly value: number };
  const SIZE = 5000;
  const arbOps = fc.array(
    fc.record({ index: fc.integer({ min: -3, max: SIZE + 3 }), value: fc.integer({ min: -(2 ** 32), max: 2 ** 33 }) }),
    { maxLength: 60 },
  );

  it('HW-MEM-1, HW-MEM-3: reads see the last write to each word (mod 2^32), zero elsewhere; out-of-range writes are ignored', () => {
    fc.assert(
      fc.property(arbOps, (ops: readonly Op[]) => {
        let store: WordStore = emptyStore(SIZE);
        const model = new Map<number, number>();
        for (const { index, value } of ops) {
          store = writeWord(store, index, value);
          if (index >= 0 && index < SIZE) model.set(index, Number(BigInt.asUintN(32, BigInt(value))));
        }
        for (const { index } of ops) expect(readWord(store, index)).toBe(model.get(index) ?? 0);
        const listed: [number, number][] = [];
        forEachNonZero(store, (i, v) => listed.push([i, v]));
        expect(listed).toEqual([...model.entries()].filter(([, v]) => v !== 0).sort((a, b) => a[0] - b[0]));
      }),
    );
  });

  it('HW-MEM-3: every earlier version of the store is unchanged by later writes', () => {
    fc.assert(
      fc.property(arbOps, (ops: readonly Op[]) => {
        const versions: WordStore[] = [emptyStore(SIZE)];
        const contents: number[][] = [readWords(versions[0]!, 0, SIZE)];
        for (const { index, value } of ops) {
          const next = writeWord(versions[versions.length - 1]!, index, value);
          versions.push(next);
          contents.push(readWords(next, 0, SIZE));
        }
        versions.forEach((v, i) => expect(readWords(v, 0, SIZE)).toEqual(contents[i]));
      }),
      { numRuns: 20 },
    );
  });

  it('HW-MEM-3: writing a word its current value returns the same store; bulk writes equal word writes', () => {
    const s = writeWords(emptyStore(300), 10, [1, 2, 3]);
    expect(writeWord(s, 11, 2)).toBe(s);
    expect(readWords(s, 9, 5)).toEqual([0, 1, 2, 3, 0]);
  });
});
