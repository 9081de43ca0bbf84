/**
 * Rule-by-rule tests of event channels and virtual interrupts (spec/hypervisor.md §5
 * HV-EVT-1..7): alloc_unbound, bind_interdomain, bind_virq (DOM_EXC to the control domain),
 * send, close, mask, unmask, pending, and sched_op poll; where an upcall goes — at once on
 * this pCPU, by IPI to another, at the next switch-in — and whom it wakes.
 */
import { describe, expect, it } from 'vitest';
import { SYS } from '../../src/hw/index.ts';
import { DOMCTL, ERRNO, EVTCHN, HYPERCALL, SCHED, VIRQ } from '../../src/hypervisor/index.ts';
import type { HypervisorSystem } from '../../src/system/index.ts';
import { bootHv, domainNamed, hvViolations, runningOn, stepHv } from './fixtures.ts';
import { call, expectRefused, idOf, ok, run, savedContext, settle, unmaskAt, VECTORS, vPendingOf } from './rule-helpers.ts';

const UPCALL = 1 << 3;

/**
 * dom0 on pCPU 0, `a` on pCPU 1, `b` on pCPU 1 but not started; a channel dom0 ↔ a (port 1
 * at both ends).
 */
function three(): HypervisorSystem {
  return bootHv({
    domains: [
      { name: 'dom0', kernel: VECTORS, memory: 8, pages: 6 },
      { name: 'a', kernel: VECTORS, memory: 8, pages: 6, affinity: [1] },
      { name: 'b', kernel: VECTORS, memory: 8, pages: 6, affinity: [1], start: false },
    ],
    channels: [{ from: 'dom0', to: 'a' }],
  });
}

function port(sys: HypervisorSystem, name: string, p: number) {
  return domainNamed(sys, name).ports[p] ?? null;
}

describe('HV-EVT: event channels', () => {
  it('HV-EVT-1: alloc_unbound opens the lowest free port (never 0) that one named remote domain may bind to', () => {
    const sys = three();
    const b = idOf(sys, 'b');
    const u = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.ALLOC_UNBOUND, b]);
    expect(u.r1).toBe(2);
    expect(port(u.sys, 'dom0', 2)).toEqual({ binding: { kind: 'unbound', remote: b }, pending: false, masked: false, vcpu: 0 });
    expectRefused(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.ALLOC_UNBOUND, 17], ERRNO.ESRCH);
    // a is not the named remote: it may not bind.
    expectRefused(u.sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.BIND_INTERDOMAIN, idOf(sys, 'dom0'), 2], ERRNO.EINVAL);
  });

  it('HV-EVT-2: bind_interdomain connects a new local port to the remote\'s unbound port for this domain; both name each other', () => {
    let sys = three();
    const [dom0, a] = [idOf(sys, 'dom0'), idOf(sys, 'a')];
    const u = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.ALLOC_UNBOUND, a]);
    const bnd = ok(u.sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.BIND_INTERDOMAIN, dom0, u.r1]);
    sys = bnd.sys;
    expect(bnd.r1).toBe(2);
    expect(port(sys, 'a', 2)!.binding).toEqual({ kind: 'interdomain', remote: dom0, remotePort: u.r1 });
    expect(port(sys, 'dom0', u.r1)!.binding).toEqual({ kind: 'interdomain', remote: a, remotePort: 2 });
    // Bound already, or not a port, or itself: refused.
    expectRefused(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.BIND_INTERDOMAIN, dom0, u.r1], ERRNO.EINVAL);
    expectRefused(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.BIND_INTERDOMAIN, dom0, 9], ERRNO.EINVAL);
    expectRefused(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.BIND_INTERDOMAIN, a, 1], ERRNO.ESRCH);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-EVT-2: bind_virq binds a port to DOM_EXC, made pending in the control domain when a domain shuts down, crashes or is destroyed', () => {
    let sys = bootHv({
      domains: [
        { name: 'dom0', kernel: VECTORS, memory: 8, pages: 6, vcpus: 2 },
        { name: 'a', kernel: VECTORS, memory: 8, pages: 6, affinity: [1] },
        { name: 'b', kernel: VECTORS, memory: 8, pages: 6, affinity: [1] },
        { name: 'c', kernel: VECTORS, memory: 8, pages: 6, affinity: [1] },
      ],
    });
    expectRefused(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.BIND_VIRQ, 1, 0], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.BIND_VIRQ, VIRQ.DOM_EXC, 2], ERRNO.EINVAL);
    const v = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.BIND_VIRQ, VIRQ.DOM_EXC, 1]);
    expect(port(v.sys, 'dom0', v.r1)).toEqual({ binding: { kind: 'virq', virq: VIRQ.DOM_EXC }, pending: false, masked: false, vcpu: 1 });
    // a shuts itself down.
    expect(runningOn(v.sys, 1)).toBe('a');
    const down = call(v.sys, 1, HYPERCALL.SCHED_OP, [SCHED.SHUTDOWN]).res;
    sys = down.system;
    expect(down.lifecycle).toEqual([{ subject: 'a', from: 'running', to: 'destroyed', event: 'DESTROY' }]);
    expect(port(sys, 'dom0', v.r1)!.pending).toBe(true);
    expect(down.observations).toContainEqual({ domain: 'dom0', subject: 'dom0.vcpu1', kind: 'event', values: [v.r1] });
    // The upcall goes to vCPU 1, which is offline: it waits in its context.
    expect(savedContext(sys, 'dom0', 1).vPending).toBe(UPCALL);
    // b crashes.
    sys = ok(settle(sys), 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.PENDING]).sys;
    expect(port(sys, 'dom0', v.r1)!.pending).toBe(false);
    const crash = stepHv(sys, { kind: 'inject', fault: { kind: 'crash', domain: 'b' } });
    expect(port(crash.system, 'dom0', v.r1)!.pending).toBe(true);
    // c is destroyed by dom0.
    sys = ok(crash.system, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.PENDING]).sys;
    sys = ok(sys, 0, HYPERCALL.DOMCTL, [DOMCTL.DESTROY, idOf(sys, 'c')]).sys;
    expect(port(sys, 'dom0', v.r1)!.pending).toBe(true);
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-EVT-3: send marks the remote port pending — not the sender\'s — and raises the upcall on its vCPU', () => {
    const sys = three();
    const s = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]);
    expect(port(s.sys, 'a', 1)!.pending).toBe(true);
    expect(port(s.sys, 'dom0', 1)!.pending).toBe(false);
    expect(s.res.observations.filter((o) => o.kind === 'event')).toEqual([{ domain: 'a', subject: 'a.vcpu0', kind: 'event', values: [1] }]);
    expect(vPendingOf(s.sys, 'a') & UPCALL).toBe(UPCALL);
    expect(vPendingOf(s.sys, 'dom0') & UPCALL).toBe(0);
    // And back the other way.
    const back = ok(settle(s.sys), 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]);
    expect(port(back.sys, 'dom0', 1)!.pending).toBe(true);
    expect(vPendingOf(back.sys, 'dom0') & UPCALL).toBe(UPCALL);
    // Only on an interdomain port.
    const u = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.ALLOC_UNBOUND, idOf(sys, 'b')]);
    expectRefused(u.sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, u.r1], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 5], ERRNO.EINVAL);
  });

  it('HV-EVT-3: a port already pending does not raise the upcall again', () => {
    let sys = unmaskAt(three(), 1, 0);
    sys = settle(ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]).sys);
    // a takes the upcall and ends it (its handler), but does not consume the port.
    sys = run(sys, 1, 5);
    expect(sys.machine.cpus[1]!.regs.slice(10, 12)).toEqual([1, 3]);
    expect(vPendingOf(sys, 'a')).toBe(0);
    const again = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]);
    expect(again.res.observations.filter((o) => o.kind === 'event')).toEqual([]);
    expect(vPendingOf(settle(again.sys), 'a')).toBe(0);
    expect(again.sys.machine.gic.ipiPending).toBe(0);
  });

  it('HV-EVT-4: an upcall for a vCPU on this pCPU is delivered at once, with no IPI', () => {
    let sys = three();
    // dom0 masks its port 1, a sends, dom0 unmasks: the upcall lands on pCPU 0 itself.
    sys = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.MASK, 1]).sys;
    sys = ok(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]).sys;
    expect(vPendingOf(sys, 'dom0')).toBe(0);
    const u = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.UNMASK, 1]);
    expect(u.sys.machine.cpus[0]!.sys[SYS.ICH_PEND_EL2]).toBe(UPCALL);
    expect(u.res.ops).not.toContain('ipi');
    expect(u.sys.machine.gic.ipiPending).toBe(0);
  });

  it('HV-EVT-4: an upcall for a vCPU running on another pCPU goes by a physical IPI to that pCPU, which re-enters it with the interrupt', () => {
    const s = ok(three(), 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]);
    expect(s.res.ops).toContain('ipi');
    expect(s.sys.machine.gic.ipiPending).toBe(0b10);
    expect(savedContext(s.sys, 'a').vPending).toBe(UPCALL);
    const ipi = stepHv(s.sys, { kind: 'exec', cpu: 1 });
    expect(ipi.trap?.kind).toBe('irq');
    expect(ipi.trap?.to).toBe(2);
    expect(runningOn(ipi.system, 1)).toBe('a');
    expect(ipi.system.machine.cpus[1]!.sys[SYS.ICH_PEND_EL2]).toBe(UPCALL);
    expect(savedContext(ipi.system, 'a').vPending).toBe(0);
  });

  it('HV-EVT-4: a blocked vCPU is woken by an event; a polling one only by its polled port', () => {
    let sys = three();
    const dom0 = idOf(sys, 'dom0');
    // A second channel dom0 ↔ a: port 2 at both ends.
    const u = ok(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.ALLOC_UNBOUND, dom0]);
    sys = ok(u.sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.BIND_INTERDOMAIN, idOf(sys, 'a'), u.r1]).sys;
    // a polls port 2 and leaves pCPU 1.
    sys = ok(sys, 1, HYPERCALL.SCHED_OP, [SCHED.POLL, 2]).sys;
    expect(domainNamed(sys, 'a').vcpus[0]!.state).toBe('blocked');
    expect(domainNamed(sys, 'a').vcpus[0]!.polling).toBe(2);
    expect(runningOn(sys, 1)).toBeNull();
    // An event on port 1 is posted but does not wake it.
    sys = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]).sys;
    expect(port(sys, 'a', 1)!.pending).toBe(true);
    expect(domainNamed(sys, 'a').vcpus[0]!.state).toBe('blocked');
    expect(savedContext(sys, 'a').vPending).toBe(UPCALL);
    // The polled port does.
    sys = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 2]).sys;
    expect(domainNamed(sys, 'a').vcpus[0]!.state).toBe('runnable');
    expect(domainNamed(sys, 'a').vcpus[0]!.polling).toBeNull();
    sys = settle(sys);
    expect(runningOn(sys, 1)).toBe('a');
    expect(hvViolations(sys)).toEqual([]);
  });

  it('HV-EVT-4: a vCPU blocked with sched_op block is woken by any event', () => {
    let sys = ok(three(), 1, HYPERCALL.SCHED_OP, [SCHED.BLOCK]).sys;
    expect(domainNamed(sys, 'a').vcpus[0]!.state).toBe('blocked');
    sys = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]).sys;
    expect(domainNamed(sys, 'a').vcpus[0]!.state).toBe('runnable');
    expect(runningOn(settle(sys), 1)).toBe('a');
  });

  it('HV-EVT-4, HV-SCHED-4: poll on a port already pending returns at once; poll on a port the domain lacks is EINVAL', () => {
    let sys = settle(ok(three(), 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]).sys);
    const p = ok(sys, 1, HYPERCALL.SCHED_OP, [SCHED.POLL, 1]);
    expect(p.r1).toBe(0);
    expect(runningOn(p.sys, 1)).toBe('a');
    sys = p.sys;
    expectRefused(sys, 1, HYPERCALL.SCHED_OP, [SCHED.POLL, 7], ERRNO.EINVAL);
  });

  it('HV-EVT-4, HV-SCHED-4: poll on a masked port that is pending returns at once too (no upcall was raised)', () => {
    let sys = ok(three(), 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.MASK, 1]).sys;
    sys = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]).sys;
    expect(vPendingOf(sys, 'a')).toBe(0);
    const p = ok(sys, 1, HYPERCALL.SCHED_OP, [SCHED.POLL, 1]);
    expect(domainNamed(p.sys, 'a').vcpus[0]!.state).toBe('running');
    expect(runningOn(p.sys, 1)).toBe('a');
  });

  it('HV-EVT-5: closing a port frees it and sends the remote end back to unbound, so nothing is delivered either way', () => {
    let sys = three();
    const [dom0, a] = [idOf(sys, 'dom0'), idOf(sys, 'a')];
    sys = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.CLOSE, 1]).sys;
    expect(port(sys, 'dom0', 1)).toBeNull();
    expect(port(sys, 'a', 1)).toEqual({ binding: { kind: 'unbound', remote: dom0 }, pending: false, masked: false, vcpu: 0 });
    expectRefused(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1], ERRNO.EINVAL);
    expectRefused(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1], ERRNO.EINVAL);
    expectRefused(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.CLOSE, 1], ERRNO.EINVAL);
    // The closer may bind again to the port left unbound for it, and the channel works.
    const again = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.BIND_INTERDOMAIN, a, 1]);
    expect(again.r1).toBe(1);
    const s = ok(again.sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]);
    expect(port(s.sys, 'a', 1)!.pending).toBe(true);
  });

  it('HV-EVT-5: closing the receiving end drops what was pending on it', () => {
    let sys = ok(three(), 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]).sys;
    sys = ok(settle(sys), 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.CLOSE, 1]).sys;
    expect(port(sys, 'a', 1)).toBeNull();
    expect(port(sys, 'dom0', 1)!.binding).toEqual({ kind: 'unbound', remote: idOf(sys, 'a') });
    expect(port(sys, 'dom0', 1)!.pending).toBe(false);
    expect(ok(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.PENDING]).r1).toBe(0);
  });

  it('HV-EVT-6: a masked port becomes pending without an upcall; unmasking it raises the upcall', () => {
    let sys = ok(three(), 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.MASK, 1]).sys;
    expect(port(sys, 'a', 1)!.masked).toBe(true);
    const s = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, 1]);
    sys = s.sys;
    expect(port(sys, 'a', 1)!.pending).toBe(true);
    expect(vPendingOf(sys, 'a')).toBe(0);
    expect(sys.machine.gic.ipiPending).toBe(0);
    // Pending, masked ports are not what the pending call returns.
    expect(ok(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.PENDING]).r1).toBe(0);
    const u = ok(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.UNMASK, 1]);
    expect(port(u.sys, 'a', 1)!.masked).toBe(false);
    expect(u.sys.machine.cpus[1]!.sys[SYS.ICH_PEND_EL2]).toBe(UPCALL);
    // Unmasking a port that is not pending raises nothing.
    const quiet = ok(ok(three(), 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.MASK, 1]).sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.UNMASK, 1]);
    expect(vPendingOf(quiet.sys, 'a')).toBe(0);
    expectRefused(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.MASK, 9], ERRNO.EINVAL);
    expectRefused(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.UNMASK, 9], ERRNO.EINVAL);
  });

  it('HV-EVT-7: pending returns and clears the lowest pending unmasked port, 0 when there is none', () => {
    let sys = three();
    const dom0 = idOf(sys, 'dom0');
    // Ports 2 and 3 of a: two more channels from dom0.
    for (let i = 0; i < 2; i++) {
      const u = ok(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.ALLOC_UNBOUND, dom0]);
      sys = ok(u.sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.BIND_INTERDOMAIN, idOf(sys, 'a'), u.r1]).sys;
    }
    sys = ok(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.MASK, 2]).sys;
    for (const p of [3, 2, 1]) sys = ok(sys, 0, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.SEND, p]).sys;
    sys = settle(sys);
    const taken: number[] = [];
    for (let i = 0; i < 3; i++) {
      const p = ok(sys, 1, HYPERCALL.EVENT_CHANNEL_OP, [EVTCHN.PENDING]);
      taken.push(p.r1);
      sys = p.sys;
    }
    expect(taken).toEqual([1, 3, 0]);
    expect([1, 2, 3].map((p) => port(sys, 'a', p)!.pending)).toEqual([false, true, false]);
  });
});
