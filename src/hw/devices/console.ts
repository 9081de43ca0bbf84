/**
 * The console (HW-DEV-1): word 0 DATA — a write appends the character in bits 7:0 to the
 * output; word 1 STATUS — reads 1 (always ready). Other registers read 0 and ignore writes.
 *
 * @module
 */
import type { ConsoleState } from './state.ts';

export const CONSOLE_REG = { DATA: 0, STATUS: 1 } as const;

export function consoleRead(_state: ConsoleState, reg: number): number {
  return reg === CONSOLE_REG.STATUS ? 1 : 0;
}

export function consoleWrite(state: ConsoleState, reg: number, value: number): ConsoleState {
  if (reg !== CONSOLE_REG.DATA) return state;
  return { kind: 'console', output: state.output + String.fromCharCode(value & 0xff) };
}
