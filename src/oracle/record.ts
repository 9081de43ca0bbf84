/**
 * Step records (ORC-REC-1..5 in spec/oracle.md): what the oracle says about each step, in a
 * versioned format another implementation can reproduce field by field — the event, the
 * trap and its syndrome, the registers and memory words that changed, what each domain
 * observed, the lifecycle changes, the primitive operations and their cycles, and the
 * fingerprint of the state reached.
 *
 * @module
 */
import { forEachChange, SYSREGS, type Cpu, type Machine, type MkhvError, type Trap } from '../hw/index.ts';
import { cyclesOf, overlapFactor, unitCosts } from '../perf/cost.ts';
import type { PrimitiveOp } from '../perf/ops.ts';
import type { CostTable } from '../perf/table.ts';
import { fingerprint, type LifecycleTransition, type StepResult, type SystemEvent } from '../system/index.ts';

/** ORC-REC-1: the format tag and version of the records. */
export const RECORD_FORMAT = 'mkhv-record' as const;
export const RECORD_VERSION = '1.0' as const;

/**
 * ORC-REC-2: the fields a record may carry. An implementation declares the ones it produces
 * in its header; comparisons look only at the fields both sides declare.
 */
export const CAPABILITIES = ['event', 'error', 'trap', 'registers', 'memory', 'observations', 'lifecycle', 'ops', 'cycles', 'fingerprint'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** The first line of every stream of records. */
export interface RecordHeader {
  readonly format: typeof RECORD_FORMAT;
  readonly version: string;
  readonly capabilities: readonly Capability[];
  /** Who produced the records: `mkhv` and its version, or another implementation. */
  readonly producer: string;
  readonly supervisor: 'microkernel' | 'hypervisor';
  /** The cost table the cycles are under. */
  readonly arch: string;
}

/** A changed register of one CPU: a general register `r1`..`r15`, `pc`, `el`, `irqMasked`, `waiting`, `counter` or a system register by name. */
export interface RegisterChange {
  readonly cpu: number;
  readonly reg: string;
  readonly value: number;
}

/** A changed word of RAM, by physical byte address. */
export interface MemoryChange {
  readonly address: number;
  readonly value: number;
}

export interface ObservationRecord {
  readonly subject: string;
  readonly kind: string;
  readonly values: readonly number[];
}

/** ORC-REC-3: one step. */
export interface StepRecord {
  readonly index: number;
  readonly event: SystemEvent;
  /** The event was rejected (and the system is unchanged): why. */
  readonly error: { readonly code: string; readonly message: string } | null;
  /** The trap the step took, with its syndrome, or null. */
  readonly trap: Trap | null;
  readonly registers: readonly RegisterChange[];
  readonly memory: readonly MemoryChange[];
  /** What each domain observed, by domain name in sorted order. */
  readonly observations: Readonly<Record<string, readonly ObservationRecord[]>>;
  readonly lifecycle: readonly LifecycleTransition[];
  readonly ops: readonly PrimitiveOp[];
  /** The cycles of `ops` under the header's table, with the default knobs. */
  readonly cycles: number;
  /** The fingerprint of the system after the step (SYS-7). */
  readonly fingerprint: string;
}

export function recordHeader(supervisor: 'microkernel' | 'hypervisor', arch: string): RecordHeader {
  return { format: RECORD_FORMAT, version: RECORD_VERSION, capabilities: CAPABILITIES, producer: 'mkhv 0.1.0', supervisor, arch };
}

const SYSREG_NAME: readonly string[] = (() => {
  const names: string[] = [];
  for (const r of SYSREGS) names[r.id] = r.name;
  return names;
})();

/** The registers of one CPU that differ, in a fixed order: r1..r15, pc, el, flags, counter, system registers by number. */
function cpuChanges(cpu: number, a: Cpu, b: Cpu, out: RegisterChange[]): void {
  if (a === b) return;
  for (let r = 1; r < b.regs.length; r++) if (a.regs[r] !== b.regs[r]) out.push({ cpu, reg: `r${r}`, value: b.regs[r]! });
  if (a.pc !== b.pc) out.push({ cpu, reg: 'pc', value: b.pc });
  if (a.el !== b.el) out.push({ cpu, reg: 'el', value: b.el });
  if (a.irqMasked !== b.irqMasked) out.push({ cpu, reg: 'irqMasked', value: b.irqMasked ? 1 : 0 });
  if (a.waiting !== b.waiting) out.push({ cpu, reg: 'waiting', value: b.waiting ? 1 : 0 });
  if (a.counter !== b.counter) out.push({ cpu, reg: 'counter', value: b.counter });
  if (a.sys !== b.sys) {
    for (let s = 0; s < b.sys.length; s++) if (a.sys[s] !== b.sys[s]) out.push({ cpu, reg: SYSREG_NAME[s] ?? `sys${s}`, value: b.sys[s]! });
  }
}

/** ORC-REC-3: registers of every CPU and RAM words that differ between two machines. */
export function machineChanges(before: Machine, after: Machine): { registers: RegisterChange[]; memory: MemoryChange[] } {
  const registers: RegisterChange[] = [];
  for (let c = 0; c < after.cpus.length; c++) cpuChanges(c, before.cpus[c]!, after.cpus[c]!, registers);
  const memory: MemoryChange[] = [];
  forEachChange(before.memory, after.memory, (index, _was, value) => memory.push({ address: index * 4, value }));
  return { registers, memory };
}

/** Prices steps under one table with the default knobs. */
export interface Pricer {
  readonly arch: string;
  price(ops: readonly PrimitiveOp[]): number;
}

export function pricer(table: CostTable): Pricer {
  const unit = unitCosts(table);
  const factor = overlapFactor(table);
  return { arch: table.arch, price: (ops) => cyclesOf(ops, unit, factor) };
}

const errorOf = (e: MkhvError | null) => (e === null ? null : { code: e.code, message: e.message });

/** ORC-REC-3: the record of step `index`, from the system before it and its result. */
export function stepRecord<S>(index: number, event: SystemEvent, before: { readonly machine: Machine }, r: StepResult<S>, cost: Pricer): StepRecord {
  const { registers, memory } = machineChanges(before.machine, r.system.machine);
  const byDomain: Record<string, ObservationRecord[]> = {};
  for (const o of r.observations) (byDomain[o.domain] ??= []).push({ subject: o.subject, kind: o.kind, values: o.values });
  const observations: Record<string, ObservationRecord[]> = {};
  for (const d of Object.keys(byDomain).sort()) observations[d] = byDomain[d]!;
  return {
    index,
    event,
    error: errorOf(r.error),
    trap: r.trap,
    registers,
    memory,
    observations,
    lifecycle: r.lifecycle,
    ops: r.ops,
    cycles: cost.price(r.ops),
    fingerprint: fingerprint(r.system),
  };
}
