/**
 * The block device (HW-DEV-2). Registers, by word offset:
 * 0 SECTOR, 1 ADDR (IOVA of the buffer), 2 COUNT (sectors), 3 CMD (write 1: disk → memory,
 * 2: memory → disk), 4 STATUS (read), 5 ACK (write: STATUS ← IDLE).
 *
 * A command completes at the register write that issues it: the DMA moves all the words or
 * none, STATUS says how it went, and the device's interrupt line is raised. Completing at
 * once keeps the model deterministic without a device clock; the cost layer prices the
 * transfer per word.
 *
 * @module
 */
import type { PrimitiveOp } from '../../perf/ops.ts';
import { raiseLine } from '../gic.ts';
import { dmaRead, dmaWrite } from '../iommu.ts';
import { withDevice, type Machine } from '../machine.ts';
import { readWords, writeWords } from '../memory.ts';
import { BLOCK_STATUS, type BlockState } from './state.ts';

export const BLOCK_REG = { SECTOR: 0, ADDR: 1, COUNT: 2, CMD: 3, STATUS: 4, ACK: 5 } as const;
export const BLOCK_CMD = { READ: 1, WRITE: 2 } as const;

/** At most this many sectors move per command. */
export const BLOCK_MAX_COUNT = 16;

export function blockRead(state: BlockState, reg: number): number {
  switch (reg) {
    case BLOCK_REG.SECTOR:
      return state.sector;
    case BLOCK_REG.ADDR:
      return state.addr;
    case BLOCK_REG.COUNT:
      return state.count;
    case BLOCK_REG.STATUS:
      return state.status;
    default:
      return 0;
  }
}

export function blockWrite(
  m: Machine,
  index: number,
  state: BlockState,
  reg: number,
  value: number,
): { readonly machine: Machine; readonly ops: readonly PrimitiveOp[] } {
  const set = (next: BlockState, ops: readonly PrimitiveOp[] = []) => ({ machine: withDevice(m, index, next), ops });
  switch (reg) {
    case BLOCK_REG.SECTOR:
      return set({ ...state, sector: value });
    case BLOCK_REG.ADDR:
      return set({ ...state, addr: value });
    case BLOCK_REG.COUNT:
      return set({ ...state, count: value });
    case BLOCK_REG.ACK:
      return set({ ...state, status: BLOCK_STATUS.IDLE });
    case BLOCK_REG.CMD:
      return runCommand(m, index, state, value);
    default:
      return { machine: m, ops: [] };
  }
}

function runCommand(
  m: Machine,
  index: number,
  state: BlockState,
  command: number,
): { readonly machine: Machine; readonly ops: readonly PrimitiveOp[] } {
  const wpf = m.geometry.config.wordsPerFrame;
  const finish = (machine: Machine, disk: BlockState['disk'], status: number, ops: readonly PrimitiveOp[]) => {
    const done = withDevice(machine, index, { ...state, disk, status });
    return { machine: { ...done, gic: raiseLine(done.gic, state.irq) }, ops };
  };
  if (command !== BLOCK_CMD.READ && command !== BLOCK_CMD.WRITE) {
    return finish(m, state.disk, BLOCK_STATUS.BAD_COMMAND, []);
  }
  if (state.count < 1 || state.count > BLOCK_MAX_COUNT || state.sector + state.count > state.sectors) {
    return finish(m, state.disk, BLOCK_STATUS.RANGE_ERROR, []);
  }
  const words = state.count * wpf;
  const first = state.sector * wpf;
  if (command === BLOCK_CMD.READ) {
    const r = dmaWrite(m, index, state.addr, readWords(state.disk, first, words));
    if (!r.ok) return finish(m, state.disk, BLOCK_STATUS.DMA_FAULT, r.ops);
    return finish({ ...m, memory: r.memory }, state.disk, BLOCK_STATUS.DONE, r.ops);
  }
  const r = dmaRead(m, index, state.addr, words);
  if (!r.ok) return finish(m, state.disk, BLOCK_STATUS.DMA_FAULT, r.ops);
  return finish(m, writeWords(state.disk, first, r.data), BLOCK_STATUS.DONE, r.ops);
}
