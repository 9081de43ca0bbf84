/**
 * ORC-REC-1..4: the records say exactly what changed — checked against a naive comparison of
 * the whole machine before and after each step — and they are deterministic.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { readWord, SYSREGS, type Machine } from '../../src/hw/index.ts';
import { builtinTable } from '../../src/perf/builtin.ts';
import { foldCost } from '../../src/perf/cost.ts';
import { decodeScenario, type Scenario } from '../../src/oracle/formats.ts';
import { bootInstance, type Instance } from '../../src/oracle/instance.ts';
import { CAPABILITIES, machineChanges, RECORD_FORMAT, RECORD_VERSION, type StepRecord } from '../../src/oracle/record.ts';
import { bootMicrokernel, bootHypervisorSystem, hypervisor, microkernel, step, type SystemEvent } from '../../src/system/index.ts';
import { HV_SCENARIO, MK_SCENARIO } from './fixtures.ts';

const table = (() => {
  const t = builtinTable('skylake');
  if (E.isLeft(t)) throw new Error(t.left.message);
  return t.right;
})();

function boot(s: Scenario): Instance {
  const d = decodeScenario(JSON.parse(JSON.stringify(s)));
  if (E.isLeft(d)) throw new Error(d.left.message);
  const i = bootInstance(d.right, table);
  if (E.isLeft(i)) throw new Error(i.left.message);
  return i.right;
}

/** A fixed, varied trace: execs on both CPUs, ticks, an interrupt, and a rejected event. */
const TRACE: SystemEvent[] = Array.from({ length: 120 }, (_, i): SystemEvent => (i === 50 ? { kind: 'exec', cpu: 9 } : i % 17 === 16 ? { kind: 'tick', cpu: i % 2 } : i === 80 ? { kind: 'irq', line: 3 } : { kind: 'exec', cpu: i % 3 === 2 ? 1 : 0 }));

function replay(s: Scenario, events: readonly SystemEvent[] = TRACE): StepRecord[] {
  let inst = boot(s);
  return events.map((e) => {
    const r = inst.step(e);
    inst = r.instance;
    return r.record;
  });
}

/** Every register and word that differs, by brute force over the whole machine. */
function naiveChanges(a: Machine, b: Machine): { regs: string[]; words: string[] } {
  const regs: string[] = [];
  b.cpus.forEach((cb, c) => {
    const ca = a.cpus[c]!;
    for (let r = 1; r < 16; r++) if (ca.regs[r] !== cb.regs[r]) regs.push(`${c}:r${r}=${cb.regs[r]}`);
    if (ca.pc !== cb.pc) regs.push(`${c}:pc=${cb.pc}`);
    if (ca.el !== cb.el) regs.push(`${c}:el=${cb.el}`);
    if (ca.irqMasked !== cb.irqMasked) regs.push(`${c}:irqMasked=${cb.irqMasked ? 1 : 0}`);
    if (ca.waiting !== cb.waiting) regs.push(`${c}:waiting=${cb.waiting ? 1 : 0}`);
    if (ca.counter !== cb.counter) regs.push(`${c}:counter=${cb.counter}`);
    for (const s of SYSREGS) if (ca.sys[s.id] !== cb.sys[s.id]) regs.push(`${c}:${s.name}=${cb.sys[s.id]}`);
  });
  const words: string[] = [];
  for (let i = 0; i < b.memory.size; i++) {
    const v = readWord(b.memory, i);
    if (readWord(a.memory, i) !== v) words.push(`${i * 4}=${v}`);
  }
  return { regs: regs.sort(), words };
}

describe('step records', () => {
  it('ORC-REC-1: the header names the format, version, capabilities, supervisor and table', () => {
    expect(boot(MK_SCENARIO).header).toEqual({ format: RECORD_FORMAT, version: RECORD_VERSION, capabilities: CAPABILITIES, producer: 'mkhv 0.1.0', supervisor: 'microkernel', arch: 'skylake' });
    expect(RECORD_VERSION).toMatch(/^\d+\.\d+$/);
  });

  it('ORC-REC-3: registers and memory list exactly what differs after each step, on both supervisors', () => {
    for (const [s, sup, bootSys] of [
      [MK_SCENARIO, microkernel, bootMicrokernel],
      [HV_SCENARIO, hypervisor, bootHypervisorSystem],
    ] as const) {
      const b = (bootSys as (m: unknown, s: unknown) => E.Either<unknown, { machine: Machine }>)(s.machine, s.boot);
      if (E.isLeft(b)) throw new Error('boot');
      let sys = b.right as never;
      let wrote = 0;
      for (const e of TRACE) {
        const r = step(sup as never, sys, e) as { system: { machine: Machine } };
        const { registers, memory } = machineChanges((sys as { machine: Machine }).machine, r.system.machine);
        const naive = naiveChanges((sys as { machine: Machine }).machine, r.system.machine);
        expect(registers.map((c) => `${c.cpu}:${c.reg}=${c.value}`).sort()).toEqual(naive.regs);
        expect(memory.map((m) => `${m.address}=${m.value}`)).toEqual(naive.words);
        wrote += memory.length;
        sys = r.system as never;
      }
      // The scenarios store to RAM, so the memory comparison is not vacuous.
      expect(wrote, s.supervisor).toBeGreaterThan(0);
    }
  });

  it('ORC-REC-3: a rejected event records its error and changes nothing', () => {
    const records = replay(MK_SCENARIO);
    const rejected = records[50]!;
    expect(rejected.error?.code).toBe('exec.cpu');
    expect(rejected.registers).toEqual([]);
    expect(rejected.memory).toEqual([]);
    expect(rejected.ops).toEqual([]);
    expect(rejected.fingerprint).toBe(records[49]!.fingerprint);
    expect(records.filter((r) => r.error !== null)).toHaveLength(1);
  });

  it('ORC-REC-3: traps, observations by domain, lifecycle, ops and their cycles', () => {
    const records = replay(MK_SCENARIO);
    const calls = records.filter((r) => r.trap?.kind === 'svc' && r.trap.imm === 3);
    expect(calls.length).toBeGreaterThan(2);
    expect(calls.every((r) => typeof r.trap!.esr === 'number')).toBe(true);
    expect(records.some((r) => (r.observations['default'] ?? []).some((o) => o.subject === 'server'))).toBe(true);
    expect(records.some((r) => r.lifecycle.some((l) => l.subject === 'client' && l.to === 'blockedOnReply'))).toBe(true);
    for (const r of records) expect(r.cycles).toBeCloseTo(foldCost(r.ops, table).cycles, 9);
    for (const r of replay(HV_SCENARIO)) expect(Object.keys(r.observations)).toEqual(Object.keys(r.observations).sort());
    expect(replay(HV_SCENARIO).some((r) => Object.keys(r.observations).length > 0)).toBe(true);
  });

  it('ORC-REC-4: the same scenario and trace give byte-identical records; reset replays to the same fingerprints', () => {
    for (const s of [MK_SCENARIO, HV_SCENARIO]) {
      expect(JSON.stringify(replay(s))).toBe(JSON.stringify(replay(s)));
      let inst = boot(s);
      const first = TRACE.slice(0, 30).map((e) => (inst = inst.step(e).instance).fingerprint());
      inst = inst.reset();
      expect(inst.index).toBe(0);
      const again = TRACE.slice(0, 30).map((e) => (inst = inst.step(e).instance).fingerprint());
      expect(again).toEqual(first);
    }
  });
});
