/**
 * The microkernel's conformance vectors (ORC-VEC-1..6): one or a few rules each — every system
 * call, every object invocation and every error code (MK-ABI-1..4), IPC, notifications,
 * faults, address spaces, interrupts, scheduling — in programs of the model's assembly on a
 * one- or two-CPU machine. Slot numbers are CPtrs into each thread's 16-slot CNode; the
 * kernel puts a thread's own VSpace cap in slot 15, its page-table cap in 14 and its code
 * frame's cap in 13 (MK-BOOT-4).
 *
 * @module
 */
import { INVOCATION as I, MAP_ATTR, OBJECT_TYPE, SYSCALL as S } from '../../kernel/abi.ts';
import { crash, exec, info, inject, irq, mkVector, MK_MACHINE_2CPU, packet, tick, type VectorDefinition } from './define.ts';

/** A thread that spins forever. */
const SPIN = 'spin: b spin';
/** No change, in TCB_Configure's arguments. */
const NONE = -1;

/** Loads `value` into register `r`: one ADDI when the immediate reaches it, else LI (two words). */
function load(r: string, value: number): string {
  const v = value | 0;
  return v >= -0x20000 && v < 0x20000 ? `addi ${r}, r0, ${v}` : `li ${r}, 0x${(value >>> 0).toString(16)}`;
}

/**
 * The assembly of an invocation (MK-ABI-3): a Call on the cap in slot `cptr` with `label`, the
 * arguments in MR0.. (`null`: the program has put it there already) and, if given, the CPtr of
 * a second cap in r11 (extraCaps 1).
 */
function call(cptr: number, label: number, args: readonly (number | null)[] = [], xcap?: number): string {
  const lines = [load('r1', cptr), load('r2', info(label, args.length, xcap === undefined ? 0 : 1))];
  args.forEach((a, i) => {
    if (a !== null) lines.push(load(`r${3 + i}`, a));
  });
  if (xcap !== undefined) lines.push(load('r11', xcap));
  lines.push(`svc ${S.CALL}`);
  return lines.join('\n        ');
}

export const MICROKERNEL_VECTORS: readonly VectorDefinition[] = [
  mkVector({
    name: 'mk-null-syscall',
    description: 'A thread calls the Null system call (svc 9) in a loop: each call enters the kernel and returns to the next instruction with none of the thread\'s general registers changed (MK-ABI-1).',
    boot: { threads: [{ name: 't', program: `loop: svc ${S.NULL}\n b loop` }] },
    events: [exec(0, 4)],
  }),
  mkVector({
    name: 'mk-yield',
    description: 'Two threads of equal priority each count and Yield: every Yield puts the caller at the tail of the ready queue, so they alternate on the one CPU (MK-SCHED-3).',
    boot: {
      threads: [
        { name: 'a', priority: 10, program: `loop: addi r3, r3, 1\n svc ${S.YIELD}\n b loop` },
        { name: 'b', priority: 10, program: `loop: addi r4, r4, 1\n svc ${S.YIELD}\n b loop` },
      ],
    },
    events: [exec(0, 9)],
  }),
  mkVector({
    name: 'mk-call-recv-reply',
    description: 'A server blocks in Recv; a client Calls it with label 7 and two words; the server gets the badge, label and words, adds them and Replies; the client resumes with 42 in MR0 (MK-IPC-2, MK-IPC-3, MK-IPC-6).',
    boot: {
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'server', priority: 20, caps: [{ slot: 1, object: 'ep', rights: 'RWGP' }], program: `
        addi r1, r0, 1
        svc ${S.RECV}
        add r3, r3, r4
        addi r2, r0, ${info(0, 1)}
        svc ${S.REPLY}
        addi r1, r0, 1
        svc ${S.RECV}` },
        { name: 'client', priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'WGP', badge: 0x2a }], program: `
        addi r1, r0, 1
        li r2, ${info(7, 2)}
        addi r3, r0, 20
        addi r4, r0, 22
        svc ${S.CALL}
        ${SPIN}` },
      ],
    },
    events: [exec(0, 14)],
  }),
  mkVector({
    name: 'mk-reply-recv',
    description: 'A server answers each Call with ReplyRecv, replying to the last caller and waiting for the next in one system call; the client calls twice and gets 10 and then 20 back (MK-ENTRY-3, MK-IPC-6).',
    boot: {
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'server', priority: 20, caps: [{ slot: 1, object: 'ep', rights: 'RWGP' }], program: `
        addi r1, r0, 1
        svc ${S.RECV}
loop:   add r3, r3, r3          ; double MR0
        addi r2, r0, ${info(0, 1)}
        addi r1, r0, 1
        svc ${S.REPLY_RECV}
        b loop` },
        { name: 'client', priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'WGP' }], program: `
        addi r1, r0, 1
        addi r2, r0, ${info(0, 1)}
        addi r3, r0, 5
        svc ${S.CALL}
        addi r1, r0, 1          ; r1 now holds the reply's badge
        addi r2, r0, ${info(0, 1)}
        svc ${S.CALL}           ; MR0 is 10: the answer is 20
        ${SPIN}` },
      ],
    },
    events: [exec(0, 19)],
  }),
  mkVector({
    name: 'mk-send-recv-badge',
    description: 'A sender of higher priority Sends with no receiver and blocks at the endpoint; the receiver then Recvs and takes the queued message at once, with the badge 0x55 of the sender\'s cap in r1, and the sender runs again (MK-IPC-2, MK-IPC-3, MK-IPC-4).',
    boot: {
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'sender', priority: 20, caps: [{ slot: 1, object: 'ep', rights: 'W', badge: 0x55 }], program: `
        addi r1, r0, 1
        li r2, ${info(3, 1)}
        addi r3, r0, 7
        svc ${S.SEND}           ; no receiver yet: blocks
        addi r5, r0, 1
        ${SPIN}` },
        { name: 'receiver', priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'R' }], program: `
        addi r1, r0, 1
        svc ${S.RECV}           ; the sender is queued: r1 = 0x55, r2 = label 3, r3 = 7
        ${SPIN}` },
      ],
    },
    events: [exec(0, 9)],
  }),
  mkVector({
    name: 'mk-nbsend-nbrecv',
    description: 'NBSend onto an endpoint where no receiver waits drops the message; NBRecv takes a queued sender\'s message, and with no sender returns badge 0 and info 0 without blocking (MK-IPC-7).',
    boot: {
      objects: [{ name: 'ep', type: 'endpoint' }, { name: 'quiet', type: 'endpoint' }],
      threads: [
        { name: 'sender', priority: 20, caps: [{ slot: 1, object: 'ep', rights: 'W', badge: 9 }, { slot: 2, object: 'quiet', rights: 'R' }], program: `
        addi r1, r0, 1
        li r2, ${info(2, 1)}
        addi r3, r0, 0x33
        svc ${S.SEND}           ; blocks: nobody receives yet
        addi r1, r0, 2
        svc ${S.RECV}           ; then waits where nobody sends` },
        { name: 't', priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'RW' }], program: `
        addi r1, r0, 1
        li r2, ${info(1, 1)}
        addi r3, r0, 0x44
        svc ${S.NB_SEND}        ; only a sender is queued: dropped
        addi r1, r0, 1
        svc ${S.NB_RECV}        ; takes the sender's message: r1 = 9, r3 = 0x33
        addi r1, r0, 1
        svc ${S.NB_RECV}        ; nothing queued: r1 = 0, r2 = 0
        ${SPIN}` },
      ],
    },
    events: [exec(0, 17)],
  }),
  mkVector({
    name: 'mk-cap-transfer',
    description: 'A sender whose endpoint cap has Grant sends a notification cap (extraCaps 1, r11 = its slot); the cap is derived into the receiver\'s receive slot 5, and the receiver signals through it, waking the sender with the cap\'s badge 3 (MK-IPC-5).',
    boot: {
      objects: [{ name: 'ep', type: 'endpoint' }, { name: 'ntfn', type: 'notification' }],
      threads: [
        { name: 'sender', priority: 20, caps: [{ slot: 1, object: 'ep', rights: 'WG' }, { slot: 2, object: 'ntfn', rights: 'RW', badge: 3 }], program: `
        addi r1, r0, 1
        addi r2, r0, ${info(0, 0, 1)}
        addi r11, r0, 2         ; the cap to send
        svc ${S.SEND}           ; blocks until the receiver comes
        addi r1, r0, 2
        svc ${S.RECV}           ; waits on the notification
        ${SPIN}` },
        { name: 'receiver', priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'R' }], program: `
        addi r1, r0, 1
        addi r11, r0, 5         ; receive a cap into slot 5
        svc ${S.RECV}
        addi r1, r0, 5
        svc ${S.SEND}           ; signal through the received cap
        ${SPIN}` },
      ],
    },
    events: [exec(0, 12)],
  }),
  mkVector({
    name: 'mk-cap-unwrap',
    description: 'A sender transfers a badged cap to the very endpoint the message travels through; instead of a cap, the receiver gets its badge 0x77 in r11 and capsUnwrapped set in the message info (MK-IPC-5).',
    boot: {
      objects: [{ name: 'ep', type: 'endpoint' }, { name: 'quiet', type: 'endpoint' }],
      threads: [
        { name: 'sender', priority: 20, caps: [{ slot: 1, object: 'ep', rights: 'WG' }, { slot: 2, object: 'ep', rights: 'W', badge: 0x77 }, { slot: 3, object: 'quiet', rights: 'R' }], program: `
        addi r1, r0, 1
        addi r2, r0, ${info(0, 0, 1)}
        addi r11, r0, 2
        svc ${S.SEND}
        addi r1, r0, 3
        svc ${S.RECV}           ; waits for good: the receiver runs on` },
        { name: 'receiver', priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'R' }], program: `
        addi r1, r0, 1
        addi r11, r0, 5
        svc ${S.RECV}           ; r11 = 0x77, r2 = capsUnwrapped 1, extraCaps 1
        ${SPIN}` },
      ],
    },
    events: [exec(0, 10)],
  }),
  mkVector({
    name: 'mk-notification-signal-wait',
    description: 'Two signals with badges 1 and 2 and no waiter OR into the notification word; a Wait returns 3 at once and clears it, a Poll then returns 0, a second Wait blocks until a third signaller\'s badge 4 wakes the waiter, which preempts it (MK-NTFN-1, MK-NTFN-2).',
    boot: {
      objects: [{ name: 'ntfn', type: 'notification' }, { name: 'quiet', type: 'notification' }],
      threads: [
        { name: 'signaller', priority: 20, caps: [{ slot: 1, object: 'ntfn', rights: 'W', badge: 1 }, { slot: 2, object: 'ntfn', rights: 'W', badge: 2 }, { slot: 3, object: 'quiet', rights: 'R' }], program: `
        addi r1, r0, 1
        svc ${S.SEND}           ; nobody waits: word = 1
        addi r1, r0, 2
        svc ${S.SEND}           ; word = 1 | 2
        addi r1, r0, 3
        svc ${S.RECV}           ; waits for good` },
        { name: 'waiter', priority: 10, caps: [{ slot: 1, object: 'ntfn', rights: 'R' }], program: `
        addi r1, r0, 1
        svc ${S.RECV}           ; r1 = 3 at once
        addi r5, r1, 0
        addi r1, r0, 1
        svc ${S.NB_RECV}        ; poll: r1 = 0
        addi r1, r0, 1
        svc ${S.RECV}           ; blocks
        addi r6, r1, 0
        ${SPIN}` },
        { name: 'late', priority: 5, caps: [{ slot: 1, object: 'ntfn', rights: 'W', badge: 4 }], program: `
        addi r1, r0, 1
        svc ${S.SEND}           ; wakes the waiter with 4
        ${SPIN}` },
      ],
    },
    events: [exec(0, 17)],
  }),
  mkVector({
    name: 'mk-bind-notification',
    description: 'A thread binds a notification to its own TCB, then receives on an endpoint; a signal on the bound notification wakes it with the badge 6 in r1 and info 0 instead of a message. Binding twice is ILLEGAL_OPERATION; after unbinding, NBRecv on the endpoint returns 0 (MK-NTFN-3, MK-ABI-3).',
    boot: {
      objects: [{ name: 'ep', type: 'endpoint' }, { name: 'ntfn', type: 'notification' }],
      threads: [
        { name: 't', priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'R' }, { slot: 2, object: 'ntfn', rights: 'R' }, { slot: 3, object: 't.tcb' }], program: `
        ${call(3, I.TCB_BIND_NOTIFICATION, [], 2)}
        ${call(3, I.TCB_BIND_NOTIFICATION, [], 2)}     ; already bound: ILLEGAL_OPERATION
        addi r1, r0, 1
        svc ${S.RECV}           ; blocks on the endpoint
        addi r5, r1, 0          ; the signal's badge
        ${call(3, I.TCB_UNBIND_NOTIFICATION)}
        addi r1, r0, 1
        svc ${S.NB_RECV}
        ${SPIN}` },
        { name: 'signaller', priority: 5, caps: [{ slot: 1, object: 'ntfn', rights: 'W', badge: 6 }], program: `
        addi r1, r0, 1
        svc ${S.SEND}
        ${SPIN}` },
      ],
    },
    events: [exec(0, 19)],
  }),
  mkVector({
    name: 'mk-spawn-thread',
    description: 'A parent retypes a TCB from its untyped memory, configures it with its own CSpace and VSpace, writes its pc and r1, raises its priority and resumes it; the new thread preempts the parent and runs in the shared address space with r1 = 0x99 (MK-OBJ-2, MK-ABI-3).',
    boot: {
      threads: [
        { name: 'parent', priority: 10, caps: [{ slot: 1, object: 'parent.cspace' }], program: `
        ${call(3, I.UNTYPED_RETYPE, [OBJECT_TYPE.TCB, 0, 4, 1])}              ; a TCB into slot 4
        ${call(4, I.TCB_CONFIGURE, [NONE, 1, 15, NONE, NONE])}               ; CSpace slot 1, VSpace slot 15
        la r5, child                                                       ; the new pc
        ${call(4, I.TCB_WRITE_REGISTERS, [0, 2, null, 0x99])}                ; pc and r1
        ${call(4, I.TCB_SET_PRIORITY, [30])}
        ${call(4, I.TCB_RESUME)}
        ${SPIN}
child:  addi r7, r1, 1
        svc ${S.NULL}
cspin:  b cspin` },
      ],
      untyped: [{ thread: 'parent', slot: 3, sizeBits: 10 }],
    },
    events: [exec(0, 33)],
  }),
  mkVector({
    name: 'mk-retype-errors',
    description: 'Untyped_Retype from a one-page untyped: an unknown type is INVALID_ARGUMENT, count 0 RANGE_ERROR, an occupied slot DELETE_FIRST, a non-CNode destination INVALID_CAPABILITY, two frames NOT_ENOUGH_MEMORY; one frame succeeds, a second then does not fit until CNode_Revoke of the untyped cap deletes the first and resets the watermark (MK-OBJ-2, MK-CAP-9, MK-ABI-4).',
    boot: {
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 't', priority: 10, caps: [{ slot: 1, object: 'ep' }, { slot: 2, object: 't.cspace' }], program: `
        ${call(3, I.UNTYPED_RETYPE, [99, 0, 4, 1])}                 ; INVALID_ARGUMENT
        ${call(3, I.UNTYPED_RETYPE, [OBJECT_TYPE.FRAME, 0, 4, 0])}  ; RANGE_ERROR
        ${call(3, I.UNTYPED_RETYPE, [OBJECT_TYPE.FRAME, 0, 1, 1])}  ; DELETE_FIRST
        ${call(3, I.UNTYPED_RETYPE, [OBJECT_TYPE.FRAME, 0, 4, 1], 1)} ; INVALID_CAPABILITY
        ${call(3, I.UNTYPED_RETYPE, [OBJECT_TYPE.FRAME, 0, 4, 2])}  ; NOT_ENOUGH_MEMORY
        ${call(3, I.UNTYPED_RETYPE, [OBJECT_TYPE.FRAME, 0, 4, 1])}  ; NO_ERROR
        ${call(3, I.UNTYPED_RETYPE, [OBJECT_TYPE.FRAME, 0, 5, 1])}  ; NOT_ENOUGH_MEMORY
        ${call(2, I.CNODE_REVOKE, [3])}
        ${call(3, I.UNTYPED_RETYPE, [OBJECT_TYPE.FRAME, 0, 5, 1])}  ; NO_ERROR
        ${SPIN}` },
      ],
      untyped: [{ thread: 't', slot: 3, sizeBits: 8 }],
    },
    events: [exec(0, 62)],
  }),
  mkVector({
    name: 'mk-tcb-control',
    description: 'A thread of priority 20 controls one of priority 10 through its TCB cap: reads its pc and registers, suspends it, is refused priority 256 (RANGE_ERROR) and an unknown label (ILLEGAL_OPERATION), sets priority 25 and resumes it, and the other thread preempts it (MK-OBJ-5, MK-ABI-3, MK-SCHED-2).',
    boot: {
      threads: [
        { name: 'boss', priority: 20, caps: [{ slot: 1, object: 'worker.tcb' }], program: `
        ${call(1, I.TCB_READ_REGISTERS, [0, 3])}      ; MR0.. = pc, r1, r2
        ${call(1, I.TCB_SUSPEND)}
        ${call(1, I.TCB_SET_PRIORITY, [256])}         ; RANGE_ERROR
        ${call(1, 99)}                                ; ILLEGAL_OPERATION
        ${call(1, I.TCB_SET_PRIORITY, [25])}
        ${call(1, I.TCB_RESUME)}                      ; the worker now outranks us
        ${SPIN}` },
        { name: 'worker', priority: 10, regs: { r1: 0x11, r2: 0x22 }, program: `loop: addi r3, r3, 1\n b loop` },
      ],
    },
    events: [exec(0, 30)],
  }),
  mkVector({
    name: 'mk-cnode-ops',
    description: 'CNode invocations on the caller\'s own CSpace: Copy with rights reduced, Mint with badge 0x123 (a receiver gets that badge through the minted cap), Move, Delete and Revoke; copying into an occupied slot is DELETE_FIRST, from an empty one FAILED_LOOKUP, the IRQ control cap ILLEGAL_OPERATION, to index 40 of a 16-slot CNode RANGE_ERROR (MK-CAP-2..9).',
    boot: {
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'receiver', priority: 30, caps: [{ slot: 1, object: 'ep', rights: 'R' }], program: `
loop:   addi r1, r0, 1
        svc ${S.RECV}
        b loop` },
        { name: 't', priority: 10, caps: [{ slot: 1, object: 't.cspace' }, { slot: 2, object: 'ep', rights: 'RWG' }, { slot: 3, object: 'irqcontrol' }], program: `
        ${call(1, I.CNODE_COPY, [4, 2, 0b0011])}      ; slot 4: a copy with R and W only
        ${call(1, I.CNODE_MINT, [5, 2, 0b1111, 0x123])} ; slot 5: badge 0x123
        addi r1, r0, 5
        addi r2, r0, ${info(0)}
        svc ${S.NB_SEND}                              ; the receiver gets badge 0x123
        ${call(1, I.CNODE_MOVE, [6, 4])}              ; slot 4 to slot 6
        ${call(1, I.CNODE_COPY, [5, 2, 0b1111])}      ; DELETE_FIRST
        ${call(1, I.CNODE_COPY, [7, 4, 0b1111])}      ; FAILED_LOOKUP: slot 4 is empty now
        ${call(1, I.CNODE_COPY, [7, 3, 0b1111])}      ; ILLEGAL_OPERATION
        ${call(1, I.CNODE_COPY, [40, 2, 0b1111])}     ; RANGE_ERROR
        ${call(1, I.CNODE_DELETE, [6])}
        ${call(1, I.CNODE_REVOKE, [2])}               ; deletes the minted child in slot 5
        ${SPIN}` },
      ],
    },
    events: [exec(0, 59)],
  }),
  mkVector({
    name: 'mk-cancel-badged-sends',
    description: 'A sender blocks sending with badge 5; CNode_CancelBadgedSends on a cap with that badge restarts it, so it re-executes its Send and blocks again, and the owner then receives its message; the same invocation on a slot holding no endpoint cap is ILLEGAL_OPERATION (MK-IPC-9).',
    boot: {
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'sender', priority: 20, caps: [{ slot: 1, object: 'ep', rights: 'W', badge: 5 }], program: `
        addi r1, r0, 1
        addi r2, r0, ${info(0, 1)}
        addi r3, r0, 0x5a
        svc ${S.SEND}
        ${SPIN}` },
        { name: 'owner', priority: 10, caps: [{ slot: 1, object: 'owner.cspace' }, { slot: 2, object: 'ep', rights: 'RW', badge: 5 }], program: `
        ${call(1, I.CNODE_CANCEL_BADGED_SENDS, [2])}  ; the sender restarts and blocks again
        ${call(1, I.CNODE_CANCEL_BADGED_SENDS, [1])}  ; ILLEGAL_OPERATION: a CNode cap
        addi r1, r0, 2
        svc ${S.RECV}                                 ; r1 = 5, r3 = 0x5a
        ${SPIN}` },
      ],
    },
    events: [exec(0, 16)],
  }),
  mkVector({
    name: 'mk-frame-map-unmap',
    description: 'A thread maps a frame writable at 0xc00 of its own VSpace, stores and loads through it, unmaps it, and loads again: the load takes a VM fault and, with no fault handler, the thread becomes inactive (MK-VM-3, MK-VM-4, MK-FAULT-2).',
    boot: {
      objects: [{ name: 'f', type: 'frame' }],
      threads: [
        { name: 't', priority: 10, caps: [{ slot: 1, object: 'f', rights: 'RW' }], program: `
        ${call(1, I.FRAME_MAP, [0xc00, MAP_ATTR.WRITE], 15)}
        li r6, 0xc00
        addi r7, r0, 0x1234
        st r7, 0(r6)
        ld r8, 0(r6)
        ${call(1, I.FRAME_UNMAP)}
        ld r9, 0(r6)                                  ; VM fault: no handler
        ${SPIN}` },
      ],
    },
    events: [exec(0, 16)],
  }),
  mkVector({
    name: 'mk-frame-map-errors',
    description: 'Frame_Map refusals: an unaligned address is ALIGNMENT_ERROR, one beyond the 64 KiB address space RANGE_ERROR, one with no page table FAILED_LOOKUP, the code page\'s address DELETE_FIRST, an endpoint cap as VSpace INVALID_CAPABILITY, mapping a mapped cap again ILLEGAL_OPERATION, PageTable_Unmap on a frame cap ILLEGAL_OPERATION; each leaves the mappings as they were (MK-VM-3, MK-ABI-4).',
    boot: {
      objects: [{ name: 'f', type: 'frame' }, { name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 't', priority: 10, caps: [{ slot: 1, object: 'f', rights: 'RW' }, { slot: 2, object: 'ep' }], program: `
        ${call(1, I.FRAME_MAP, [0xc04, MAP_ATTR.WRITE], 15)}   ; ALIGNMENT_ERROR
        ${call(1, I.FRAME_MAP, [0x10000, MAP_ATTR.WRITE], 15)} ; RANGE_ERROR
        ${call(1, I.FRAME_MAP, [0x2000, MAP_ATTR.WRITE], 15)}  ; FAILED_LOOKUP
        ${call(1, I.FRAME_MAP, [0x100, MAP_ATTR.WRITE], 15)}   ; DELETE_FIRST
        ${call(1, I.FRAME_MAP, [0xc00, MAP_ATTR.WRITE], 2)}    ; INVALID_CAPABILITY
        ${call(1, I.FRAME_MAP, [0xc00, 0], 15)}                ; mapped read-only
        ${call(1, I.FRAME_MAP, [0xd00, 0], 15)}                ; ILLEGAL_OPERATION
        ${call(1, I.PAGETABLE_UNMAP)}                          ; ILLEGAL_OPERATION
        ${SPIN}` },
      ],
    },
    events: [exec(0, 46)],
  }),
  mkVector({
    name: 'mk-pagetable-map-unmap',
    description: 'A thread retypes a page table and a frame from untyped memory, maps the table for the region at 0x2000 and the frame at 0x2000 under it, stores and loads there, then unmaps the table (clearing it and flushing the ASID): the next load there faults and the thread becomes inactive; mapping a table where every level is present is DELETE_FIRST (MK-VM-5, MK-VM-6).',
    boot: {
      threads: [
        { name: 't', priority: 10, program: `
        ${call(3, I.UNTYPED_RETYPE, [OBJECT_TYPE.PAGETABLE, 0, 4, 1])}
        ${call(3, I.UNTYPED_RETYPE, [OBJECT_TYPE.FRAME, 0, 5, 1])}
        ${call(4, I.PAGETABLE_MAP, [0x100], 15)}               ; DELETE_FIRST: 0x100's table is there
        ${call(4, I.PAGETABLE_MAP, [0x2000], 15)}
        ${call(5, I.FRAME_MAP, [0x2000, MAP_ATTR.WRITE], 15)}
        li r6, 0x2000
        addi r7, r0, 77
        st r7, 0(r6)
        ld r8, 0(r6)
        ${call(4, I.PAGETABLE_UNMAP)}
        ld r9, 0(r6)                                           ; VM fault: no handler
        ${SPIN}` },
      ],
      untyped: [{ thread: 't', slot: 3, sizeBits: 9 }],
    },
    events: [exec(0, 40)],
  }),
  mkVector({
    name: 'mk-irq-handler',
    description: 'A driver takes an IRQHandler for the console\'s line 3 from IRQControl (again: REVOKE_FIRST; line 1: RANGE_ERROR), binds it to a notification and waits; the interrupt signals the notification with badge 0x10, the driver wakes, acknowledges the line and finally clears the binding (MK-IRQ-1..3).',
    boot: {
      objects: [{ name: 'n', type: 'notification' }],
      threads: [
        { name: 'driver', priority: 10, caps: [{ slot: 1, object: 'n', rights: 'R' }, { slot: 2, object: 'irqcontrol' }, { slot: 4, object: 'n', rights: 'W', badge: 0x10 }], program: `
        ${call(2, I.IRQ_CONTROL_GET, [3, 3])}                  ; line 3's handler into slot 3
        ${call(2, I.IRQ_CONTROL_GET, [3, 5])}                  ; REVOKE_FIRST
        ${call(2, I.IRQ_CONTROL_GET, [1, 5])}                  ; RANGE_ERROR: not a shared line
        ${call(3, I.IRQ_HANDLER_SET_NOTIFICATION, [], 4)}
        addi r1, r0, 1
        svc ${S.RECV}                                          ; waits for the interrupt
        ${call(3, I.IRQ_HANDLER_ACK)}
        ${call(3, I.IRQ_HANDLER_CLEAR)}
        ${SPIN}` },
      ],
    },
    events: [exec(0, 21), irq(3), exec(0, 8)],
  }),
  mkVector({
    name: 'mk-vm-fault-pager',
    description: 'A client touches an unmapped page; the kernel sends a VM-fault message (label 5: pc, address, fetch flag, ESR) to its fault endpoint, where a pager maps a frame at that page in the client\'s VSpace and replies 0, so the client retries the store and goes on; a second fault is answered with label 1 and leaves the client inactive (MK-FAULT-1, MK-FAULT-3).',
    boot: {
      objects: [{ name: 'faults', type: 'endpoint' }, { name: 'spare', type: 'frame' }],
      threads: [
        { name: 'pager', priority: 30, caps: [{ slot: 1, object: 'faults', rights: 'RWGP' }, { slot: 2, object: 'client.vspace' }, { slot: 4, object: 'spare' }], program: `
        addi r1, r0, 1
        svc ${S.RECV}                                          ; MR1 (r4) = the fault address
        shri r3, r4, 8                                         ; its page
        shli r3, r3, 8
        ${call(4, I.FRAME_MAP, [null, MAP_ATTR.WRITE], 2)}     ; map the spare frame there
        addi r2, r0, 0
        svc ${S.REPLY}                                         ; label 0: retry
        addi r1, r0, 1
        svc ${S.RECV}
        addi r2, r0, ${info(1)}
        svc ${S.REPLY}                                         ; label 1: stop it
        ${SPIN}` },
        { name: 'client', priority: 10, faultEndpoint: 1, caps: [{ slot: 1, object: 'faults', rights: 'WP' }], program: `
        li r6, 0xc00
        addi r7, r0, 0x42
        st r7, 0(r6)                                           ; fault, mapped, retried
        ld r8, 0(r6)
        li r6, 0xd00
        ld r9, 0(r6)                                           ; fault, stopped
        ${SPIN}` },
      ],
    },
    events: [exec(0, 25)],
  }),
  mkVector({
    name: 'mk-fault-handler',
    description: 'A client executes an UNDEFINED word, WFI and a privileged MRS at EL0 (user exceptions, label 3: pc and ESR) and svc 99 (an unknown system call, label 2: pc and number); each fault is a message to its handler, which moves the client\'s pc past the instruction with TCB_WriteRegisters and replies 0, so the client runs on to the end (MK-ENTRY-2, MK-FAULT-1, MK-FAULT-3).',
    boot: {
      objects: [{ name: 'faults', type: 'endpoint' }],
      threads: [
        { name: 'handler', priority: 20, caps: [{ slot: 1, object: 'faults', rights: 'RWGP' }, { slot: 2, object: 'client.tcb' }], program: `
loop:   addi r1, r0, 1
        svc ${S.RECV}                                          ; MR0 (r3) = the faulting pc
        addi r5, r3, 4
        ${call(2, I.TCB_WRITE_REGISTERS, [0, 1, null])}        ; pc := pc + 4
        addi r2, r0, 0
        svc ${S.REPLY}                                         ; label 0: restart there
        b loop` },
        { name: 'client', priority: 10, faultEndpoint: 1, caps: [{ slot: 1, object: 'faults', rights: 'WP' }], program: `
        .word 0                                                ; UNDEFINED
        wfi
        mrs r3, TTBR0_EL1                                      ; EL1's register: UNDEFINED at EL0
        svc 99                                                 ; no such system call
        addi r6, r0, 1                                         ; reached
        ${SPIN}` },
      ],
    },
    events: [exec(0, 52)],
  }),
  mkVector({
    name: 'mk-fault-no-handler',
    description: 'A thread with no fault endpoint loads from an address no page table covers, and another jumps to an unmapped page: the data abort and the instruction abort each make the faulting thread inactive, and the CPU goes idle (MK-ENTRY-2, MK-FAULT-2, MK-SCHED-4).',
    boot: {
      threads: [
        { name: 'loader', priority: 20, program: `
        li r6, 0x3000
        ld r7, 0(r6)` },
        { name: 'jumper', priority: 10, program: `
        li r6, 0xe00
        jalr r0, r6, 0` },
      ],
    },
    events: [exec(0, 8)],
  }),
  mkVector({
    name: 'mk-timeslice',
    description: 'Two spinning threads of equal priority with a time slice of 2 ticks: every second tick of CPU 0\'s timer moves the running thread to the tail of the ready queue, so they take turns (MK-SCHED-2, MK-SCHED-3).',
    boot: {
      kernel: { timeslice: 2 },
      threads: [
        { name: 'a', priority: 10, program: `loop: addi r3, r3, 1\n b loop` },
        { name: 'b', priority: 10, program: `loop: addi r4, r4, 1\n b loop` },
      ],
    },
    events: [exec(0, 2), tick(0), exec(0, 2), tick(0), exec(0, 2), tick(0), exec(0, 2), tick(0), exec(0, 2), tick(0), exec(0, 2)],
  }),
  mkVector({
    name: 'mk-domain-schedule',
    description: 'Two domains, red and blue, under a static schedule of 2 ticks for red and 1 for blue: only the current domain\'s thread runs, whatever the threads do, and the switch happens at the tick that ends a slot (MK-SCHED-5, MK-ISO-1).',
    boot: {
      domains: ['red', 'blue'],
      kernel: { domainSchedule: [{ domain: 'red', ticks: 2 }, { domain: 'blue', ticks: 1 }] },
      threads: [
        { name: 'r', domain: 'red', priority: 10, program: `loop: addi r3, r3, 1\n b loop` },
        { name: 'b', domain: 'blue', priority: 10, program: `loop: addi r4, r4, 1\n b loop` },
      ],
    },
    events: [exec(0, 2), tick(0), exec(0, 2), tick(0), exec(0, 2), tick(0), exec(0, 2), tick(0), exec(0, 2), tick(0), exec(0, 2)],
  }),
  mkVector({
    name: 'mk-two-cpus-ipi',
    description: 'A receiver pinned to CPU 1 blocks in Recv and CPU 1 idles; a sender on CPU 0 sends to it: the kernel makes the receiver runnable and sends CPU 1 an IPI, whose interrupt on CPU 1\'s next step enters the kernel and resumes the receiver with the message (MK-SCHED-7, MK-ENTRY-1).',
    machine: MK_MACHINE_2CPU,
    boot: {
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'receiver', cpu: 1, priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'R' }], program: `
        addi r1, r0, 1
        svc ${S.RECV}
        addi r5, r3, 1
        ${SPIN}` },
        { name: 'sender', cpu: 0, priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'W', badge: 1 }], program: `
        addi r1, r0, 1
        addi r2, r0, ${info(0, 1)}
        addi r3, r0, 0x61
        svc ${S.SEND}
        ${SPIN}` },
      ],
    },
    events: [exec(1, 3), exec(0, 5), exec(1, 3)],
  }),
  mkVector({
    name: 'mk-ipc-errors',
    description: 'System calls on bad caps return an error label in r2 and change nothing else: a CPtr beyond the CNode is FAILED_LOOKUP, an empty slot or an endpoint cap without Write (for Send) or a frame cap (for Recv) INVALID_CAPABILITY, a Call on the VSpace cap ILLEGAL_OPERATION (MK-CAP-4, MK-ENTRY-3, MK-ABI-4).',
    boot: {
      objects: [{ name: 'ep', type: 'endpoint' }, { name: 'f', type: 'frame' }],
      threads: [
        { name: 't', priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'R' }, { slot: 2, object: 'f' }], program: `
        addi r1, r0, 20
        svc ${S.SEND}                                          ; FAILED_LOOKUP
        addi r1, r0, 7
        svc ${S.SEND}                                          ; INVALID_CAPABILITY: empty
        addi r1, r0, 1
        svc ${S.SEND}                                          ; INVALID_CAPABILITY: no Write
        addi r1, r0, 2
        svc ${S.RECV}                                          ; INVALID_CAPABILITY: a frame
        ${call(15, 1)}                                         ; ILLEGAL_OPERATION: a VSpace
        ${SPIN}` },
      ],
    },
    events: [exec(0, 12)],
  }),
  mkVector({
    name: 'mk-rejected-events',
    description: 'Events naming what the system does not have — CPU 3 of a one-CPU machine, interrupt line 99, a packet for device 0 (a console, not a NIC) and for device 9, a crash of domain nobody — are rejected: each record carries an error and the state is unchanged, and the thread then runs on as before (ORC-FMT-3, ORC-REC-3, SYS-2).',
    rejects: true,
    boot: { threads: [{ name: 't', program: `loop: addi r3, r3, 1\n b loop` }] },
    events: [exec(0), exec(3), tick(3), irq(99), packet(0, [1, 2]), packet(9, [1]), crash('nobody'), exec(0, 2)],
  }),
  mkVector({
    name: 'mk-crash-domain',
    description: 'Two domains each run a thread that counts and yields; an injected crash of domain b suspends its thread (every thread of the domain becomes inactive) and domain a\'s thread runs on alone (SYS-2, MK-OBJ-5).',
    boot: {
      domains: ['a', 'b'],
      threads: [
        { name: 'x', domain: 'a', priority: 10, program: `loop: addi r3, r3, 1\n svc ${S.YIELD}\n b loop` },
        { name: 'y', domain: 'b', priority: 10, program: `loop: addi r4, r4, 1\n svc ${S.YIELD}\n b loop` },
      ],
    },
    events: [exec(0, 6), crash('b'), exec(0, 6)],
  }),
  mkVector({
    name: 'mk-injected-instructions',
    description: 'Instructions injected into a thread instead of fetched (RVFI-DII): ALU, a store to and a load from its mapped page, a Null system call, then an UNDEFINED word, which faults and, with no handler, stops the thread (HW-EXEC-1, ORC-FMT-3).',
    // Injection advances the pc as fetching would: the five nops are where the injected five run.
    boot: { threads: [{ name: 't', pages: [{ va: 0xc00, write: true }], program: `nop\n nop\n nop\n nop\n nop\n ${SPIN}` }] },
    events: [inject(0, 'addi r3, r0, 42'), inject(0, 'addi r6, r0, 0xc00'), inject(0, 'st r3, 0(r6)'), inject(0, 'ld r4, 0(r6)'), inject(0, `svc ${S.NULL}`), exec(0), inject(0, '.word 0'), exec(0)],
  }),
  mkVector({
    name: 'mk-delete-endpoint',
    description: 'A waiter blocks in Recv on an endpoint it holds the only cap to; the owner, holding the waiter\'s CSpace cap, deletes that cap, destroying the endpoint: the waiter is restarted, re-executes its Recv and gets INVALID_CAPABILITY for the now empty slot (MK-CAP-7, MK-CAP-8, MK-IPC-8).',
    boot: {
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'waiter', priority: 20, caps: [{ slot: 1, object: 'ep', rights: 'R' }], program: `
        addi r1, r0, 1
        svc ${S.RECV}
        ${SPIN}` },
        { name: 'owner', priority: 10, caps: [{ slot: 1, object: 'waiter.cspace' }], program: `
        ${call(1, I.CNODE_DELETE, [1])}
        ${SPIN}` },
      ],
    },
    events: [exec(0, 8)],
  }),
];
