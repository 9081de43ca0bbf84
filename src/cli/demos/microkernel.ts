/**
 * The built-in microkernel demo: a client calls a server over an endpoint, then touches a page
 * nobody mapped; the kernel turns the fault into a message to a user-level pager, which maps
 * a frame into the client's address space and replies, and the client carries on. All three
 * programs are in the model's own assembly; the trace shows each instruction, each kernel
 * entry, the messages delivered and every thread-state change.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { MachineConfig } from '../../hw/index.ts';
import { encodeInfo, INVOCATION, MAP_ATTR, SYSCALL } from '../../kernel/abi.ts';
import type { KernelScenario } from '../../kernel/scenario.ts';
import { bootMicrokernel, microkernel, step, type MicrokernelSystem } from '../../system/index.ts';
import { describeSystemStep } from '../trace-format.ts';

/** One CPU, 64 frames of 256 bytes, two-level tables of 16 entries (16 KiB per address space). */
export const DEMO_MK_MACHINE: MachineConfig = {
  cpus: 1,
  frames: 64,
  wordsPerFrame: 64,
  pageTableLevels: 2,
  pageTableIndexBits: 4,
  tlbEntries: 8,
  irqLines: 8,
  devices: [{ kind: 'console', irq: 3 }],
};

const PAGE_BITS = 8;
const FAULT_VA = 0x600;
const CONSOLE_VA = 0x800;

const SERVER = `
; The server doubles MR0 for every caller, forever.
        addi r1, r0, 1            ; cap slot 1: the service endpoint
        svc ${SYSCALL.RECV}
loop:   add r3, r3, r3            ; MR0 := 2 * MR0
        addi r2, r0, 1            ; reply: label 0, one word
        addi r1, r0, 1
        svc ${SYSCALL.REPLY_RECV}
        b loop
`;

const CLIENT = `
; The client asks the server to double 21, keeps the answer in a page nobody has mapped yet,
; writes "ok" to the console and stops itself.
        addi r1, r0, 1            ; cap slot 1: the service endpoint (badge 7)
        addi r2, r0, 1            ; label 0, one word
        addi r3, r0, 21
        svc ${SYSCALL.CALL}
        li r6, ${FAULT_VA}
        st r3, 0(r6)              ; page fault: the pager maps the page, the store retries
        ld r4, 0(r6)
        li r9, ${CONSOLE_VA}
        addi r7, r0, 0x6f         ; 'o'
        st r7, 0(r9)
        addi r7, r0, 0x6b         ; 'k'
        st r7, 0(r9)
        addi r1, r0, 3            ; cap slot 3: the client's own TCB
        li r2, ${encodeInfo({ label: INVOCATION.TCB_SUSPEND, capsUnwrapped: 0, extraCaps: 0, length: 0 })}
        svc ${SYSCALL.CALL}
`;

const PAGER = `
; The pager receives VM faults (MR1 = the fault address), maps its next spare frame there in
; the client's address space, and replies 0 so the client restarts the faulting instruction.
        addi r9, r0, 4            ; spare frame caps in slots 4, 5
loop:   addi r1, r0, 1            ; cap slot 1: the fault endpoint
        svc ${SYSCALL.RECV}
        shri r5, r4, ${PAGE_BITS} ; page of the fault address
        shli r5, r5, ${PAGE_BITS}
        addi r1, r9, 0            ; Frame_Map(frame cap, vspace in r11, va, attributes)
        li r2, ${encodeInfo({ label: INVOCATION.FRAME_MAP, capsUnwrapped: 0, extraCaps: 1, length: 2 })}
        addi r3, r5, 0
        addi r4, r0, ${MAP_ATTR.WRITE}
        addi r11, r0, 2           ; cap slot 2: the client's VSpace
        svc ${SYSCALL.CALL}
        addi r9, r9, 1
        addi r2, r0, 0            ; reply label 0: restart the faulting thread
        svc ${SYSCALL.REPLY}
        b loop
`;

export const MICROKERNEL_DEMO: KernelScenario = {
  objects: [
    { name: 'service', type: 'endpoint' },
    { name: 'faults', type: 'endpoint' },
    { name: 'spare0', type: 'frame' },
    { name: 'spare1', type: 'frame' },
    { name: 'console', type: 'frame', device: 0 },
  ],
  threads: [
    { name: 'pager', priority: 30, program: PAGER, caps: [
      { slot: 1, object: 'faults', rights: 'RWGP' },
      { slot: 2, object: 'client.vspace' },
      { slot: 4, object: 'spare0' },
      { slot: 5, object: 'spare1' },
    ] },
    { name: 'server', priority: 20, program: SERVER, caps: [{ slot: 1, object: 'service', rights: 'RWGP' }] },
    { name: 'client', priority: 10, program: CLIENT, faultEndpoint: 2, pages: [{ va: CONSOLE_VA, frame: 'console', write: true }], caps: [
      { slot: 1, object: 'service', rights: 'WGP', badge: 7 },
      { slot: 2, object: 'faults', rights: 'WP' },
      { slot: 3, object: 'client.tcb' },
    ] },
  ],
};

function runningThread(sys: MicrokernelSystem): string {
  const t = sys.state.cpus[0]?.current ?? null;
  const o = t === null ? null : sys.state.objects[t];
  return o?.type === 'tcb' ? o.name : 'idle';
}

/** Steps between timer ticks. */
const STEPS_PER_TICK = 10;

/** Runs the demo, printing one line per step; returns the final system. */
export function runMicrokernelDemo(print: (line: string) => void, maxSteps = 300): MicrokernelSystem {
  const booted = bootMicrokernel(DEMO_MK_MACHINE, MICROKERNEL_DEMO);
  if (E.isLeft(booted)) throw new Error(`microkernel demo: ${booted.left.message}`);
  let sys = booted.right;
  print('mkhv microkernel demo: a client calls a server; a page fault is served by a user-level pager');
  print('  threads: pager (priority 30), server (20), client (10); one CPU; a tick every 10 steps');
  print('');
  for (let i = 0; i < maxSteps; i++) {
    const r = step(microkernel, sys, { kind: 'exec', cpu: 0 });
    const subject = runningThread(sys);
    sys = r.system;
    if (r.record?.status === 'waiting') {
      print(`${String(i).padStart(4)}  cpu0 idles: every thread is blocked or stopped`);
      break;
    }
    for (const line of describeSystemStep(i, r, subject)) print(line);
    if ((i + 1) % STEPS_PER_TICK === 0) sys = step(microkernel, sys, { kind: 'tick', cpu: 0 }).system;
  }
  const failed = microkernel.invariants(sys).filter((v) => v.violations.length > 0);
  const console0 = sys.machine.devices[0];
  print('');
  print(`console output: ${JSON.stringify(console0?.kind === 'console' ? console0.output : '')}`);
  print(`invariants: ${failed.length === 0 ? 'all hold' : failed.map((f) => f.name).join(', ') + ' violated'}`);
  return sys;
}
