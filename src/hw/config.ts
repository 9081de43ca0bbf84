/**
 * Machine geometry: the parameters of the explicit hardware model, their validation, and the
 * quantities derived from them.
 *
 * The same model runs as a 1-CPU, 4-frame machine for the model checker and as a 4-CPU,
 * 4096-frame, 4 KiB-page machine for demos and benchmarks. Everything else (page size,
 * address widths, where device registers live) is derived here once, so no other module
 * recomputes it (HW-CFG-1..7 in spec/hardware.md).
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { mkError, type MkhvError } from './error.ts';

/** A console: a write-only character output port. */
export interface ConsoleConfig {
  readonly kind: 'console';
  /** Shared interrupt line (unused by the console today, reserved for input). */
  readonly irq: number;
}

/** A block device of `sectors` sectors, each one frame long. */
export interface BlockConfig {
  readonly kind: 'block';
  readonly irq: number;
  readonly sectors: number;
}

/** A network card with one transmit and one receive DMA channel. */
export interface NicConfig {
  readonly kind: 'nic';
  readonly irq: number;
  /** How many received packets wait for a buffer before later ones are dropped. */
  readonly rxQueue: number;
}

/** One device on the machine. */
export type DeviceConfig = ConsoleConfig | BlockConfig | NicConfig;

/** The parameters of a machine (HW-CFG-1). */
export interface MachineConfig {
  /** Number of CPUs, 1..8. */
  readonly cpus: number;
  /** Number of RAM frames (physical pages). */
  readonly frames: number;
  /** 32-bit words per frame: a power of two, 4..1024 (16 B .. 4 KiB pages). */
  readonly wordsPerFrame: number;
  /** Levels of every radix page table (stage 1, stage 2, IOMMU), 1..4. */
  readonly pageTableLevels: number;
  /** Index bits per level: 2^bits entries per table, and a table fits in one frame. */
  readonly pageTableIndexBits: number;
  /** Entries of each CPU's TLB, 1..256. */
  readonly tlbEntries: number;
  /** Interrupt IDs 0..irqLines-1: 0..2 are per-CPU (IPI, timers), the rest shared; 4..32. */
  readonly irqLines: number;
  /** Devices, each with one page of registers right after RAM. */
  readonly devices: readonly DeviceConfig[];
}

/** Quantities derived from a valid {@link MachineConfig} (HW-CFG-6). */
export interface Geometry {
  readonly config: MachineConfig;
  /** Bytes per page (= per frame). */
  readonly pageBytes: number;
  /** log2(pageBytes). */
  readonly offsetBits: number;
  /** Width of virtual and intermediate-physical addresses: offsetBits + levels * indexBits. */
  readonly vaBits: number;
  /** Entries per page table. */
  readonly tableEntries: number;
  /** Bytes of RAM: frames * pageBytes; RAM spans physical addresses [0, ramBytes). */
  readonly ramBytes: number;
  /** Total words of RAM. */
  readonly ramWords: number;
  /** Physical page number of device i's register page is `frames + i`. */
  readonly firstDevicePage: number;
}

/** Interrupt ID of the software-generated interrupt (IPI), banked per CPU (HW-IRQ-1). */
export const IRQ_IPI = 0;
/** Interrupt ID of the physical timer, banked per CPU. */
export const IRQ_PHYS_TIMER = 1;
/** Interrupt ID of the virtual timer, banked per CPU. */
export const IRQ_VIRT_TIMER = 2;
/** First shared (device) interrupt ID. */
export const FIRST_SHARED_IRQ = 3;

const MAX_RAM_WORDS = 1 << 24;

/** Maximum words of a block device (64 MiB). */
const MAX_DISK_WORDS = 1 << 24;

const MACHINE_FIELDS = [
  'cpus',
  'frames',
  'wordsPerFrame',
  'pageTableLevels',
  'pageTableIndexBits',
  'tlbEntries',
  'irqLines',
  'devices',
] as const;

type Check<T> = E.Either<MkhvError, T>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}

function integerIn(obj: Record<string, unknown>, field: string, path: string, lo: number, hi: number): Check<number> {
  const v = obj[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    return E.left(
      mkError('config.range', `machine config: '${path}' must be an integer from ${lo} to ${hi} (got ${describe(v)})`, path),
    );
  }
  return E.right(v);
}

function noUnknownFields(obj: Record<string, unknown>, allowed: readonly string[], path: string): Check<void> {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      // A key that is not a plain name is shown quoted, so that '' is never the empty path.
      const name = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
      const where = path === '' ? name : name.startsWith('[') ? `${path}${name}` : `${path}.${name}`;
      return E.left(mkError('config.unknown-field', `machine config: unknown field '${where}'`, where));
    }
  }
  return E.right(undefined);
}

function relation(ok: boolean, path: string, message: string): Check<void> {
  return ok ? E.right(undefined) : E.left(mkError('config.relation', `machine config: '${path}' ${message}`, path));
}

function validateDevice(raw: unknown, i: number, irqLines: number, wordsPerFrame: number): Check<DeviceConfig> {
  const path = `devices[${i}]`;
  if (!isRecord(raw)) return E.left(mkError('config.type', `machine config: '${path}' must be an object`, path));
  const kind = raw['kind'];
  if (kind !== 'console' && kind !== 'block' && kind !== 'nic') {
    return E.left(
      mkError(
        'config.type',
        `machine config: '${path}.kind' must be "console", "block" or "nic" (got ${describe(kind)})`,
        `${path}.kind`,
      ),
    );
  }
  const extra = { console: [], block: ['sectors'], nic: ['rxQueue'] }[kind];
  const unknown = noUnknownFields(raw, ['kind', 'irq', ...extra], path);
  if (E.isLeft(unknown)) return unknown;
  const irq = integerIn(raw, 'irq', `${path}.irq`, FIRST_SHARED_IRQ, irqLines - 1);
  if (E.isLeft(irq)) return irq;
  switch (kind) {
    case 'console':
      return E.right({ kind, irq: irq.right });
    case 'block': {
      const sectors = integerIn(raw, 'sectors', `${path}.sectors`, 1, Math.floor(MAX_DISK_WORDS / wordsPerFrame));
      return E.isLeft(sectors) ? sectors : E.right({ kind, irq: irq.right, sectors: sectors.right });
    }
    case 'nic': {
      const rxQueue = integerIn(raw, 'rxQueue', `${path}.rxQueue`, 1, 64);
      return E.isLeft(rxQueue) ? rxQueue : E.right({ kind, irq: irq.right, rxQueue: rxQueue.right });
    }
  }
}

/**
 * Checks an untrusted value (parsed JSON, say) and returns it as a {@link MachineConfig}, or
 * the first problem found, naming its field. Never throws (HW-CFG-2).
 */
export function validateMachineConfig(raw: unknown): E.Either<MkhvError, MachineConfig> {
  if (!isRecord(raw)) return E.left(mkError('config.type', 'machine config: must be an object', ''));
  const unknown = noUnknownFields(raw, MACHINE_FIELDS, '');
  if (E.isLeft(unknown)) return unknown;

  const fields: Record<string, number> = {};
  const ranges: ReadonlyArray<readonly [string, number, number]> = [
    ['cpus', 1, 8],
    ['frames', 4, MAX_RAM_WORDS / 4],
    ['wordsPerFrame', 4, 1024],
    ['pageTableLevels', 1, 4],
    ['pageTableIndexBits', 1, 10],
    ['tlbEntries', 1, 256],
    ['irqLines', FIRST_SHARED_IRQ + 1, 32],
  ];
  for (const [field, lo, hi] of ranges) {
    const v = integerIn(raw, field, field, lo, hi);
    if (E.isLeft(v)) return v;
    fields[field] = v.right;
  }
  const { cpus, frames, wordsPerFrame, pageTableLevels, pageTableIndexBits, tlbEntries, irqLines } = fields as Record<
    (typeof MACHINE_FIELDS)[number],
    number
  >;

  // HW-CFG-3: a frame is a power-of-two number of words.
  const r1 = relation((wordsPerFrame & (wordsPerFrame - 1)) === 0, 'wordsPerFrame', `must be a power of two (got ${wordsPerFrame})`);
  if (E.isLeft(r1)) return r1;
  // HW-CFG-4: one page table fills at most one frame.
  const r2 = relation(
    1 << pageTableIndexBits <= wordsPerFrame,
    'pageTableIndexBits',
    `gives ${1 << pageTableIndexBits} entries per table, more than the ${wordsPerFrame} words of a frame`,
  );
  if (E.isLeft(r2)) return r2;
  const offsetBits = Math.log2(wordsPerFrame * 4);
  // HW-CFG-5: virtual addresses fit in a 32-bit word.
  const r3 = relation(
    offsetBits + pageTableLevels * pageTableIndexBits <= 32,
    'pageTableLevels',
    `× pageTableIndexBits + ${offsetBits} offset bits exceeds 32 address bits`,
  );
  if (E.isLeft(r3)) return r3;
  const r4 = relation(
    frames * wordsPerFrame <= MAX_RAM_WORDS,
    'frames',
    `× wordsPerFrame exceeds ${MAX_RAM_WORDS} words of RAM (64 MiB)`,
  );
  if (E.isLeft(r4)) return r4;

  const rawDevices = raw['devices'];
  if (!Array.isArray(rawDevices)) {
    return E.left(mkError('config.type', `machine config: 'devices' must be an array (got ${describe(rawDevices)})`, 'devices'));
  }
  if (rawDevices.length > 16) {
    return E.left(mkError('config.range', `machine config: 'devices' has ${rawDevices.length} entries; at most 16`, 'devices'));
  }
  const devices: DeviceConfig[] = [];
  const irqOwner = new Map<number, number>();
  for (let i = 0; i < rawDevices.length; i++) {
    const d = validateDevice(rawDevices[i], i, irqLines, wordsPerFrame);
    if (E.isLeft(d)) return d;
    const previous = irqOwner.get(d.right.irq);
    if (previous !== undefined) {
      return E.left(
        mkError('config.relation', `machine config: 'devices[${i}].irq' ${d.right.irq} is already used by devices[${previous}]`, `devices[${i}].irq`),
      );
    }
    irqOwner.set(d.right.irq, i);
    devices.push(d.right);
  }
  // HW-CFG-5: RAM (at most 64 MiB) and at most 16 device pages of at most 4 KiB always fit in
  // the 32-bit physical address space, so the limits above already guarantee it.
  return E.right({ cpus, frames, wordsPerFrame, pageTableLevels, pageTableIndexBits, tlbEntries, irqLines, devices });
}

/** Derives the {@link Geometry} of a valid configuration (HW-CFG-6). */
export function geometryOf(config: MachineConfig): Geometry {
  const pageBytes = config.wordsPerFrame * 4;
  const offsetBits = Math.log2(pageBytes);
  return {
    config,
    pageBytes,
    offsetBits,
    vaBits: offsetBits + config.pageTableLevels * config.pageTableIndexBits,
    tableEntries: 1 << config.pageTableIndexBits,
    ramBytes: config.frames * pageBytes,
    ramWords: config.frames * config.wordsPerFrame,
    firstDevicePage: config.frames,
  };
}

/** The smallest useful machine: what the model checker explores (HW-CFG-7). */
export const TINY_MACHINE: MachineConfig = {
  cpus: 1,
  frames: 4,
  wordsPerFrame: 16,
  pageTableLevels: 2,
  pageTableIndexBits: 2,
  tlbEntries: 4,
  irqLines: 8,
  devices: [{ kind: 'console', irq: 3 }],
};

/** The demonstration machine: 4 CPUs, 4096 frames of 4 KiB, a two-level 10+10-bit table. */
export const DEMO_MACHINE: MachineConfig = {
  cpus: 4,
  frames: 4096,
  wordsPerFrame: 1024,
  pageTableLevels: 2,
  pageTableIndexBits: 10,
  tlbEntries: 64,
  irqLines: 32,
  devices: [
    { kind: 'console', irq: 3 },
    { kind: 'block', irq: 4, sectors: 256 },
    { kind: 'nic', irq: 5, rxQueue: 8 },
  ],
};
