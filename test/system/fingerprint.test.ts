/**
 * SYS-7: fingerprints are a function of the canonical encoding — equal systems agree however
 * they were built, and any change to the machine or the supervisor's state changes them.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { SYSCALL } from '../../src/kernel/abi.ts';
import { bootMicrokernel, fingerprint, microkernel, step } from '../../src/system/index.ts';
import { MK_MACHINE } from '../kernel/fixtures.ts';

/** JSON-like values, with the same content built in two key orders. */
const arbJson = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.double({ noNaN: true }), fc.string(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(fc.string({ maxLength: 4 }), tie('value'), { maxKeys: 4 }),
})).value;

/** A deep copy with every object's keys inserted in reverse order. */
function reversedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversedKeys);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).reverse()) out[k] = reversedKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

describe('SYS-7: state fingerprints', () => {
  it('equal values have equal fingerprints whatever the key order; copies hash like originals', () => {
    fc.assert(
      fc.property(arbJson, (v) => {
        expect(fingerprint(reversedKeys(v))).toBe(fingerprint(structuredClone(v)));
      }),
    );
  });

  it('values that differ canonically have different fingerprints (on random pairs)', () => {
    fc.assert(
      fc.property(arbJson, arbJson, (a, b) => {
        fc.pre(JSON.stringify(sortKeys(a)) !== JSON.stringify(sortKeys(b)));
        expect(fingerprint(a)).not.toBe(fingerprint(b));
      }),
    );
  });

  it('Maps and Sets hash by their contents in key order, not insertion order', () => {
    const a = new Map([[1, 10], [2, 20]]);
    const b = new Map([[2, 20], [1, 10]]);
    expect(fingerprint({ p2m: a })).toBe(fingerprint({ p2m: b }));
    expect(fingerprint({ p2m: a })).not.toBe(fingerprint({ p2m: new Map([[1, 10], [2, 21]]) }));
    expect(fingerprint({ p2m: a })).not.toBe(fingerprint({ p2m: new Map() }));
    expect(fingerprint(new Set([3, 1]))).toBe(fingerprint(new Set([1, 3])));
    expect(fingerprint(new Set([3, 1]))).not.toBe(fingerprint(new Set([1, 4])));
    expect(fingerprint(new Set([1]))).not.toBe(fingerprint(new Map([[1, true]])));
  });

  it('types are kept apart: numbers, strings, booleans, null, arrays and objects never collide', () => {
    // Small integers are the likeliest to collide with the encoding's own type tags.
    const values = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, '1', '', true, false, null, undefined, [], {}, [1], { 0: 1 }, 1.5, '1.5', [[]], [{}]];
    const prints = values.map(fingerprint);
    expect(new Set(prints).size).toBe(prints.length);
  });

  it('a step that changes one register, one memory word or one kernel field changes the fingerprint; replay reproduces it', () => {
    const boot = bootMicrokernel(MK_MACHINE, { threads: [{ name: 't', program: `loop: addi r2, r2, 1\n svc ${SYSCALL.NULL}\n b loop` }] });
    if (E.isLeft(boot)) throw new Error(boot.left.message);
    const run = () => {
      let sys = boot.right;
      const prints = [fingerprint(sys)];
      for (let i = 0; i < 12; i++) {
        sys = step(microkernel, sys, i % 5 === 4 ? { kind: 'tick', cpu: 0 } : { kind: 'exec', cpu: 0 }).system;
        prints.push(fingerprint(sys));
      }
      return prints;
    };
    const prints = run();
    for (let i = 1; i < prints.length; i++) expect(prints[i], `step ${i}`).not.toBe(prints[i - 1]);
    expect(run()).toEqual(prints);
    // One word of RAM, rebuilt without any shared structure, still changes it.
    const sys = boot.right;
    const copy = structuredClone(sys);
    expect(fingerprint(copy)).toBe(fingerprint(sys));
    const cpus = copy.machine.cpus.slice();
    cpus[0] = { ...cpus[0]!, regs: cpus[0]!.regs.map((r, i) => (i === 7 ? r + 1 : r)) };
    expect(fingerprint({ ...copy, machine: { ...copy.machine, cpus } })).not.toBe(fingerprint(sys));
  });
});

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return Object.is(v, -0) ? 0 : v;
}
