/**
 * Event channels and virtual interrupts (HV-EVT-1..7). A port is unbound (open for one named
 * remote domain), bound to a port of another domain, to a virtual IRQ, or to a physical
 * interrupt line. Sending marks the remote port pending; a pending, unmasked port raises the
 * event upcall (virtual interrupt 3) on its vCPU — delivered at once if the vCPU runs on
 * this pCPU, by a physical IPI to its pCPU if it runs elsewhere, on its next switch-in
 * otherwise, waking it if it was blocked. Closing either end stops all delivery.
 *
 * @module
 */
import { sendIpi, SYS } from '../hw/index.ts';
import { ERRNO, VIRQ_ID } from './abi.ts';
import type { DomId, Port, PortBinding } from './types.ts';
import { getDomain, pcpuRunning, updateDomain, updateVcpu, type HvLog, type HvWorld } from './world.ts';

/** Ports per domain; port 0 is never allocated (as in Xen). */
export const MAX_PORTS = 32;

/**
 * Posts virtual interrupt `id` to vCPU (d, v) (HV-EVT-4). `port`, if given, is the event
 * port responsible: a vCPU polling another port is not woken by it.
 */
export function injectVirq(w: HvWorld, log: HvLog, d: DomId, v: number, id: number, port: number | null = null): HvWorld {
  const dom = getDomain(w.h, d);
  const vcpu = dom?.vcpus[v];
  if (dom === null || vcpu === undefined) return w;
  const bit = (1 << id) >>> 0;
  const c = pcpuRunning(w.h, d, v);
  if (c >= 0 && c === log.cpu && w.m.cpus[c]!.el === 2) {
    const cpus = w.m.cpus.slice();
    const sys = cpus[c]!.sys.slice();
    sys[SYS.ICH_PEND_EL2] = (sys[SYS.ICH_PEND_EL2]! | bit) >>> 0;
    cpus[c] = { ...cpus[c]!, sys };
    return { ...w, m: { ...w.m, cpus } };
  }
  let world = updateVcpu(w, d, v, { context: { ...vcpu.context, vPending: (vcpu.context.vPending | bit) >>> 0 } });
  if (c >= 0) {
    // Running on another pCPU: kick it, so that it exits and takes the interrupt in (HV-EVT-4).
    log.ops.push('ipi');
    return { ...world, m: { ...world.m, gic: sendIpi(world.m.gic, 1 << c, world.m.cpus.length) } };
  }
  if (vcpu.state === 'blocked' && (vcpu.polling === null || vcpu.polling === port)) world = wake(world, d, v);
  return world;
}

/** Makes a blocked vCPU runnable again, boosted if it has credit left (HV-SCHED-4). */
export function wake(w: HvWorld, d: DomId, v: number): HvWorld {
  const vcpu = getDomain(w.h, d)!.vcpus[v]!;
  if (vcpu.state !== 'blocked') return w;
  const world = updateVcpu(w, d, v, { state: 'runnable', polling: null, priority: vcpu.credit > 0 ? 'boost' : vcpu.priority });
  return { ...world, h: { ...world.h, runq: [...world.h.runq, { dom: d, vcpu: v }] } };
}

function freePort(ports: readonly (Port | null)[]): number {
  for (let p = 1; p < MAX_PORTS; p++) if ((ports[p] ?? null) === null) return p;
  return -1;
}

function setPort(w: HvWorld, d: DomId, p: number, port: Port | null): HvWorld {
  const ports = getDomain(w.h, d)!.ports.slice();
  while (ports.length <= p) ports.push(null);
  ports[p] = port;
  return updateDomain(w, d, { ports });
}

/** Opens a new port of domain `d` with `binding`; returns the world and the port, or an errno. */
export function openPort(w: HvWorld, d: DomId, binding: PortBinding, vcpu = 0): { w: HvWorld; port: number } | number {
  const dom = getDomain(w.h, d);
  if (dom === null) return ERRNO.ESRCH;
  const p = freePort(dom.ports);
  if (p < 0) return ERRNO.ENOSPC;
  return { w: setPort(w, d, p, { binding, pending: false, masked: false, vcpu }), port: p };
}

/** EVTCHNOP_alloc_unbound (HV-EVT-1): a port domain `remote` may bind to. */
export function allocUnbound(w: HvWorld, d: DomId, remote: DomId): { w: HvWorld; port: number } | number {
  if (getDomain(w.h, remote) === null) return ERRNO.ESRCH;
  return openPort(w, d, { kind: 'unbound', remote });
}

/** EVTCHNOP_bind_interdomain (HV-EVT-2): connects to `remote`'s port, which must be unbound for `d`. */
export function bindInterdomain(w: HvWorld, d: DomId, remote: DomId, remotePort: number): { w: HvWorld; port: number } | number {
  const r = getDomain(w.h, remote);
  if (r === null || remote === d) return ERRNO.ESRCH;
  const rp = r.ports[remotePort] ?? null;
  if (rp === null || rp.binding.kind !== 'unbound' || rp.binding.remote !== d) return ERRNO.EINVAL;
  const opened = openPort(w, d, { kind: 'interdomain', remote, remotePort });
  if (typeof opened === 'number') return opened;
  const world = setPort(opened.w, remote, remotePort, { ...rp, binding: { kind: 'interdomain', remote: d, remotePort: opened.port } });
  return { w: world, port: opened.port };
}

/**
 * Marks port `p` of domain `d` pending (HV-EVT-3); if it was not, and is not masked, raises
 * the event upcall on its vCPU.
 */
export function setPending(w: HvWorld, log: HvLog, d: DomId, p: number): HvWorld {
  const port = getDomain(w.h, d)?.ports[p] ?? null;
  if (port === null || port.pending) return w;
  const world = setPort(w, d, p, { ...port, pending: true });
  log.observations.push({ dom: d, vcpu: port.vcpu, kind: 'event', values: [p] });
  return port.masked ? world : injectVirq(world, log, d, port.vcpu, VIRQ_ID.EVENT, p);
}

/** EVTCHNOP_send (HV-EVT-3): only on an interdomain port; the remote end becomes pending. */
export function send(w: HvWorld, log: HvLog, d: DomId, p: number): HvWorld | number {
  const port = getDomain(w.h, d)?.ports[p] ?? null;
  if (port === null || port.binding.kind !== 'interdomain') return ERRNO.EINVAL;
  return setPending(w, log, port.binding.remote, port.binding.remotePort);
}

/**
 * EVTCHNOP_close (HV-EVT-5): frees the port; the remote end of an interdomain channel goes
 * back to unbound (for this domain), so nothing more is delivered either way; a physical
 * interrupt's binding is dropped.
 */
export function close(w: HvWorld, d: DomId, p: number): HvWorld | number {
  const port = getDomain(w.h, d)?.ports[p] ?? null;
  if (port === null) return ERRNO.EINVAL;
  let world = setPort(w, d, p, null);
  const b = port.binding;
  if (b.kind === 'interdomain') {
    const rp = getDomain(world.h, b.remote)?.ports[b.remotePort] ?? null;
    if (rp !== null) world = setPort(world, b.remote, b.remotePort, { ...rp, binding: { kind: 'unbound', remote: d }, pending: false });
  }
  if (b.kind === 'pirq') {
    const pirqs = world.h.pirqs.slice();
    pirqs[b.line] = null;
    world = { ...world, h: { ...world.h, pirqs } };
  }
  return world;
}

/** EVTCHNOP_unmask / mask (HV-EVT-6): unmasking a pending port delivers it. */
export function setMasked(w: HvWorld, log: HvLog, d: DomId, p: number, masked: boolean): HvWorld | number {
  const port = getDomain(w.h, d)?.ports[p] ?? null;
  if (port === null) return ERRNO.EINVAL;
  const world = setPort(w, d, p, { ...port, masked });
  return !masked && port.pending ? injectVirq(world, log, d, port.vcpu, VIRQ_ID.EVENT, p) : world;
}

/** The lowest pending, unmasked port of `d`, cleared (what an upcall handler consumes); 0 if none (HV-EVT-7). */
export function takePending(w: HvWorld, d: DomId): { w: HvWorld; port: number } {
  const dom = getDomain(w.h, d);
  if (dom === null) return { w, port: 0 };
  const p = dom.ports.findIndex((x) => x !== null && x.pending && !x.masked);
  if (p < 0) return { w, port: 0 };
  return { w: setPort(w, d, p, { ...dom.ports[p]!, pending: false }), port: p };
}

/** Whether vCPU (d, v) has something that should stop it blocking (HV-SCHED-4). */
export function hasPendingWork(w: HvWorld, d: DomId, v: number): boolean {
  const dom = getDomain(w.h, d);
  if (dom === null) return false;
  if (dom.vcpus[v]!.context.vPending !== 0) return true;
  return dom.ports.some((p) => p !== null && p.vcpu === v && p.pending && !p.masked);
}
