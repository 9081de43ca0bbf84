/**
 * CLI-COST-1..2: `mkhv cost` prints what folding the measured operations gives, in text and
 * JSON, and rejects bad usage with exit 2 naming the bad word.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { builtinArchs, builtinTable } from '../../src/perf/builtin.ts';
import { foldCost } from '../../src/perf/cost.ts';
import { measure, OPERATIONS } from '../../src/perf/operations.ts';

async function run(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const table = (arch: string) => {
  const t = builtinTable(arch);
  if (E.isLeft(t)) throw new Error(t.left.message);
  return t.right;
};

describe('mkhv cost', () => {
  it('CLI-COST-1: --op prints the cycles of the fold of the measured operation, and its breakdown', async () => {
    const r = await run('cost', '--arch', 'cortex-a57', '--op', 'hypercall');
    expect(r.code).toBe(0);
    const cycles = Math.round(foldCost(measure('hypercall').ops, table('cortex-a57')).cycles);
    expect(r.out[1]).toBe(`hypercall (hypervisor, 1 step): ${cycles} cycles (${Math.round(foldCost(measure('hypercall').ops, table('cortex-a57')).raw)} before overlap)`);
    expect(r.out.some((l) => /^\s+trapEntryEl2\s+1 ×/.test(l))).toBe(true);
  });

  it('CLI-COST-1: --all --json lists every operation, each equal to its fold under the knobs given', async () => {
    const r = await run('cost', '--arch', 'haswell', '--all', '--json', '--fpu', 'lazy', '--pti', '--no-overlap');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out.join('\n')) as { knobs: unknown; operations: { operation: string; cycles: number }[] };
    expect(json.knobs).toEqual({ fpu: 'lazy', pti: true, kernelAt: 'el1', overlap: false });
    expect(json.operations.map((o) => o.operation)).toEqual([...OPERATIONS]);
    const ipc = json.operations.find((o) => o.operation === 'ipc-call')!;
    expect(ipc.cycles).toBe(foldCost(measure('ipc-call').ops, table('haswell'), { fpu: 'lazy', pti: true, kernelAt: 'el1', overlap: false }).cycles);
  });

  it('CLI-COST-1: the knobs change what they say: pti and an EL2 kernel make a system call dearer, lazy FPU an IPC cheaper', async () => {
    const cyclesOf = async (arch: string, ...args: string[]) => (JSON.parse((await run('cost', '--arch', arch, '--json', ...args)).out.join('')) as { operations: { cycles: number }[] }).operations[0]!.cycles;
    expect(await cyclesOf('skylake', '--op', 'null-syscall', '--pti')).toBeGreaterThan(await cyclesOf('skylake', '--op', 'null-syscall'));
    expect(await cyclesOf('skylake', '--op', 'ipc-call', '--fpu', 'lazy')).toBeLessThan(await cyclesOf('skylake', '--op', 'ipc-call'));
    // x86 has no EL2 to move the kernel to (factor 1); ARM's traps at EL2 are dearer (L4Re).
    expect(await cyclesOf('cortex-a57', '--op', 'null-syscall', '--kernel-at', 'el2')).toBeGreaterThan(await cyclesOf('cortex-a57', '--op', 'null-syscall'));
  });

  it('CLI-COST-2: --compare reports every built-in table, or one; JSON rows carry both sides', async () => {
    const all = await run('cost', '--compare');
    expect(all.code).toBe(0);
    for (const arch of builtinArchs()) expect(all.out.some((l) => l.includes(`(${arch})`))).toBe(true);
    const one = await run('cost', '--compare', '--arch', 'x-gene', '--json');
    const json = JSON.parse(one.out.join('')) as { reports: { arch: string; rows: { work: string; ratio: number; microkernel: { cycles: number }; hypervisor: { cycles: number } }[] }[] };
    expect(json.reports.map((r) => r.arch)).toEqual(['x-gene']);
    expect(json.reports[0]!.rows.map((r) => r.work)).toEqual(['client/server request', 'page fault', 'device interrupt', 'I/O request']);
    for (const row of json.reports[0]!.rows) expect(row.ratio).toBeCloseTo(row.hypervisor.cycles / row.microkernel.cycles, 9);
  });

  it('CLI-EXIT-1, CLI-COST-1: bad usage exits 2 naming the bad word', async () => {
    const cases: [string[], RegExp][] = [
      [['cost', '--op', 'hypercall'], /--arch/],
      [['cost', '--arch', 'skylake'], /exactly one/],
      [['cost', '--arch', 'skylake', '--all', '--op', 'hypercall'], /exactly one/],
      [['cost', '--arch', 'pentium', '--all'], /pentium/],
      [['cost', '--arch', 'skylake', '--op', 'teleport'], /teleport/],
      [['cost', '--arch', 'skylake', '--all', '--fpu', 'sometimes'], /sometimes/],
      [['cost', '--arch', 'skylake', '--all', '--frob'], /frob/],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err[0]).toMatch(/^mkhv: /);
      expect(r.err[0]).toMatch(message);
      expect(r.out).toEqual([]);
    }
  });
});
