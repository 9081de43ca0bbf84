/**
 * DMA through the IOMMU (HW-IOMMU-1..5), driven through the block device (HW-DEV-2): random
 * IOMMU tables, roots and transfers, checked against the reference walker's notion of which
 * RAM pages a device may read and write. Commands are issued either by MMIO stores from EL1
 * with translation off, or by calling `deviceWrite` directly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import {
  BLOCK_CMD,
  BLOCK_REG,
  BLOCK_STATUS,
  deviceRead,
  deviceWrite,
  encode,
  execute,
  pte,
  PTE,
  readWord,
  readWords,
  setIommuRoot,
  withDevice,
  writeWords,
  type BlockState,
  type Instruction,
  type Machine,
  type MachineConfig,
} from '../../src/hw/index.ts';
import type { PrimitiveOp } from '../../src/perf/ops.ts';
import { machine, map, patchCpu, SMALL_MACHINE } from './fixtures.ts';
import { ramReader, refGeometry, refIommuPage, refPageBytes, type RefGeometry } from './reference-walker.ts';

// ---------------------------------------------------------------------------------------------
// The machine: 16 frames of 16 words, 2 × 2-bit tables; device 0 a console, 1 and 2 block
// devices of 8 sectors each (one sector = one frame).

const CONFIG: MachineConfig = {
  ...SMALL_MACHINE,
  devices: [
    { kind: 'console', irq: 3 },
    { kind: 'block', irq: 4, sectors: 8 },
    { kind: 'block', irq: 5, sectors: 8 },
  ],
};
const G: RefGeometry = refGeometry(CONFIG);
const PAGE = refPageBytes(G);
const WPF = CONFIG.wordsPerFrame;
const SECTORS = 8;
const BLOCKS = [1, 2] as const;
type BlockIndex = (typeof BLOCKS)[number];

/** A recognisable disk: word i of device d's disk is 0xd0000000 | d << 16 | i. */
function diskPattern(device: number): number[] {
  return Array.from({ length: SECTORS * WPF }, (_, i) => (0xd0000000 | (device << 16) | i) >>> 0);
}

/** RAM as a plain array of words (through readWord only). */
function ramWords(m: Machine): number[] {
  return readWords(m.memory, 0, G.frames * WPF);
}

function block(m: Machine, d: number): BlockState {
  const s = m.devices[d];
  if (s?.kind !== 'block') throw new Error(`device ${d} is not a block device`);
  return s;
}

function diskWords(m: Machine, d: number): number[] {
  return readWords(block(m, d).disk, 0, SECTORS * WPF);
}

function withDisk(m: Machine, d: number, words: readonly number[]): Machine {
  const s = block(m, d);
  return withDevice(m, d, { ...s, disk: writeWords(s.disk, 0, words) });
}

/** A request to the block device: the four register stores that issue it. */
interface Request {
  readonly device: BlockIndex;
  readonly sector: number;
  readonly addr: number;
  readonly count: number;
  readonly cmd: number;
}

function insnWord(insn: Instruction): number {
  const e = encode(insn);
  if (E.isLeft(e)) throw new Error(e.left.message);
  return e.right;
}

/** Issues a request with `deviceWrite` calls, collecting the ops. */
function issueDirect(m: Machine, r: Request): { machine: Machine; ops: readonly PrimitiveOp[] } {
  let cur = m;
  const ops: PrimitiveOp[] = [];
  for (const [reg, value] of registerStores(r)) {
    const w = deviceWrite(cur, r.device, reg, value);
    cur = w.machine;
    ops.push(...w.ops);
  }
  return { machine: cur, ops };
}

/** Issues a request by MMIO stores from EL1 with translation off, collecting the ops. */
function issueByMmio(m: Machine, r: Request): { machine: Machine; ops: readonly PrimitiveOp[] } {
  let cur = patchCpu(m, 0, { el: 1 });
  const ops: PrimitiveOp[] = [];
  const base = (CONFIG.frames + r.device) * PAGE;
  for (const [reg, value] of registerStores(r)) {
    const regs = cur.cpus[0]!.regs.slice();
    regs[1] = base;
    regs[2] = value >>> 0;
    const step = execute(patchCpu(cur, 0, { regs }), 0, insnWord({ op: 'st', rs2: 2, rs1: 1, imm: 4 * reg }));
    expect(step.trap).toBeNull();
    expect(step.record.memAccess).toMatchObject({ access: 'store', pa: base + 4 * reg, device: r.device });
    cur = step.machine;
    ops.push(...step.ops);
  }
  // STATUS reads back through MMIO as well.
  const regs = cur.cpus[0]!.regs.slice();
  regs[1] = base;
  const status = execute(patchCpu(cur, 0, { regs }), 0, insnWord({ op: 'ld', rd: 4, rs1: 1, imm: 4 * BLOCK_REG.STATUS }));
  expect(status.machine.cpus[0]!.regs[4]).toBe(block(cur, r.device).status);
  return { machine: cur, ops };
}

function registerStores(r: Request): ReadonlyArray<readonly [number, number]> {
  return [
    [BLOCK_REG.SECTOR, r.sector],
    [BLOCK_REG.ADDR, r.addr],
    [BLOCK_REG.COUNT, r.count],
    [BLOCK_REG.CMD, r.cmd],
  ];
}

// ---------------------------------------------------------------------------------------------
// The reference: what a request must do, from HW-DEV-2 and HW-IOMMU-1..5.

interface Expected {
  readonly status: number;
  readonly ram: readonly number[];
  readonly disk: readonly number[];
  /** Table entries the IOMMU reads: one walk per page touched, up to the first refusal. */
  readonly walkReads: number;
  readonly wordsMoved: number;
}

/** The physical word each word of a transfer reaches, or null if any page is refused. */
function refTransfer(m: Machine, device: number, iova: number, words: number, intoMemory: boolean): { pa: number[] | null; reads: number } {
  const root = m.iommu.roots[device]!;
  // HW-IOMMU-1: no root, no DMA; HW-IOMMU-2: IOVAs are word-aligned.
  if (root < 0 || iova % 4 !== 0) return { pa: null, reads: 0 };
  const read = ramReader(m.memory);
  const out: number[] = [];
  let reads = 0;
  let lastPage = -1;
  let frame = -1;
  for (let i = 0; i < words; i++) {
    const at = iova + 4 * i;
    if (at >= 2 ** 32) return { pa: null, reads };
    const page = Math.floor(at / PAGE);
    if (page !== lastPage) {
      const r = refIommuPage(G, read, root, at, intoMemory);
      reads += r.read.length;
      if (r.page === null) return { pa: null, reads };
      lastPage = page;
      frame = r.page;
    }
    out.push(frame * WPF + (at % PAGE) / 4);
  }
  return { pa: out, reads };
}

function expected(m: Machine, r: Request): Expected {
  const ram = ramWords(m);
  const disk = diskWords(m, r.device);
  const unchanged = (status: number, walkReads = 0): Expected => ({ status, ram, disk, walkReads, wordsMoved: 0 });
  if (r.cmd !== BLOCK_CMD.READ && r.cmd !== BLOCK_CMD.WRITE) return unchanged(BLOCK_STATUS.BAD_COMMAND);
  if (r.count < 1 || r.count > 16 || r.sector + r.count > SECTORS) return unchanged(BLOCK_STATUS.RANGE_ERROR);
  const words = r.count * WPF;
  const first = r.sector * WPF;
  const intoMemory = r.cmd === BLOCK_CMD.READ;
  const t = refTransfer(m, r.device, r.addr, words, intoMemory);
  // HW-IOMMU-4: a refusal anywhere moves nothing at all.
  if (t.pa === null) return unchanged(BLOCK_STATUS.DMA_FAULT, t.reads);
  const nextRam = ram.slice();
  const nextDisk = disk.slice();
  t.pa.forEach((pa, i) => {
    if (intoMemory) nextRam[pa] = disk[first + i]!;
    else nextDisk[first + i] = ram[pa]!;
  });
  return { status: BLOCK_STATUS.DONE, ram: nextRam, disk: nextDisk, walkReads: t.reads, wordsMoved: words };
}

/** Every RAM word the device may write: the words of each frame some IOVA maps with P|W. */
function writableWords(m: Machine, device: number): Set<number> {
  const root = m.iommu.roots[device]!;
  const out = new Set<number>();
  for (let page = 0; page < (2 ** G.bits) ** G.levels; page++) {
    const frame = root < 0 ? null : refIommuPage(G, ramReader(m.memory), root, page * PAGE, true).page;
    if (frame !== null) for (let i = 0; i < WPF; i++) out.add(frame * WPF + i);
  }
  return out;
}

function count(ops: readonly PrimitiveOp[], op: PrimitiveOp): number {
  return ops.filter((o) => o === op).length;
}

// ---------------------------------------------------------------------------------------------
// Generators

function pteArb(): fc.Arbitrary<number> {
  const ppn = fc.oneof(
    { weight: 10, arbitrary: fc.nat(15) },
    // A device's register page, a hole, and far away.
    { weight: 2, arbitrary: fc.integer({ min: 16, max: 20 }) },
    { weight: 1, arbitrary: fc.nat(2 ** 28 - 1) },
  );
  const bit = (percent: number) => fc.integer({ min: 0, max: 99 }).map((n) => n < percent);
  return fc
    .record({ ppn, p: bit(90), w: bit(65), x: bit(50), u: bit(50) })
    .map(({ ppn, p, w, x, u }) => pte(ppn, (p ? PTE.P : 0) | (w ? PTE.W : 0) | (x ? PTE.X : 0) | (u ? PTE.U : 0)));
}

/**
 * Tables in the first four words of every frame: frames 1..4 are roots pointing (mostly) at
 * inner tables in frames 5..8, whose entries are random leaves; everything else is random.
 */
const tablesArb = fc
  .tuple(fc.array(pteArb(), { minLength: 64, maxLength: 64 }), fc.array(fc.nat(9), { minLength: 16, maxLength: 16 }))
  .map(([random, holes]) =>
    random.map((entry, i) => {
      const frame = Math.floor(i / 4);
      if (frame < 1 || frame > 4 || holes[(frame - 1) * 4 + (i % 4)] === 0) return entry;
      return pte(5 + ((frame + i) % 4), PTE.P);
    }),
  );

/** A device's root: a shaped root, any frame, none (-1), or something setIommuRoot refuses. */
const rootArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 2, arbitrary: fc.nat(15) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 16, 1000, 2.5) },
);

const requestArb: fc.Arbitrary<Request> = fc.record({
  device: fc.constantFrom<BlockIndex>(1, 2),
  sector: fc.oneof({ weight: 8, arbitrary: fc.nat(SECTORS - 1) }, { weight: 1, arbitrary: fc.nat(0xffffffff) }),
  addr: fc.oneof(
    { weight: 8, arbitrary: fc.nat(15).map((p) => p * PAGE) },
    // Starting mid-page, so a transfer straddles pages; misaligned; beyond 2^vaBits.
    { weight: 2, arbitrary: fc.nat(255).map((w) => w * 4) },
    { weight: 1, arbitrary: fc.nat(1023) },
    { weight: 1, arbitrary: fc.nat(0xffffffff) },
  ),
  count: fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 9, 17) }),
  cmd: fc.oneof({ weight: 10, arbitrary: fc.constantFrom(BLOCK_CMD.READ, BLOCK_CMD.WRITE) }, { weight: 1, arbitrary: fc.constantFrom(0, 3) }),
});

interface Scenario {
  readonly tables: readonly number[];
  readonly roots: readonly [number, number];
  readonly request: Request;
  readonly viaMmio: boolean;
  /** Another root for the device not addressed, to show it does not matter. */
  readonly otherRoot: number;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  tables: tablesArb,
  roots: fc.tuple(rootArb, rootArb),
  request: requestArb,
  viaMmio: fc.boolean(),
  otherRoot: rootArb,
});

/** RAM: tables in words 0..3 of each frame, a recognisable pattern elsewhere; disks patterned. */
function buildMachine(s: Scenario): Machine {
  let m = machine(CONFIG);
  const words: number[] = [];
  for (let f = 0; f < G.frames; f++) {
    for (let i = 0; i < WPF; i++) words.push(i < 4 ? s.tables[f * 4 + i]! : (0xa0000000 | (f << 8) | i) >>> 0);
  }
  m = { ...m, memory: writeWords(m.memory, 0, words) };
  for (const d of BLOCKS) m = withDisk(m, d, diskPattern(d));
  m = setIommuRoot(m, 1, s.roots[0]);
  return setIommuRoot(m, 2, s.roots[1]);
}

function issue(m: Machine, r: Request, viaMmio: boolean): { machine: Machine; ops: readonly PrimitiveOp[] } {
  return viaMmio ? issueByMmio(m, r) : issueDirect(m, r);
}

// ---------------------------------------------------------------------------------------------

describe('DMA against the reference', () => {
  it('HW-IOMMU-1..5: random tables, roots and block transfers do exactly what the reference says (memory, disk, STATUS, walk and word ops)', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const m = buildMachine(s);
        const exp = expected(m, s.request);
        const got = issue(m, s.request, s.viaMmio);
        expect(block(got.machine, s.request.device).status).toBe(exp.status);
        expect(ramWords(got.machine)).toEqual(exp.ram);
        expect(diskWords(got.machine, s.request.device)).toEqual(exp.disk);
        // The other block device is untouched.
        const other = s.request.device === 1 ? 2 : 1;
        expect(got.machine.devices[other]).toBe(m.devices[other]);
        // HW-IOMMU-5: one iommuWalkStep per entry read, one dmaWord per word moved.
        expect({ walk: count(got.ops, 'iommuWalkStep'), words: count(got.ops, 'dmaWord') }).toEqual({ walk: exp.walkReads, words: exp.wordsMoved });
      }),
    );
  });

  it('HW-IOMMU-1, HW-IOMMU-2: the RAM words a DMA changes lie in frames the device maps with P|W', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const m = buildMachine(s);
        const after = ramWords(issue(m, s.request, s.viaMmio).machine);
        const before = ramWords(m);
        const allowed = writableWords(m, s.request.device);
        const changed = before.map((w, i) => (w !== after[i] ? i : -1)).filter((i) => i >= 0);
        expect(changed.filter((i) => !allowed.has(i))).toEqual([]);
      }),
    );
  });

  it("HW-IOMMU-1: another device's root and table are irrelevant to a device's DMA", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const m = buildMachine(s);
        const other = s.request.device === 1 ? 2 : 1;
        const m2 = setIommuRoot(m, other, s.otherRoot);
        const a = issue(m, s.request, false).machine;
        const b = issue(m2, s.request, false).machine;
        expect(ramWords(b)).toEqual(ramWords(a));
        expect(b.devices[s.request.device]).toEqual(a.devices[s.request.device]);
      }),
    );
  });

  it('the generator reaches every outcome (so the properties above can fail)', () => {
    const seen = new Map<number, number>();
    let straddling = 0;
    for (const s of fc.sample(scenarioArb, { seed: 20261123, numRuns: 300 })) {
      const m = buildMachine(s);
      const e = expected(m, s.request);
      seen.set(e.status, (seen.get(e.status) ?? 0) + 1);
      if (e.status === BLOCK_STATUS.DONE && s.request.addr % PAGE !== 0) straddling++;
    }
    for (const status of [BLOCK_STATUS.DONE, BLOCK_STATUS.DMA_FAULT, BLOCK_STATUS.RANGE_ERROR, BLOCK_STATUS.BAD_COMMAND]) {
      expect(seen.get(status) ?? 0, `status ${status}`).toBeGreaterThan(5);
    }
    expect(straddling).toBeGreaterThan(3);
  });
});

// ---------------------------------------------------------------------------------------------
// Rule examples. IOMMU tables for device 1 rooted at frame 1, device 2 at frame 3.

/** A machine whose device 1 maps IOVA pages to frames as given (root 1, leaf table 2). */
function mapped(mappings: ReadonlyArray<readonly [iovaPage: number, frame: number, flags: number]>, device: BlockIndex = 1): Machine {
  let m = machine(CONFIG);
  for (const d of BLOCKS) m = withDisk(m, d, diskPattern(d));
  const root = device === 1 ? 1 : 3;
  const spares = device === 1 ? [2, 5] : [4, 6];
  for (const [page, frame, flags] of mappings) m = map(m, root, page * PAGE, frame, flags, spares);
  return setIommuRoot(m, device, root);
}

function transfer(m: Machine, r: Omit<Request, 'device'> & { device?: BlockIndex }): Machine {
  return issueDirect(m, { device: 1, ...r }).machine;
}

describe('IOMMU rules by example', () => {
  it('HW-IOMMU-1: a device with no root (-1) moves nothing; setIommuRoot refuses a root outside RAM', () => {
    const m = mapped([[0, 10, PTE.W]]);
    const none = setIommuRoot(m, 1, -1);
    const r = transfer(none, { sector: 0, addr: 0, count: 1, cmd: BLOCK_CMD.READ });
    expect(block(r, 1).status).toBe(BLOCK_STATUS.DMA_FAULT);
    expect(r.memory).toBe(none.memory);
    const w = transfer(none, { sector: 0, addr: 0, count: 1, cmd: BLOCK_CMD.WRITE });
    expect(block(w, 1).status).toBe(BLOCK_STATUS.DMA_FAULT);
    expect(block(w, 1).disk).toBe(block(none, 1).disk);
    for (const bad of [16, 17, -5, 1.5, Number.NaN]) expect(setIommuRoot(m, 1, bad).iommu.roots[1]).toBe(-1);
    // At power-on no device has a root.
    expect(machine(CONFIG).iommu.roots).toEqual([-1, -1, -1]);
  });

  it('HW-IOMMU-1: each device uses its own root: the same IOVA reaches different frames', () => {
    let m = mapped([[0, 10, PTE.W]], 1);
    m = map(m, 3, 0, 12, PTE.W, [4]);
    m = setIommuRoot(m, 2, 3);
    m = transfer(m, { device: 1, sector: 0, addr: 0, count: 1, cmd: BLOCK_CMD.READ });
    m = transfer(m, { device: 2, sector: 0, addr: 0, count: 1, cmd: BLOCK_CMD.READ });
    expect(readWords(m.memory, 10 * WPF, WPF)).toEqual(diskPattern(1).slice(0, WPF));
    expect(readWords(m.memory, 12 * WPF, WPF)).toEqual(diskPattern(2).slice(0, WPF));
  });

  it('HW-IOMMU-2: a device read of memory needs P; a device write into memory needs P and W; U and X do not matter', () => {
    const ro = mapped([[0, 10, PTE.X | PTE.U]]);
    const into = transfer(ro, { sector: 0, addr: 0, count: 1, cmd: BLOCK_CMD.READ });
    expect(block(into, 1).status).toBe(BLOCK_STATUS.DMA_FAULT);
    expect(into.memory).toBe(ro.memory);
    const from = transfer(loadFrame(ro, 10, 7), { sector: 2, addr: 0, count: 1, cmd: BLOCK_CMD.WRITE });
    expect(block(from, 1).status).toBe(BLOCK_STATUS.DONE);
    expect(readWords(block(from, 1).disk, 2 * WPF, WPF)).toEqual(frameFill(7));
    const rw = mapped([[0, 10, PTE.W]]);
    expect(block(transfer(rw, { sector: 0, addr: 0, count: 1, cmd: BLOCK_CMD.READ }), 1).status).toBe(BLOCK_STATUS.DONE);
    // An IOVA must be word-aligned.
    expect(block(transfer(rw, { sector: 0, addr: 2, count: 1, cmd: BLOCK_CMD.WRITE }), 1).status).toBe(BLOCK_STATUS.DMA_FAULT);
  });

  it('HW-IOMMU-3: a leaf naming a device register page or a hole is refused: no peer-to-peer DMA', () => {
    for (const frame of [16, 17, 18, 19, 2 ** 20]) {
      const m = mapped([[0, frame, PTE.W]]);
      for (const cmd of [BLOCK_CMD.READ, BLOCK_CMD.WRITE]) {
        const r = transfer(m, { sector: 0, addr: 0, count: 1, cmd });
        expect(block(r, 1).status, `frame ${frame} cmd ${cmd}`).toBe(BLOCK_STATUS.DMA_FAULT);
        expect(r.memory).toBe(m.memory);
        expect(block(r, 1).disk).toBe(block(m, 1).disk);
        expect(r.devices[0]).toBe(m.devices[0]);
      }
    }
  });

  it('HW-IOMMU-4: a transfer whose last page is refused moves no word at all, either way', () => {
    // IOVA pages 0, 1 writable; page 2 read-only; page 3 absent.
    let m = mapped([
      [0, 10, PTE.W],
      [1, 11, PTE.W],
      [2, 12, 0],
    ]);
    m = loadFrame(loadFrame(loadFrame(m, 10, 1), 11, 2), 12, 3);
    const into = transfer(m, { sector: 0, addr: 0, count: 3, cmd: BLOCK_CMD.READ });
    expect(block(into, 1).status).toBe(BLOCK_STATUS.DMA_FAULT);
    expect(into.memory).toBe(m.memory);
    // Reading pages 1..3 out of memory: page 3 is absent, so the disk keeps its contents.
    const from = transfer(m, { sector: 4, addr: PAGE, count: 3, cmd: BLOCK_CMD.WRITE });
    expect(block(from, 1).status).toBe(BLOCK_STATUS.DMA_FAULT);
    expect(block(from, 1).disk).toBe(block(m, 1).disk);
    // The same transfers one page shorter succeed.
    expect(block(transfer(m, { sector: 0, addr: 0, count: 2, cmd: BLOCK_CMD.READ }), 1).status).toBe(BLOCK_STATUS.DONE);
    const ok = transfer(m, { sector: 4, addr: PAGE, count: 2, cmd: BLOCK_CMD.WRITE });
    expect(readWords(block(ok, 1).disk, 4 * WPF, 2 * WPF)).toEqual([...frameFill(2), ...frameFill(3)]);
  });

  it('HW-IOMMU-4: a transfer that starts mid-page and crosses into a refused page moves nothing', () => {
    const m = mapped([[0, 10, PTE.W]]);
    const r = transfer(m, { sector: 0, addr: 8, count: 1, cmd: BLOCK_CMD.READ });
    expect(block(r, 1).status).toBe(BLOCK_STATUS.DMA_FAULT);
    expect(r.memory).toBe(m.memory);
  });

  it('HW-IOMMU-5: a two-page transfer walks each page once and moves each word once', () => {
    const m = mapped([
      [0, 10, PTE.W],
      [1, 11, PTE.W],
    ]);
    const { ops } = issueDirect(m, { device: 1, sector: 0, addr: 0, count: 2, cmd: BLOCK_CMD.READ });
    expect(count(ops, 'iommuWalkStep')).toBe(2 * CONFIG.pageTableLevels);
    expect(count(ops, 'dmaWord')).toBe(2 * WPF);
  });

  it('HW-DEV-2, HW-IOMMU-2: a disk write then a disk read round-trips the data through the IOMMU (by MMIO)', () => {
    let m = mapped([
      [3, 9, PTE.W],
      [4, 13, PTE.W],
      [7, 14, PTE.W],
    ]);
    const data = Array.from({ length: 2 * WPF }, (_, i) => Math.imul(i + 7, 0x2545f491) >>> 0);
    m = { ...m, memory: writeWords(writeWords(m.memory, 9 * WPF, data.slice(0, WPF)), 13 * WPF, data.slice(WPF)) };
    m = issueByMmio(m, { device: 1, sector: 5, addr: 3 * PAGE, count: 2, cmd: BLOCK_CMD.WRITE }).machine;
    expect(deviceRead(m, 1, BLOCK_REG.STATUS)).toBe(BLOCK_STATUS.DONE);
    m = deviceWrite(m, 1, BLOCK_REG.ACK, 0).machine;
    expect(deviceRead(m, 1, BLOCK_REG.STATUS)).toBe(BLOCK_STATUS.IDLE);
    // Read sector 6 back into IOVA page 7 (frame 14), then sector 5 into IOVA page 3 after clearing it.
    m = issueByMmio(m, { device: 1, sector: 6, addr: 7 * PAGE, count: 1, cmd: BLOCK_CMD.READ }).machine;
    expect(readWords(m.memory, 14 * WPF, WPF)).toEqual(data.slice(WPF));
    m = { ...m, memory: writeWords(m.memory, 9 * WPF, new Array<number>(WPF).fill(0)) };
    m = issueByMmio(m, { device: 1, sector: 5, addr: 3 * PAGE, count: 1, cmd: BLOCK_CMD.READ }).machine;
    expect(readWords(m.memory, 9 * WPF, WPF)).toEqual(data.slice(0, WPF));
    expect(readWord(m.memory, 13 * WPF)).toBe(data[WPF]);
  });
});

/** Frame contents used to recognise where a transfer read from. */
function frameFill(tag: number): number[] {
  return Array.from({ length: WPF }, (_, i) => (0xf0000000 | (tag << 8) | i) >>> 0);
}

function loadFrame(m: Machine, frame: number, tag: number): Machine {
  return { ...m, memory: writeWords(m.memory, frame * WPF, frameFill(tag)) };
}
