/**
 * Deliberately broken supervisors (CHK-PROOF-3 in spec/model-checking.md). A proof that no
 * broken model can fail proves nothing, so every proof run is repeated on mutants of the
 * supervisor, each the real one with one bug of a kind real kernels have had, planted by
 * wrapping its entry points — the model itself stays as it is. Each mutant must be caught.
 *
 * @module
 */
import { writeWord } from '../src/hw/memory.ts';
import type { Machine } from '../src/hw/index.ts';
import { HYPERCALL, GNTTAB } from '../src/hypervisor/abi.ts';
import type { HypervisorState } from '../src/hypervisor/types.ts';
import type { KernelState, ObjId } from '../src/kernel/types.ts';
import { getObject, setObject } from '../src/kernel/world.ts';
import { hypervisor, microkernel, type Supervisor, type SupervisorEntry, type System } from '../src/system/index.ts';

export interface Mutant {
  readonly name: string;
  /** The bug, as a reviewer would describe it. */
  readonly bug: string;
  readonly supervisor: Supervisor<unknown>;
}

/** The kernel object id of the thread named `name`, or null. */
function threadNamed(k: KernelState, name: string): ObjId | null {
  const i = k.objects.findIndex((o) => o?.type === 'tcb' && o.name === name);
  return i < 0 ? null : i;
}

/**
 * seL4's cancelIPC forgotten: a thread that stops (here, by a crash) stays in the queue of the
 * notification it was waiting on, though it no longer waits.
 */
const crashLeavesWaiter: Supervisor<KernelState> = {
  ...microkernel,
  crash(system, domain) {
    const r = microkernel.crash(system, domain);
    if (r._tag === 'Left') return r;
    const before = system.state;
    let state = r.right.system.state;
    before.objects.forEach((o, id) => {
      if (o?.type === 'notification' && o.waiting.length > 0) {
        const now = getObject(state, id);
        if (now?.type === 'notification') state = setObject(state, id, { ...now, waiting: o.waiting });
      }
    });
    return { _tag: 'Right', right: { ...r.right, system: { ...r.right.system, state } } };
  },
};

/**
 * A message delivered to the wrong thread: whenever thread `server` enters the kernel, the
 * listener — which shares nothing with it — finds 0x77 in its r1.
 */
const misdelivery: Supervisor<KernelState> = {
  ...microkernel,
  handleTrap(system, cpu, trap): SupervisorEntry<KernelState> {
    const entry = microkernel.handleTrap(system, cpu, trap);
    const current = system.state.cpus[cpu]?.current ?? null;
    const caller = getObject(system.state, current);
    if (caller?.type !== 'tcb' || caller.name !== 'server' || trap.kind !== 'svc') return entry;
    const k = entry.system.state;
    const victim = threadNamed(k, 'listener');
    const tcb = getObject(k, victim);
    if (victim === null || tcb?.type !== 'tcb' || k.cpus.some((c) => c.current === victim)) return entry;
    const regs = [...tcb.context.regs];
    regs[1] = 0x77;
    return { ...entry, system: { ...entry.system, state: setObject(k, victim, { ...tcb, context: { ...tcb.context, regs } }) } };
  },
};

/**
 * A grant unmapped without the TLB maintenance it needs: the stage-2 entry goes, but the pCPU's
 * TLB keeps the translation, so the guest can still reach the page it gave back.
 */
const unmapSkipsFlush: Supervisor<HypervisorState> = {
  ...hypervisor,
  handleTrap(system, cpu, trap): SupervisorEntry<HypervisorState> {
    const entry = hypervisor.handleTrap(system, cpu, trap);
    const r1 = system.machine.cpus[cpu]?.regs[1];
    if (trap.kind !== 'hvc' || trap.imm !== HYPERCALL.GRANT_TABLE_OP || r1 !== GNTTAB.UNMAP) return entry;
    const oldTlb = system.machine.cpus[cpu]!.tlb;
    const cpus = entry.system.machine.cpus.map((c, i) => (i === cpu ? { ...c, tlb: oldTlb } : c));
    const machine: Machine = { ...entry.system.machine, cpus };
    return { ...entry, system: { ...entry.system, machine } };
  },
};

/**
 * A hypercall that writes where it was not allowed to: every hypercall of domain `other`
 * also stores a word into the first page of domain `front`, which granted it nothing.
 */
const strayWrite: Supervisor<HypervisorState> = {
  ...hypervisor,
  handleTrap(system, cpu, trap): SupervisorEntry<HypervisorState> {
    const entry = hypervisor.handleTrap(system, cpu, trap);
    if (trap.kind !== 'hvc' || hypervisor.runningDomain(system, cpu) !== 'other') return entry;
    const front = entry.system.state.domains.find((d) => d?.name === 'front');
    const frame = front?.p2m.get(0);
    if (frame === undefined) return entry;
    const words = entry.system.machine.geometry.config.wordsPerFrame;
    const memory = writeWord(entry.system.machine.memory, frame * words, 0xbad);
    return { ...entry, system: { ...entry.system, machine: { ...entry.system.machine, memory } } };
  },
};

/** Every mutant, by name. */
export const MUTANTS: ReadonlyMap<string, Mutant> = new Map(
  (
    [
      { name: 'mk-crash-leaves-waiter', bug: 'a crashed thread stays queued on the notification it waited on (cancelIPC forgotten)', supervisor: crashLeavesWaiter },
      { name: 'mk-misdelivery', bug: "a system call of 'server' writes the register of 'listener', with which it shares nothing", supervisor: misdelivery },
      { name: 'hv-unmap-skips-flush', bug: 'grant unmap removes the stage-2 entry but leaves the translation in the TLB', supervisor: unmapSkipsFlush },
      { name: 'hv-stray-write', bug: "a hypercall of 'other' writes a page of 'front', which granted it nothing", supervisor: strayWrite },
    ] as { name: string; bug: string; supervisor: Supervisor<never> }[]
  ).map((m) => [m.name, { ...m, supervisor: m.supervisor as Supervisor<unknown> }]),
);

export type { System };
