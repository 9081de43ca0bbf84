/**
 * The kernel's register ABI: system-call numbers, invocation labels, error codes and the
 * message-info word (spec/microkernel.md, MK-ABI-1..5). Numbers follow seL4 where seL4 has
 * one (error codes, fault labels), and are listed in one place so that the spec, the kernel,
 * the tests and user programs written in the model's assembly agree.
 *
 * ```
 * svc #n           n = system call number (SYSCALL)
 * r1               capability pointer (CPtr: a slot index in the caller's CSpace) / badge on return
 * r2               message info: label[31:12] capsUnwrapped[11:9] extraCaps[8:7] length[6:0]
 * r3..r10          message registers MR0..MR7
 * r11              CPtr of the cap to transfer (send) / of the slot to receive a cap into (receive)
 * ```
 *
 * @module
 */

/** System calls, by SVC immediate (MK-ABI-1). */
export const SYSCALL = {
  SEND: 1,
  NB_SEND: 2,
  CALL: 3,
  RECV: 4,
  NB_RECV: 5,
  REPLY: 6,
  REPLY_RECV: 7,
  YIELD: 8,
  /** Does nothing and returns: the null system call that benchmarks measure (as L4Re's). */
  NULL: 9,
} as const;

export type SyscallName = keyof typeof SYSCALL;

/** Register numbers of the ABI (MK-ABI-2). */
export const REG = {
  CAP: 1,
  BADGE: 1,
  INFO: 2,
  MR0: 3,
  XCAP: 11,
} as const;

/** Message registers passed in registers. */
export const MR_COUNT = 8;

/** Errors, as seL4's seL4_Error (MK-ABI-4). */
export const ERROR = {
  NO_ERROR: 0,
  INVALID_ARGUMENT: 1,
  INVALID_CAPABILITY: 2,
  ILLEGAL_OPERATION: 3,
  RANGE_ERROR: 4,
  ALIGNMENT_ERROR: 5,
  FAILED_LOOKUP: 6,
  TRUNCATED_MESSAGE: 7,
  DELETE_FIRST: 8,
  REVOKE_FIRST: 9,
  NOT_ENOUGH_MEMORY: 10,
} as const;

export type ErrorName = keyof typeof ERROR;

/** Fault message labels, as seL4 (MK-FAULT-1). */
export const FAULT_LABEL = {
  CAP_FAULT: 1,
  UNKNOWN_SYSCALL: 2,
  USER_EXCEPTION: 3,
  VM_FAULT: 5,
} as const;

/** Object invocation labels (MK-ABI-3): the label of the message info of a Call on an object cap. */
export const INVOCATION = {
  UNTYPED_RETYPE: 1,
  TCB_CONFIGURE: 2,
  TCB_SET_PRIORITY: 3,
  TCB_RESUME: 4,
  TCB_SUSPEND: 5,
  TCB_READ_REGISTERS: 6,
  TCB_WRITE_REGISTERS: 7,
  TCB_BIND_NOTIFICATION: 8,
  TCB_UNBIND_NOTIFICATION: 9,
  CNODE_COPY: 10,
  CNODE_MINT: 11,
  CNODE_MOVE: 12,
  CNODE_DELETE: 13,
  CNODE_REVOKE: 14,
  CNODE_CANCEL_BADGED_SENDS: 15,
  FRAME_MAP: 16,
  FRAME_UNMAP: 17,
  PAGETABLE_MAP: 18,
  PAGETABLE_UNMAP: 19,
  IRQ_CONTROL_GET: 20,
  IRQ_HANDLER_SET_NOTIFICATION: 21,
  IRQ_HANDLER_ACK: 22,
  IRQ_HANDLER_CLEAR: 23,
} as const;

export type InvocationName = keyof typeof INVOCATION;

/** Object types for Untyped_Retype (MK-ABI-3). */
export const OBJECT_TYPE = {
  UNTYPED: 0,
  TCB: 1,
  ENDPOINT: 2,
  NOTIFICATION: 3,
  CNODE: 4,
  FRAME: 5,
  PAGETABLE: 6,
  VSPACE: 7,
} as const;

/** Attributes of Frame_Map (MR1). */
export const MAP_ATTR = { WRITE: 1, EXECUTE: 2 } as const;

/** The message-info word (MK-ABI-2). */
export interface MessageInfo {
  readonly label: number;
  readonly capsUnwrapped: number;
  readonly extraCaps: number;
  readonly length: number;
}

export function decodeInfo(word: number): MessageInfo {
  return {
    label: word >>> 12,
    capsUnwrapped: (word >>> 9) & 7,
    extraCaps: (word >>> 7) & 3,
    length: word & 0x7f,
  };
}

export function encodeInfo(info: MessageInfo): number {
  return (
    (((info.label & 0xfffff) << 12) | ((info.capsUnwrapped & 7) << 9) | ((info.extraCaps & 3) << 7) | (info.length & 0x7f)) >>> 0
  );
}

/** A reply carrying only an error code (label) and no words. */
export function errorInfo(code: number): number {
  return encodeInfo({ label: code, capsUnwrapped: 0, extraCaps: 0, length: 0 });
}
