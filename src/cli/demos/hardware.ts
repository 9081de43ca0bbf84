/**
 * The built-in hardware demo: a forty-line kernel written in the model's own assembly, at
 * EL1, runs a user program at EL0 on the demo geometry. It shows, one step per line, system
 * calls (SVC to EL1 and ERET back), a page fault served by mapping the page and a TLBI, and
 * a timer interrupt — the mechanisms the microkernel and the hypervisor are built from.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import {
  assemble,
  DEMO_MACHINE,
  execute,
  formatInstruction,
  decode,
  makeBase,
  mapPage,
  PTE,
  resetMachine,
  SCTLR_M,
  setSys,
  SYS,
  tick,
  writeWords,
  type ExecResult,
  type Machine,
} from '../../hw/index.ts';
import { describeStep } from '../trace-format.ts';

const KERNEL_VA = 0x0000_0000;
const USER_CODE_VA = 0x0040_0000;
const USER_DATA_VA = 0x0080_0000;
const FAULT_VA = 0x00c0_0000;
const PT_WINDOW_VA = 0x00e0_0000;
const CONSOLE_VA = 0x00f0_0000;

const KERNEL_FRAME = 0;
const ROOT_FRAME = 1;
const USER_CODE_FRAME = 16;
const USER_DATA_FRAME = 17;
const FAULT_FRAME = 18;
const SPARE_TABLE_FRAMES = [2, 3, 4, 5, 6, 7, 8];

/** The kernel: vectors at 0, then a boot path and three handlers. r9..r13 are kernel-only. */
const KERNEL = `
        b boot
        .zero 255                 ; up to VBAR + 0x400: synchronous exception from EL0
sync:   b on_sync
        .zero 31                  ; up to VBAR + 0x480: IRQ from EL0
irq:    b on_irq
boot:   li r9, ${CONSOLE_VA}
        addi r1, r0, 72
        msr CNTP_CVAL, r1         ; the timer fires when the counter reaches 72
        addi r1, r0, 1
        msr CNTP_CTL, r1
        li r1, ${USER_CODE_VA}
        msr ELR_EL1, r1
        msr SPSR_EL1, r0          ; return to EL0 with IRQs unmasked
        eret
on_sync: mrs r10, ESR_EL1
        shri r11, r10, 26         ; exception class
        addi r12, r0, 0x15
        beq r11, r12, on_svc
        addi r12, r0, 0x24
        beq r11, r12, on_fault
        b halt                    ; WFI from EL0 (class 0x01): the program is done
on_svc: st r1, 0(r9)              ; svc 0: write the character in r1
        eret
on_fault: mrs r10, FAR_EL1        ; map the page at FAR to a fresh frame, user RW
        shri r11, r10, 12
        andi r11, r11, 0x3ff
        shli r11, r11, 2
        li r13, ${PT_WINDOW_VA}   ; the leaf table, mapped into the kernel
        add r13, r13, r11
        li r12, ${(FAULT_FRAME << 4) | PTE.U | PTE.W | PTE.P}
        st r12, 0(r13)
        tlbi va, r10
        addi r12, r0, 35          ; '#': a page was mapped
        st r12, 0(r9)
        eret                      ; retry the faulting store
on_irq: mrs r10, ICC_IAR
        msr CNTP_CTL, r0          ; one tick is enough: stop the timer
        msr ICC_EOIR, r10
        addi r12, r0, 42          ; '*': the timer fired
        st r12, 0(r9)
        eret
halt:   wfi
        b halt
`;

const USER = `
        addi r1, r0, 104          ; 'h'
        svc 0
        addi r1, r0, 105          ; 'i'
        svc 0
        li r2, ${FAULT_VA}
        addi r3, r0, 7
        st r3, 0(r2)              ; page fault: the kernel maps the page
        ld r4, 0(r2)
        addi r5, r0, 12
spin:   addi r5, r5, -1           ; the timer fires while we spin
        bne r5, r0, spin
        addi r1, r0, 10           ; newline
        svc 0
        wfi                       ; traps to the kernel: done
`;

function must<T>(e: E.Either<{ readonly message: string }, T>): T {
  if (E.isLeft(e)) throw new Error(`hardware demo: ${e.left.message}`);
  return e.right;
}

function mapOrFail(m: Machine, va: number, ppn: number, flags: number, spares: number[]): { m: Machine; tables: readonly number[] } {
  const r = mapPage(m.geometry, m.memory, ROOT_FRAME, va, ppn, flags, spares);
  if (!r.ok) throw new Error(`hardware demo: ${r.error.message}`);
  for (const used of r.value.tablesUsed) spares.splice(spares.indexOf(used), 1);
  return { m: { ...m, memory: r.value.memory }, tables: r.value.tablesUsed };
}

/** The machine at the start of the demo: programs loaded, tables built, CPU 0 at EL1. */
export function hardwareDemoMachine(): Machine {
  let m = resetMachine(DEMO_MACHINE);
  const words = (frame: number) => (frame * m.geometry.pageBytes) / 4;
  m = { ...m, memory: writeWords(m.memory, words(KERNEL_FRAME), must(assemble(KERNEL, KERNEL_VA)).words) };
  m = { ...m, memory: writeWords(m.memory, words(USER_CODE_FRAME), must(assemble(USER, USER_CODE_VA)).words) };
  const spares = SPARE_TABLE_FRAMES.slice();
  m = mapOrFail(m, KERNEL_VA, KERNEL_FRAME, PTE.X, spares).m;
  m = mapOrFail(m, USER_CODE_VA, USER_CODE_FRAME, PTE.U | PTE.X, spares).m;
  m = mapOrFail(m, USER_DATA_VA, USER_DATA_FRAME, PTE.U | PTE.W, spares).m;
  // Create the leaf table that covers FAULT_VA (by mapping its neighbour) and let the kernel
  // reach it through a window, so the fault handler can write the missing entry itself.
  const leaf = mapOrFail(m, FAULT_VA + m.geometry.pageBytes, FAULT_FRAME + 1, PTE.U, spares);
  m = leaf.m;
  m = mapOrFail(m, PT_WINDOW_VA, leaf.tables[0]!, PTE.W, spares).m;
  m = mapOrFail(m, CONSOLE_VA, m.geometry.firstDevicePage, PTE.W, spares).m;
  let sys = m.cpus[0]!.sys;
  sys = setSys(sys, SYS.SCTLR_EL1, SCTLR_M);
  sys = setSys(sys, SYS.TTBR0_EL1, makeBase(ROOT_FRAME, 1));
  sys = setSys(sys, SYS.VBAR_EL1, KERNEL_VA);
  const cpus = m.cpus.slice();
  cpus[0] = { ...m.cpus[0]!, sys, el: 1, pc: KERNEL_VA };
  return { ...m, cpus };
}

/** Steps per timer tick in the demo. */
const STEPS_PER_TICK = 1;

/**
 * Runs the demo on CPU 0 until it waits with nothing pending, printing one line per step
 * and the console output at the end. Returns the final machine.
 */
export function runHardwareDemo(print: (line: string) => void, maxSteps = 500): Machine {
  let m = hardwareDemoMachine();
  print('mkhv hardware demo: a tiny EL1 kernel and an EL0 program on the demo machine');
  print(`  ${DEMO_MACHINE.cpus} CPUs, ${DEMO_MACHINE.frames} frames of ${DEMO_MACHINE.wordsPerFrame * 4} bytes, stage-1 translation on`);
  print('');
  for (let step = 0; step < maxSteps; step++) {
    const r: ExecResult = execute(m, 0);
    m = r.machine;
    if (r.record.status === 'waiting') {
      print(`${String(step).padStart(4)}  cpu0 waits in WFI with nothing pending: stop`);
      break;
    }
    const text = r.record.word === null ? '' : formatInstruction(decode(r.record.word), r.record.pc);
    print(describeStep(step, r, text, m));
    if (step % STEPS_PER_TICK === 0) m = tick(m, 0).machine;
  }
  const console0 = m.devices[0];
  print('');
  print(`console output: ${JSON.stringify(console0?.kind === 'console' ? console0.output : '')}`);
  return m;
}
