/**
 * The oracle's input formats (ORC-FMT-1..4 in spec/oracle.md): a scenario — the machine, the
 * supervisor and its boot configuration with the programs — and a trace of events, both JSON,
 * decoded by io-ts codecs that reject unknown fields and name the JSON path and the expected
 * type of the first problem. Decoding never throws. The JSON Schemas in spec/schema/ describe
 * the same formats for implementations in other languages.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { assemble, validateMachineConfig, mkError, type MachineConfig, type MkhvError } from '../hw/index.ts';
import type { HypervisorScenario } from '../hypervisor/scenario.ts';
import type { KernelScenario } from '../kernel/scenario.ts';
import { decodeWith, describeValue, refine, strict } from '../perf/decode.ts';
import type { SystemEvent } from '../system/index.ts';
import { MAX_ALPHABET, type CheckSpec } from '../check/spec.ts';

/** The format tags and the version of the input formats (ORC-FMT-1). */
export const SCENARIO_FORMAT = 'mkhv-scenario' as const;
export const TRACE_FORMAT = 'mkhv-trace' as const;
export const INPUT_VERSION = 1;

const natural = refine(t.number, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
const word = refine(t.number, (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, 'a 32-bit unsigned integer');
/** A string's length in Unicode code points (a surrogate pair is one), as JSON Schema's minLength and maxLength count it (ORC-SCHEMA-2). */
const codePoints = (s: string): number => s.length - (s.match(/[\ud800-\udbff][\udc00-\udfff]/g)?.length ?? 0);
const name = refine(t.string, (s) => s.length > 0 && codePoints(s) <= 64, 'a name of 1 to 64 characters');
/** Programs in the model's assembly; bounded so that a hostile file cannot ask for gigabytes. */
const source = refine(t.string, (s) => s.length <= 1 << 20 || codePoints(s) <= 1 << 20, 'assembly source (at most 1 MiB)');
/** Registers by name: an object, not a record, so that a name other than r1..r15 is an unknown field rather than dropped (ORC-FMT-4). */
const registers = strict({}, Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`r${i + 1}`, word])), 'registers by name (r1..r15)');
const list = <C extends t.Mixed>(codec: C, what: string) => refine(t.readonlyArray(codec), (a) => a.length <= 4096, `${what} (at most 4096)`);

// --- The microkernel's boot configuration (MK-BOOT-1) ---

const ObjectSpecCodec = strict(
  { name, type: t.keyof({ endpoint: null, notification: null, frame: null, untyped: null }, "'endpoint', 'notification', 'frame' or 'untyped'") },
  { sizeBits: natural, device: natural },
  'an object',
);
const CapSpecCodec = strict({ slot: natural, object: name }, { rights: refine(t.string, (s) => /^[RWGP]*$/.test(s), 'rights letters from R, W, G, P'), badge: word }, 'a capability');
const PageSpecCodec = strict({ va: word }, { frame: name, write: t.boolean, execute: t.boolean }, 'a page');
const ThreadSpecCodec = strict(
  { name },
  {
    domain: name,
    priority: natural,
    cpu: natural,
    cnodeBits: natural,
    vspace: t.boolean,
    program: source,
    origin: word,
    pages: list(PageSpecCodec, 'pages'),
    caps: list(CapSpecCodec, 'capabilities'),
    faultEndpoint: natural,
    regs: registers,
    start: t.boolean,
  },
  'a thread',
);
export const KernelBootCodec = strict(
  { threads: list(ThreadSpecCodec, 'threads') },
  {
    kernel: strict({}, { timeslice: natural, domainSchedule: list(strict({ domain: name, ticks: natural }, {}, 'a domain schedule entry'), 'schedule entries') }, 'kernel parameters'),
    domains: list(name, 'domain names'),
    objects: list(ObjectSpecCodec, 'objects'),
    untyped: list(strict({ thread: name, slot: natural, sizeBits: natural }, {}, 'an untyped grant'), 'untyped grants'),
    irqs: list(strict({ line: natural, notification: name }, { badge: word }, 'an interrupt binding'), 'interrupt bindings'),
  },
  'a microkernel boot configuration',
);

// --- The hypervisor's boot configuration (HV-BOOT-1) ---

const DomainSpecCodec = strict(
  { name, kernel: source, memory: natural },
  {
    control: t.boolean,
    origin: word,
    pages: natural,
    vcpus: natural,
    weight: natural,
    cap: natural,
    storage: natural,
    affinity: list(natural, 'pCPUs'),
    devices: list(strict({ device: natural, gfn: natural }, {}, 'an assigned device'), 'devices'),
    start: t.boolean,
    demandPaging: t.boolean,
    regs: registers,
  },
  'a domain',
);
const ImageSpecCodec = strict(
  { name, kernel: source, memory: natural },
  { origin: word, pages: natural, vcpus: natural, weight: natural, cap: natural, storage: natural },
  'an image',
);
export const HypervisorBootCodec = strict(
  { domains: list(DomainSpecCodec, 'domains') },
  {
    hypervisor: strict({}, { sliceTicks: natural, accountingTicks: natural, creditsPerTick: natural }, 'hypervisor parameters'),
    images: list(ImageSpecCodec, 'images'),
    channels: list(strict({ from: name, to: name }, {}, 'a channel'), 'channels'),
    grants: list(strict({ from: name, to: name, gfn: natural }, { readonly: t.boolean }, 'a grant'), 'grants'),
  },
  'a hypervisor boot configuration',
);

// --- Scenario and trace (ORC-FMT-2, ORC-FMT-3) ---

/** A scenario: what to boot. */
export type Scenario =
  | { readonly format: typeof SCENARIO_FORMAT; readonly version: number; readonly name?: string; readonly machine: MachineConfig; readonly supervisor: 'microkernel'; readonly boot: KernelScenario; readonly check?: CheckSpec }
  | { readonly format: typeof SCENARIO_FORMAT; readonly version: number; readonly name?: string; readonly machine: MachineConfig; readonly supervisor: 'hypervisor'; readonly boot: HypervisorScenario; readonly check?: CheckSpec };

const formatTag = <T extends string>(tag: T) => t.literal(tag, `'${tag}'`);
const version = refine(t.number, (n) => n === INPUT_VERSION, `version ${INPUT_VERSION}`);

const ScenarioHeadCodec = strict(
  { format: formatTag(SCENARIO_FORMAT), version, machine: t.unknown, supervisor: t.keyof({ microkernel: null, hypervisor: null }, "'microkernel' or 'hypervisor'"), boot: t.unknown },
  { name: t.string, check: t.unknown },
  'a scenario',
);

/**
 * Decodes a scenario (ORC-FMT-2): the envelope, the machine (HW-CFG-2's validator, whose errors
 * get the prefix `machine.`), then the boot configuration of the named supervisor. The boot
 * configuration's meaning (names that exist, things that fit) is checked when it boots.
 */
export function decodeScenario(json: unknown): E.Either<MkhvError, Scenario> {
  const head = decodeWith(ScenarioHeadCodec, json, 'scenario', 'scenario.invalid');
  if (E.isLeft(head)) return head;
  const machine = validateMachineConfig(head.right.machine);
  if (E.isLeft(machine)) {
    const path = machine.left.path === '' ? 'machine' : `machine.${machine.left.path}`;
    const message = machine.left.message.replace(/^machine config: '[^']*'/, `'${path}'`).replace(/^machine config: /, `'machine': `);
    return E.left(mkError('scenario.invalid', `scenario: ${message}`, path));
  }
  const { format, version: v, supervisor } = head.right;
  const named = head.right.name === undefined ? {} : { name: head.right.name };
  let checked = {};
  if (head.right.check !== undefined) {
    const check = decodeCheck(head.right.check);
    if (E.isLeft(check)) return check;
    checked = { check: check.right };
  }
  if (supervisor === 'microkernel') {
    const boot = decodeWith(KernelBootCodec, head.right.boot, 'scenario', 'scenario.invalid');
    if (E.isLeft(boot)) return E.left(underBoot(boot.left));
    return E.right({ format, version: v, ...named, machine: machine.right, supervisor, boot: boot.right as KernelScenario, ...checked });
  }
  const boot = decodeWith(HypervisorBootCodec, head.right.boot, 'scenario', 'scenario.invalid');
  if (E.isLeft(boot)) return E.left(underBoot(boot.left));
  return E.right({ format, version: v, ...named, machine: machine.right, supervisor, boot: boot.right as HypervisorScenario, ...checked });
}

// --- The model checker's section (CHK-SCN-1 in spec/model-checking.md) ---

const CheckHeadCodec = strict(
  { alphabet: refine(t.readonlyArray(t.unknown), (a) => a.length >= 1 && a.length <= MAX_ALPHABET, `an array of 1 to ${MAX_ALPHABET} events`) },
  {
    depth: natural,
    states: natural,
    invariants: t.boolean,
    integrity: t.boolean,
    deadlock: t.boolean,
    // CHK-SYM-3: groups of at least two distinct names; no name in two groups.
    symmetry: refine(
      t.readonlyArray(refine(t.readonlyArray(name), (g) => g.length >= 2 && new Set(g).size === g.length, 'a group of at least 2 distinct domain names')),
      (gs) => new Set(gs.flat()).size === gs.flat().length,
      'groups of domain names, no name in two groups',
    ),
  },
  'a check section',
);

/** One instruction in the model's assembly, for an alphabet entry that is easier to read than its word. */
const AsmExecCodec = strict({ kind: t.literal('exec'), cpu: natural, asm: refine(t.string, (s) => codePoints(s) <= 256, 'one instruction (at most 256 characters)') }, {}, "an 'exec' event with 'asm'");

/**
 * CHK-SCN-1: the `check` section — each alphabet entry an event (SYS-2), or an `exec` whose
 * instruction is given as assembly (`asm`), assembled here to its `insn`.
 */
function decodeCheck(json: unknown): E.Either<MkhvError, CheckSpec> {
  const under = (e: MkhvError, prefix: string): MkhvError => {
    const path = e.path === '' ? prefix : `${prefix}.${e.path}`;
    return mkError('scenario.invalid', e.message.replace(/^(scenario|event|check)(: '[^']*')?/, `scenario: '${path}'`), path);
  };
  const head = decodeWith(CheckHeadCodec, json, 'check', 'scenario.invalid');
  if (E.isLeft(head)) return E.left(under(head.left, 'check'));
  const alphabet: SystemEvent[] = [];
  for (let i = 0; i < head.right.alphabet.length; i++) {
    const entry = head.right.alphabet[i];
    const at = `check.alphabet[${i}]`;
    if (typeof entry === 'object' && entry !== null && 'asm' in entry) {
      const ex = decodeWith(AsmExecCodec, entry, 'event', 'scenario.invalid');
      if (E.isLeft(ex)) return E.left(under(ex.left, at));
      const program = assemble(ex.right.asm);
      if (E.isLeft(program)) return E.left(mkError('scenario.invalid', `scenario: '${at}.asm': ${program.left.message}`, `${at}.asm`));
      if (program.right.words.length !== 1) return E.left(mkError('scenario.invalid', `scenario: '${at}.asm' must be exactly one instruction (got ${program.right.words.length})`, `${at}.asm`));
      alphabet.push({ kind: 'exec', cpu: ex.right.cpu, insn: program.right.words[0]! });
      continue;
    }
    const ev = decodeEvent(entry);
    if (E.isLeft(ev)) return E.left(under(ev.left, at));
    alphabet.push(ev.right);
  }
  const { depth, states } = head.right;
  return E.right({
    alphabet,
    ...(depth === undefined ? {} : { depth }),
    ...(states === undefined ? {} : { states }),
    invariants: head.right.invariants ?? true,
    integrity: head.right.integrity ?? true,
    deadlock: head.right.deadlock ?? false,
    ...(head.right.symmetry === undefined ? {} : { symmetry: head.right.symmetry }),
  });
}

/** Errors inside the boot configuration are reported under `boot.`. */
function underBoot(e: MkhvError): MkhvError {
  const path = e.path === '' ? 'boot' : `boot.${e.path}`;
  return mkError(e.code, e.message.replace(/^scenario: '([^']*)'/, `scenario: '${path}'`).replace(/^scenario must/, "scenario: 'boot' must"), path);
}

/** A system event as JSON (SYS-2). */
export const EventCodec = t.union(
  [
    strict({ kind: t.literal('exec'), cpu: natural }, { insn: word }, "an 'exec' event"),
    strict({ kind: t.literal('tick'), cpu: natural }, {}, "a 'tick' event"),
    strict({ kind: t.literal('irq'), line: natural }, {}, "an 'irq' event"),
    strict({ kind: t.literal('device'), device: natural, packet: list(word, 'packet words') }, {}, "a 'device' event"),
    strict({ kind: t.literal('inject'), fault: strict({ kind: t.literal('crash'), domain: name }, {}, 'a crash') }, {}, "an 'inject' event"),
  ],
  "an event ('exec', 'tick', 'irq', 'device' or 'inject')",
);

/** A trace: the events to replay, in order. */
export interface Trace {
  readonly format: typeof TRACE_FORMAT;
  readonly version: number;
  readonly events: readonly SystemEvent[];
}

const TraceHeadCodec = strict({ format: formatTag(TRACE_FORMAT), version, events: refine(t.readonlyArray(t.unknown), (a) => a.length <= 10_000_000, 'an array of events (at most 10 000 000)') }, {}, 'a trace');

/** Decodes a trace (ORC-FMT-3): the envelope, then each event, errors naming `events[i]`. */
export function decodeTrace(json: unknown): E.Either<MkhvError, Trace> {
  const head = decodeWith(TraceHeadCodec, json, 'trace', 'trace.invalid');
  if (E.isLeft(head)) return head;
  const events: SystemEvent[] = [];
  for (let i = 0; i < head.right.events.length; i++) {
    const e = decodeEvent(head.right.events[i]);
    if (E.isLeft(e)) {
      const path = e.left.path === '' ? `events[${i}]` : `events[${i}].${e.left.path}`;
      return E.left(mkError('trace.invalid', e.left.message.replace(/^event(: '[^']*')?/, `trace: '${path}'`), path));
    }
    events.push(e.right);
  }
  return E.right({ format: head.right.format, version: head.right.version, events });
}

/** Decodes one event (the serve protocol's `step` request carries one), reporting against the member its `kind` names. */
export function decodeEvent(json: unknown): E.Either<MkhvError, SystemEvent> {
  return decodeTagged(EventCodec, json, 'kind', 'event', 'event.invalid') as E.Either<MkhvError, SystemEvent>;
}

const tagIndex = new WeakMap<object, ReadonlyMap<string, t.Mixed>>();

/** A union's members by the tag their name quotes (`"an 'exec' event"` → exec), computed once per union. */
function membersByTag(union: { readonly types: readonly t.Mixed[] }): ReadonlyMap<string, t.Mixed> {
  let index = tagIndex.get(union);
  if (index === undefined) {
    index = new Map(union.types.flatMap((c) => {
      const quoted = /'([^']+)'/.exec(c.name)?.[1];
      return quoted === undefined ? [] : [[quoted, c] as const];
    }));
    tagIndex.set(union, index);
  }
  return index;
}

/**
 * Decodes `json` with a union of tagged object codecs: when `json` has a known `tag`, errors
 * are those of the member it names — "'cpu' must be a non-negative integer" rather than "must
 * be one of five kinds of event".
 */
export function decodeTagged<A>(union: t.UnionType<t.Mixed[], A, unknown, unknown>, json: unknown, tag: string, what: string, code: string): E.Either<MkhvError, A> {
  if (typeof json === 'object' && json !== null && !Array.isArray(json) && tag in json) {
    const members = membersByTag(union);
    const value = (json as Record<string, unknown>)[tag];
    const member = typeof value === 'string' ? members.get(value) : undefined;
    if (member !== undefined) return decodeWith(member as t.Type<A, unknown, unknown>, json, what, code);
    return E.left(mkError(code, `${what}: '${tag}' must be one of ${[...members.keys()].map((x) => `'${x}'`).join(', ')} (got ${describeValue(value)})`, tag));
  }
  return decodeWith(union, json, what, code);
}

/** Parses JSON text into a value or an error naming where the text stops being JSON (ORC-FMT-4). */
export function parseJson(text: string, what: string): E.Either<MkhvError, unknown> {
  try {
    return E.right(JSON.parse(text) as unknown);
  } catch (e) {
    return E.left(mkError('json.syntax', `${what}: not JSON (${e instanceof Error ? e.message : String(e)})`, ''));
  }
}
