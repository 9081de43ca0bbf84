/**
 * The named operations (PERF-OPS-1..12): for each, a scenario that performs it in a loop, run
 * through `step` once to warm the TLBs, then measured — the primitive operations of exactly
 * the steps that make up the operation, folded over a cost table. Nothing here is a number
 * of cycles: every figure comes out of the model.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { decode, type MachineConfig, type MkhvError } from '../hw/index.ts';
import { EVTCHN, HYPERCALL, SCHED } from '../hypervisor/abi.ts';
import type { HypervisorScenario } from '../hypervisor/scenario.ts';
import type { HypervisorState } from '../hypervisor/types.ts';
import { encodeInfo, INVOCATION, MAP_ATTR, SYSCALL } from '../kernel/abi.ts';
import type { KernelScenario } from '../kernel/scenario.ts';
import type { KernelState } from '../kernel/types.ts';
import { bootHypervisorSystem, bootMicrokernel, hypervisor, microkernel, step, type StepResult, type Supervisor, type System, type SystemEvent } from '../system/index.ts';
import { foldCost, type Cost, type Knobs, DEFAULT_KNOBS } from './cost.ts';
import type { OpList, PrimitiveOp } from './ops.ts';
import type { CostTable } from './table.ts';


/** The named operations (PERF-OPS-1). */
export const OPERATIONS = [
  'null-syscall',
  'ipc-call',
  'ipc-reply',
  'ipc-roundtrip',
  'hypercall',
  'vm-switch',
  'virtual-ipi',
  'io-out',
  'io-in',
  'stage2-fault',
  'page-fault-pager',
  'irq-to-driver',
  'irq-to-guest',
  'driver-request',
  'pv-request',
  'evtchn-roundtrip',
] as const;

export type OperationName = (typeof OPERATIONS)[number];

/** What measuring an operation found. */
export interface Measurement {
  readonly operation: OperationName;
  readonly supervisor: 'microkernel' | 'hypervisor';
  /** The primitive operations of the measured instance, in order. */
  readonly ops: OpList;
  /** Steps it took. */
  readonly steps: number;
}

/** The machine every operation runs on: 2 CPUs, 96 frames of 256 bytes, a console and a disk. */
export const OPERATION_MACHINE: MachineConfig = {
  cpus: 2,
  frames: 96,
  wordsPerFrame: 64,
  pageTableLevels: 2,
  pageTableIndexBits: 4,
  tlbEntries: 16,
  irqLines: 8,
  devices: [
    { kind: 'console', irq: 3 },
    { kind: 'block', irq: 4, sectors: 16 },
  ],
};

/** A system, its supervisor, and a step function that records every step. */
class Runner<S> {
  sys: System<S>;
  constructor(
    readonly sup: Supervisor<S>,
    sys: System<S>,
  ) {
    this.sys = sys;
  }
  step(event: SystemEvent): StepResult<S> {
    const r = step(this.sup, this.sys, event);
    this.sys = r.system;
    return r;
  }
  /** Steps CPU `cpu` until `done` holds for a step (at most `limit` steps); returns the steps. */
  execUntil(cpu: number, done: (r: StepResult<S>) => boolean, limit = 500): StepResult<S>[] {
    const out: StepResult<S>[] = [];
    for (let i = 0; i < limit; i++) {
      const r = this.step({ kind: 'exec', cpu });
      out.push(r);
      if (done(r)) return out;
    }
    throw new Error(`operation did not complete within ${limit} steps`);
  }
}

const ops = (steps: readonly StepResult<unknown>[]): PrimitiveOp[] => steps.flatMap((s) => [...s.ops]);

function must<T>(e: E.Either<MkhvError, T>): T {
  if (E.isLeft(e)) throw new Error(`operation scenario: ${e.left.message}`);
  return e.right;
}

const isSvc = (n: number) => (r: StepResult<unknown>) => r.trap?.kind === 'svc' && r.trap.imm === n;
const isHvc = (n: number) => (r: StepResult<unknown>) => r.trap?.kind === 'hvc' && r.trap.imm === n;

function mk(scenario: KernelScenario): Runner<KernelState> {
  return new Runner(microkernel, must(bootMicrokernel(OPERATION_MACHINE, scenario)));
}

function hv(scenario: HypervisorScenario): Runner<HypervisorState> {
  return new Runner(hypervisor, must(bootHypervisorSystem(OPERATION_MACHINE, scenario)));
}

/** PERF-OPS-2: a thread calling the Null system call in a loop; one call, warm. */
function nullSyscall(): Measurement {
  const r = mk({ threads: [{ name: 't', program: `loop: svc ${SYSCALL.NULL}\n b loop` }] });
  r.execUntil(0, isSvc(SYSCALL.NULL));
  const measured = r.execUntil(0, isSvc(SYSCALL.NULL));
  return { operation: 'null-syscall', supervisor: 'microkernel', ops: ops(measured.slice(-1)), steps: 1 };
}

/**
 * PERF-OPS-3..5: a client calling a server that waits in Recv, on one CPU, in two address
 * spaces, with messages of `words` message registers (empty for the named operations).
 */
export function measureIpc(which: 'ipc-call' | 'ipc-reply' | 'ipc-roundtrip', words = 0): Measurement {
  const r = mk({
    objects: [{ name: 'ep', type: 'endpoint' }],
    threads: [
      { name: 'server', priority: 20, caps: [{ slot: 1, object: 'ep', rights: 'RWGP' }], program: `
        addi r1, r0, 1
        svc ${SYSCALL.RECV}
loop:   addi r1, r0, 1
        svc ${SYSCALL.REPLY_RECV}
        b loop` },
      { name: 'client', priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'WGP' }], program: `
loop:   addi r1, r0, 1
        addi r2, r0, ${encodeInfo({ label: 0, capsUnwrapped: 0, extraCaps: 0, length: words })}
        svc ${SYSCALL.CALL}
        b loop` },
    ],
  });
  // Warm up: one whole round trip.
  r.execUntil(0, isSvc(SYSCALL.REPLY_RECV));
  const call = r.execUntil(0, isSvc(SYSCALL.CALL)).slice(-1);
  const reply = r.execUntil(0, isSvc(SYSCALL.REPLY_RECV)).slice(-1);
  const chosen = which === 'ipc-call' ? call : which === 'ipc-reply' ? reply : [...call, ...reply];
  return { operation: which, supervisor: 'microkernel', ops: ops(chosen), steps: chosen.length };
}

/** PERF-OPS-12: a page fault of a client served by a user-level pager, from the fault to the retried access. */
function pageFaultPager(): Measurement {
  const mapInfo = encodeInfo({ label: INVOCATION.FRAME_MAP, capsUnwrapped: 0, extraCaps: 1, length: 2 });
  const r = mk({
    objects: [{ name: 'faults', type: 'endpoint' }, { name: 'f0', type: 'frame' }, { name: 'f1', type: 'frame' }],
    threads: [
      { name: 'pager', priority: 30, caps: [{ slot: 1, object: 'faults', rights: 'RWGP' }, { slot: 2, object: 'client.vspace' }, { slot: 4, object: 'f0' }, { slot: 5, object: 'f1' }], program: `
        addi r9, r0, 4
loop:   addi r1, r0, 1
        svc ${SYSCALL.RECV}
        shri r5, r4, 8
        shli r5, r5, 8
        addi r1, r9, 0
        li r2, ${mapInfo}
        addi r3, r5, 0
        addi r4, r0, ${MAP_ATTR.WRITE}
        addi r11, r0, 2
        svc ${SYSCALL.CALL}
        addi r9, r9, 1
        addi r2, r0, 0
        svc ${SYSCALL.REPLY}
        b loop` },
      { name: 'client', priority: 10, faultEndpoint: 1, caps: [{ slot: 1, object: 'faults', rights: 'WP' }], program: `
        li r6, 0x600
        ld r7, 0(r6)
        li r6, 0x700
        ld r7, 0(r6)
done:   b done` },
    ],
  });
  const isFault = (s: StepResult<unknown>) => s.trap?.kind === 'abort' && s.trap.from === 0;
  // Warm up: the first fault (0x600), served, and the retried load.
  r.execUntil(0, isFault);
  r.execUntil(0, (s) => s.record?.memAccess?.va === 0x600);
  // Measured: the fault at 0x700 until the client's load completes.
  const measured = [...r.execUntil(0, isFault).slice(-1), ...r.execUntil(0, (s) => s.record?.memAccess?.va === 0x700)];
  return { operation: 'page-fault-pager', supervisor: 'microkernel', ops: ops(measured), steps: measured.length };
}

const SPIN = 'spin: b spin';

/** The console's interrupt line and index in OPERATION_MACHINE. */
const CONSOLE = { device: 0, irq: 3 } as const;

/**
 * PERF-OPS-13: a device interrupt delivered to a user-level driver waiting on the notification
 * bound to its line, while another thread runs on CPU 0; from the interrupt until the driver
 * runs. The driver takes the line from IRQControl, binds it, and acknowledges each interrupt.
 */
function irqToDriver(): Measurement {
  const getInfo = encodeInfo({ label: INVOCATION.IRQ_CONTROL_GET, capsUnwrapped: 0, extraCaps: 0, length: 2 });
  const bindInfo = encodeInfo({ label: INVOCATION.IRQ_HANDLER_SET_NOTIFICATION, capsUnwrapped: 0, extraCaps: 1, length: 0 });
  const ackInfo = encodeInfo({ label: INVOCATION.IRQ_HANDLER_ACK, capsUnwrapped: 0, extraCaps: 0, length: 0 });
  const r = mk({
    objects: [{ name: 'n', type: 'notification' }],
    threads: [
      { name: 'driver', priority: 50, caps: [{ slot: 1, object: 'n', rights: 'R' }, { slot: 2, object: 'irqcontrol' }, { slot: 4, object: 'n', rights: 'W' }], program: `
        addi r1, r0, 2          ; IRQControl_Get(line, slot 3)
        li r2, ${getInfo}
        addi r3, r0, ${CONSOLE.irq}
        addi r4, r0, 3
        svc ${SYSCALL.CALL}
        addi r1, r0, 3          ; IRQHandler_SetNotification(n)
        li r2, ${bindInfo}
        addi r11, r0, 4
        svc ${SYSCALL.CALL}
loop:   addi r1, r0, 1
        svc ${SYSCALL.RECV}
        addi r1, r0, 3          ; IRQHandler_Ack
        li r2, ${ackInfo}
        svc ${SYSCALL.CALL}
        b loop` },
      { name: 'app', priority: 10, program: SPIN },
    ],
  });
  const driverRuns = (s: StepResult<unknown>) => s.lifecycle.some((l) => l.subject === 'driver' && l.to === 'running');
  const round = (): StepResult<KernelState>[] => [r.step({ kind: 'irq', line: CONSOLE.irq }), ...r.execUntil(0, driverRuns)];
  // The driver sets up and waits; the application spins.
  r.execUntil(0, (s) => s.record?.status === 'retired' && s.record.pc === s.record.nextPc);
  round();
  r.execUntil(0, (s) => s.record?.status === 'retired' && s.record.pc === s.record.nextPc);
  const measured = round();
  return { operation: 'irq-to-driver', supervisor: 'microkernel', ops: ops(measured), steps: measured.length };
}

/**
 * PERF-OPS-15: a client's request to a user-level console driver in another address space on
 * the same CPU: the Call, the driver writing one character to the console's data register
 * through its mapping of the device page, and the ReplyRecv that resumes the client.
 */
function driverRequest(): Measurement {
  const r = mk({
    objects: [{ name: 'ep', type: 'endpoint' }, { name: 'uart', type: 'frame', device: CONSOLE.device }],
    threads: [
      { name: 'driver', priority: 20, caps: [{ slot: 1, object: 'ep', rights: 'RWGP' }], pages: [{ va: 0x800, frame: 'uart', write: true }], program: `
        addi r7, r0, 0x800
        addi r1, r0, 1
        svc ${SYSCALL.RECV}
loop:   st r3, 0(r7)            ; the character, MR0
        addi r1, r0, 1
        addi r2, r0, 0
        svc ${SYSCALL.REPLY_RECV}
        b loop` },
      { name: 'client', priority: 10, caps: [{ slot: 1, object: 'ep', rights: 'WGP' }], program: `
loop:   addi r1, r0, 1
        addi r2, r0, ${encodeInfo({ label: 0, capsUnwrapped: 0, extraCaps: 0, length: 1 })}
        addi r3, r0, 0x2e
        svc ${SYSCALL.CALL}
        b loop` },
    ],
  });
  const request = (): StepResult<KernelState>[] => [...r.execUntil(0, isSvc(SYSCALL.CALL)).slice(-1), ...r.execUntil(0, isSvc(SYSCALL.REPLY_RECV))];
  r.execUntil(0, isSvc(SYSCALL.REPLY_RECV));
  request();
  const measured = request();
  return { operation: 'driver-request', supervisor: 'microkernel', ops: ops(measured), steps: measured.length };
}

/** The control domain of the hypervisor operations: blocks for good, leaving its pCPU to the guests. */
const QUIET_DOM0 = `loop: addi r1, r0, ${SCHED.BLOCK}\n hvc ${HYPERCALL.SCHED_OP}\n b loop`;

/** PERF-OPS-6: a guest kernel calling xen_version in a loop; one hypercall, warm. */
function hypercall(): Measurement {
  const r = hv({ domains: [{ name: 'dom0', kernel: QUIET_DOM0, memory: 2, affinity: [1] }, { name: 'g', kernel: `loop: hvc ${HYPERCALL.XEN_VERSION}\n b loop`, memory: 2, affinity: [0] }] });
  r.execUntil(0, isHvc(HYPERCALL.XEN_VERSION));
  const measured = r.execUntil(0, isHvc(HYPERCALL.XEN_VERSION)).slice(-1);
  return { operation: 'hypercall', supervisor: 'hypervisor', ops: ops(measured), steps: 1 };
}

/** PERF-OPS-7: two busy guests sharing a pCPU; the tick step at which the pCPU switches from one to the other. */
function vmSwitch(): Measurement {
  const r = hv({
    hypervisor: { sliceTicks: 1 },
    domains: [
      { name: 'dom0', kernel: QUIET_DOM0, memory: 2, affinity: [1] },
      { name: 'a', kernel: SPIN, memory: 2, affinity: [0] },
      { name: 'b', kernel: SPIN, memory: 2, affinity: [0] },
    ],
  });
  const switchStep = (): StepResult<HypervisorState> => {
    for (let i = 0; i < 40; i++) {
      const before = hypervisor.runningDomain(r.sys, 0);
      r.step({ kind: 'tick', cpu: 0 });
      const s = r.step({ kind: 'exec', cpu: 0 });
      if (hypervisor.runningDomain(r.sys, 0) !== before) return s;
    }
    throw new Error('vm-switch: the pCPU never switched');
  };
  switchStep();
  switchStep();
  const measured = [switchStep()];
  return { operation: 'vm-switch', supervisor: 'hypervisor', ops: ops(measured), steps: 1 };
}

const isVirtualIrq = (s: StepResult<unknown>) => s.trap?.kind === 'irq' && s.trap.virtual;
const isEret = (s: StepResult<unknown>) => s.record?.status === 'retired' && s.record.word !== null && decode(s.record.word).op === 'eret';

/**
 * PERF-OPS-8: vCPU 0 sends a virtual IPI to vCPU 1 of its domain, running on the other pCPU
 * with IRQs unmasked, until vCPU 1's handler runs.
 */
function virtualIpi(): Measurement {
  const r = hv({
    domains: [
      { name: 'dom0', kernel: QUIET_DOM0, memory: 2, affinity: [1] },
      {
        name: 'g',
        memory: 4,
        vcpus: 2,
        affinity: [0, 1],
        kernel: `
        b boot
        .zero 159
irq:    mrs r8, ICC_IAR
        msr ICC_EOIR, r8
        addi r10, r10, 1
        eret
boot:   bne r1, r0, second      ; r1 = the vCPU id
        addi r1, r0, 0          ; vcpu_op up(1, second)
        addi r2, r0, 1
        la r3, second
        hvc ${HYPERCALL.VCPU_OP}
        addi r6, r0, 2          ; vCPU 1's bit
send:   msr ICC_SGIR, r6
        b send
second: la r1, spin
        msr ELR_EL1, r1
        addi r1, r0, 4
        msr SPSR_EL1, r1
        eret
spin:   b spin`,
      },
    ],
  });
  const isSgi = (s: StepResult<unknown>) => s.trap?.kind === 'sysreg';
  // One IPI, then vCPU 1's handler runs to its ERET — interrupts of one ID coalesce, so the
  // next IPI must find the previous one handled to be taken as an interrupt of its own.
  const round = (): StepResult<HypervisorState>[] => {
    const send = r.execUntil(0, isSgi).slice(-1);
    const rest = r.execUntil(1, isVirtualIrq);
    r.execUntil(1, isEret);
    return [...send, ...rest];
  };
  round();
  const measured = round();
  return { operation: 'virtual-ipi', supervisor: 'hypervisor', ops: ops(measured), steps: measured.length };
}

/** The kernel of a guest whose IRQ vector (VBAR 0 + 0x280) takes an event upcall, clears the pending ports, counts it in r10 and returns; `main` runs with IRQs unmasked. */
const upcallGuest = (main: string): string => `
        b boot
        .zero 159
irq:    mrs r8, ICC_IAR
        msr ICC_EOIR, r8
        addi r1, r0, ${EVTCHN.PENDING}
        hvc ${HYPERCALL.EVENT_CHANNEL_OP}
        addi r10, r10, 1
        eret
boot:   la r1, main
        msr ELR_EL1, r1
        addi r1, r0, 4
        msr SPSR_EL1, r1
        eret
main:   ${main}`;

type IoOperation = 'io-out' | 'io-in' | 'pv-request' | 'evtchn-roundtrip';

/**
 * PERF-OPS-9, 10, 16, 17: a frontend and a backend in a driver domain on two pCPUs, notifying
 * each other over an event channel. For pv-request the driver domain has the console assigned
 * and writes one character to it before answering.
 */
function io(which: IoOperation): Measurement {
  const device = which === 'pv-request';
  // The driver domain's end of the channel: port 1, or 2 when the device's interrupt took port 1
  // (devices are assigned before channels are made, HV-BOOT-1).
  const port = device ? 2 : 1;
  // The backend blocks until an event, takes it, (serves the device,) and notifies back; the
  // frontend notifies and then spins with IRQs unmasked until its handler has counted the answer.
  const backend = `
        addi r7, r0, 0x800
loop:   addi r1, r0, ${SCHED.BLOCK}
        hvc ${HYPERCALL.SCHED_OP}
        mrs r8, ICC_IAR
        msr ICC_EOIR, r8
        addi r1, r0, ${EVTCHN.PENDING}
        hvc ${HYPERCALL.EVENT_CHANNEL_OP}
        ${device ? 'st r8, 0(r7)' : 'nop'}
        addi r1, r0, ${EVTCHN.SEND}
        addi r2, r0, ${port}
        hvc ${HYPERCALL.EVENT_CHANNEL_OP}
        b loop`;
  const frontend = upcallGuest(`addi r1, r0, ${EVTCHN.SEND}
        addi r2, r0, 1
        hvc ${HYPERCALL.EVENT_CHANNEL_OP}
wait:   beq r10, r11, wait      ; until the backend's answer arrives
        addi r11, r10, 0
        b main`);
  const r = hv({
    domains: [
      { name: 'dom0', kernel: QUIET_DOM0, memory: 2, affinity: [1] },
      { name: 'driver', kernel: backend, memory: 2, affinity: [1], ...(device ? { devices: [{ device: CONSOLE.device, gfn: 8 }] } : {}) },
      { name: 'frontend', kernel: frontend, memory: 4, affinity: [0] },
    ],
    channels: [{ from: 'frontend', to: 'driver' }],
  });
  const isSend = (s: StepResult<unknown>) => s.trap?.kind === 'hvc' && s.observations.some((o) => o.kind === 'event');
  const entersBackend = (s: StepResult<HypervisorState>) => hypervisor.runningDomain(s.system, 1) === 'driver' && s.record?.status === 'interrupted';
  const out = (): StepResult<HypervisorState>[] => [...r.execUntil(0, isSend).slice(-1), ...r.execUntil(1, entersBackend)];
  // The backend's work from its wake-up to its notification, whole or (io-in) only the notification.
  const serve = (whole: boolean): StepResult<HypervisorState>[] => (whole ? r.execUntil(1, isSend) : r.execUntil(1, isSend).slice(-1));
  const back = (whole: boolean): StepResult<HypervisorState>[] => [...serve(whole), ...r.execUntil(0, isVirtualIrq)];
  // The backend's pCPU idles: the backend has answered and blocked again.
  const settle = (): void => void r.execUntil(1, (s) => s.record?.status === 'waiting');
  // Warm up: let both run until the exchange is steady, then one exchange each way.
  for (let i = 0; i < 200; i++) {
    r.step({ kind: 'exec', cpu: 0 });
    r.step({ kind: 'exec', cpu: 1 });
  }
  settle();
  out();
  back(true);
  settle();
  const measured = which === 'io-out' ? out() : which === 'io-in' ? (out(), back(false)) : [...out(), ...back(true)];
  return { operation: which, supervisor: 'hypervisor', ops: ops(measured), steps: measured.length };
}

/**
 * PERF-OPS-14: an interrupt of a device assigned to a guest, whose vCPU is running on pCPU 0
 * with IRQs unmasked; from the interrupt until the guest's handler runs.
 */
function irqToGuest(): Measurement {
  const r = hv({
    domains: [
      { name: 'dom0', kernel: QUIET_DOM0, memory: 2, affinity: [1] },
      { name: 'g', kernel: upcallGuest('b main'), memory: 4, affinity: [0], devices: [{ device: CONSOLE.device, gfn: 8 }] },
    ],
  });
  const round = (): StepResult<HypervisorState>[] => {
    const measured = [r.step({ kind: 'irq', line: CONSOLE.irq }), ...r.execUntil(0, isVirtualIrq)];
    r.execUntil(0, isEret);
    return measured;
  };
  r.execUntil(0, isEret);
  round();
  const measured = round();
  return { operation: 'irq-to-guest', supervisor: 'hypervisor', ops: ops(measured), steps: measured.length };
}

/** PERF-OPS-11: a guest touches unbacked guest-physical memory; the hypervisor backs it and the access is retried. */
function stage2Fault(): Measurement {
  const r = hv({
    domains: [
      { name: 'dom0', kernel: QUIET_DOM0, memory: 2, affinity: [1] },
      { name: 'g', memory: 8, demandPaging: true, affinity: [0], kernel: `
        li r6, 0x500
        ld r7, 0(r6)
        li r6, 0x600
        ld r7, 0(r6)
done:   b done` },
    ],
  });
  const isFault = (s: StepResult<unknown>) => s.trap?.kind === 'abort' && s.trap.to === 2;
  const loaded = (va: number) => (s: StepResult<unknown>) => s.record?.memAccess?.va === va;
  r.execUntil(0, isFault);
  r.execUntil(0, loaded(0x500));
  const measured = [...r.execUntil(0, isFault).slice(-1), ...r.execUntil(0, loaded(0x600))];
  return { operation: 'stage2-fault', supervisor: 'hypervisor', ops: ops(measured), steps: measured.length };
}

/** Runs operation `name` (PERF-OPS-1): its scenario, one warm-up, then the measured instance. */
export function measure(name: OperationName): Measurement {
  switch (name) {
    case 'null-syscall':
      return nullSyscall();
    case 'ipc-call':
    case 'ipc-reply':
    case 'ipc-roundtrip':
      return measureIpc(name);
    case 'hypercall':
      return hypercall();
    case 'vm-switch':
      return vmSwitch();
    case 'virtual-ipi':
      return virtualIpi();
    case 'io-out':
    case 'io-in':
    case 'pv-request':
    case 'evtchn-roundtrip':
      return io(name);
    case 'irq-to-driver':
      return irqToDriver();
    case 'irq-to-guest':
      return irqToGuest();
    case 'driver-request':
      return driverRequest();
    case 'stage2-fault':
      return stage2Fault();
    case 'page-fault-pager':
      return pageFaultPager();
  }
}

/** The cost of a measured operation under a table and knobs. */
export function costOf(m: Measurement, table: CostTable, knobs: Knobs = DEFAULT_KNOBS): Cost {
  return foldCost(m.ops, table, knobs);
}
