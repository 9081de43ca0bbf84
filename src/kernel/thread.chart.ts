/**
 * The thread lifecycle as a statechart (MK-OBJ-3): the states of seL4's `ThreadState` and
 * the kernel events that move a thread between them. It is the single source of truth for
 * which changes are allowed: the kernel's `setThreadState` consults it on every change, and
 * the tests replay every change the kernel reports through xstate's own `transition`.
 *
 * @module
 */
import { setup } from 'xstate';
import type { ThreadStateKind } from './types.ts';

/** Events that change a thread's state. */
export type ThreadEvent =
  | 'RESUME'
  | 'SUSPEND'
  | 'SCHEDULE'
  | 'BLOCK_SEND'
  | 'BLOCK_RECEIVE'
  | 'BLOCK_REPLY'
  | 'BLOCK_NOTIFICATION'
  | 'COMPLETE'
  | 'CALL_WITHOUT_REPLY'
  | 'CANCEL'
  | 'REPLY_RESTART'
  | 'REPLY_STOP'
  | 'FAULT_NO_HANDLER';

const runnable = {
  SUSPEND: 'inactive',
  BLOCK_SEND: 'blockedOnSend',
  BLOCK_RECEIVE: 'blockedOnReceive',
  BLOCK_REPLY: 'blockedOnReply',
  BLOCK_NOTIFICATION: 'blockedOnNotification',
  CALL_WITHOUT_REPLY: 'inactive',
  FAULT_NO_HANDLER: 'inactive',
} as const;

/**
 * The chart. Runnable threads are `running` or `restart` (to re-execute the instruction that
 * entered the kernel); `SCHEDULE` turns `restart` into `running` when the thread is put on a
 * CPU. Blocked threads leave their state when their IPC completes (`COMPLETE`), is
 * cancelled (`CANCEL` → `restart`, as seL4's cancelIPC), or when they are suspended. The
 * idle thread never changes state.
 */
export const threadChart = setup({
  types: { events: {} as { type: ThreadEvent } },
}).createMachine({
  id: 'thread',
  initial: 'inactive',
  states: {
    inactive: { on: { RESUME: 'restart', SUSPEND: 'inactive' } },
    running: { on: { ...runnable, RESUME: 'running' } },
    restart: { on: { ...runnable, SCHEDULE: 'running', RESUME: 'restart' } },
    blockedOnSend: {
      on: { COMPLETE: 'running', BLOCK_REPLY: 'blockedOnReply', CALL_WITHOUT_REPLY: 'inactive', CANCEL: 'restart', SUSPEND: 'inactive' },
    },
    blockedOnReceive: { on: { COMPLETE: 'running', CANCEL: 'restart', SUSPEND: 'inactive' } },
    blockedOnReply: { on: { COMPLETE: 'running', REPLY_RESTART: 'restart', REPLY_STOP: 'inactive', SUSPEND: 'inactive' } },
    blockedOnNotification: { on: { COMPLETE: 'running', CANCEL: 'restart', SUSPEND: 'inactive' } },
    idle: {},
  },
});

export type ThreadTransitionTable = Readonly<Record<ThreadStateKind, Readonly<Partial<Record<ThreadEvent, ThreadStateKind>>>>>;

/** The chart's transitions as a table, read once from the chart's own definition. */
export const THREAD_TRANSITIONS: ThreadTransitionTable = (() => {
  const table: Record<string, Record<string, ThreadStateKind>> = {};
  for (const [name, node] of Object.entries(threadChart.states)) {
    table[name] = {};
    for (const [event, transitions] of node.transitions) {
      const target = transitions[0]?.target?.[0]?.key;
      if (target !== undefined) table[name]![event] = target as ThreadStateKind;
    }
  }
  return table as ThreadTransitionTable;
})();

/** The state `event` leads to from `from`, or null if the chart has no such transition. */
export function nextThreadState(from: ThreadStateKind, event: ThreadEvent): ThreadStateKind | null {
  return THREAD_TRANSITIONS[from]?.[event] ?? null;
}
