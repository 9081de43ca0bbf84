/**
 * Routing of loads and stores that reach a device's register page (HW-MEM-4, HW-DEV-*).
 * Register r of device i lives at physical address `(frames + i) * pageBytes + 4r`.
 *
 * @module
 */
import type { PrimitiveOp } from '../../perf/ops.ts';
import { withDevice, type Machine } from '../machine.ts';
import { blockRead, blockWrite } from './block.ts';
import { consoleRead, consoleWrite } from './console.ts';
import { nicRead, nicWrite } from './nic.ts';

/** Reads register `reg` of device `index`. Reads have no side effects. */
export function deviceRead(m: Machine, index: number, reg: number): number {
  const state = m.devices[index];
  switch (state?.kind) {
    case 'console':
      return consoleRead(state, reg);
    case 'block':
      return blockRead(state, reg);
    case 'nic':
      return nicRead(state, reg);
    default:
      return 0;
  }
}

/** Writes `value` to register `reg` of device `index`. */
export function deviceWrite(
  m: Machine,
  index: number,
  reg: number,
  value: number,
): { readonly machine: Machine; readonly ops: readonly PrimitiveOp[] } {
  const state = m.devices[index];
  switch (state?.kind) {
    case 'console':
      return { machine: withDevice(m, index, consoleWrite(state, reg, value)), ops: [] };
    case 'block':
      return blockWrite(m, index, state, reg, value);
    case 'nic':
      return nicWrite(m, index, state, reg, value);
    default:
      return { machine: m, ops: [] };
  }
}
