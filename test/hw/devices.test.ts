/**
 * Devices and the physical map (HW-DEV-1..3, HW-MEM-4, HW-IOMMU-1..4, HW-EVT-3): the
 * console, the block device and the NIC driven through MMIO loads and stores executed by a
 * CPU, DMA through the IOMMU, interrupts raised on completion, and the external aborts of
 * the holes in the physical address space.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLOCK_STATUS,
  NIC_STATUS,
  PTE,
  SPURIOUS_IRQ,
  SYS,
  configureLine,
  execute,
  readWords,
  receivePacket,
  resetMachine,
  setIommuRoot,
  writeWords,
  type BlockState,
  type ConsoleState,
  type ExecResult,
  type Machine,
  type MachineConfig,
  type NicState,
} from '../../src/hw/index.ts';
import { loadWords, map, patchCpu, setSysRegs, SMALL_MACHINE, word } from './fixtures.ts';


const CFG: MachineConfig = SMALL_MACHINE;
const PAGE = 64;
const WPF = 16;
const CONSOLE = 0;
const BLOCK = 1;
const NIC = 2;
const BLOCK_IRQ = 4;
const NIC_IRQ = 5;
/** First physical address after the last device page: nothing lives from here on. */
const HOLE = (16 + 3) * PAGE;
/** Frame of every device's IOMMU root table in these tests, and the frames for inner tables. */
const IOMMU_ROOT = 12;

/** Physical address of register `r` of device `d` (HW-MEM-4). */
const devReg = (d: number, r: number): number => (16 + d) * PAGE + 4 * r;

/** The reset machine with CPU 0 at `el` (translation off), IRQs masked. */
const fresh = (el: 1 | 2 = 1): Machine => patchCpu(setSysRegs(resetMachine(CFG), 0, { [SYS.VBAR_EL1]: 0x100, [SYS.VBAR_EL2]: 0x300 }), 0, { el, pc: 0x40 });

function withRegs(m: Machine, values: Readonly<Record<number, number>>): Machine {
  const regs = m.cpus[0]!.regs.slice();
  for (const [r, v] of Object.entries(values)) regs[Number(r)] = v >>> 0;
  return patchCpu(m, 0, { regs });
}

/** CPU 0 executes `st r2, 0(r1)` with r1 = pa, r2 = value. */
function storeAt(m: Machine, pa: number, value: number): ExecResult {
  return execute(withRegs(m, { 1: pa, 2: value }), 0, word({ op: 'st', rs2: 2, rs1: 1, imm: 0 }));
}

/** CPU 0 executes `ld r3, 0(r1)` with r1 = pa. */
function loadAt(m: Machine, pa: number): ExecResult {
  return execute(withRegs(m, { 1: pa }), 0, word({ op: 'ld', rd: 3, rs1: 1, imm: 0 }));
}

/** A store to a device register that must complete. */
function poke(m: Machine, d: number, r: number, value: number): Machine {
  const x = storeAt(m, devReg(d, r), value);
  expect(x.trap).toBeNull();
  expect(x.record.memAccess).toMatchObject({ access: 'store', device: d, pa: devReg(d, r), value: value >>> 0 });
  return x.machine;
}

/** A load of a device register that must complete. */
function peek(m: Machine, d: number, r: number): number {
  const x = loadAt(m, devReg(d, r));
  expect(x.trap).toBeNull();
  expect(x.record.memAccess).toMatchObject({ access: 'load', device: d });
  return x.machine.cpus[0]!.regs[3]!;
}

const consoleOf = (m: Machine): ConsoleState => m.devices[CONSOLE] as ConsoleState;
const blockOf = (m: Machine): BlockState => m.devices[BLOCK] as BlockState;
const nicOf = (m: Machine): NicState => m.devices[NIC] as NicState;
const frameWords = (m: Machine, frame: number, n = WPF): number[] => readWords(m.memory, frame * WPF, n);
const linePending = (m: Machine, id: number): boolean => ((m.gic.pending >>> id) & 1) === 1;

/** Gives device `d` an IOMMU table mapping IOVA page i to frame `frames[i]` with `flags`. */
function iommu(m: Machine, d: number, pages: ReadonlyArray<readonly [iovaPage: number, frame: number, flags: number]>): Machine {
  m = setIommuRoot(m, d, IOMMU_ROOT);
  const spares = [13, 14, 15];
  for (const [page, frame, flags] of pages) m = map(m, IOMMU_ROOT, page * PAGE, frame, flags, spares);
  return m;
}

const pattern = (seed: number, n: number): number[] => Array.from({ length: n }, (_, i) => (seed * 0x9e3779b1 + i * 0x85ebca6b) >>> 0);

describe('HW-DEV-1 console', () => {
  it('HW-DEV-1: each store to DATA appends the character in bits 7:0; STATUS reads 1; other registers read 0 and ignore stores', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 20 }), (values) => {
        let m = fresh();
        for (const v of values) m = poke(m, CONSOLE, 0, v);
        expect(consoleOf(m).output).toBe(values.map((v) => String.fromCharCode(v & 0xff)).join(''));
        expect(peek(m, CONSOLE, 1)).toBe(1);
        expect(peek(m, CONSOLE, 0)).toBe(0);
        const other = poke(m, CONSOLE, 5, 0x41);
        expect(other.devices).toEqual(m.devices);
        expect(peek(m, CONSOLE, 5)).toBe(0);
      }),
    );
  });

  it('HW-DEV-1 / HW-EXEC-4: a program at EL1 with translation off prints through the console page', () => {
    const text = 'ok\n';
    const program: number[] = [word({ op: 'lui', rd: 1, imm: devReg(CONSOLE, 0) >>> 14 }), word({ op: 'ori', rd: 1, rs1: 1, imm: devReg(CONSOLE, 0) & 0x3fff })];
    for (const ch of text) program.push(word({ op: 'addi', rd: 2, rs1: 0, imm: ch.charCodeAt(0) }), word({ op: 'st', rs2: 2, rs1: 1, imm: 0 }));
    let m = loadWords(fresh(), 0x40, program);
    for (let i = 0; i < program.length; i++) {
      const r = execute(m, 0);
      expect(r.trap).toBeNull();
      m = r.machine;
    }
    expect(consoleOf(m).output).toBe(text);
  });
});

describe('HW-DEV-2 block device', () => {
  /** Issues a command: SECTOR, ADDR, COUNT, then CMD. */
  function command(m: Machine, cmd: number, sector: number, addr: number, count: number): Machine {
    m = poke(m, BLOCK, 0, sector);
    m = poke(m, BLOCK, 1, addr);
    m = poke(m, BLOCK, 2, count);
    return poke(m, BLOCK, 3, cmd);
  }

  it('HW-DEV-2: registers read back what was stored; STATUS starts IDLE', () => {
    let m = fresh();
    expect(peek(m, BLOCK, 4)).toBe(BLOCK_STATUS.IDLE);
    m = poke(poke(poke(m, BLOCK, 0, 3), BLOCK, 1, 0x80), BLOCK, 2, 1);
    expect([peek(m, BLOCK, 0), peek(m, BLOCK, 1), peek(m, BLOCK, 2)]).toEqual([3, 0x80, 1]);
  });

  it('HW-DEV-2 / HW-IOMMU-1: without an IOMMU table every transfer is a DMA fault that moves nothing, and the line is raised', () => {
    for (const cmd of [1, 2]) {
      const m0 = loadWords(fresh(), 2 * PAGE, pattern(1, WPF));
      const m = command(m0, cmd, 0, 2 * PAGE, 1);
      expect(peek(m, BLOCK, 4)).toBe(BLOCK_STATUS.DMA_FAULT);
      expect(m.memory).toBe(m0.memory);
      expect(blockOf(m).disk).toBe(blockOf(m0).disk);
      expect(linePending(m, BLOCK_IRQ)).toBe(true);
    }
  });

  it('HW-DEV-2: write memory → disk, then read disk → elsewhere in memory, through the IOMMU', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 1000 }), (sector, seed) => {
        const data = pattern(seed, WPF);
        let m = loadWords(fresh(), 2 * PAGE, data);
        // IOVA page 1 → frame 2 (read-only is enough to write the disk), page 2 → frame 3 (writable).
        m = iommu(m, BLOCK, [
          [1, 2, PTE.P],
          [2, 3, PTE.P | PTE.W],
        ]);
        m = command(m, 2, sector, 1 * PAGE, 1);
        expect(peek(m, BLOCK, 4)).toBe(BLOCK_STATUS.DONE);
        expect(readWords(blockOf(m).disk, sector * WPF, WPF)).toEqual(data);
        expect(linePending(m, BLOCK_IRQ)).toBe(true);
        m = poke(m, BLOCK, 5, 1);
        expect(peek(m, BLOCK, 4)).toBe(BLOCK_STATUS.IDLE);
        m = command(m, 1, sector, 2 * PAGE, 1);
        expect(peek(m, BLOCK, 4)).toBe(BLOCK_STATUS.DONE);
        expect(frameWords(m, 3)).toEqual(data);
      }),
    );
  });

  it('HW-DEV-2 / HW-IOMMU-2 / HW-IOMMU-4: a read into a page the IOMMU maps read-only faults and moves no word, even into the writable page before it', () => {
    let m = iommu(fresh(), BLOCK, [
      [1, 2, PTE.P | PTE.W],
      [2, 3, PTE.P],
    ]);
    m = { ...m, devices: m.devices.map((d, i) => (i === BLOCK ? { ...(d as BlockState), disk: writeWords((d as BlockState).disk, 0, pattern(7, 2 * WPF)) } : d)) };
    const before = m.memory;
    m = command(m, 1, 0, 1 * PAGE, 2);
    expect(peek(m, BLOCK, 4)).toBe(BLOCK_STATUS.DMA_FAULT);
    expect(m.memory).toBe(before);
  });

  it('HW-IOMMU-5 / HW-OPS-1: a transfer costs one iommuWalkStep per table entry read, per page, and one dmaWord per word', () => {
    let m = iommu(fresh(), BLOCK, [
      [1, 2, PTE.P | PTE.W],
      [2, 3, PTE.P | PTE.W],
    ]);
    m = poke(poke(poke(m, BLOCK, 0, 0), BLOCK, 1, 1 * PAGE), BLOCK, 2, 2);
    const r = storeAt(m, devReg(BLOCK, 3), 1);
    const count = (op: string): number => r.ops.filter((o) => o === op).length;
    // Two pages, each a two-level walk; two sectors of 16 words.
    expect([count('iommuWalkStep'), count('dmaWord'), count('mmioAccess')]).toEqual([4, 2 * WPF, 1]);
  });

  it('HW-IOMMU-3: a device cannot DMA into another device’s register page', () => {
    let m = iommu(fresh(), BLOCK, [[1, 16, PTE.P | PTE.W]]);
    m = command(m, 1, 0, 1 * PAGE, 1);
    expect(peek(m, BLOCK, 4)).toBe(BLOCK_STATUS.DMA_FAULT);
    expect(consoleOf(m).output).toBe('');
  });

  it('HW-DEV-2: COUNT 0, COUNT above 16 or past the end of the disk is a range error; another command is a bad command', () => {
    const mapped = iommu(fresh(), BLOCK, [[1, 2, PTE.P | PTE.W]]);
    for (const [sector, count] of [
      [0, 0],
      [0, 17],
      [3, 2],
      [4, 1],
      [0xffffffff, 1],
    ] as const) {
      const m = command(mapped, 1, sector, 1 * PAGE, count);
      expect(peek(m, BLOCK, 4), `sector ${sector} count ${count}`).toBe(BLOCK_STATUS.RANGE_ERROR);
      expect(m.memory).toBe(mapped.memory);
      expect(linePending(m, BLOCK_IRQ)).toBe(true);
    }
    for (const cmd of [0, 3, 0xffffffff]) {
      const m = command(mapped, cmd, 0, 1 * PAGE, 1);
      expect(peek(m, BLOCK, 4)).toBe(BLOCK_STATUS.BAD_COMMAND);
      expect(linePending(m, BLOCK_IRQ)).toBe(true);
    }
  });

  it('HW-DEV-2 / HW-IRQ-2: the completion interrupt is taken by the CPU the line is routed to, and acknowledged as the block device’s ID', () => {
    let m = iommu(fresh(), BLOCK, [[1, 2, PTE.P | PTE.W]]);
    m = { ...m, gic: configureLine(m.gic, BLOCK_IRQ, true, 0) };
    m = command(m, 1, 0, 1 * PAGE, 1);
    const r = execute(patchCpu(m, 0, { irqMasked: false }), 0, word({ op: 'addi', rd: 0, rs1: 0, imm: 0 }));
    expect(r.trap).toMatchObject({ kind: 'irq', to: 1 });
    const a = execute(m, 0, word({ op: 'mrs', rd: 5, sysreg: SYS.ICC_IAR }));
    expect(a.machine.cpus[0]!.regs[5]).toBe(BLOCK_IRQ);
    const again = execute(a.machine, 0, word({ op: 'mrs', rd: 5, sysreg: SYS.ICC_IAR }));
    expect(again.machine.cpus[0]!.regs[5]).toBe(SPURIOUS_IRQ);
  });
});

describe('HW-DEV-3 NIC', () => {
  /** A NIC whose IOVA page 1 is frame 2 (TX buffer, read-only) and page 2 is frame 3 (RX buffer). */
  const nicMachine = (): Machine =>
    iommu(fresh(), NIC, [
      [1, 2, PTE.P],
      [2, 3, PTE.P | PTE.W],
    ]);

  function postRx(m: Machine, addr: number, cap: number): Machine {
    return poke(poke(m, NIC, 3, addr), NIC, 4, cap);
  }

  function received(m: Machine, packet: readonly number[]): Machine {
    const r = receivePacket(m, NIC, packet);
    expect(r.error).toBeNull();
    return r.machine;
  }

  it('HW-DEV-3: TX_GO sends TX_LEN words from TX_ADDR onto the wire, sets TX_DONE and raises the line', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: WPF }), fc.integer({ min: 0, max: 1000 }), (len, seed) => {
        const data = pattern(seed, WPF);
        let m = loadWords(nicMachine(), 2 * PAGE, data);
        m = poke(poke(poke(m, NIC, 0, 1 * PAGE), NIC, 1, len), NIC, 2, 1);
        expect(nicOf(m).transmitted).toEqual([data.slice(0, len)]);
        expect(peek(m, NIC, 6)).toBe(NIC_STATUS.TX_DONE);
        expect(linePending(m, NIC_IRQ)).toBe(true);
        // ACK clears exactly the bits written.
        expect(peek(poke(m, NIC, 7, NIC_STATUS.RX_DONE), NIC, 6)).toBe(NIC_STATUS.TX_DONE);
        expect(peek(poke(m, NIC, 7, NIC_STATUS.TX_DONE), NIC, 6)).toBe(0);
      }),
    );
  });

  it('HW-DEV-3 / HW-IOMMU-4: a transmit that leaves the mapped pages, or is longer than 256 words, faults and sends nothing', () => {
    for (const [addr, len] of [
      // Pages 1 and 2 are mapped, page 3 is not.
      [1 * PAGE, 2 * WPF + 1],
      [3 * PAGE, 1],
      [1 * PAGE + 2, 1],
      [1 * PAGE, 257],
    ] as const) {
      let m = nicMachine();
      m = poke(poke(poke(m, NIC, 0, addr), NIC, 1, len), NIC, 2, 1);
      expect(nicOf(m).transmitted, `addr ${addr} len ${len}`).toEqual([]);
      expect(peek(m, NIC, 6)).toBe(NIC_STATUS.TX_FAULT);
      expect(linePending(m, NIC_IRQ)).toBe(true);
    }
    // Without any IOMMU table, too.
    const bare = poke(poke(poke(fresh(), NIC, 0, 0), NIC, 1, 1), NIC, 2, 1);
    expect(nicOf(bare).transmitted).toEqual([]);
    expect(peek(bare, NIC, 6)).toBe(NIC_STATUS.TX_FAULT);
  });

  it('HW-DEV-3: a transmit longer than 256 words faults even when every word of it is mapped', () => {
    // 256-byte pages and 12-bit IOVAs: five pages hold 320 words.
    const big: MachineConfig = { ...CFG, wordsPerFrame: 64 };
    let m = patchCpu(resetMachine(big), 0, { el: 1 });
    m = setIommuRoot(m, NIC, 15);
    const spares = [13, 14];
    for (let page = 0; page < 5; page++) m = map(m, 15, page * 256, 2 + page, PTE.P, spares);
    const reg = (r: number): number => (16 + NIC) * 256 + 4 * r;
    const send = (len: number): Machine => {
      let x = m;
      for (const [r, v] of [
        [0, 0],
        [1, len],
        [2, 1],
      ] as const) {
        const step = execute(withRegs(x, { 1: reg(r), 2: v }), 0, word({ op: 'st', rs2: 2, rs1: 1, imm: 0 }));
        expect(step.trap).toBeNull();
        x = step.machine;
      }
      return x;
    };
    expect((send(256).devices[NIC] as NicState).transmitted.map((p) => p.length)).toEqual([256]);
    const over = send(257).devices[NIC] as NicState;
    expect(over.transmitted).toEqual([]);
    expect(over.status).toBe(NIC_STATUS.TX_FAULT);
  });

  it('HW-DEV-3 / HW-EVT-3: a packet arriving with a buffer posted is written there, sets RX_LEN and RX_DONE, consumes the buffer and raises the line', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: WPF }), (packet) => {
        let m = postRx(nicMachine(), 2 * PAGE, WPF);
        m = received(m, packet);
        expect(frameWords(m, 3, packet.length)).toEqual(packet);
        expect(peek(m, NIC, 5)).toBe(packet.length);
        expect(peek(m, NIC, 6)).toBe(NIC_STATUS.RX_DONE);
        expect(peek(m, NIC, 4)).toBe(0);
        expect(linePending(m, NIC_IRQ)).toBe(true);
        expect(nicOf(m).rxQueue).toEqual([]);
      }),
    );
  });

  it('HW-DEV-3: packets without a buffer wait in the queue, in order, and fill buffers as they are posted; beyond the queue they are dropped and counted', () => {
    let m = nicMachine();
    const p1 = [1, 2, 3];
    const p2 = [4, 5];
    const p3 = [6];
    m = received(received(received(m, p1), p2), p3);
    // rxQueue is 2: the third is dropped.
    expect(nicOf(m).rxQueue).toEqual([p1, p2]);
    expect(nicOf(m).dropped).toBe(1);
    expect(linePending(m, NIC_IRQ)).toBe(false);
    m = postRx(m, 2 * PAGE, WPF);
    expect(frameWords(m, 3, 3)).toEqual(p1);
    expect(peek(m, NIC, 5)).toBe(3);
    expect(nicOf(m).rxQueue).toEqual([p2]);
    expect(linePending(m, NIC_IRQ)).toBe(true);
    m = postRx(m, 2 * PAGE + 4 * 8, 4);
    expect(frameWords(m, 3, 10)).toEqual([1, 2, 3, 0, 0, 0, 0, 0, 4, 5]);
    expect(peek(m, NIC, 5)).toBe(2);
    expect(nicOf(m).rxQueue).toEqual([]);
  });

  it('HW-DEV-3: a packet longer than 256 words is dropped and counted; one longer than the posted buffer is discarded with RX_FAULT', () => {
    let m = postRx(nicMachine(), 2 * PAGE, 4);
    const big = received(m, new Array<number>(257).fill(1));
    expect(nicOf(big).dropped).toBe(1);
    expect(nicOf(big).rxQueue).toEqual([]);
    expect(big.memory).toBe(m.memory);
    m = received(m, [1, 2, 3, 4, 5]);
    expect(peek(m, NIC, 6)).toBe(NIC_STATUS.RX_FAULT);
    expect(frameWords(m, 3)).toEqual(new Array<number>(WPF).fill(0));
    expect(nicOf(m).rxQueue).toEqual([]);
    expect(peek(m, NIC, 4)).toBe(0);
    expect(linePending(m, NIC_IRQ)).toBe(true);
  });

  it('HW-DEV-3 / HW-IOMMU-2: receiving into a buffer the IOMMU maps read-only is an RX_FAULT that writes nothing', () => {
    let m = postRx(nicMachine(), 1 * PAGE, 4);
    const before = m.memory;
    m = received(m, [9, 9]);
    expect(peek(m, NIC, 6)).toBe(NIC_STATUS.RX_FAULT);
    expect(m.memory).toBe(before);
  });

  it('HW-DEV-3: RX_CAP is capped at 256 words', () => {
    const m = poke(fresh(), NIC, 4, 100000);
    expect(peek(m, NIC, 4)).toBe(256);
  });

  it('HW-EVT-3: a packet for a device that is not a NIC is rejected, the machine unchanged', () => {
    const m = fresh();
    for (const d of [CONSOLE, BLOCK, 3, -1, 0.5]) {
      const r = receivePacket(m, d, [1]);
      expect(r.error?.code).toBe('event.device');
      expect(r.machine).toBe(m);
    }
  });
});

describe('HW-MEM-4 physical map', () => {
  it('HW-MEM-4 / HW-EXEC-4: an aligned access is RAM below the RAM size, a device register on a device page, and an external abort anywhere else', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 0x3fffffff }), fc.integer({ min: 0, max: HOLE / 4 + 40 })).map((w) => w * 4),
        fc.constantFrom(1 as const, 2 as const),
        fc.boolean(),
        (pa, el, store) => {
          const m = fresh(el);
          const r = store ? storeAt(m, pa, 0x21) : loadAt(m, pa);
          if (pa < 16 * PAGE) {
            expect(r.trap).toBeNull();
            expect(r.record.memAccess?.device).toBeNull();
          } else if (pa < HOLE) {
            expect(r.trap).toBeNull();
            expect(r.record.memAccess?.device).toBe(Math.floor(pa / PAGE) - 16);
          } else {
            expect(r.trap).toMatchObject({ kind: 'abort', fault: 'external', va: pa, to: el });
            expect(r.machine.memory).toBe(m.memory);
            expect(r.machine.devices).toBe(m.devices);
          }
        },
      ),
    );
  });

  it('HW-MEM-4 / HW-EXEC-3: instructions are fetched from RAM only: a device page or a hole is an external instruction abort', () => {
    for (const pc of [devReg(CONSOLE, 0), devReg(NIC, 2), HOLE, 0xfffffffc]) {
      const m = fresh();
      const r = execute(patchCpu(m, 0, { pc }), 0);
      expect(r.trap, `pc 0x${pc.toString(16)}`).toMatchObject({ kind: 'abort', access: 'fetch', fault: 'external', va: pc, to: 1 });
      expect(r.machine.devices).toBe(m.devices);
    }
  });
});
