/**
 * CHK-SCN-1, CHK-SCN-2, CHK-FP-1: what a scenario asks the checker to explore, and how states
 * are told apart.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/check/index.ts';
import { assemble } from '../../src/hw/index.ts';
import { decodeScenario } from '../../src/oracle/formats.ts';
import { fingerprint } from '../../src/system/index.ts';
import { HV_GRANT, loadScenario, MK_IPC, replay } from './fixtures.ts';

describe('the check section', () => {
  it('CHK-SCN-1: events are taken as they are, asm entries are assembled, and the properties default to invariants and integrity', () => {
    const l = loadScenario(MK_IPC, (j) => ({ ...j, check: { alphabet: [{ kind: 'tick', cpu: 1 }, { kind: 'exec', cpu: 0, asm: 'svc 8' }, { kind: 'irq', line: 3 }] } }));
    const svc = assemble('svc 8');
    expect(E.isRight(svc)).toBe(true);
    expect(l.spec).toEqual({
      alphabet: [{ kind: 'tick', cpu: 1 }, { kind: 'exec', cpu: 0, insn: E.isRight(svc) ? svc.right.words[0] : -1 }, { kind: 'irq', line: 3 }],
      invariants: true,
      integrity: true,
      deadlock: false,
    });
  });

  it('CHK-SCN-1: an asm entry that is not one instruction, or an entry with both asm and insn, is rejected naming it', () => {
    const base = loadScenario(MK_IPC).scenario;
    const bad = (alphabet: unknown[]) => decodeScenario({ ...JSON.parse(JSON.stringify(base)), check: { alphabet } });
    for (const [alphabet, path] of [
      [[{ kind: 'exec', cpu: 0, asm: 'svc 8\nsvc 9' }], 'check.alphabet[0].asm'],
      [[{ kind: 'tick', cpu: 0 }, { kind: 'exec', cpu: 0, asm: '' }], 'check.alphabet[1].asm'],
      [[{ kind: 'exec', cpu: 0, asm: 'svc 8', insn: 1 }], 'check.alphabet[0].insn'],
    ] as const) {
      const r = bad([...alphabet]);
      expect(E.isLeft(r) && r.left.path).toBe(path);
    }
  });

  it('CHK-SCN-2: with ticks in the alphabet every level has new states — the counter is state — so only a depth bound ends the search', () => {
    const l = loadScenario(MK_IPC, (j) => ({ ...j, check: { alphabet: [{ kind: 'exec', cpu: 0 }, { kind: 'tick', cpu: 0 }] } }));
    const levels: number[] = [];
    const r = explore(l.booted.sup, l.booted.boot, { alphabet: l.spec.alphabet, maxDepth: 30, maxStates: Infinity, invariants: false, integrity: false, deadlock: false, onProgress: (p) => levels.push(p.states) });
    expect(r.depthBounded).toBe(true);
    for (let i = 1; i < levels.length; i++) expect(levels[i]!).toBeGreaterThan(levels[i - 1]!);
  });
});

describe('CHK-FP-1: states as the checker tells them apart', () => {
  it('a state rebuilt from scratch (as a worker receives it) has the fingerprint of the original, and so do its successors', () => {
    const l = loadScenario(HV_GRANT);
    const events = Array.from({ length: 60 }, (_, i) => l.spec.alphabet[(i * 7) % 2]!);
    for (const s of replay(l.booted.sup, l.booted.boot, events)) {
      const copy = structuredClone(s);
      expect(fingerprint(copy)).toBe(fingerprint(s));
      for (const e of l.spec.alphabet) expect(fingerprint(replay(l.booted.sup, copy, [e])[1])).toBe(fingerprint(replay(l.booted.sup, s, [e])[1]));
    }
  });

  it('states reached by different interleavings are one state when equal: the search finds far fewer states than traces', () => {
    const l = loadScenario(MK_IPC);
    const r = explore(l.booted.sup, l.booted.boot, { alphabet: l.spec.alphabet, maxDepth: 12, maxStates: Infinity, invariants: false, integrity: false, deadlock: false });
    expect(r.states).toBeLessThan(3 ** 12 / 1000);
  });
});
