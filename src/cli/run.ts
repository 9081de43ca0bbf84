/**
 * `mkhv run <scenario> <trace>` (CLI-RUN-1): replays a trace on a scenario and prints one
 * record per step — readable lines by default, or with `--json` the record header and the
 * records as JSON lines (spec/oracle.md, ORC-REC-1..5).
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { builtinArchs, builtinTable } from '../perf/builtin.ts';
import { decodeScenario, decodeTrace } from '../oracle/formats.ts';
import { bootInstance } from '../oracle/instance.ts';
import type { StepRecord } from '../oracle/record.ts';
import { DEFAULT_ARCH } from '../oracle/session.ts';
import type { SystemEvent } from '../system/index.ts';
import { describeOptions, parseOptions, type OptionSpec } from './args.ts';
import { readJsonFile } from './files.ts';
import { EXIT, type Io } from './io.ts';
import { describeTrap } from './trace-format.ts';

export const RUN_OPTIONS: readonly OptionSpec[] = [
  { name: 'arch', value: { placeholder: 'id', choices: builtinArchs() }, help: `the cost table the cycles are under (default ${DEFAULT_ARCH})` },
  { name: 'json', help: 'print the header and the records as JSON lines' },
];

export const RUN_HELP = [
  'usage: mkhv run <scenario.json> <trace.json> [options]',
  '',
  'Boots the scenario, replays the trace one event at a time and prints one record per step:',
  'the event, any trap, the registers and memory words that changed, what each domain observed,',
  'thread or domain state changes, the primitive operations with their cycles, and the',
  'fingerprint of the state reached. The formats are in spec/oracle.md and spec/schema/.',
  '',
  'options:',
  ...describeOptions(RUN_OPTIONS),
].join('\n');

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

function describeEvent(e: SystemEvent): string {
  switch (e.kind) {
    case 'exec':
      return e.insn === undefined ? `exec cpu${e.cpu}` : `exec cpu${e.cpu} insn ${hex(e.insn)}`;
    case 'tick':
      return `tick cpu${e.cpu}`;
    case 'irq':
      return `irq line ${e.line}`;
    case 'device':
      return `device ${e.device} packet [${e.packet.join(', ')}]`;
    case 'inject':
      return `crash ${e.fault.domain}`;
  }
}

/** One readable line per record (CLI-RUN-1). */
export function describeRecord(r: StepRecord): string {
  const parts = [`#${r.index} ${describeEvent(r.event)}`];
  if (r.error !== null) parts.push(`rejected (${r.error.code}): ${r.error.message}`);
  if (r.trap !== null) parts.push(describeTrap(r.trap));
  const regs = r.registers.map((c) => `${r.registers.some((o) => o.cpu !== c.cpu) ? `cpu${c.cpu}.` : ''}${c.reg}=${hex(c.value)}`);
  if (regs.length > 0) parts.push(regs.join(' '));
  if (r.memory.length > 0) parts.push(r.memory.map((m) => `[${hex(m.address)}]=${hex(m.value)}`).join(' '));
  for (const [domain, list] of Object.entries(r.observations)) {
    for (const o of list) parts.push(`${domain}/${o.subject} ${o.kind} [${o.values.join(', ')}]`);
  }
  for (const l of r.lifecycle) parts.push(`${l.subject} ${l.from}→${l.to}`);
  parts.push(`${r.ops.length} ops, ${Math.round(r.cycles)} cycles`, r.fingerprint);
  return parts.join(' | ');
}

export function runRun(args: readonly string[], io: Io): number {
  const parsed = parseOptions('run', args, RUN_OPTIONS, 2);
  if (E.isLeft(parsed)) return usage(io, parsed.left);
  const [scenarioPath, tracePath] = parsed.right.positional;
  if (scenarioPath === undefined || tracePath === undefined) return usage(io, 'run: give a scenario file and a trace file');
  const scenarioJson = readJsonFile(scenarioPath, 'scenario');
  if (E.isLeft(scenarioJson)) return usage(io, `run: ${scenarioJson.left.message}`);
  const scenario = decodeScenario(scenarioJson.right);
  if (E.isLeft(scenario)) return usage(io, `run: ${scenarioPath}: ${scenario.left.message}`);
  const traceJson = readJsonFile(tracePath, 'trace');
  if (E.isLeft(traceJson)) return usage(io, `run: ${traceJson.left.message}`);
  const trace = decodeTrace(traceJson.right);
  if (E.isLeft(trace)) return usage(io, `run: ${tracePath}: ${trace.left.message}`);
  const table = builtinTable(parsed.right.values.get('arch') ?? DEFAULT_ARCH);
  if (E.isLeft(table)) return usage(io, `run: ${table.left.message}`);
  const booted = bootInstance(scenario.right, table.right);
  if (E.isLeft(booted)) return usage(io, `run: ${scenarioPath}: ${booted.left.message}`);
  const json = parsed.right.flags.has('json');
  let inst = booted.right;
  io.out(json ? JSON.stringify(inst.header) : `${scenario.right.name ?? scenarioPath}: ${inst.header.supervisor}, ${trace.right.events.length} events, cycles under ${inst.header.arch}, boot state ${inst.fingerprint()}`);
  for (const event of trace.right.events) {
    const r = inst.step(event);
    inst = r.instance;
    io.out(json ? JSON.stringify(r.record) : describeRecord(r.record));
  }
  return EXIT.OK;
}

function usage(io: Io, message: string): number {
  io.err(`mkhv: ${message}`);
  io.err(`Try 'mkhv run --help'.`);
  return EXIT.USAGE;
}
