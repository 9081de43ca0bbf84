/**
 * The hypervisor's conformance vectors (ORC-VEC-1..6): every hypercall and sub-command, every
 * errno (HV-ABI-1..3), every kind of VM exit (HV-EXIT-1..7), event channels, grants, memory,
 * the domain lifecycle, devices and scheduling — guest kernels in the model's assembly, at EL1
 * with stage 1 off, so that their addresses are guest-physical. Domain ids are boot order:
 * dom0 is 0, the next domain 1, and so on. A control domain that has nothing to do in a
 * vector is not started, so that it takes no steps.
 *
 * @module
 */
import { DOMCTL, EVTCHN, GNTTAB, HYPERCALL as H, MEMORY, SCHED, VCPU, VIRQ } from '../../hypervisor/abi.ts';
import { crash, exec, HV_MACHINE, HV_MACHINE_1CPU, hvVector, inject, irq, packet, tick, UART, VBLK, type VectorDefinition } from './define.ts';

const SPIN = 'spin: b spin';

/** A control domain that takes no part: never started. */
const IDLE_DOM0 = { name: 'dom0', kernel: SPIN, memory: 1, start: false } as const;

/** Loads `value` into register `r` (ADDI when the immediate reaches it, else LI). */
function load(r: string, value: number): string {
  const v = value | 0;
  return v >= -0x20000 && v < 0x20000 ? `addi ${r}, r0, ${v}` : `li ${r}, 0x${(value >>> 0).toString(16)}`;
}

/** The assembly of hypercall `n` with r1, r2, … set to `args` (`null`: already there). */
function hc(n: number, args: readonly (number | null)[] = []): string {
  const lines: string[] = [];
  args.forEach((a, i) => {
    if (a !== null) lines.push(load(`r${1 + i}`, a));
  });
  lines.push(`hvc ${n}`);
  return lines.join('\n        ');
}

/** A synchronous-exception handler at VBAR_EL1 + 0x200 that notes ESR and FAR and skips the instruction. */
const SKIP_HANDLER = `mrs r13, ESR_EL1
        mrs r11, FAR_EL1
        mrs r12, ELR_EL1
        addi r12, r12, 4
        msr ELR_EL1, r12
        eret`;

/** An IRQ handler at VBAR_EL1 + 0x280 that takes the virtual interrupt, clears the lowest pending port and counts in r10. */
const UPCALL_HANDLER = `mrs r8, ICC_IAR
        msr ICC_EOIR, r8
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.PENDING])}
        addi r10, r10, 1
        eret`;

/**
 * A guest kernel with exception vectors (VBAR_EL1 = 0: synchronous at 0x200, IRQ at 0x280)
 * whose `main` runs at EL1 with IRQs unmasked (ERET with SPSR = EL1, I clear).
 */
function withVectors(v: { readonly sync?: string; readonly irq?: string; readonly main: string }): string {
  return `
        b boot
        .align 9
sync:   ${v.sync ?? 'b sync'}
        .align 7
irq:    ${v.irq ?? 'b irq'}
        .align 6
boot:   la r1, main
        msr ELR_EL1, r1
        addi r1, r0, 4
        msr SPSR_EL1, r1
        eret
main:   ${v.main}`;
}

export const HYPERVISOR_VECTORS: readonly VectorDefinition[] = [
  hvVector({
    name: 'hv-xen-version',
    description: 'A guest calls xen_version in a loop: each HVC exits to EL2, the hypervisor puts (4 << 16) | 17 in r1 and returns to the next instruction (HV-ABI-1, HV-EXIT-2).',
    boot: { domains: [IDLE_DOM0, { name: 'g', kernel: `loop: hvc ${H.XEN_VERSION}\n b loop`, memory: 1, affinity: [0] }] },
    events: [exec(0, 4)],
  }),
  hvVector({
    name: 'hv-console',
    description: 'A guest prints through console_io (one character per hypercall) and through its emulated UART: the store to the UART page is a stage-2 data abort the device model performs before skipping the instruction, and a load of STATUS reads 1 into the register the syndrome names (HV-EXIT-3, HV-DEV-1).',
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 1, affinity: [0], kernel: `
        ${hc(H.CONSOLE_IO, [0x68])}
        ${hc(H.CONSOLE_IO, [0x69])}
        li r9, ${UART}
        addi r7, r0, 0x21
        st r7, 0(r9)                  ; DATA: '!'
        ld r8, 4(r9)                  ; STATUS: 1
        ${SPIN}` }],
    },
    events: [exec(0, 10)],
  }),
  hvVector({
    name: 'hv-sched-yield',
    description: 'Two guests share pCPU 0 and each counts and yields: sched_op yield ends the caller\'s slice, so the pCPU alternates between them at every yield (HV-SCHED-2).',
    boot: {
      domains: [
        IDLE_DOM0,
        { name: 'a', memory: 1, affinity: [0], kernel: `loop: addi r3, r3, 1\n ${hc(H.SCHED_OP, [SCHED.YIELD])}\n b loop` },
        { name: 'b', memory: 1, affinity: [0], kernel: `loop: addi r4, r4, 1\n ${hc(H.SCHED_OP, [SCHED.YIELD])}\n b loop` },
      ],
    },
    events: [exec(0, 12)],
  }),
  hvVector({
    name: 'hv-block-poll-wake',
    description: 'Two guests on one pCPU joined by an event channel: the receiver blocks and the sender\'s event wakes it; it acknowledges the upcall, takes port 1 from the pending call, polls port 9 (EINVAL: no such port), then polls port 1 and blocks until the next event wakes it (HV-SCHED-4, HV-EVT-3, HV-EVT-4, HV-EVT-7).',
    boot: {
      domains: [
        IDLE_DOM0,
        { name: 'rx', memory: 1, affinity: [0], kernel: `
        ${hc(H.SCHED_OP, [SCHED.BLOCK])}
        mrs r8, ICC_IAR                                     ; take the event upcall (IRQs stay masked)
        msr ICC_EOIR, r8
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.PENDING])}         ; r1 = 1
        ${hc(H.SCHED_OP, [SCHED.POLL, 9])}                  ; EINVAL
        ${hc(H.SCHED_OP, [SCHED.POLL, 1])}                  ; blocks until port 1
        mrs r8, ICC_IAR
        msr ICC_EOIR, r8
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.PENDING])}
        ${SPIN}` },
        { name: 'tx', memory: 1, affinity: [0], kernel: `
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1])}
        ${hc(H.SCHED_OP, [SCHED.YIELD])}
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1])}
        ${hc(H.SCHED_OP, [SCHED.BLOCK])}
        ${SPIN}` },
      ],
      channels: [{ from: 'tx', to: 'rx' }],
    },
    events: [exec(0, 27)],
  }),
  hvVector({
    name: 'hv-shutdown-dom-exc',
    description: 'The control domain binds a port to VIRQ_DOM_EXC, is refused its own shutdown (EPERM) and blocks; a guest on the other pCPU shuts down: it is destroyed, and the control domain\'s port becomes pending, which wakes it to read the port (HV-DOM-2, HV-EVT-2, HV-DOM-6).',
    boot: {
      domains: [
        { name: 'dom0', memory: 1, affinity: [1], kernel: `
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.BIND_VIRQ, VIRQ.DOM_EXC, 0])}   ; r1 = port 1
        ${hc(H.SCHED_OP, [SCHED.SHUTDOWN])}                              ; EPERM
        ${hc(H.SCHED_OP, [SCHED.BLOCK])}
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.PENDING])}                      ; r1 = 1
        ${SPIN}` },
        { name: 'g', memory: 1, affinity: [0], kernel: `
        addi r3, r0, 1
        ${hc(H.SCHED_OP, [SCHED.SHUTDOWN])}
        ${SPIN}` },
      ],
    },
    events: [exec(1, 10), exec(0, 4), exec(1, 4)],
  }),
  hvVector({
    name: 'hv-domctl-create',
    description: 'The control domain creates a domain from image 0 (the new domain id comes back in r1), starts it with unpause, is refused image 5 (EINVAL) and blocks; the new domain runs on the pCPU it leaves and prints through console_io (HV-DOM-4, HV-DOM-5, HV-LIFE-1).',
    machine: HV_MACHINE_1CPU,
    boot: {
      domains: [{ name: 'dom0', memory: 1, kernel: `
        ${hc(H.DOMCTL, [DOMCTL.CREATE, 0])}
        addi r2, r1, 0
        ${hc(H.DOMCTL, [DOMCTL.UNPAUSE])}
        ${hc(H.DOMCTL, [DOMCTL.CREATE, 5])}                  ; EINVAL
        ${hc(H.SCHED_OP, [SCHED.BLOCK])}
        ${SPIN}` }],
      images: [{ name: 'child', memory: 1, kernel: `${hc(H.CONSOLE_IO, [0x6e])}\n ${SPIN}` }],
    },
    events: [exec(0, 14)],
  }),
  hvVector({
    name: 'hv-domctl-pause-unpause',
    description: 'The control domain pauses a guest running on the other pCPU (that pCPU gets an IPI and idles), is refused pausing it again and pausing itself (EINVAL) and a domain that does not exist (ESRCH), unpauses it (a second unpause: EINVAL), and the guest counts on from where it stopped (HV-DOM-5, HV-ABI-2, HV-SCHED-7).',
    boot: {
      domains: [
        { name: 'dom0', memory: 1, affinity: [1], kernel: `
        ${hc(H.DOMCTL, [DOMCTL.PAUSE, 1])}
        ${hc(H.DOMCTL, [DOMCTL.PAUSE, 1])}                   ; EINVAL: paused already
        ${hc(H.DOMCTL, [DOMCTL.PAUSE, 0])}                   ; EINVAL: itself
        ${hc(H.DOMCTL, [DOMCTL.PAUSE, 9])}                   ; ESRCH
        ${hc(H.DOMCTL, [DOMCTL.UNPAUSE, 1])}
        ${hc(H.DOMCTL, [DOMCTL.UNPAUSE, 1])}                 ; EINVAL: running
        ${SPIN}` },
        { name: 'g', memory: 1, affinity: [0], kernel: `loop: addi r3, r3, 1\n b loop` },
      ],
    },
    events: [exec(0, 3), exec(1, 3), exec(0, 2), exec(1, 15), exec(0, 4)],
  }),
  hvVector({
    name: 'hv-domctl-destroy',
    description: 'The control domain destroys a guest running on the other pCPU: the guest\'s vCPU leaves the pCPU (which idles after an IPI), its frames are scrubbed and it is destroyed; destroying it again is ESRCH and destroying itself EINVAL (HV-DOM-6, HV-MEM-4, HV-ABI-2).',
    boot: {
      domains: [
        { name: 'dom0', memory: 1, affinity: [1], kernel: `
        ${hc(H.DOMCTL, [DOMCTL.DESTROY, 1])}
        ${hc(H.DOMCTL, [DOMCTL.DESTROY, 1])}                 ; ESRCH: gone
        ${hc(H.DOMCTL, [DOMCTL.DESTROY, 0])}                 ; EINVAL: itself
        ${SPIN}` },
        { name: 'g', memory: 2, pages: 2, affinity: [0], kernel: `
        li r6, 0x100
        addi r7, r0, 0x5ec
        st r7, 0(r6)
loop:   b loop` },
      ],
    },
    events: [exec(0, 4), exec(1, 3), exec(0, 2), exec(1, 6)],
  }),
  hvVector({
    name: 'hv-domctl-save-restore',
    description: 'The control domain pauses a counting guest, saves it (a snapshot handle in r1; the domain is saved and its frames freed), restores the snapshot as a new running domain that counts on from the saved value, and is refused restoring the spent handle (ENOENT) and saving a running domain (EINVAL) (HV-LIFE-3, HV-LIFE-4, HV-ABI-2).',
    boot: {
      domains: [
        { name: 'dom0', memory: 1, affinity: [1], kernel: `
        ${hc(H.DOMCTL, [DOMCTL.PAUSE, 1])}
        ${hc(H.DOMCTL, [DOMCTL.SAVE, 1])}                    ; r1 = handle 0
        addi r2, r1, 0
        ${hc(H.DOMCTL, [DOMCTL.RESTORE])}                    ; r1 = the new domain, 2
        ${hc(H.DOMCTL, [DOMCTL.RESTORE, 0])}                 ; ENOENT: restored already
        ${hc(H.DOMCTL, [DOMCTL.SAVE, 2])}                    ; EINVAL: not paused
        ${SPIN}` },
        { name: 'g', memory: 1, affinity: [0], kernel: `loop: addi r3, r3, 1\n b loop` },
      ],
    },
    events: [exec(0, 5), exec(1, 12), exec(0, 4), exec(1, 4)],
  }),
  hvVector({
    name: 'hv-domctl-not-control',
    description: 'A guest that is not the control domain asks to pause the control domain and to create a domain: both are EPERM, and nothing changes but its r1 (HV-DOM-2, HV-ABI-3).',
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 1, affinity: [0], kernel: `
        ${hc(H.DOMCTL, [DOMCTL.PAUSE, 0])}
        ${hc(H.DOMCTL, [DOMCTL.CREATE, 0])}
        ${SPIN}` }],
    },
    events: [exec(0, 7)],
  }),
  hvVector({
    name: 'hv-memory-op',
    description: 'A guest with a quota of 4 pages populates pages 4 and 5 and stores to page 4; populating page 4 again is EEXIST, two more pages ENOMEM (over quota), the UART\'s page EINVAL; it gives pages 4 and 5 back (their frames are scrubbed), and giving them back again, or an unknown sub-command, is EINVAL (HV-MEM-1, HV-MEM-3, HV-MEM-4).',
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 4, affinity: [0], kernel: `
        ${hc(H.MEMORY_OP, [MEMORY.POPULATE, 4, 2])}
        li r6, 0x400
        addi r7, r0, 0x99
        st r7, 0(r6)
        ${hc(H.MEMORY_OP, [MEMORY.POPULATE, 4, 1])}          ; EEXIST
        ${hc(H.MEMORY_OP, [MEMORY.POPULATE, 8, 2])}          ; ENOMEM: over quota
        ${hc(H.MEMORY_OP, [MEMORY.POPULATE, 0xfe, 1])}       ; EINVAL: the UART's page
        ${hc(H.MEMORY_OP, [MEMORY.DECREASE, 4, 2])}
        ${hc(H.MEMORY_OP, [MEMORY.DECREASE, 4, 2])}          ; EINVAL: not there
        ${hc(H.MEMORY_OP, [9])}                              ; EINVAL: no such sub-command
        ${SPIN}` }],
    },
    events: [exec(0, 31)],
  }),
  hvVector({
    name: 'hv-grant-map-unmap',
    description: 'Guest a grants guest b its page 1; b maps the grant at its page 5 (handle 0), reads a\'s word and writes its own; a sees it, and cannot end the grant while it is mapped (EBUSY); b is refused a grant not made to it (EPERM) and a mapping over its own page (EINVAL), unmaps (stage-2 entry removed, VMID flushed), and a ends the grant (HV-GNT-1..4).',
    boot: {
      domains: [
        IDLE_DOM0,
        { name: 'a', memory: 2, pages: 2, affinity: [0], kernel: `
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.GRANT, 2, 1, 0])}     ; r1 = ref 0
        li r6, 0x100
        addi r7, r0, 0xabc
        st r7, 0(r6)
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.END, 0])}             ; EBUSY once b has mapped it
        ld r8, 0(r6)                                         ; b's word
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.END, 0])}             ; once b has unmapped it
        ${SPIN}` },
        { name: 'b', memory: 1, affinity: [1], kernel: `
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.MAP, 1, 0, 5, 0])}    ; r1 = handle 0
        li r6, 0x500
        ld r8, 0(r6)                                         ; a's word
        addi r7, r0, 0xdef
        st r7, 0(r6)
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.MAP, 1, 7, 6, 0])}    ; EPERM: no such grant for b
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.MAP, 1, 0, 0, 0])}    ; EINVAL: b's own page
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.UNMAP, 0])}
        ${SPIN}` },
      ],
    },
    events: [exec(0, 9), exec(1, 11), exec(0, 4), exec(1, 20), exec(0, 4)],
  }),
  hvVector({
    name: 'hv-grant-copy',
    description: 'Guest a grants guest b its page 1 read-write and page 2 read-only at boot; b copies 4 words from the first grant into its own page 1, then 2 words back into it; copying into the read-only grant is EPERM, 99 words EINVAL, and from a domain that does not exist ESRCH (HV-GNT-6).',
    boot: {
      domains: [
        IDLE_DOM0,
        { name: 'a', memory: 3, pages: 3, affinity: [0], kernel: `
        li r6, 0x100
        addi r7, r0, 11
        st r7, 0(r6)
        addi r7, r0, 22
        st r7, 4(r6)
        addi r7, r0, 33
        st r7, 8(r6)
        addi r7, r0, 44
        st r7, 12(r6)
        ${SPIN}` },
        { name: 'b', memory: 2, pages: 2, affinity: [1], kernel: `
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.COPY, 1, 0, 1, 0, 4])}   ; a's page 1 into b's page 1
        li r6, 0x100
        addi r7, r0, 55
        st r7, 0(r6)
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.COPY, 1, 0, 1, 1, 2])}   ; 2 words back into a's page
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.COPY, 1, 1, 1, 1, 1])}   ; EPERM: read-only grant
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.COPY, 1, 0, 1, 0, 99])}  ; EINVAL: more than a page
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.COPY, 7, 0, 1, 0, 1])}   ; ESRCH
        ${SPIN}` },
      ],
      grants: [{ from: 'a', to: 'b', gfn: 1 }, { from: 'a', to: 'b', gfn: 2, readonly: true }],
    },
    events: [exec(0, 11), exec(1, 40)],
  }),
  hvVector({
    name: 'hv-grant-table-full',
    description: 'Guest a made 32 grants to guest b at boot, filling its grant table: one more grant is ENOSPC, a grant to a domain that does not exist ESRCH and of a page it does not have EINVAL; ending reference 31 frees it for the next grant, which gets it (HV-GNT-1, HV-ABI-2).',
    boot: {
      domains: [
        IDLE_DOM0,
        { name: 'a', memory: 2, pages: 2, affinity: [0], kernel: `
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.GRANT, 2, 1, 0])}     ; ENOSPC
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.GRANT, 9, 1, 0])}     ; ESRCH
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.GRANT, 2, 7, 0])}     ; EINVAL: page 7 is not a's
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.END, 31])}
        ${hc(H.GRANT_TABLE_OP, [GNTTAB.GRANT, 2, 1, 1])}     ; r1 = 31
        ${SPIN}` },
        { name: 'b', memory: 1, affinity: [1], start: false, kernel: SPIN },
      ],
      grants: Array.from({ length: 32 }, () => ({ from: 'a', to: 'b', gfn: 1 })),
    },
    events: [exec(0, 24)],
  }),
  hvVector({
    name: 'hv-evtchn-interdomain',
    description: 'Guest a opens an unbound port for guest b (port 1; for a domain that does not exist: ESRCH); b binds to it (a wrong remote port: EINVAL) and sends: a\'s port becomes pending and the event upcall reaches a on the other pCPU by an IPI; a takes port 1 from the pending call and closes it, and b\'s next send is EINVAL, its port being unbound again (HV-EVT-1..5, HV-EVT-7).',
    boot: {
      domains: [
        IDLE_DOM0,
        { name: 'a', memory: 1, affinity: [0], kernel: `
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.ALLOC_UNBOUND, 9])}   ; ESRCH
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.ALLOC_UNBOUND, 2])}   ; r1 = port 1, for b
wait:   mrs r9, ICC_IAR                                 ; 1023 until the upcall is pending
        addi r8, r9, -1023
        beq r8, r0, wait
        msr ICC_EOIR, r9
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.PENDING])}           ; r1 = 1
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.CLOSE, 1])}
        ${SPIN}` },
        { name: 'b', memory: 1, affinity: [1], kernel: `
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.BIND_INTERDOMAIN, 1, 5])}  ; EINVAL: a has no port 5
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.BIND_INTERDOMAIN, 1, 1])}  ; r1 = port 1
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1])}
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1])}            ; EINVAL once a has closed
        ${SPIN}` },
      ],
    },
    events: [exec(0, 9), exec(1, 12), exec(0, 12), exec(1, 3)],
  }),
  hvVector({
    name: 'hv-evtchn-mask',
    description: 'Guest a masks its channel port and runs with IRQs unmasked; guest b\'s send makes the port pending without an upcall; when a unmasks it, the upcall is raised at once and a\'s IRQ handler (at VBAR_EL1 + 0x280) takes the virtual interrupt, takes port 1 from the pending call and counts it in r10 (HV-EVT-3, HV-EVT-4, HV-EVT-6).',
    boot: {
      domains: [
        IDLE_DOM0,
        { name: 'a', memory: 4, affinity: [0], kernel: withVectors({ irq: UPCALL_HANDLER, main: `
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.MASK, 1])}
        addi r9, r0, 1
wait:   bne r9, r0, wait                                      ; until r9 is cleared from outside
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.UNMASK, 1])}
        ${SPIN}` }) },
        { name: 'b', memory: 1, affinity: [1], kernel: `
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1])}
        ${SPIN}` },
      ],
      channels: [{ from: 'b', to: 'a' }],
    },
    events: [exec(0, 12), exec(1, 4), exec(0, 2), inject(0, 'addi r9, r0, 0'), exec(0, 11)],
  }),
  hvVector({
    name: 'hv-vcpu-up-down',
    description: 'vCPU 0 of a two-vCPU guest brings vCPU 1 up at a given pc on pCPU 1 (again: EEXIST; vCPU 5: EINVAL); vCPU 1 runs there with r1 = 1; vCPU 0 takes it down (pCPU 1 gets an IPI and idles), and taking it down again succeeds and does nothing (HV-DOM-3, HV-SCHED-7).',
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 1, vcpus: 2, affinity: [0, 1], kernel: `
        la r3, second
        ${hc(H.VCPU_OP, [VCPU.UP, 1, null])}
        ${hc(H.VCPU_OP, [VCPU.UP, 1, null])}                 ; EEXIST
        ${hc(H.VCPU_OP, [VCPU.UP, 5, null])}                 ; EINVAL
        addi r9, r0, 1
wait:   bne r9, r0, wait                                     ; until r9 is cleared from outside
        ${hc(H.VCPU_OP, [VCPU.DOWN, 1])}
        ${hc(H.VCPU_OP, [VCPU.DOWN, 1])}                     ; down already: nothing to do
        ${SPIN}
second: addi r5, r1, 6                                       ; r1 = the vCPU id
loop:   addi r6, r6, 1
        b loop` }],
    },
    events: [exec(0, 14), exec(1, 5), exec(0, 1), inject(0, 'addi r9, r0, 0'), exec(0, 8), exec(1, 2)],
  }),
  hvVector({
    name: 'hv-unknown-hypercall',
    description: 'A guest calls hypercall 99, which does not exist (ENOSYS), and unknown sub-commands of sched_op, memory_op, grant_table_op, event_channel_op and vcpu_op (EINVAL); each changes nothing but r1 (HV-ABI-1, HV-ABI-3).',
    boot: {
      domains: [{ name: 'dom0', memory: 1, affinity: [1], start: false, kernel: SPIN }, { name: 'g', memory: 1, affinity: [0], kernel: `
        hvc 99                                               ; ENOSYS
        ${hc(H.SCHED_OP, [9])}
        ${hc(H.MEMORY_OP, [9])}
        ${hc(H.GRANT_TABLE_OP, [9])}
        ${hc(H.EVENT_CHANNEL_OP, [9])}
        ${hc(H.VCPU_OP, [9, 0])}
        ${SPIN}` }],
    },
    events: [exec(0, 13)],
  }),
  hvVector({
    name: 'hv-stage2-faults',
    description: 'A guest loads from and stores to unbacked guest-physical memory and fetches from it: each is a stage-2 abort (data, data, instruction) that exits to EL2 and comes back to the guest as an external abort at its EL1 vector, where a handler records ESR and FAR and skips the access — for the fetch, the handler returns to the caller through lr (HV-EXIT-3, HV-MEM-2).',
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 4, affinity: [0], kernel: `
        b boot
        .align 9
sync:   mrs r13, ESR_EL1
        mrs r11, FAR_EL1
        shri r12, r13, 26
        addi r12, r12, -0x20                                 ; an instruction abort?
        bne r12, r0, data
        msr ELR_EL1, lr                                      ; back to the caller
        eret
data:   mrs r12, ELR_EL1
        addi r12, r12, 4
        msr ELR_EL1, r12
        eret
boot:   li r6, 0x800
        ld r7, 0(r6)                                         ; stage-2 data abort
        addi r7, r0, 5
        st r7, 4(r6)                                         ; stage-2 data abort
        jalr lr, r6, 0                                       ; stage-2 instruction abort
        addi r8, r0, 1
        ${SPIN}` }],
    },
    events: [exec(0, 35)],
  }),
  hvVector({
    name: 'hv-demand-paging',
    description: 'A demand-paged guest with a quota of 5 pages (3 hold its kernel) touches unbacked pages 5 and 6: each stage-2 fault populates a zeroed frame and the access is retried; at page 7 the quota is spent, so that fault comes back to the guest as an external abort, which its handler skips (HV-MEM-7, HV-EXIT-3).',
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 5, demandPaging: true, affinity: [0], kernel: `
        b boot
        .align 9
sync:   ${SKIP_HANDLER}
boot:   li r6, 0x500
        ld r7, 0(r6)                                         ; populated on demand
        addi r7, r0, 0x66
        st r7, 0x100(r6)                                     ; page 6: populated on demand
        ld r8, 0x200(r6)                                     ; page 7: over quota
        ${SPIN}` }],
    },
    events: [exec(0, 16)],
  }),
  hvVector({
    name: 'hv-emulated-block',
    description: 'A guest with 2 sectors of storage writes its page 1 to sector 1 through its emulated block device and reads the sector back into page 2 (DMA through its own stage 2; STATUS 1, DONE); a command for sector 2, beyond its allowance, ends with STATUS 2, RANGE_ERROR (HV-DEV-1, HV-MEM-5).',
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 3, pages: 3, storage: 2, affinity: [0], kernel: `
        li r9, ${VBLK}
        li r6, 0x100
        addi r7, r0, 0x77
        st r7, 0(r6)                                         ; the data, in page 1
        addi r7, r0, 1
        st r7, 0(r9)                                         ; SECTOR 1
        st r6, 4(r9)                                         ; ADDR: page 1
        st r7, 8(r9)                                         ; COUNT 1
        addi r7, r0, 2
        st r7, 12(r9)                                        ; CMD: write
        ld r8, 16(r9)                                        ; STATUS
        st r0, 20(r9)                                        ; ACK
        li r6, 0x200
        st r6, 4(r9)                                         ; ADDR: page 2
        addi r7, r0, 1
        st r7, 12(r9)                                        ; CMD: read
        ld r8, 16(r9)
        addi r7, r0, 2
        st r7, 0(r9)                                         ; SECTOR 2: beyond the allowance
        addi r7, r0, 1
        st r7, 12(r9)
        ld r8, 16(r9)                                        ; STATUS 2
        ${SPIN}` }],
    },
    events: [exec(0, 26)],
  }),
  hvVector({
    name: 'hv-wfi-virtual-timer',
    description: 'A guest sets its virtual timer 2 ticks ahead and executes WFI with IRQs masked: the WFI exits to EL2 and the vCPU blocks, so the pCPU idles; the first tick is not enough, at the second the hypervisor finds the timer due, injects virtual interrupt 2 and the guest resumes after its WFI and acknowledges it (HV-EXIT-4, HV-EXIT-6, HV-EVT-4).',
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 1, affinity: [0], kernel: `
        mrs r3, CNTVCT
        addi r3, r3, 2
        msr CNTV_CVAL, r3
        addi r4, r0, 1
        msr CNTV_CTL, r4                                     ; enable
        wfi                                                  ; blocks until the timer is due
        mrs r8, ICC_IAR                                      ; 2: the virtual timer
        msr ICC_EOIR, r8
        ${SPIN}` }],
    },
    events: [exec(0, 7), tick(0), exec(0, 2), tick(0), exec(0, 4)],
  }),
  hvVector({
    name: 'hv-virtual-ipi',
    description: 'vCPU 0 of a guest brings up vCPU 1 on pCPU 1, which unmasks IRQs and spins; vCPU 0 writes ICC_SGIR with vCPU 1\'s bit: the write traps to EL2 (a sysreg exit), the hypervisor posts virtual IPI 0 to vCPU 1 with a physical IPI to pCPU 1, and vCPU 1 takes it as a virtual interrupt at its IRQ vector (HV-EXIT-5, HV-EVT-4).',
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 4, vcpus: 2, affinity: [0, 1], kernel: `
        b boot
        .align 9
sync:   b sync
        .align 7
irq:    mrs r8, ICC_IAR                                      ; 0: the virtual IPI
        msr ICC_EOIR, r8
        addi r10, r10, 1
        eret
        .align 6
boot:   bne r1, r0, second                                   ; r1 = the vCPU id
        la r3, second
        ${hc(H.VCPU_OP, [VCPU.UP, 1, null])}
        addi r9, r0, 1
wait:   bne r9, r0, wait                                     ; until r9 is cleared from outside
        addi r6, r0, 2                                       ; vCPU 1's bit
        msr ICC_SGIR, r6
        ${SPIN}
second: la r1, spin2
        msr ELR_EL1, r1
        addi r1, r0, 4
        msr SPSR_EL1, r1
        eret
spin2:  b spin2` }],
    },
    events: [exec(0, 9), exec(1, 8), inject(0, 'addi r9, r0, 0'), exec(0, 4), exec(1, 7)],
  }),
  hvVector({
    name: 'hv-trapped-instructions',
    description: 'A guest kernel reads the physical counter and writes the physical timer (trapped by HCR_EL2.TPT), reads HCR_EL2 (an EL2 register) and executes TLBI VMID (EL2\'s scope): each exits to EL2 as a sysreg or tlbi trap and comes back as an undefined-instruction exception at the guest\'s EL1 vector, whose handler skips it; TLBI ALL, which a guest may execute, does not exit (HV-EXIT-5, HW-SYS-2, HW-TLB-4).',
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 4, affinity: [0], kernel: `
        b boot
        .align 9
sync:   ${SKIP_HANDLER}
boot:   mrs r3, CNTPCT
        msr CNTP_CTL, r0
        mrs r4, HCR_EL2
        tlbi vmid, r5
        tlbi all
        addi r6, r0, 1
        ${SPIN}` }],
    },
    events: [exec(0, 32)],
  }),
  hvVector({
    name: 'hv-credit-scheduler',
    description: 'Two busy guests share pCPU 0 with a slice of 2 ticks: each tick is a physical timer interrupt that exits to EL2 and burns the running vCPU\'s credit, and the pCPU changes hands when the waiting vCPU has credit left and the running one has not, or when a slice ends (HV-EXIT-6, HV-SCHED-2, HV-SCHED-3).',
    boot: {
      hypervisor: { sliceTicks: 2 },
      domains: [
        IDLE_DOM0,
        { name: 'a', memory: 1, affinity: [0], kernel: `loop: addi r3, r3, 1\n b loop` },
        { name: 'b', memory: 1, affinity: [0], kernel: `loop: addi r4, r4, 1\n b loop` },
      ],
    },
    events: [exec(0, 2), tick(0), exec(0, 2), tick(0), exec(0, 2), tick(0), exec(0, 2), tick(0), exec(0, 2), tick(0), exec(0, 2)],
  }),
  hvVector({
    name: 'hv-assigned-device-irq',
    description: 'The console is assigned to a guest at its page 8: the guest\'s stores to it reach the device with no exit; when the console\'s line 3 is raised, the physical interrupt exits to EL2, makes the device\'s port pending and the upcall reaches the guest\'s IRQ handler, which takes port 1 (HV-DEV-2, HV-EXIT-6, HV-EVT-4).',
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 4, affinity: [0], devices: [{ device: 0, gfn: 8 }], kernel: withVectors({ irq: UPCALL_HANDLER, main: `
        li r9, 0x800
        addi r7, r0, 0x6f
        st r7, 0(r9)                                         ; straight to the console
        ${SPIN}` }) }],
    },
    events: [exec(0, 10), irq(3), exec(0, 10)],
  }),
  hvVector({
    name: 'hv-nic-packet',
    description: 'A NIC assigned to a guest at its page 9 gets a receive buffer at guest page 4; a packet of 3 words arrives: the NIC writes it into the guest\'s page by DMA through the guest\'s stage-2 table, raises its line, and the interrupt becomes an event upcall whose handler reads RX_LEN 3 (HV-DEV-2, HW-DEV-3, HW-IOMMU-2).',
    machine: { ...HV_MACHINE, devices: [...HV_MACHINE.devices, { kind: 'nic', irq: 5, rxQueue: 2 }] },
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 5, pages: 5, affinity: [0], devices: [{ device: 2, gfn: 9 }], kernel: withVectors({
        irq: `ld r11, 20(r9)                                     ; RX_LEN
        ${UPCALL_HANDLER}`,
        main: `
        li r9, 0x900
        li r6, 0x400
        st r6, 12(r9)                                        ; RX_ADDR: guest page 4
        addi r7, r0, 8
        st r7, 16(r9)                                        ; RX_CAP: 8 words
        ${SPIN}` }) }],
    },
    events: [exec(0, 14), packet(2, [0xa, 0xb, 0xc]), exec(0, 10)],
  }),
  hvVector({
    name: 'hv-crash-domain',
    description: 'The control domain binds VIRQ_DOM_EXC and blocks; an injected crash of the guest on the other pCPU destroys it (its pCPU idles, its frames are scrubbed) and makes the control domain\'s port pending, which wakes it (SYS-2, HV-DOM-6, HV-EVT-2).',
    boot: {
      domains: [
        { name: 'dom0', memory: 1, affinity: [1], kernel: `
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.BIND_VIRQ, VIRQ.DOM_EXC, 0])}
        ${hc(H.SCHED_OP, [SCHED.BLOCK])}
        ${hc(H.EVENT_CHANNEL_OP, [EVTCHN.PENDING])}
        ${SPIN}` },
        { name: 'g', memory: 1, affinity: [0], kernel: `loop: addi r3, r3, 1\n b loop` },
      ],
    },
    events: [exec(1, 7), exec(0, 2), crash('g'), exec(0, 2), exec(1, 4)],
  }),
  hvVector({
    name: 'hv-rejected-events',
    description: 'Events the system cannot take are rejected with an error and change nothing: pCPU 5 of a one-pCPU machine, interrupt line 99, a packet for the console (not a NIC), a crash of a domain that does not exist, and a crash of the control domain, whose end would be the host\'s (ORC-FMT-3, HV-DOM-2, SYS-2).',
    rejects: true,
    machine: HV_MACHINE_1CPU,
    boot: { domains: [{ name: 'dom0', memory: 1, kernel: `loop: addi r3, r3, 1\n b loop` }] },
    events: [exec(0), exec(5), tick(5), irq(99), packet(0, [1]), crash('nobody'), crash('dom0'), exec(0)],
  }),
  hvVector({
    name: 'hv-injected-instructions',
    description: 'Instructions injected into a guest kernel instead of fetched: ALU, xen_version (an HVC exit), and a store to the emulated UART (a stage-2 data abort the device model performs), then fetching resumes where the injected ones left the pc (HW-EXEC-1, HV-EXIT-2, HV-EXIT-3).',
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 1, affinity: [0], kernel: `nop\n nop\n nop\n nop\n nop\n loop: addi r4, r4, 1\n b loop` }],
    },
    events: [inject(0, 'addi r3, r0, 0x41'), inject(0, `hvc ${H.XEN_VERSION}`), inject(0, `addi r9, r0, ${UART}`), inject(0, 'st r3, 0(r9)'), inject(0, 'nop'), exec(0, 3)],
  }),
  hvVector({
    name: 'hv-guest-user-mode',
    description: 'A guest kernel drops to EL0; its user code executes SVC, HVC and WFI, and each goes to the guest kernel\'s vector for exceptions from a lower level (VBAR_EL1 + 0x400) without a VM exit — HVC being undefined at EL0 — where the handler counts it and returns past it (HV-EXIT-7, HW-EXC-2).',
    boot: {
      domains: [IDLE_DOM0, { name: 'g', memory: 6, affinity: [0], kernel: `
        b boot
        .align 10
lower:  mrs r13, ESR_EL1
        addi r10, r10, 1
        shri r12, r13, 26
        addi r12, r12, -0x15                                 ; an SVC? Its ELR is past it already
        beq r12, r0, back
        mrs r12, ELR_EL1
        addi r12, r12, 4
        msr ELR_EL1, r12
back:   eret
boot:   la r1, user
        msr ELR_EL1, r1
        msr SPSR_EL1, r0                                     ; EL0, IRQs unmasked
        eret
user:   svc 5
        hvc ${H.XEN_VERSION}
        wfi
        addi r3, r0, 1
        ${SPIN}` }],
    },
    events: [exec(0, 35)],
  }),
];
