/**
 * The world a hypervisor entry works on — the machine and the hypervisor state — and the log
 * one entry writes, as for the kernel (see src/kernel/world.ts).
 *
 * @module
 */
import type { Machine } from '../hw/index.ts';
import type { PrimitiveOp } from '../perf/ops.ts';
import type { DomId, Domain, HypervisorState, Vcpu } from './types.ts';

export interface HvWorld {
  readonly m: Machine;
  readonly h: HypervisorState;
}

/** Something a domain observes happen. */
export interface HvObservation {
  readonly dom: DomId;
  readonly vcpu: number;
  readonly kind: 'event' | 'console' | 'fault' | 'hypercall' | 'device-read' | 'device-write';
  readonly values: readonly number[];
}

/** A domain lifecycle change with its statechart event (HV-LIFE-1). */
export interface DomainTransition {
  readonly dom: DomId;
  readonly from: string;
  readonly to: string;
  readonly event: string;
}

export interface HvLog {
  readonly cpu: number;
  readonly ops: PrimitiveOp[];
  readonly observations: HvObservation[];
  readonly transitions: DomainTransition[];
}

export function newHvLog(cpu: number): HvLog {
  return { cpu, ops: [], observations: [], transitions: [] };
}

export function getDomain(h: HypervisorState, d: DomId): Domain | null {
  const dom = h.domains[d];
  return dom === undefined || dom === null || dom.lifecycle === 'destroyed' ? null : dom;
}

export function setDomain(w: HvWorld, d: DomId, dom: Domain | null): HvWorld {
  const domains = w.h.domains.slice();
  domains[d] = dom;
  return { ...w, h: { ...w.h, domains } };
}

export function updateDomain(w: HvWorld, d: DomId, patch: Partial<Omit<Domain, 'id'>>): HvWorld {
  const dom = w.h.domains[d];
  if (dom === undefined || dom === null) throw new Error(`hypervisor: no domain ${d}`);
  return setDomain(w, d, { ...dom, ...patch });
}

export function updateVcpu(w: HvWorld, d: DomId, v: number, patch: Partial<Omit<Vcpu, 'id'>>): HvWorld {
  const dom = w.h.domains[d];
  if (dom === undefined || dom === null) throw new Error(`hypervisor: no domain ${d}`);
  const vcpus = dom.vcpus.slice();
  vcpus[v] = { ...vcpus[v]!, ...patch };
  return setDomain(w, d, { ...dom, vcpus });
}

/** The pCPU vCPU (d, v) is on, or -1. */
export function pcpuRunning(h: HypervisorState, d: DomId, v: number): number {
  return h.pcpus.findIndex((p) => p.current !== null && p.current.dom === d && p.current.vcpu === v);
}
