/**
 * Small scenarios for the oracle's tests: one per supervisor, with stores to RAM, system calls
 * or hypercalls, observations and lifecycle changes within a few dozen steps.
 */
import { HYPERCALL } from '../../src/hypervisor/abi.ts';
import { SYSCALL } from '../../src/kernel/abi.ts';
import type { Scenario } from '../../src/oracle/formats.ts';

const MACHINE = { cpus: 2, frames: 48, wordsPerFrame: 64, pageTableLevels: 2, pageTableIndexBits: 4, tlbEntries: 8, irqLines: 8, devices: [{ kind: 'console' as const, irq: 3 }] };

/** A client calling a server that stores every request into its own memory and replies. */
export const MK_SCENARIO: Scenario = {
  format: 'mkhv-scenario',
  version: 1,
  name: 'client and server',
  machine: MACHINE,
  supervisor: 'microkernel',
  boot: {
    objects: [{ name: 'ep', type: 'endpoint' }],
    threads: [
      { name: 'server', priority: 20, caps: [{ slot: 1, object: 'ep', rights: 'RWGP' }], pages: [{ va: 0x800, write: true }], program: `
        addi r7, r0, 0x800
        addi r1, r0, 1
        svc ${SYSCALL.RECV}
loop:   st r3, 0(r7)
        addi r7, r7, 4
        andi r7, r7, 0x8fc
        addi r3, r3, 1
        addi r1, r0, 1
        svc ${SYSCALL.REPLY_RECV}
        b loop` },
      { name: 'client', priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'WGP' }], program: `
loop:   addi r1, r0, 1
        addi r2, r0, 1
        addi r3, r3, 7
        svc ${SYSCALL.CALL}
        b loop` },
      { name: 'other', cpu: 1, program: `loop: addi r2, r2, 1\n svc ${SYSCALL.YIELD}\n b loop` },
    ],
  },
};

/** Two guests: one storing and printing to its console, one making hypercalls; dom0 blocks. */
export const HV_SCENARIO: Scenario = {
  format: 'mkhv-scenario',
  version: 1,
  name: 'two guests',
  machine: MACHINE,
  supervisor: 'hypervisor',
  boot: {
    domains: [
      { name: 'dom0', kernel: `loop: addi r1, r0, 1\n hvc ${HYPERCALL.SCHED_OP}\n b loop`, memory: 2, affinity: [1] },
      { name: 'a', memory: 4, pages: 4, affinity: [0], kernel: `
        li r7, 0x200
        li r8, ${(1 << 16) - 2 * 256}
loop:   addi r3, r3, 1
        st r3, 0(r7)
        addi r4, r0, 0x61
        st r4, 0(r8)
        b loop` },
      { name: 'b', memory: 2, affinity: [1], kernel: `loop: hvc ${HYPERCALL.XEN_VERSION}\n b loop` },
    ],
  },
};
