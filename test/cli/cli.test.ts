/**
 * The command line, run in-process: help, exit codes, and the hardware demo.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';

async function run(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('mkhv command line', () => {
  it('CLI-EXIT-1: --help describes every command and exits 0', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toMatch(/demo/);
  });

  it('CLI-EXIT-1: an unknown command or option exits 2 with a one-line message naming it', async () => {
    for (const args of [['frobnicate'], ['--frob'], ['demo', '--frob'], ['demo', 'nonsense'], ['demo', 'hardware', 'extra']]) {
      const r = await run(...args);
      expect(r.code).toBe(2);
      expect(r.err[0]).toMatch(/^mkhv: /);
      expect(r.err[0]).toContain(args[args.length - 1]!.replace(/^--/, ''));
      expect(r.out).toEqual([]);
    }
  });

  it('CLI-EXIT-1: no arguments prints the overview and exits 2', async () => {
    const r = await run();
    expect(r.code).toBe(2);
    expect(r.out.join('\n')).toMatch(/usage: mkhv/);
  });

  it('demo --help describes the demo', async () => {
    const r = await run('demo', '--help');
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toMatch(/usage: mkhv demo/);
  });

  it('CLI-DEMO-1, HW-EXC-3, HW-IRQ-8, HW-TLB-4: the hardware demo serves system calls, a page fault and a timer interrupt', async () => {
    const r = await run('demo', 'hardware');
    expect(r.code).toBe(0);
    const text = r.out.join('\n');
    expect(text).toMatch(/SVC #0 EL0→EL1/);
    expect(text).toMatch(/store abort: stage-1 translation fault at 0xc00000 EL0→EL1/);
    expect(text).toMatch(/tlbi va, r10/);
    expect(text).toMatch(/IRQ EL0→EL1/);
    // The console shows both system calls, the mapped page and the timer, in program order.
    expect(r.out[r.out.length - 1]).toBe('console output: "hi#*\\n"');
  });

  it('CLI-DEMO-1, MK-IPC-6, MK-FAULT-3: the microkernel demo serves a call and a page fault through the pager', async () => {
    const r = await run('demo', 'microkernel');
    expect(r.code).toBe(0);
    const text = r.out.join('\n');
    expect(text).toMatch(/server receives a message: badge 7, label 0, words \[21\]/);
    expect(text).toMatch(/client receives a message: badge 0, label 0, words \[42\]/);
    expect(text).toMatch(/pager receives a message: badge 0, label 5/);
    expect(text).toMatch(/client: blockedOnReply → restart/);
    expect(text).toMatch(/\[0x600\] ← 0x2a/);
    expect(r.out).toContain('console output: "ok"');
    expect(r.out).toContain('invariants: all hold');
  });

  it('CLI-DEMO-1, HV-DEV-3, HV-LIFE-3, HV-LIFE-4: the hypervisor demo serves a paravirtual disk request and saves and restores a guest', async () => {
    const r = await run('demo', 'hypervisor');
    expect(r.code).toBe(0);
    const text = r.out.join('\n');
    expect(text).toMatch(/guest1\.vcpu0: event_channel_op send → 0/);
    expect(text).toMatch(/driver\.vcpu0: grant_table_op map → 1/);
    expect(text).toMatch(/writes 2 to block-device register CMD/);
    expect(text).toMatch(/guest2: paused → saved/);
    expect(text).toMatch(/guest2: created → running/);
    expect(r.out).toContain('guest1  (running): console "hi"');
    expect(r.out).toContain('invariants: all hold');
  });

  it('CLI-DEMO-1: with no argument every demo runs', async () => {
    const r = await run('demo');
    expect(r.code).toBe(0);
    expect(r.out.filter((l) => /^mkhv \w+ demo:/.test(l))).toHaveLength(3);
  });

  it('CLI-DEMO-1: the demo is deterministic: two runs print the same lines', async () => {
    expect((await run('demo')).out).toEqual((await run('demo')).out);
  });
});
