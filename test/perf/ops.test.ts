/**
 * PERF-OP-1: every operation the model emits is a primitive operation every table prices; the
 * supervisors move FPU state exactly when the CPU changes thread or vCPU.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { DEMO_HV_MACHINE, HYPERVISOR_DEMO } from '../../src/cli/demos/hypervisor.ts';
import { DEMO_MK_MACHINE, MICROKERNEL_DEMO } from '../../src/cli/demos/microkernel.ts';
import { HYPERCALL } from '../../src/hypervisor/abi.ts';
import { SYSCALL } from '../../src/kernel/abi.ts';
import { builtinArchs, builtinTable } from '../../src/perf/builtin.ts';
import { isPrimitiveOp, type PrimitiveOp } from '../../src/perf/ops.ts';
import { bootHypervisorSystem, bootMicrokernel, hypervisor, microkernel, step, type Supervisor, type System, type SystemEvent } from '../../src/system/index.ts';
import { insn } from '../kernel/fixtures.ts';

function run<S>(sup: Supervisor<S>, sys0: System<S>, events: readonly SystemEvent[]): PrimitiveOp[] {
  let sys = sys0;
  const ops: PrimitiveOp[] = [];
  for (const e of events) {
    const r = step(sup, sys, e);
    ops.push(...r.ops);
    sys = r.system;
  }
  return ops;
}

const must = <T>(e: E.Either<{ message: string }, T>): T => {
  if (E.isLeft(e)) throw new Error(e.left.message);
  return e.right;
};

/** Random interleavings of execution, ticks and (hostile) injected words on both demos. */
const arbEvents = (cpus: number) =>
  fc.array(
    fc.oneof(
      { weight: 8, arbitrary: fc.record({ kind: fc.constant('exec' as const), cpu: fc.nat(cpus - 1) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), cpu: fc.nat(cpus - 1) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('exec' as const), cpu: fc.nat(cpus - 1), insn: fc.integer({ min: 0, max: 0xffffffff }) }) },
    ),
    { minLength: 50, maxLength: 400 },
  );

describe('primitive operations (PERF-OP-1)', () => {
  const tables = builtinArchs().map((a) => must(builtinTable(a)));

  it('PERF-OP-1: every op emitted on random runs of both supervisors is a primitive with a cost in every table', () => {
    const mk = must(bootMicrokernel(DEMO_MK_MACHINE, MICROKERNEL_DEMO));
    const hv = must(bootHypervisorSystem(DEMO_HV_MACHINE, HYPERVISOR_DEMO));
    fc.assert(
      fc.property(arbEvents(1), arbEvents(2), (mkEvents, hvEvents) => {
        for (const op of [...run(microkernel, mk, mkEvents), ...run(hypervisor, hv, hvEvents)]) {
          expect(isPrimitiveOp(op), op).toBe(true);
          for (const t of tables) expect(t.entries[op].cycles, `${t.arch}.${op}`).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 20 },
    );
  });

  it('PERF-OP-1: the kernel saves and restores FPU state when the CPU changes thread, and only then', () => {
    const sys = must(bootMicrokernel(DEMO_MK_MACHINE, {
      objects: [{ name: 'ep', type: 'endpoint' }],
      threads: [
        { name: 'server', priority: 2, caps: [{ slot: 1, object: 'ep' }] },
        { name: 'client', priority: 1, caps: [{ slot: 1, object: 'ep' }] },
      ],
    }));
    const nul = step(microkernel, sys, { kind: 'exec', cpu: 0, insn: insn({ op: 'svc', imm: SYSCALL.NULL }) });
    expect(nul.ops.filter((o) => o.startsWith('fpu'))).toEqual([]);
    // The server blocks in Recv: the CPU moves to the client.
    const cpus = sys.machine.cpus.slice();
    cpus[0] = { ...cpus[0]!, regs: cpus[0]!.regs.map((v, i) => (i === 1 ? 1 : v)) };
    const recv = step(microkernel, { ...sys, machine: { ...sys.machine, cpus } }, { kind: 'exec', cpu: 0, insn: insn({ op: 'svc', imm: SYSCALL.RECV }) });
    expect(recv.ops.filter((o) => o.startsWith('fpu'))).toEqual(['fpuSave', 'fpuRestore']);
  });

  it('PERF-OP-1: the hypervisor saves and restores FPU state when the pCPU changes vCPU, and only then', () => {
    const sys = must(bootHypervisorSystem(DEMO_HV_MACHINE, {
      domains: [
        { name: 'dom0', kernel: 'spin: b spin', memory: 2, affinity: [0] },
        { name: 'g', kernel: 'spin: b spin', memory: 2, affinity: [0] },
      ],
    }));
    const version = step(hypervisor, sys, { kind: 'exec', cpu: 0, insn: insn({ op: 'hvc', imm: HYPERCALL.XEN_VERSION }) });
    expect(version.ops.filter((o) => o.startsWith('fpu'))).toEqual([]);
    const cpus = sys.machine.cpus.slice();
    cpus[0] = { ...cpus[0]!, regs: cpus[0]!.regs.map((v, i) => (i === 1 ? 0 : v)) }; // sched_op yield
    const yielded = step(hypervisor, { ...sys, machine: { ...sys.machine, cpus } }, { kind: 'exec', cpu: 0, insn: insn({ op: 'hvc', imm: HYPERCALL.SCHED_OP }) });
    expect(hypervisor.runningDomain(yielded.system, 0)).toBe('g');
    expect(yielded.ops.filter((o) => o.startsWith('fpu'))).toEqual(['fpuSave', 'fpuRestore']);
  });
});
