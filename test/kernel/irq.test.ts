/**
 * Interrupts, rule by rule (spec/microkernel.md §10 MK-IRQ-*): IRQControl_Get, binding a line
 * to a notification, delivery of a device interrupt (an `irq` event, then the `exec` step
 * that takes it), the line staying masked until IRQHandler_Ack, and releasing a line — with a
 * driver in assembly that drives the block device and serves its interrupt.
 */
import { describe, expect, it } from 'vitest';
import { BLOCK_REG, FIRST_SHARED_IRQ } from '../../src/hw/index.ts';
import { ERROR, INVOCATION, SYSCALL, type ThreadSpec } from '../../src/kernel/index.ts';
import type { MicrokernelSystem } from '../../src/system/index.ts';
import { boot, info, insn, MK_MACHINE, running, stepMk, tcbOf } from './fixtures.ts';
import { by, capOf, expectClean, expectInvocationRejected, invokeOk, MK_MACHINE_2CPU, regsOf, runUntil, slotOf, stateOf } from './unit-helpers.ts';

const LINE = 4;
const bit = (line: number) => 1 << line;

/** Driver `d`: 1 notification n (badge 0x10), 2 its CNode, 3 the IRQ control, 4 n without Write, 5 an endpoint. */
function driverWorld(d: Partial<ThreadSpec> = {}, config = MK_MACHINE): MicrokernelSystem {
  return boot(
    {
      objects: [{ name: 'n', type: 'notification' }, { name: 'ep', type: 'endpoint' }],
      threads: [
        {
          name: 'd',
          caps: [
            { slot: 1, object: 'n', badge: 0x10 },
            { slot: 2, object: 'd.cspace' },
            { slot: 3, object: 'irqcontrol' },
            { slot: 4, object: 'n', rights: 'R' },
            { slot: 5, object: 'ep' },
          ],
          ...d,
        },
      ],
    },
    config,
  );
}

/** d gets a handler for LINE in slot 6 and binds it to n. */
function bound(sys: MicrokernelSystem): MicrokernelSystem {
  const got = invokeOk(sys, 0, 3, INVOCATION.IRQ_CONTROL_GET, [LINE, 6]);
  return invokeOk(got, 0, 6, INVOCATION.IRQ_HANDLER_SET_NOTIFICATION, [], { xcap: 1 });
}

const notificationWord = (sys: MicrokernelSystem) => (sys.state.objects[capOf(sys, 'd', 1)!.type === 'notification' ? (capOf(sys, 'd', 1) as { obj: number }).obj : -1] as { word: number }).word;

/** Raises `line`, then runs one step on CPU 0: it takes the interrupt if it may, else executes a harmless injected NOP. */
function interrupt(sys: MicrokernelSystem, line = LINE) {
  const raised = stepMk(sys, { kind: 'irq', line });
  expect(raised.error).toBeNull();
  return stepMk(raised.system, { kind: 'exec', cpu: 0, insn: NOP });
}

const NOP = insn({ op: 'addi', rd: 0, rs1: 0, imm: 0 });

describe('MK-IRQ-1 IRQControl_Get', () => {
  it('MK-IRQ-1, MK-CAP-3: IRQControl_Get puts a handler cap for the line in the slot, as a child of the IRQ control cap', () => {
    let sys = driverWorld();
    sys = invokeOk(sys, 0, 3, INVOCATION.IRQ_CONTROL_GET, [LINE, 6]);
    expect(capOf(sys, 'd', 6)).toEqual({ type: 'irqhandler', line: LINE });
    expect(slotOf(sys, 'd', 6)!.parent).toBe(slotOf(sys, 'd', 3)!.id);
    expect(sys.state.irqs[LINE]).toEqual({ issued: true, target: null });
    // Into another CNode, named by r11.
    sys = invokeOk(sys, 0, 3, INVOCATION.IRQ_CONTROL_GET, [LINE + 1, 7], { xcap: 2, extraCaps: 1 });
    expect(capOf(sys, 'd', 7)).toEqual({ type: 'irqhandler', line: LINE + 1 });
    expectClean(sys);
  });

  it('MK-IRQ-1, MK-ABI-4: one handler per shared line; bad lines and slots get the right error and change nothing', () => {
    const sys = invokeOk(driverWorld(), 0, 3, INVOCATION.IRQ_CONTROL_GET, [LINE, 6]);
    const get = (line: number, slot: number, code: number) => expectInvocationRejected(sys, 0, 3, INVOCATION.IRQ_CONTROL_GET, [line, slot], code);
    get(LINE, 7, ERROR.REVOKE_FIRST); // already issued
    for (const line of [0, 1, 2, MK_MACHINE.irqLines, 0xffffffff]) get(line, 7, ERROR.RANGE_ERROR);
    get(LINE + 1, 6, ERROR.DELETE_FIRST);
    get(LINE + 1, 16, ERROR.RANGE_ERROR);
    expectInvocationRejected(sys, 0, 3, INVOCATION.IRQ_CONTROL_GET, [LINE + 1, 7], ERROR.INVALID_CAPABILITY, { xcap: 5, extraCaps: 1 });
    expectInvocationRejected(sys, 0, 3, INVOCATION.IRQ_HANDLER_ACK, [], ERROR.ILLEGAL_OPERATION);
  });

  it('MK-IRQ-1: the first shared line is issued and every bound line is routed to CPU 0', () => {
    let sys = driverWorld({ cpu: 1 }, MK_MACHINE_2CPU);
    const on1 = (s: MicrokernelSystem, label: number, args: number[], xcap = 0) => by(s, 'd', SYSCALL.CALL, { 1: args.length === 2 ? 3 : 6, 2: info(label, args.length), 3: args[0] ?? 0, 4: args[1] ?? 0, 11: xcap }, 1).system;
    sys = on1(sys, INVOCATION.IRQ_CONTROL_GET, [FIRST_SHARED_IRQ, 6]);
    expect(capOf(sys, 'd', 6)).toEqual({ type: 'irqhandler', line: FIRST_SHARED_IRQ });
    sys = on1(sys, INVOCATION.IRQ_HANDLER_SET_NOTIFICATION, [], 1);
    expect(sys.machine.gic.target[FIRST_SHARED_IRQ]).toBe(0);
    // The driver waits on CPU 1; the interrupt is taken on CPU 0, and CPU 1 is told by an IPI.
    sys = by(sys, 'd', SYSCALL.RECV, { 1: 1 }, 1).system;
    const raised = stepMk(sys, { kind: 'irq', line: FIRST_SHARED_IRQ }).system;
    expect(stepMk(raised, { kind: 'exec', cpu: 1 }).trap).toBeNull();
    const taken = stepMk(raised, { kind: 'exec', cpu: 0 });
    expect(taken.trap).toEqual(expect.objectContaining({ kind: 'irq' }));
    expect(taken.system.machine.gic.ipiPending & 2).toBe(2);
    const woken = stepMk(taken.system, { kind: 'exec', cpu: 1 }).system;
    expect(running(woken, 1)).toBe('d');
    expect(regsOf(woken, 'd')[1]).toBe(0x10);
    expectClean(woken);
  });
});

describe('MK-IRQ-2..3 delivery and acknowledgement', () => {
  it('MK-IRQ-2: a device interrupt is acknowledged, its line masked, the bound notification signalled with the bound badge, and ended', () => {
    let sys = bound(driverWorld());
    expect(sys.machine.gic.enabled & bit(LINE)).toBe(bit(LINE));
    sys = by(sys, 'd', SYSCALL.RECV, { 1: 1 }).system; // wait: the CPU goes idle
    const r = interrupt(sys);
    expect(r.trap).toEqual(expect.objectContaining({ kind: 'irq' }));
    expect(r.ops).toEqual(expect.arrayContaining(['irqAck', 'eoi']));
    expect(r.observations).toEqual([expect.objectContaining({ subject: 'd', kind: 'signal', values: [0x10] })]);
    sys = r.system;
    expect(running(sys)).toBe('d');
    expect(regsOf(sys, 'd')[1]).toBe(0x10);
    expect(sys.machine.gic.enabled & bit(LINE)).toBe(0); // masked
    expect(sys.machine.gic.active & bit(LINE)).toBe(0); // ended
    expect(sys.machine.gic.pending & bit(LINE)).toBe(0);
    expectClean(sys);
  });

  it('MK-IRQ-2, MK-NTFN-1: with nobody waiting the interrupt sets the badge in the notification word', () => {
    const r = interrupt(bound(driverWorld()));
    expect(r.trap).toEqual(expect.objectContaining({ kind: 'irq', from: 0 }));
    expect(notificationWord(r.system)).toBe(0x10);
    expect(running(r.system)).toBe('d');
    const waited = by(r.system, 'd', SYSCALL.RECV, { 1: 1 }).system;
    expect(regsOf(waited, 'd')[1]).toBe(0x10);
    expect(stateOf(waited, 'd')).toBe('running');
    expectClean(waited);
  });

  it('MK-IRQ-2, MK-IRQ-3: the line stays masked until IRQHandler_Ack; then a pending interrupt is delivered', () => {
    let sys = interrupt(bound(driverWorld())).system;
    sys = by(sys, 'd', SYSCALL.RECV, { 1: 1 }).system; // consumes the first signal
    const again = interrupt(sys);
    expect(again.trap?.kind).not.toBe('irq');
    sys = again.system;
    expect(sys.machine.gic.pending & bit(LINE)).toBe(bit(LINE)); // latched, not delivered
    expect(notificationWord(sys)).toBe(0);
    sys = invokeOk(sys, 0, 6, INVOCATION.IRQ_HANDLER_ACK);
    expect(sys.machine.gic.enabled & bit(LINE)).toBe(bit(LINE));
    const delivered = stepMk(sys, { kind: 'exec', cpu: 0, insn: NOP });
    expect(delivered.trap).toEqual(expect.objectContaining({ kind: 'irq' }));
    expect(notificationWord(delivered.system)).toBe(0x10);
    expectClean(delivered.system);
  });

  it('MK-IRQ-2, MK-IRQ-3: a line with no notification is masked and signals nothing; Ack does not unmask it', () => {
    let sys = bound(driverWorld());
    sys = invokeOk(sys, 0, 6, INVOCATION.IRQ_HANDLER_CLEAR);
    expect(sys.state.irqs[LINE]!.target).toBeNull();
    expect(sys.machine.gic.enabled & bit(LINE)).toBe(0);
    sys = invokeOk(sys, 0, 6, INVOCATION.IRQ_HANDLER_ACK);
    expect(sys.machine.gic.enabled & bit(LINE)).toBe(0);
    const r = interrupt(sys);
    expect(r.trap?.kind).not.toBe('irq');
    expect(notificationWord(r.system)).toBe(0);
    expectClean(r.system);
  });

  it('MK-IRQ-2, MK-ABI-4: IRQHandler_SetNotification needs a notification cap with Write; bad calls change nothing', () => {
    const sys = invokeOk(driverWorld(), 0, 3, INVOCATION.IRQ_CONTROL_GET, [LINE, 6]);
    const set = (xcap: number, code: number) => expectInvocationRejected(sys, 0, 6, INVOCATION.IRQ_HANDLER_SET_NOTIFICATION, [], code, { xcap });
    set(4, ERROR.INVALID_CAPABILITY); // no Write
    set(5, ERROR.INVALID_CAPABILITY); // an endpoint
    set(9, ERROR.INVALID_CAPABILITY); // empty
    set(99, ERROR.FAILED_LOOKUP);
    expectInvocationRejected(sys, 0, 6, INVOCATION.CNODE_COPY, [], ERROR.ILLEGAL_OPERATION);
  });

  it('MK-IRQ-2, MK-IRQ-3, MK-ABI-5: a driver in assembly starts the block device, waits for its interrupt, reads the status and acks', () => {
    const driver = `
        li r1, 3
        li r2, ${info(INVOCATION.IRQ_CONTROL_GET, 2)}
        li r3, ${LINE}
        li r4, 6
        svc #${SYSCALL.CALL}
        li r1, 6
        li r2, ${info(INVOCATION.IRQ_HANDLER_SET_NOTIFICATION)}
        li r11, 1
        svc #${SYSCALL.CALL}
        li r5, 0x400
        li r6, 1
        st r6, ${4 * BLOCK_REG.CMD}(r5)     ; read 0 sectors: the device fails at once and raises its line
        li r1, 1
        svc #${SYSCALL.RECV}
        mov r10, r1
        ld r9, ${4 * BLOCK_REG.STATUS}(r5)
        li r1, 6
        li r2, ${info(INVOCATION.IRQ_HANDLER_ACK)}
        svc #${SYSCALL.CALL}
      done:
        b done`;
    let sys = boot({
      objects: [{ name: 'n', type: 'notification' }, { name: 'blk', type: 'frame', device: 1 }],
      threads: [{ name: 'd', program: driver, pages: [{ va: 0x400, frame: 'blk', write: true }], caps: [{ slot: 1, object: 'n', badge: 0x10 }, { slot: 3, object: 'irqcontrol' }] }],
    });
    expect(MK_MACHINE.devices[1]).toEqual(expect.objectContaining({ kind: 'block', irq: LINE }));
    const done = 256 + 4 * 31;
    sys = runUntil(sys, 0, (s) => tcbOf(s, 'd').state.kind === 'running' && s.machine.cpus[0]!.pc === done, 100);
    expect(regsOf(sys, 'd')[10]).toBe(0x10); // the badge the interrupt signalled
    expect(regsOf(sys, 'd')[9]).toBe(2); // STATUS: RANGE_ERROR
    expect(regsOf(sys, 'd')[2]).toBe(0); // Ack: NO_ERROR
    expect(sys.machine.gic.enabled & bit(LINE)).toBe(bit(LINE)); // unmasked again
    expectClean(sys);
  });
});

describe('MK-IRQ-4 releasing a line', () => {
  it('MK-IRQ-4, MK-CAP-8: deleting the last IRQHandler cap masks the line and frees it for IRQControl_Get', () => {
    let sys = bound(driverWorld());
    sys = invokeOk(sys, 0, 2, INVOCATION.CNODE_COPY, [7, 6, 0xf]);
    sys = invokeOk(sys, 0, 2, INVOCATION.CNODE_DELETE, [6]);
    expect(sys.state.irqs[LINE]).toEqual(expect.objectContaining({ issued: true })); // a copy remains
    expect(sys.machine.gic.enabled & bit(LINE)).toBe(bit(LINE));
    sys = invokeOk(sys, 0, 2, INVOCATION.CNODE_DELETE, [7]);
    expect(sys.state.irqs[LINE]).toEqual({ issued: false, target: null });
    expect(sys.machine.gic.enabled & bit(LINE)).toBe(0);
    expect(interrupt(sys).trap?.kind).not.toBe('irq');
    sys = invokeOk(sys, 0, 3, INVOCATION.IRQ_CONTROL_GET, [LINE, 8]);
    expect(capOf(sys, 'd', 8)).toEqual({ type: 'irqhandler', line: LINE });
    expectClean(sys);
  });

  it('MK-IRQ-4, MK-CAP-9: revoking the IRQ control cap deletes the handlers made from it and frees their lines', () => {
    let sys = bound(driverWorld());
    sys = invokeOk(sys, 0, 2, INVOCATION.CNODE_REVOKE, [3]);
    expect(slotOf(sys, 'd', 6)).toBeNull();
    expect(sys.state.irqs[LINE]).toEqual({ issued: false, target: null });
    expect(sys.machine.gic.enabled & bit(LINE)).toBe(0);
    expectClean(sys);
  });
});
