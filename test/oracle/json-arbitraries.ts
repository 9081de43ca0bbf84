/**
 * fast-check arbitraries for the oracle's JSON inputs (ORC-FMT-1..3, ORC-SRV-2): scenarios of
 * both supervisors, events, traces and serve requests that are *shape-valid* — every field of
 * the right type and in range, the machine's relational constraints (HW-CFG-3..5) holding —
 * but not necessarily bootable; and mutations of any JSON value (drop a field, add an unknown
 * one, rename a key, put a wrong type or a boundary number in, grow an array past its limit)
 * so that tests can compare what the JSON Schemas and the codecs accept on the edges.
 */
import fc from 'fast-check';

/**
 * A value as JSON.parse would give it: plain objects (fast-check may build null-prototype
 * ones), own `__proto__` keys kept, -0 read back as 0.
 */
export const asJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The case count every property in the suite is scaled from (test/setup.ts sets it). */
export const RUNS = fc.readConfigureGlobal().numRuns ?? 100;

// --- Leaves -------------------------------------------------------------------------------

const NAMES = ['a', 'b', 'dom0', 'server', 'client', 'ep', 'ntfn', 'default', 'red', 'green'] as const;

/** A name (1..64 code points): mostly from a small pool so references sometimes resolve. */
export const arbName: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }) },
);

/** A non-negative integer: mostly small, sometimes huge. */
export const arbNatural: fc.Arbitrary<number> = fc.oneof(
  { weight: 6, arbitrary: fc.nat({ max: 16 }) },
  { weight: 1, arbitrary: fc.nat() },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 53 - 1, 1e300) },
);

/** A 32-bit unsigned integer. */
export const arbWord: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.nat({ max: 0x1000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 0xffffffff, 0x80000000) },
);

const REGISTER_NAMES = Array.from({ length: 15 }, (_, i) => `r${i + 1}`);
const arbRegs = fc.dictionary(fc.constantFrom(...REGISTER_NAMES), arbWord, { maxKeys: 4 });
const arbRights = fc.oneof(fc.subarray(['R', 'W', 'G', 'P']).map((r) => r.join('')), fc.constantFrom('RRWW', 'PGWR'));

/**
 * One line of assembly: instructions that compute, load and store anywhere, branch and jump
 * anywhere, trap, touch system registers and invalidate the TLB, raw words (often UNDEFINED),
 * and now and then a line that does not assemble.
 */
export const arbAsmLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.nat(15), fc.nat(15), fc.integer({ min: -512, max: 511 })).map(([d, s, i]) => `addi r${d}, r${s}, ${i}`) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(15), arbWord).map(([d, v]) => `li r${d}, ${v}`) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(15), fc.nat(15), fc.integer({ min: -64, max: 64 })).map(([d, s, i]) => `ld r${d}, ${i * 4}(r${s})`) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(15), fc.nat(15), fc.integer({ min: -64, max: 64 })).map(([d, s, i]) => `st r${d}, ${i * 4}(r${s})`) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(15), fc.integer({ min: -0x8000, max: 0x8000 })).map(([s, i]) => `jalr r0, r${s}, ${i}`) },
  { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }).map((n) => `beq r0, r0, ${n < 0 ? 'start' : 'end'}`) },
  { weight: 2, arbitrary: fc.nat(12).map((n) => `svc ${n}`) },
  { weight: 2, arbitrary: fc.nat(40).map((n) => `hvc ${n}`) },
  { weight: 1, arbitrary: fc.constantFrom('eret', 'wfi', 'tlbi all', 'tlbi.is vmid', 'nop', 'ret') },
  { weight: 1, arbitrary: fc.tuple(fc.nat(15), fc.constantFrom('SCTLR_EL1', 'TTBR0_EL1', 'VBAR_EL1', 'HCR_EL2', 'VTTBR_EL2', 'ICC_IAR', 'CNTP_CVAL')).map(([r, s]) => `mrs r${r}, ${s}`) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(15), fc.constantFrom('SCTLR_EL1', 'TTBR0_EL1', 'VBAR_EL1', 'ICC_EOIR', 'CNTP_CTL')).map(([r, s]) => `msr ${s}, r${r}`) },
  { weight: 2, arbitrary: arbWord.map((w) => `.word ${w}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);

/** A program: a few lines between `start:` and `end:` that loop back to the start. */
export const arbProgram: fc.Arbitrary<string> = fc.array(arbAsmLine, { maxLength: 8 }).map((lines) => ['start:', ...lines, 'end:', 'b start'].join('\n'));

/** Assembly source as the format sees it: a program, or any string at all. */
const arbSource: fc.Arbitrary<string> = fc.oneof({ weight: 3, arbitrary: arbProgram }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) });

const optional = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }, required: readonly (keyof T)[]) =>
  fc.record(model, { requiredKeys: required as (keyof T)[], noNullPrototype: true });
const list = <T>(arb: fc.Arbitrary<T>, maxLength = 3) => fc.array(arb, { maxLength });

// --- Machine (HW-CFG-1..5) ----------------------------------------------------------------

/** Devices on distinct shared lines below `irqLines`; a disk of at most 2^24 words. */
function arbDevices(irqLines: number, wordsPerFrame: number): fc.Arbitrary<unknown[]> {
  const maxSectors = 2 ** 24 / wordsPerFrame;
  return fc.uniqueArray(fc.integer({ min: 3, max: irqLines - 1 }), { maxLength: Math.min(16, irqLines - 3, 4) }).chain((irqs) =>
    fc.tuple(
      ...irqs.map((irq) =>
        fc.oneof(
          fc.constant({ kind: 'console', irq }),
          fc.oneof(fc.integer({ min: 1, max: 16 }), fc.constant(maxSectors)).map((sectors) => ({ kind: 'block', irq, sectors })),
          fc.integer({ min: 1, max: 64 }).map((rxQueue) => ({ kind: 'nic', irq, rxQueue })),
        ),
      ),
    ),
  );
}

/**
 * A machine configuration that validates: wordsPerFrame a power of two, a page table fitting a
 * frame, addresses within 32 bits, at most 2^24 words of RAM, distinct device lines.
 */
export const arbMachine: fc.Arbitrary<Record<string, unknown>> = fc.integer({ min: 2, max: 10 }).chain((k) => {
  const wordsPerFrame = 2 ** k;
  return fc.integer({ min: 1, max: k }).chain((bits) =>
    fc
      .record({
        cpus: fc.integer({ min: 1, max: 8 }),
        frames: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 4, max: 64 }) }, { weight: 1, arbitrary: fc.integer({ min: 4, max: 2 ** 24 / wordsPerFrame }) }),
        wordsPerFrame: fc.constant(wordsPerFrame),
        pageTableLevels: fc.integer({ min: 1, max: Math.min(4, Math.floor((30 - k) / bits)) }),
        pageTableIndexBits: fc.constant(bits),
        tlbEntries: fc.integer({ min: 1, max: 256 }),
        irqLines: fc.integer({ min: 4, max: 32 }),
      })
      .chain((m) => arbDevices(m.irqLines, wordsPerFrame).map((devices) => ({ ...m, devices }))),
  );
});

// --- Boot configurations (MK-BOOT-1, HV-BOOT-1) ---------------------------------------------

const arbThread = optional(
  {
    name: arbName,
    domain: arbName,
    priority: arbNatural,
    cpu: arbNatural,
    cnodeBits: arbNatural,
    vspace: fc.boolean(),
    program: arbSource,
    origin: arbWord,
    pages: list(optional({ va: arbWord, frame: arbName, write: fc.boolean(), execute: fc.boolean() }, ['va'])),
    caps: list(optional({ slot: arbNatural, object: arbName, rights: arbRights, badge: arbWord }, ['slot', 'object'])),
    faultEndpoint: arbNatural,
    regs: arbRegs,
    start: fc.boolean(),
  },
  ['name'],
);

/** A microkernel boot configuration of the right shape (names need not resolve). */
export const arbKernelBoot = optional(
  {
    kernel: optional({ timeslice: arbNatural, domainSchedule: list(fc.record({ domain: arbName, ticks: arbNatural })) }, []),
    domains: list(arbName),
    objects: list(optional({ name: arbName, type: fc.constantFrom('endpoint', 'notification', 'frame', 'untyped'), sizeBits: arbNatural, device: arbNatural }, ['name', 'type'])),
    threads: list(arbThread, 4),
    untyped: list(fc.record({ thread: arbName, slot: arbNatural, sizeBits: arbNatural })),
    irqs: list(optional({ line: arbNatural, notification: arbName, badge: arbWord }, ['line', 'notification'])),
  },
  ['threads'],
);

const imageFields = {
  name: arbName,
  kernel: arbSource,
  origin: arbWord,
  memory: arbNatural,
  pages: arbNatural,
  vcpus: arbNatural,
  weight: arbNatural,
  cap: arbNatural,
  storage: arbNatural,
};

const arbDomain = optional(
  {
    ...imageFields,
    control: fc.boolean(),
    affinity: list(arbNatural),
    devices: list(fc.record({ device: arbNatural, gfn: arbNatural })),
    start: fc.boolean(),
    demandPaging: fc.boolean(),
    regs: arbRegs,
  },
  ['name', 'kernel', 'memory'],
);

/** A hypervisor boot configuration of the right shape (names need not resolve). */
export const arbHypervisorBoot = optional(
  {
    hypervisor: optional({ sliceTicks: arbNatural, accountingTicks: arbNatural, creditsPerTick: arbNatural }, []),
    domains: list(arbDomain, 4),
    images: list(optional(imageFields, ['name', 'kernel', 'memory'])),
    channels: list(fc.record({ from: arbName, to: arbName })),
    grants: list(optional({ from: arbName, to: arbName, gfn: arbNatural, readonly: fc.boolean() }, ['from', 'to', 'gfn'])),
  },
  ['domains'],
);

// --- Scenario, events, trace, requests (ORC-FMT-2, ORC-FMT-3, ORC-SRV-2) ----------------------

const scenarioOf = (supervisor: 'microkernel' | 'hypervisor', boot: fc.Arbitrary<unknown>) =>
  optional(
    { format: fc.constant('mkhv-scenario'), version: fc.constant(1), name: fc.string({ maxLength: 20 }), machine: arbMachine, supervisor: fc.constant(supervisor), boot },
    ['format', 'version', 'machine', 'supervisor', 'boot'],
  );

/** A scenario that decodes: either supervisor, a valid machine, a boot configuration of the right shape. */
export const arbScenario: fc.Arbitrary<Record<string, unknown>> = fc.oneof(scenarioOf('microkernel', arbKernelBoot), scenarioOf('hypervisor', arbHypervisorBoot)).map(asJson);

/** An event that decodes (it may name a CPU, line, device or domain the system lacks). */
export const arbEvent: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 6, arbitrary: optional({ kind: fc.constant('exec'), cpu: fc.oneof(fc.nat(3), arbNatural), insn: arbWord }, ['kind', 'cpu']) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick'), cpu: fc.oneof(fc.nat(3), arbNatural) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('irq'), line: fc.oneof(fc.nat(40), arbNatural) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('device'), device: fc.oneof(fc.nat(4), arbNatural), packet: list(arbWord, 6) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('inject'), fault: fc.record({ kind: fc.constant('crash'), domain: arbName }) }) },
).map(asJson);

/** A trace that decodes. */
export const arbTrace = (maxEvents = 12): fc.Arbitrary<Record<string, unknown>> =>
  fc.record({ format: fc.constant('mkhv-trace'), version: fc.constant(1), events: fc.array(arbEvent, { maxLength: maxEvents }) }).map(asJson);

const arbId = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null));

/** A serve request that decodes, except a load's scenario, which is any scenario of the right shape. */
export const arbRequest = (scenario: fc.Arbitrary<unknown> = arbScenario): fc.Arbitrary<Record<string, unknown>> =>
  fc.oneof(
    optional({ type: fc.constant('hello'), id: arbId }, ['type']),
    optional({ type: fc.constant('load'), id: arbId, scenario, arch: fc.constantFrom('cortex-a57', 'cortex-a72', 'no-such-arch') }, ['type', 'scenario']),
    { weight: 4, arbitrary: optional({ type: fc.constant('step'), id: arbId, event: arbEvent }, ['type', 'event']) },
    optional({ type: fc.constant('view'), id: arbId, domain: arbName }, ['type', 'domain']),
    optional({ type: fc.constant('fingerprint'), id: arbId }, ['type']),
    optional({ type: fc.constant('reset'), id: arbId }, ['type']),
  ).map(asJson);

// --- Mutations ----------------------------------------------------------------------------

type Key = string | number;

/** Every path to a node of a JSON value, the root (`[]`) first. */
export function pathsOf(value: unknown, prefix: readonly Key[] = [], out: Key[][] = []): Key[][] {
  out.push([...prefix]);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (typeof value === 'object' && value !== null) for (const k of Object.keys(value)) pathsOf((value as Record<string, unknown>)[k], [...prefix, k], out);
  return out;
}

/** Sets an own property even when the key is `__proto__`, as JSON.parse does. */
function define(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function copy(node: unknown): unknown {
  if (Array.isArray(node)) return node.slice();
  if (typeof node === 'object' && node !== null) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(node)) define(o, k, (node as Record<string, unknown>)[k]);
    return o;
  }
  return node;
}

/** A copy of `root` with the node at `path` replaced by `f(node)`; the other nodes are shared. */
function updateAt(root: unknown, path: readonly Key[], f: (node: unknown) => unknown): unknown {
  if (path.length === 0) return f(root);
  const [head, ...rest] = path;
  const parent = copy(root) as Record<Key, unknown>;
  const next = updateAt(parent[head!], rest, f);
  if (Array.isArray(parent)) parent[head as number] = next;
  else define(parent, String(head), next);
  return parent;
}

/** Numbers on and just past the edges of every range in the formats, and some that are not integers. */
export const BOUNDARY_NUMBERS: readonly number[] = [
  ...[0, 1, 2, 3, 4, 8, 10, 16, 31, 32, 64, 256, 1024, 2048, 4096, 2 ** 20, 2 ** 22, 2 ** 24, 2 ** 31, 2 ** 32 - 1].flatMap((n) => [n - 1, n, n + 1]),
  2 ** 53, 1.5, -0.5, 1e300, -1e300,
];

/** Strings that are, or almost are, names, tags, register names and rights in the formats. */
export const BOUNDARY_STRINGS: readonly string[] = [
  '', 'x', 'a'.repeat(64), 'a'.repeat(65), '😀'.repeat(64), '😀'.repeat(65), '\ud800', 'a\nb', 'microkernel', 'hypervisor', 'exokernel', 'console', 'block', 'nic', 'disk',
  'endpoint', 'untyped', 'frame', 'notification', 'tcb', 'exec', 'tick', 'irq', 'device', 'inject', 'crash', 'reboot', 'mkhv-scenario', 'mkhv-trace', 'mkhv-record',
  'RWGP', 'RWX', 'r0', 'r1', 'r15', 'r16', 'pc', '1', 'hello', 'load', 'step', 'view', 'fingerprint', 'reset', 'toString', '__proto__',
];

/** Keys that a format does not know, or knows elsewhere, or that are hostile to naive code. */
const KEYS = ['extra', 'Name', 'kind', 'type', 'id', 'r0', 'r1', 'r16', 'irq', 'name', '', ' ', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'a\nb', '💥'];

const arbReplacement: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...BOUNDARY_NUMBERS) },
  { weight: 2, arbitrary: fc.constantFrom(...BOUNDARY_STRINGS) },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null, [], {}, [1], { cpu: 0 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** One mutation, applied at the node its `at` picks (modulo the number of nodes). */
export type Mutation =
  | { readonly op: 'delete'; readonly at: number }
  | { readonly op: 'add'; readonly at: number; readonly key: string; readonly value: unknown }
  | { readonly op: 'rename'; readonly at: number; readonly key: string }
  | { readonly op: 'replace'; readonly at: number; readonly value: unknown }
  | { readonly op: 'nudge'; readonly at: number; readonly by: number }
  | { readonly op: 'grow'; readonly at: number };

export const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('add' as const), at: fc.nat(), key: fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })), value: arbReplacement }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rename' as const), at: fc.nat(), key: fc.constantFrom(...KEYS) }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: arbReplacement }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('nudge' as const), at: fc.nat(), by: fc.constantFrom(-1, 1, 0.5) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('grow' as const), at: fc.nat() }) },
);

/** A copy of `value` with the node at `path` replaced by `node`. */
export const replaceAt = (value: unknown, path: readonly Key[], node: unknown): unknown => updateAt(value, path, () => node);

/** A copy of `value` with key `key` set to `node` in the object at `path`. */
export const addKeyAt = (value: unknown, path: readonly Key[], key: string, node: unknown): unknown =>
  updateAt(value, path, (o) => {
    const c = copy(o) as Record<string, unknown>;
    define(c, key, node);
    return c;
  });

/** A copy of `value` without the object member at `path` (whose last key is a string). */
export const deleteAt = (value: unknown, path: readonly Key[]): unknown =>
  updateAt(value, path.slice(0, -1), (o) => {
    const c = copy(o) as Record<string, unknown>;
    delete c[path[path.length - 1] as string];
    return c;
  });

/** The node of `value` at `path`. */
export function nodeAt(value: unknown, path: readonly Key[]): unknown {
  let node = value;
  for (const k of path) node = (node as Record<Key, unknown>)[k];
  return node;
}

const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
const isMember = (p: readonly Key[]): boolean => typeof p[p.length - 1] === 'string';

/** Applies `m` to a copy of `value` (nodes it does not touch are shared, not copied). */
export function mutate(value: unknown, m: Mutation): unknown {
  const paths = pathsOf(value);
  const pick = (ok: (p: Key[]) => boolean): Key[] | undefined => {
    const candidates = paths.filter(ok);
    return candidates.length === 0 ? undefined : candidates[m.at % candidates.length];
  };
  switch (m.op) {
    case 'replace':
      return replaceAt(value, pick(() => true)!, m.value);
    case 'nudge': {
      // Pushes a number just past the edge it may sit on (generators favour the bounds).
      const path = pick((p) => typeof nodeAt(value, p) === 'number');
      return path === undefined ? value : replaceAt(value, path, (nodeAt(value, path) as number) + m.by);
    }
    case 'delete': {
      const path = pick(isMember);
      return path === undefined ? value : deleteAt(value, path);
    }
    case 'rename': {
      const path = pick(isMember);
      return path === undefined ? value : addKeyAt(deleteAt(value, path), path.slice(0, -1), m.key, nodeAt(value, path));
    }
    case 'add': {
      const path = pick((p) => isObject(nodeAt(value, p)));
      return path === undefined ? value : addKeyAt(value, path, m.key, m.value);
    }
    case 'grow': {
      // One past the longest list any format allows below a trace's events (4096).
      const path = pick((p) => Array.isArray(nodeAt(value, p)));
      if (path === undefined) return value;
      const a = nodeAt(value, path) as unknown[];
      return replaceAt(value, path, Array.from({ length: 4097 }, (_, i) => (a.length === 0 ? 0 : a[i % a.length])));
    }
  }
}

/** A valid value with one to three mutations. */
export const mutated = (arb: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.tuple(arb, fc.array(arbMutation, { minLength: 1, maxLength: 3 })).map(([v, ms]) => asJson(ms.reduce(mutate, v)));
