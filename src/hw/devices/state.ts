/**
 * Device state: what each device remembers between register accesses (HW-DEV-1..3).
 *
 * @module
 */
import type { DeviceConfig } from '../config.ts';
import { emptyStore, type WordStore } from '../memory.ts';

/** Console: everything written to its DATA register, as text. */
export interface ConsoleState {
  readonly kind: 'console';
  readonly output: string;
}

/** Block device status codes (the STATUS register, HW-DEV-2). */
export const BLOCK_STATUS = { IDLE: 0, DONE: 1, RANGE_ERROR: 2, DMA_FAULT: 3, BAD_COMMAND: 4 } as const;

/** Block device: its sectors and its registers. */
export interface BlockState {
  readonly kind: 'block';
  readonly irq: number;
  /** `sectors × wordsPerFrame` words of storage. */
  readonly disk: WordStore;
  readonly sectors: number;
  readonly sector: number;
  readonly addr: number;
  readonly count: number;
  readonly status: number;
}

/** NIC status bits (the STATUS register, HW-DEV-3). */
export const NIC_STATUS = { TX_DONE: 1, RX_DONE: 2, TX_FAULT: 4, RX_FAULT: 8 } as const;

/** NIC: transmit and receive channels, the packets it has sent, and received ones waiting. */
export interface NicState {
  readonly kind: 'nic';
  readonly irq: number;
  readonly txAddr: number;
  readonly txLen: number;
  readonly rxAddr: number;
  /** Capacity of the posted receive buffer in words; 0 = no buffer posted. */
  readonly rxCap: number;
  readonly rxLen: number;
  readonly status: number;
  /** Packets sent, oldest first (the wire, as the outside world sees it). */
  readonly transmitted: readonly (readonly number[])[];
  /** Packets received and waiting for a buffer, oldest first. */
  readonly rxQueue: readonly (readonly number[])[];
  readonly rxQueueLimit: number;
  /** Packets dropped because the receive queue was full. */
  readonly dropped: number;
}

export type DeviceState = ConsoleState | BlockState | NicState;

export function resetDevice(config: DeviceConfig, wordsPerFrame: number): DeviceState {
  switch (config.kind) {
    case 'console':
      return { kind: 'console', output: '' };
    case 'block':
      return {
        kind: 'block',
        irq: config.irq,
        disk: emptyStore(config.sectors * wordsPerFrame),
        sectors: config.sectors,
        sector: 0,
        addr: 0,
        count: 0,
        status: BLOCK_STATUS.IDLE,
      };
    case 'nic':
      return {
        kind: 'nic',
        irq: config.irq,
        txAddr: 0,
        txLen: 0,
        rxAddr: 0,
        rxCap: 0,
        rxLen: 0,
        status: 0,
        transmitted: [],
        rxQueue: [],
        rxQueueLimit: config.rxQueue,
        dropped: 0,
      };
  }
}
