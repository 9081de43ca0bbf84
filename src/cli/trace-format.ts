/**
 * Human-readable lines for execution steps: what ran, what it changed, where it trapped.
 *
 * @module
 */
import { BLOCK_REG, decode, formatInstruction, SYSREGS, type ExecResult, type Machine, type Trap } from '../hw/index.ts';
import { hypercallName } from '../hypervisor/abi.ts';
import type { Observation, StepResult } from '../system/index.ts';

const hex8 = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');
const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

/** One line describing a trap. */
export function describeTrap(t: Trap): string {
  const route = `EL${t.from}→EL${t.to}`;
  switch (t.kind) {
    case 'svc':
    case 'hvc':
      return `${t.kind.toUpperCase()} #${t.imm} ${route}`;
    case 'undefined':
      return `UNDEFINED ${route}`;
    case 'wfi':
      return `WFI trapped ${route}`;
    case 'sysreg':
      return `${t.write ? 'MSR' : 'MRS'} ${SYSREGS[t.sysreg]?.name ?? t.sysreg} trapped ${route}`;
    case 'tlbi':
      return `TLBI ${t.scope} trapped ${route}`;
    case 'irq':
      return `${t.virtual ? 'virtual ' : ''}IRQ ${route}`;
    case 'abort': {
      const where = t.ipa === null ? hex(t.va) : `${hex(t.va)} (IPA ${hex(t.ipa)})`;
      return `${t.access} abort: stage-${t.stage} ${t.fault} fault at ${where} ${route}`;
    }
  }
}

/** One line for a step: index, level, pc, instruction, then its effects and trap. */
export function describeStep(index: number, r: ExecResult, instruction: string, after: Machine): string {
  const rec = r.record;
  const effects: string[] = [];
  if (rec.regWrite !== null) effects.push(`r${rec.regWrite.reg} ← ${hex(rec.regWrite.value)}`);
  if (rec.sysregWrite !== null) effects.push(`${SYSREGS[rec.sysregWrite.sysreg]?.name ?? rec.sysregWrite.sysreg} ← ${hex(rec.sysregWrite.value)}`);
  const mem = rec.memAccess;
  if (mem !== null) {
    const target = mem.device === null ? `[${hex(mem.va)}]` : `${after.devices[mem.device]?.kind ?? 'device'}[${hex(mem.va)}]`;
    effects.push(mem.access === 'load' ? `${target} → ${hex(mem.value)}` : `${target} ← ${hex(mem.value)}`);
  }
  if (r.ops.includes('tlbMiss')) effects.push('TLB miss');
  if (r.trap !== null) effects.push(`⇒ ${describeTrap(r.trap)}`);
  if (rec.status === 'retired' && rec.nextEl !== rec.el) effects.push(`⇒ EL${rec.nextEl} at ${hex(rec.nextPc)}`);
  const head = `${String(index).padStart(4)}  EL${rec.el} ${hex8(rec.pc)}  ${instruction.padEnd(26)}`;
  return effects.length === 0 ? head.trimEnd() : `${head} ${effects.join(', ')}`;
}

const BLOCK_REGISTER_NAMES: readonly string[] = Object.keys(BLOCK_REG);

/** One observation, in words. */
function describeObservation(o: Observation): string {
  const [a, b, ...rest] = o.values;
  switch (o.kind) {
    case 'message':
      return `${o.subject} receives a message: badge ${a}, label ${b}, words [${rest.join(', ')}]`;
    case 'signal':
      return `${o.subject} receives a signal: badge ${a}`;
    case 'fault':
      return `${o.subject} faults (label ${a}): delivered to its fault handler`;
    case 'reply':
      return `${o.subject} gets a fault reply labelled ${a}`;
    case 'error':
      return `${o.subject}'s invocation fails with error ${a}`;
    case 'stopped':
      return `${o.subject} faults (label ${a}) with no handler and stops`;
    case 'hypercall':
      return `${o.subject}: ${hypercallName(a ?? 0, b ?? 0)} → ${(rest[0] ?? 0) | 0}`;
    case 'console':
      return `${o.subject} writes ${JSON.stringify(String.fromCharCode(a ?? 0))} to its console`;
    case 'event':
      return `port ${a} of ${o.domain} becomes pending`;
    case 'device-read':
      return `${o.subject} reads ${b} from block-device register ${BLOCK_REGISTER_NAMES[a ?? 0] ?? a} (emulated)`;
    case 'device-write':
      return `${o.subject} writes ${b} to block-device register ${BLOCK_REGISTER_NAMES[a ?? 0] ?? a} (emulated)`;
    default:
      return `${o.subject}: ${o.kind} [${o.values.join(', ')}]`;
  }
}

/**
 * The lines for one system step: the hardware step (as {@link describeStep}, with the name of
 * the thread or vCPU that ran it), then what the supervisor entry delivered and changed.
 */
export function describeSystemStep<S>(index: number, r: StepResult<S>, subject: string): string[] {
  if (r.record === null) return [`${String(index).padStart(4)}  ${subject}`];
  const text = r.record.word === null ? '' : formatInstruction(decode(r.record.word), r.record.pc);
  const head = describeStep(index, { machine: r.system.machine, record: r.record, ops: r.ops, trap: r.trap, error: null }, text, r.system.machine);
  const lines = [head.replace(/^(\s*\d+)  /, `$1  ${subject.padEnd(7)} `)];
  for (const o of r.observations) lines.push(`${' '.repeat(15)}↳ ${describeObservation(o)}`);
  for (const t of r.lifecycle) lines.push(`${' '.repeat(15)}↳ ${t.subject}: ${t.from} → ${t.to}`);
  return lines;
}
