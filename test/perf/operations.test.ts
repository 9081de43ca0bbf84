/**
 * PERF-OPS-1..18: each named operation measures the instance the spec describes — checked on
 * the shape of its primitive operations (which traps, switches, interrupts and copies it is
 * made of), never on a number of cycles.
 */
import { describe, expect, it } from 'vitest';
import { measure, measureIpc, OPERATIONS, type OperationName } from '../../src/perf/operations.ts';
import type { OpList, PrimitiveOp } from '../../src/perf/ops.ts';

const measured = new Map(OPERATIONS.map((name) => [name, measure(name)] as const));
const opsOf = (name: OperationName): OpList => measured.get(name)!.ops;
const count = (name: OperationName, op: PrimitiveOp): number => opsOf(name).filter((o) => o === op).length;

describe('named operations', () => {
  it('PERF-OPS-1, PERF-OPS-18: every operation completes, and measuring is deterministic', () => {
    for (const name of OPERATIONS) {
      const again = measure(name);
      expect(again.ops, name).toEqual(opsOf(name));
      expect(again.steps, name).toBe(measured.get(name)!.steps);
      expect(again.operation).toBe(name);
    }
  });

  it('PERF-OPS-1: the warm-up leaves every translation cached: only the fault paths miss the TLB', () => {
    for (const name of OPERATIONS) {
      if (name === 'stage2-fault' || name === 'page-fault-pager') continue;
      expect(count(name, 'tlbMiss'), name).toBe(0);
    }
  });

  it('PERF-OPS-2: null-syscall is one step into EL1 and back, with no switch', () => {
    expect(measured.get('null-syscall')!.steps).toBe(1);
    expect(count('null-syscall', 'trapEntryEl1')).toBe(1);
    expect(count('null-syscall', 'trapReturnEl1')).toBe(1);
    expect(count('null-syscall', 'addressSpaceSwitch')).toBe(0);
  });

  it('PERF-OPS-3..5: a Call and a ReplyRecv each switch address space once; the round trip is the two', () => {
    for (const name of ['ipc-call', 'ipc-reply'] as const) {
      expect(measured.get(name)!.steps).toBe(1);
      expect(count(name, 'addressSpaceSwitch'), name).toBe(1);
      expect(count(name, 'wordCopy'), name).toBe(0);
      expect(count(name, 'trapEntryEl2'), name).toBe(0);
    }
    expect(opsOf('ipc-roundtrip')).toEqual([...opsOf('ipc-call'), ...opsOf('ipc-reply')]);
    expect(measureIpc('ipc-call', 3).ops.filter((o) => o === 'wordCopy')).toHaveLength(3);
  });

  it('PERF-OPS-6: a hypercall is one step into EL2 and back, with no world switch', () => {
    expect(measured.get('hypercall')!.steps).toBe(1);
    expect(count('hypercall', 'trapEntryEl2')).toBe(1);
    expect(count('hypercall', 'vmExit')).toBe(1);
    expect(count('hypercall', 'sysregBankSave')).toBe(0);
  });

  it('PERF-OPS-7: vm-switch takes the timer interrupt and swaps the whole vCPU state', () => {
    expect(measured.get('vm-switch')!.steps).toBe(1);
    for (const op of ['irqDelivery', 'sysregBankSave', 'sysregBankRestore', 'fpuSave', 'fpuRestore', 'addressSpaceSwitch'] as const) expect(count('vm-switch', op), op).toBe(1);
  });

  it('PERF-OPS-8: a virtual IPI is one physical IPI and one virtual interrupt taken at EL1', () => {
    expect(count('virtual-ipi', 'ipi')).toBe(1);
    expect(count('virtual-ipi', 'virtualIrqDelivery')).toBe(1);
    expect(opsOf('virtual-ipi').at(-1)).toBe('trapEntryEl1');
  });

  it('PERF-OPS-9: io-out wakes the backend on an idle pCPU: an IPI, and state restored but none saved', () => {
    expect(count('io-out', 'ipi')).toBe(1);
    expect(count('io-out', 'sysregBankRestore')).toBe(1);
    expect(count('io-out', 'sysregBankSave')).toBe(0);
    expect(count('io-out', 'virtualIrqDelivery')).toBe(0);
  });

  it('PERF-OPS-10: io-in ends with the upcall taken by the running frontend', () => {
    expect(count('io-in', 'ipi')).toBe(1);
    expect(count('io-in', 'virtualIrqDelivery')).toBe(1);
    expect(opsOf('io-in').at(-1)).toBe('trapEntryEl1');
  });

  it('PERF-OPS-11: a stage-2 fault exits once; the faulting access and its retry each miss the TLB', () => {
    expect(count('stage2-fault', 'trapEntryEl2')).toBe(1);
    expect(count('stage2-fault', 'tlbMiss')).toBe(2);
    expect(count('stage2-fault', 'trapEntryEl1')).toBe(0);
  });

  it('PERF-OPS-12: a pager fault goes to the pager and back: two address-space switches, the fault message copied', () => {
    expect(count('page-fault-pager', 'addressSpaceSwitch')).toBe(2);
    expect(count('page-fault-pager', 'wordCopy')).toBeGreaterThan(0);
    expect(count('page-fault-pager', 'trapEntryEl2')).toBe(0);
    expect(opsOf('page-fault-pager').at(-1)).toBe('dataAccess');
  });

  it('PERF-OPS-13: irq-to-driver takes one interrupt and switches to the driver', () => {
    expect(count('irq-to-driver', 'irqDelivery')).toBe(1);
    expect(count('irq-to-driver', 'eoi')).toBe(1);
    expect(count('irq-to-driver', 'addressSpaceSwitch')).toBe(1);
  });

  it('PERF-OPS-14: irq-to-guest takes the physical interrupt at EL2 and delivers a virtual one', () => {
    expect(count('irq-to-guest', 'irqDelivery')).toBe(1);
    expect(count('irq-to-guest', 'trapEntryEl2')).toBe(1);
    expect(count('irq-to-guest', 'virtualIrqDelivery')).toBe(1);
  });

  it('PERF-OPS-15: driver-request copies one word, touches the device once and switches there and back', () => {
    expect(count('driver-request', 'wordCopy')).toBe(1);
    expect(count('driver-request', 'mmioAccess')).toBe(1);
    expect(count('driver-request', 'addressSpaceSwitch')).toBe(2);
  });

  it('PERF-OPS-16, PERF-OPS-17: pv-request is the event-channel round trip plus the device store', () => {
    expect(count('pv-request', 'mmioAccess')).toBe(1);
    expect(count('pv-request', 'ipi')).toBe(2);
    expect(count('evtchn-roundtrip', 'mmioAccess')).toBe(0);
    expect(opsOf('pv-request').filter((o) => o !== 'mmioAccess')).toEqual(opsOf('evtchn-roundtrip'));
  });
});
