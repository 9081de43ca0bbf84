/**
 * The built-in hypervisor demo: a control domain, a driver domain with a paravirtual block
 * backend, a guest with the matching frontend, and a second guest that the control domain
 * saves and restores while it runs. The frontend grants the backend its request ring and data
 * pages and signals it over an event channel; the backend maps the data page by grant and
 * does the disk I/O on its emulated block device, whose DMA lands in the granted page through
 * the IOMMU. Every guest is written in the model's own assembly.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { MachineConfig } from '../../hw/index.ts';
import { DOMCTL, EVTCHN, GNTTAB, HYPERCALL, SCHED } from '../../hypervisor/abi.ts';
import type { HypervisorScenario } from '../../hypervisor/scenario.ts';
import { bootHypervisorSystem, hypervisor, step, type HypervisorSystem } from '../../system/index.ts';
import { describeSystemStep } from '../trace-format.ts';

/** Two pCPUs, 96 frames of 256 bytes, 64 KiB guest-physical spaces, a console and a 16-sector disk. */
export const DEMO_HV_MACHINE: MachineConfig = {
  cpus: 2,
  frames: 96,
  wordsPerFrame: 64,
  pageTableLevels: 2,
  pageTableIndexBits: 4,
  tlbEntries: 8,
  irqLines: 8,
  devices: [
    { kind: 'console', irq: 3 },
    { kind: 'block', irq: 4, sectors: 16 },
  ],
};

/** The emulated devices sit in the last two pages of each 64 KiB guest-physical space. */
const UART = 0xfe00;
const VBLK = 0xff00;
/** guest2's domain id: domains are numbered in boot order. */
const GUEST2 = 3;
/** The channel's port in both domains, and the ring and data grant references of the frontend. */
const PORT = 1;
const RING_REF = 0;

const CONTROL = `
; dom0: lets the others run, then pauses guest2, saves it and restores it.
        li r9, ${UART}
        addi r5, r0, 80
wait:   addi r5, r5, -1
        bne r5, r0, wait
        addi r1, r0, ${DOMCTL.PAUSE}
        addi r2, r0, ${GUEST2}
        hvc ${HYPERCALL.DOMCTL}
        addi r1, r0, ${DOMCTL.SAVE}
        addi r2, r0, ${GUEST2}
        hvc ${HYPERCALL.DOMCTL}
        addi r2, r1, 0            ; the snapshot handle
        addi r1, r0, ${DOMCTL.RESTORE}
        hvc ${HYPERCALL.DOMCTL}
        addi r7, r0, 0x52         ; 'R': restored
        st r7, 0(r9)
idle:   addi r1, r0, ${SCHED.BLOCK}
        hvc ${HYPERCALL.SCHED_OP}
        b idle
`;

const BACKEND = `
; driver domain: the block backend. Maps the frontend's ring, then serves one request per event.
        addi r1, r0, ${GNTTAB.MAP}
        addi r2, r0, 2            ; granter: the frontend (domain 2)
        addi r3, r0, ${RING_REF}
        addi r4, r0, 4            ; at our page 4
        addi r5, r0, 0            ; read-write
        hvc ${HYPERCALL.GRANT_TABLE_OP}
        li r10, 0x400             ; the ring
        li r12, ${VBLK}
loop:   addi r1, r0, ${SCHED.BLOCK}
        hvc ${HYPERCALL.SCHED_OP}
        mrs r8, ICC_IAR           ; take the event upcall
        msr ICC_EOIR, r8
        addi r1, r0, ${EVTCHN.PENDING}
        hvc ${HYPERCALL.EVENT_CHANNEL_OP}
        ld r7, 0(r10)
        beq r7, r0, loop          ; nothing posted
        addi r1, r0, ${GNTTAB.MAP} ; map the request's data page at our page 5
        addi r2, r0, 2
        ld r3, 12(r10)
        addi r4, r0, 5
        addi r5, r0, 0
        hvc ${HYPERCALL.GRANT_TABLE_OP}
        addi r11, r1, 0           ; the mapping's handle
        ld r7, 8(r10)
        st r7, 0(r12)             ; SECTOR
        li r7, 0x500
        st r7, 4(r12)             ; ADDR: the mapped data page
        addi r7, r0, 1
        st r7, 8(r12)             ; COUNT
        ld r7, 4(r10)
        st r7, 12(r12)            ; CMD: 1 read, 2 write — the DMA goes to the granted page
        ld r7, 16(r12)            ; STATUS
        st r7, 16(r10)            ; into the response slot
        st r0, 20(r12)            ; ACK
        addi r1, r0, ${GNTTAB.UNMAP}
        addi r2, r11, 0
        hvc ${HYPERCALL.GRANT_TABLE_OP}
        st r0, 0(r10)             ; request done
        addi r1, r0, ${EVTCHN.SEND}
        addi r2, r0, ${PORT}
        hvc ${HYPERCALL.EVENT_CHANNEL_OP}
        b loop
`;

/** One request: op, sector, data grant reference; then wait for the backend's answer. */
function request(label: string, op: number, ref: number): string {
  return `
        addi r7, r0, ${op}
        st r7, 4(r5)              ; op
        st r0, 8(r5)              ; sector 0
        addi r7, r0, ${ref}
        st r7, 12(r5)             ; data grant reference
        addi r7, r0, 1
        st r7, 0(r5)              ; post it
        addi r1, r0, ${EVTCHN.SEND}
        addi r2, r0, ${PORT}
        hvc ${HYPERCALL.EVENT_CHANNEL_OP}
${label}: addi r1, r0, ${SCHED.BLOCK}
        hvc ${HYPERCALL.SCHED_OP}
        mrs r8, ICC_IAR
        msr ICC_EOIR, r8
        addi r1, r0, ${EVTCHN.PENDING}
        hvc ${HYPERCALL.EVENT_CHANNEL_OP}
        ld r7, 0(r5)
        bne r7, r0, ${label}      ; not answered yet`;
}

const FRONTEND = `
; guest1: the block frontend. Writes "hi" to sector 0 from its page 2, reads it back into its
; page 3, and prints what came back. Page 1 is the ring shared with the backend.
        li r9, ${UART}
        li r6, 0x200
        addi r7, r0, 0x68         ; 'h'
        st r7, 0(r6)
        addi r7, r0, 0x69         ; 'i'
        st r7, 4(r6)
        li r5, 0x100              ; the ring
${request('w1', 2, 1)}
${request('w2', 1, 2)}
        li r6, 0x300
        ld r7, 0(r6)
        st r7, 0(r9)
        ld r7, 4(r6)
        st r7, 0(r9)
done:   addi r1, r0, ${SCHED.BLOCK}
        hvc ${HYPERCALL.SCHED_OP}
        b done
`;

const COUNTER = `
; guest2: counts, and prints a dot every 16 — before and after it is saved and restored.
        li r9, ${UART}
        addi r6, r0, 0x2e
loop:   addi r5, r5, 1
        andi r7, r5, 15
        bne r7, r0, loop
        st r6, 0(r9)
        b loop
`;

export const HYPERVISOR_DEMO: HypervisorScenario = {
  domains: [
    { name: 'dom0', kernel: CONTROL, memory: 4, affinity: [0] },
    { name: 'driver', kernel: BACKEND, memory: 8, storage: 4, affinity: [1] },
    { name: 'guest1', kernel: FRONTEND, memory: 6, pages: 4, affinity: [0] },
    { name: 'guest2', kernel: COUNTER, memory: 4, affinity: [1] },
  ],
  channels: [{ from: 'guest1', to: 'driver' }],
  grants: [
    { from: 'guest1', to: 'driver', gfn: 1 },
    { from: 'guest1', to: 'driver', gfn: 2 },
    { from: 'guest1', to: 'driver', gfn: 3 },
  ],
};

/** Steps between timer ticks on each pCPU. */
const STEPS_PER_TICK = 8;

/** Runs the demo, printing each VM exit and what it delivered; returns the final system. */
export function runHypervisorDemo(print: (line: string) => void, rounds = 400): HypervisorSystem {
  const booted = bootHypervisorSystem(DEMO_HV_MACHINE, HYPERVISOR_DEMO);
  if (E.isLeft(booted)) throw new Error(`hypervisor demo: ${booted.left.message}`);
  let sys = booted.right;
  print('mkhv hypervisor demo: dom0, a driver domain with a block backend, a guest with its frontend,');
  print('  and a guest dom0 saves and restores; 2 pCPUs. Guest instructions between exits are counted,');
  print('  each exit is shown with what the hypervisor did.');
  print('');
  // Between the exits worth showing, count guest instructions and timer interrupts.
  const quiet = [
    { insns: 0, irqs: 0 },
    { insns: 0, irqs: 0 },
  ];
  let index = 0;
  for (let round = 0; round < rounds; round++) {
    for (const cpu of [0, 1]) {
      const subject = hypervisor.runningDomain(sys, cpu) ?? 'idle';
      const r = step(hypervisor, sys, { kind: 'exec', cpu });
      sys = r.system;
      index++;
      const q = quiet[cpu]!;
      const eventful = r.observations.length > 0 || r.lifecycle.length > 0;
      if (!eventful && r.trap?.kind === 'irq') {
        q.irqs++;
        continue;
      }
      if (!eventful && (r.trap === null || r.trap.to !== 2)) {
        if (r.record?.status !== 'waiting') q.insns++;
        continue;
      }
      if (q.insns + q.irqs > 0) print(`        pcpu${cpu}: … ${q.insns} guest instructions, ${q.irqs} timer interrupts`);
      q.insns = 0;
      q.irqs = 0;
      for (const line of describeSystemStep(index, r, `pcpu${cpu} ${subject}`)) print(line);
    }
    if ((round + 1) % STEPS_PER_TICK === 0) {
      for (const cpu of [0, 1]) sys = step(hypervisor, sys, { kind: 'tick', cpu }).system;
    }
  }
  print('');
  for (const d of sys.state.domains) {
    if (d !== null) print(`${d.name.padEnd(7)} (${d.lifecycle}): console ${JSON.stringify(d.console)}`);
  }
  const failed = hypervisor.invariants(sys).filter((v) => v.violations.length > 0);
  print(`invariants: ${failed.length === 0 ? 'all hold' : failed.map((f) => f.name).join(', ') + ' violated'}`);
  return sys;
}
