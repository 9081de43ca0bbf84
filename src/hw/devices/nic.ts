/**
 * The network card (HW-DEV-3). Registers, by word offset:
 * 0 TX_ADDR, 1 TX_LEN (words), 2 TX_GO (write: send), 3 RX_ADDR, 4 RX_CAP (write: post a
 * receive buffer of that many words), 5 RX_LEN (read: length of the last packet received),
 * 6 STATUS (TX_DONE, RX_DONE, TX_FAULT, RX_FAULT), 7 ACK (write: clear the STATUS bits set
 * in the value).
 *
 * Sending moves the packet by DMA onto the wire (the `transmitted` list) at the TX_GO write.
 * A packet arriving from outside (a `device` event) is written into the posted buffer, or
 * waits in a bounded queue until one is posted; beyond the queue it is dropped and counted.
 * Every completion raises the NIC's interrupt line.
 *
 * @module
 */
import type { PrimitiveOp } from '../../perf/ops.ts';
import { raiseLine } from '../gic.ts';
import { dmaRead, dmaWrite } from '../iommu.ts';
import { withDevice, type Machine } from '../machine.ts';
import { NIC_STATUS, type NicState } from './state.ts';

export const NIC_REG = { TX_ADDR: 0, TX_LEN: 1, TX_GO: 2, RX_ADDR: 3, RX_CAP: 4, RX_LEN: 5, STATUS: 6, ACK: 7 } as const;

/** Largest packet, in words, either way. */
export const NIC_MAX_PACKET = 256;

type Outcome = { readonly machine: Machine; readonly ops: readonly PrimitiveOp[] };

export function nicRead(state: NicState, reg: number): number {
  switch (reg) {
    case NIC_REG.TX_ADDR:
      return state.txAddr;
    case NIC_REG.TX_LEN:
      return state.txLen;
    case NIC_REG.RX_ADDR:
      return state.rxAddr;
    case NIC_REG.RX_CAP:
      return state.rxCap;
    case NIC_REG.RX_LEN:
      return state.rxLen;
    case NIC_REG.STATUS:
      return state.status;
    default:
      return 0;
  }
}

function raised(m: Machine, state: NicState): Machine {
  return { ...m, gic: raiseLine(m.gic, state.irq) };
}

export function nicWrite(m: Machine, index: number, state: NicState, reg: number, value: number): Outcome {
  const set = (next: NicState): Outcome => ({ machine: withDevice(m, index, next), ops: [] });
  switch (reg) {
    case NIC_REG.TX_ADDR:
      return set({ ...state, txAddr: value });
    case NIC_REG.TX_LEN:
      return set({ ...state, txLen: value });
    case NIC_REG.RX_ADDR:
      return set({ ...state, rxAddr: value });
    case NIC_REG.ACK:
      return set({ ...state, status: (state.status & ~value) >>> 0 });
    case NIC_REG.TX_GO:
      return transmit(m, index, state);
    case NIC_REG.RX_CAP:
      return deliverQueued(withDevice(m, index, { ...state, rxCap: Math.min(value, NIC_MAX_PACKET) }), index);
    default:
      return { machine: m, ops: [] };
  }
}

function transmit(m: Machine, index: number, state: NicState): Outcome {
  if (state.txLen > NIC_MAX_PACKET) {
    return { machine: raised(withDevice(m, index, { ...state, status: state.status | NIC_STATUS.TX_FAULT }), state), ops: [] };
  }
  const r = dmaRead(m, index, state.txAddr, state.txLen);
  if (!r.ok) {
    return { machine: raised(withDevice(m, index, { ...state, status: state.status | NIC_STATUS.TX_FAULT }), state), ops: r.ops };
  }
  const next: NicState = { ...state, transmitted: [...state.transmitted, r.data], status: state.status | NIC_STATUS.TX_DONE };
  return { machine: raised(withDevice(m, index, next), state), ops: r.ops };
}

/** Moves the oldest queued packet into the posted buffer, if there are both. */
function deliverQueued(m: Machine, index: number): Outcome {
  const state = m.devices[index] as NicState;
  const packet = state.rxQueue[0];
  if (packet === undefined || state.rxCap === 0) return { machine: m, ops: [] };
  const rest = state.rxQueue.slice(1);
  if (packet.length > state.rxCap) {
    const next: NicState = { ...state, rxQueue: rest, rxCap: 0, status: state.status | NIC_STATUS.RX_FAULT };
    return { machine: raised(withDevice(m, index, next), state), ops: [] };
  }
  const r = dmaWrite(m, index, state.rxAddr, packet);
  if (!r.ok) {
    const next: NicState = { ...state, rxQueue: rest, rxCap: 0, status: state.status | NIC_STATUS.RX_FAULT };
    return { machine: raised(withDevice(m, index, next), state), ops: r.ops };
  }
  const next: NicState = { ...state, rxQueue: rest, rxCap: 0, rxLen: packet.length, status: state.status | NIC_STATUS.RX_DONE };
  return { machine: raised(withDevice({ ...m, memory: r.memory }, index, next), state), ops: r.ops };
}

/**
 * A packet arrives from the outside world (HW-DEV-3). Words are taken modulo 2^32; packets
 * longer than {@link NIC_MAX_PACKET} are dropped like those that find the queue full.
 */
export function nicReceive(m: Machine, index: number, packet: readonly number[]): Outcome {
  const state = m.devices[index];
  if (state === undefined || state.kind !== 'nic') return { machine: m, ops: [] };
  if (packet.length > NIC_MAX_PACKET || state.rxQueue.length >= state.rxQueueLimit) {
    return { machine: withDevice(m, index, { ...state, dropped: state.dropped + 1 }), ops: [] };
  }
  const words = packet.map((w) => (Number.isFinite(w) ? Math.trunc(w) >>> 0 : 0));
  return deliverQueued(withDevice(m, index, { ...state, rxQueue: [...state.rxQueue, words] }), index);
}
