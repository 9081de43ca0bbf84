/**
 * Closed-form overhead models (PERF-MODEL-1..3), derived from the same cost tables as the
 * simulation: each is the composition of primitives the spec says a path performs, written
 * out as a formula. Property tests check every formula against the fold of what the model
 * actually did, on random workloads — a formula that drifts from the model is caught.
 *
 * @module
 */
import { overlapFactor, unitCosts, type Knobs, DEFAULT_KNOBS } from './cost.ts';
import type { CostTable } from './table.ts';

/** Cycles of a one-way Call of `m` message words to a server waiting in another address space on the same CPU (PERF-MODEL-1). */
export function ipcModel(table: CostTable, m: number, knobs: Knobs = DEFAULT_KNOBS): number {
  const u = unitCosts(table, knobs);
  // The SVC; kernel entry and the caller's registers saved; m words copied into the server's
  // registers; FPU state switched; the server's address space loaded; its registers restored; return.
  const raw =
    u.instruction + u.trapEntryEl1 + u.regSave + m * u.wordCopy + u.fpuSave + u.fpuRestore + u.addressSpaceSwitch + u.regRestore + u.trapReturnEl1;
  return raw * overlapFactor(table, knobs);
}

/** The kinds of exit the virtualization model counts (PERF-MODEL-2). */
export type ExitKind = 'hypercall' | 'mmio' | 'demandFault';

/** What one guest workload did: its own instructions and data accesses, and its exits by kind. */
export interface GuestWorkload {
  /** Instructions the guest retired that did not exit. */
  readonly instructions: number;
  /** Loads and stores of the guest that reached RAM. */
  readonly dataAccesses: number;
  /** Page-table entries read by the guest's translations (one- and two-dimensional). */
  readonly walkSteps: number;
  readonly nestedWalkSteps: number;
  readonly tlbMisses: number;
  readonly exits: Readonly<Record<ExitKind, number>>;
}

/** The direct cost of any exit: the trap to EL2, saving and restoring the guest's registers, the return (PERF-MODEL-2). */
export function exitDirect(table: CostTable, knobs: Knobs = DEFAULT_KNOBS): number {
  const u = unitCosts(table, knobs);
  return u.instruction + u.trapEntryEl2 + u.vmExit + u.vmEntry + u.trapReturnEl2;
}

/** The handling cost of an exit of `kind`: what the hypervisor does for it beyond the direct cost. */
export function exitHandling(table: CostTable, kind: ExitKind, pageTableLevels: number, knobs: Knobs = DEFAULT_KNOBS): number {
  const u = unitCosts(table, knobs);
  switch (kind) {
    case 'hypercall':
      return 0;
    case 'mmio':
      // The device model's access to the emulated register.
      return u.mmioAccess;
    case 'demandFault':
      // The faulting access's own walk to the missing entry (as far as the table exists) is
      // the guest's; the hypervisor writes the new stage-2 entry.
      return u.dataAccess;
  }
  void pageTableLevels;
}

/**
 * T_virt = T_native + Σ_e n_e · (direct + handling_e) (PERF-MODEL-2): the guest's own work at
 * native cost, plus every exit's direct and handling costs.
 */
export function virtualizationModel(table: CostTable, w: GuestWorkload, pageTableLevels: number, knobs: Knobs = DEFAULT_KNOBS): { native: number; overhead: number; total: number } {
  const u = unitCosts(table, knobs);
  const f = overlapFactor(table, knobs);
  const native = (w.instructions * u.instruction + w.dataAccesses * u.dataAccess + w.walkSteps * u.pageWalkStep + w.nestedWalkSteps * u.nestedWalkStep + w.tlbMisses * u.tlbMiss) * f;
  let overhead = 0;
  for (const kind of ['hypercall', 'mmio', 'demandFault'] as const) {
    overhead += w.exits[kind] * (exitDirect(table, knobs) + exitHandling(table, kind, pageTableLevels, knobs)) * f;
  }
  return { native, overhead, total: native + overhead };
}

/**
 * An event-channel notification to a vCPU blocked on another, idle pCPU, until it runs
 * (PERF-MODEL-3, the paravirtual I/O path's notify step): the hypercall exit; the IPI; the
 * idle pCPU's interrupt entry, acknowledge and end; the world switch in (FPU, bank, entry).
 */
export function notifyBlockedModel(table: CostTable, knobs: Knobs = DEFAULT_KNOBS): number {
  const u = unitCosts(table, knobs);
  const sender = exitDirect(table, knobs) + u.ipi;
  const receiver = u.irqDelivery + u.trapEntryEl2 + u.irqAck + u.eoi + u.fpuRestore + u.sysregBankRestore + u.vmEntry + u.trapReturnEl2;
  return (sender + receiver) * overlapFactor(table, knobs);
}

/**
 * An event-channel notification to a vCPU running on another pCPU, until its handler runs
 * (PERF-MODEL-3, the completion step): the hypercall exit and IPI; the target's exit on the
 * IPI and re-entry; the virtual interrupt delivered to its EL1 vector.
 */
export function notifyRunningModel(table: CostTable, knobs: Knobs = DEFAULT_KNOBS): number {
  const u = unitCosts(table, knobs);
  const sender = exitDirect(table, knobs) + u.ipi;
  const receiver = u.irqDelivery + u.trapEntryEl2 + u.vmExit + u.irqAck + u.eoi + u.vmEntry + u.trapReturnEl2;
  const upcall = u.virtualIrqDelivery + u.trapEntryEl1;
  return (sender + receiver + upcall) * overlapFactor(table, knobs);
}

/** The work a server does for one request, outside any supervisor path: its own instructions and device register accesses. */
export interface Service {
  readonly instructions: number;
  readonly mmioAccesses: number;
}

/**
 * One I/O request to a driver on each path (PERF-MODEL-4), until the client resumes.
 *
 * Microkernel: the client Calls the driver with `words` message words (PERF-MODEL-1), the
 * driver serves it, and its ReplyRecv — an empty one-way IPC back — resumes the client.
 *
 * Hypervisor: the frontend's notification wakes the backend blocked on an idle pCPU
 * (PERF-MODEL-3); the backend acknowledges the virtual interrupt (an IAR read and an EOIR
 * write) and fetches its pending ports (a hypercall), serves the request, and notifies the
 * running frontend, whose handler then runs (PERF-MODEL-3).
 */
export function ioRequestModel(table: CostTable, path: 'microkernel' | 'hypervisor', words: number, service: Service, knobs: Knobs = DEFAULT_KNOBS): number {
  const u = unitCosts(table, knobs);
  const f = overlapFactor(table, knobs);
  const serve = (service.instructions * u.instruction + service.mmioAccesses * u.mmioAccess) * f;
  if (path === 'microkernel') return ipcModel(table, words, knobs) + serve + ipcModel(table, 0, knobs);
  const acknowledge = (2 * u.instruction + u.sysregRead + u.irqAck + u.sysregWrite + u.eoi) * f;
  const pending = exitDirect(table, knobs) * f;
  return notifyBlockedModel(table, knobs) + acknowledge + pending + serve + notifyRunningModel(table, knobs);
}
