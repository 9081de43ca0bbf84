/**
 * CHK-SMT-4: capability rights and badges, for all 32-bit rights words and badges — Copy and
 * Mint attenuate rights to parent ∩ requested (MK-CAP-2), the derivation-tree invariant's
 * rights test is bit-by-bit inclusion (MK-INV-4), and Mint's badge arithmetic (MK-CAP-6).
 *
 * @module
 */
import { MAX_BADGE } from '../../src/kernel/invoke.ts';
import { maskRights } from '../../src/kernel/cspace.ts';
import { withBadge } from '../../src/kernel/invoke.ts';
import { declare, flag, k, obligation } from './bv.ts';
import { capWithRights, objectOfKind, RIGHTS_KINDS, stateWith, violations } from './kernel-state.ts';
import type { Lemma } from './lemma.ts';
import { drawSamples, EDGE_32, oneOf, word } from './samples.ts';
import type { B, BV, Z } from './z3.ts';

const GROUP = 'CHK-SMT-4';

/** `maskRights(cap, mask).rights` (src/kernel/cspace.ts): `rights & mask`; `or` is the broken model. */
function maskZ(parent: BV, mask: BV, or = false): BV {
  return or ? parent.or(mask) : parent.and(mask);
}

/** withinParent's rights test (src/kernel/invariants.ts, MK-INV-4): `(child & ~parent) === 0`. */
function rightsWithinZ(z: Z, child: BV, parent: BV): B {
  return child.and(parent.not()).eq(k(z, 0));
}

/** Inclusion bit by bit: every right (bit) of `a` is one of `b`. */
function bitwiseSubset(z: Z, a: BV, b: BV): B {
  const bits: B[] = [];
  for (let i = 0; i < 32; i++) bits.push(z.Implies(z.Extract(i, i, a).eq(k(z, 1, 1)), z.Extract(i, i, b).eq(k(z, 1, 1))));
  return z.And(...bits);
}

function attenuationClaim(z: Z, or: boolean) {
  const { t, vars } = declare(z, { parent: 32, mask: 32, mask2: 32, r: 32 });
  const child = maskZ(t.parent, t.mask, or);
  return obligation(
    vars,
    [],
    z.And(
      rightsWithinZ(z, t.r, t.parent).eq(bitwiseSubset(z, t.r, t.parent)),
      bitwiseSubset(z, child, t.parent),
      bitwiseSubset(z, child, t.mask),
      z.Implies(z.And(bitwiseSubset(z, t.r, t.parent), bitwiseSubset(z, t.r, t.mask)), bitwiseSubset(z, t.r, child)),
      maskZ(child, t.mask2, or).eq(maskZ(t.parent, t.mask.and(t.mask2), or)),
    ),
  );
}

/** [rights of maskRights(parent cap, mask), whether MK-INV-4 flags a child cap with rights `child` under it]. */
function maskAndCheck([parent, mask, child, kind]: readonly number[]): number[] {
  const type = RIGHTS_KINDS[kind!]!;
  const derived = maskRights(capWithRights(type, parent!), mask!);
  const rights = 'rights' in derived ? derived.rights >>> 0 : -1;
  const cnode = {
    type: 'cnode' as const,
    base: 64,
    sizeBits: 6,
    slots: [
      { id: 1, parent: null, cap: capWithRights(type, parent!) },
      { id: 2, parent: 1, cap: capWithRights(type, child!) },
    ],
  };
  const flagged = violations('derivation_tree', stateWith([objectOfKind(type), cnode])).length > 0;
  return [rights, flagged ? 1 : 0];
}

export const attenuationLemma: Lemma = {
  name: 'rights/attenuation',
  group: GROUP,
  rules: ['MK-CAP-2', 'MK-INV-4'],
  code: ['src/kernel/cspace.ts: maskRights (CNode Copy, Mint)', 'src/kernel/invariants.ts: derivation_tree (withinParent)'],
  claim:
    'For all 32-bit rights words parent, mask, mask2 and r: the invariant\'s test (r & ~parent) = 0 holds iff every bit of r is a bit of parent; ' +
    'the derived rights parent & mask are within parent and within mask, and every r within both is within them (they are parent ∩ requested); ' +
    'and deriving twice equals deriving once with mask & mask2, so a chain of copies only ever loses rights.',
  obligation: (z) => attenuationClaim(z, false),
  broken: [{ name: 'rights-or', change: 'derived rights parent | mask instead of parent & mask', obligation: (z) => attenuationClaim(z, true) }],
  mirror: {
    samples: drawSamples(0xca9, 300, (next) => {
      const rights = () => (next() % 2 === 0 ? next() % 16 : word(next));
      return [rights(), rights(), rights(), next() % RIGHTS_KINDS.length];
    }),
    code: maskAndCheck,
    formula: (z, [parent, mask, child]) => [maskZ(k(z, parent!), k(z, mask!)), flag(z, z.Not(rightsWithinZ(z, k(z, child!), k(z, parent!))))],
  },
};

// ---------------------------------------------------------------------------------------

/** `withBadge(cap, badge).badge` (src/kernel/invoke.ts); the broken models re-badge or use a wider mask. */
function badgeZ(z: Z, current: BV, requested: BV, variant: 'code' | 'rebadge' | 'wide-mask' = 'code'): BV {
  const mask = variant === 'wide-mask' ? 2 * MAX_BADGE + 1 : MAX_BADGE;
  const minted = requested.and(k(z, mask));
  return variant === 'rebadge' ? minted : z.If(current.eq(k(z, 0)), minted, current);
}

function badgeClaim(z: Z, variant: 'code' | 'rebadge' | 'wide-mask') {
  const { t, vars } = declare(z, { current: 32, requested: 32 });
  const badge = badgeZ(z, t.current, t.requested, variant);
  const low = t.requested.urem(k(z, 2 ** 28));
  return obligation(
    vars,
    [],
    z.And(
      z.Implies(t.current.ult(k(z, 2 ** 28)), badge.ult(k(z, 2 ** 28))),
      z.Implies(t.current.neq(k(z, 0)), badge.eq(t.current)),
      z.Implies(t.current.eq(k(z, 0)), badge.eq(low)),
      badge.neq(k(z, 0)).eq(z.Or(t.current.neq(k(z, 0)), low.neq(k(z, 0)))),
    ),
  );
}

export const badgeLemma: Lemma = {
  name: 'rights/badge',
  group: GROUP,
  rules: ['MK-CAP-6'],
  code: ['src/kernel/invoke.ts: withBadge (CNode Mint)'],
  claim:
    'For all 32-bit current and requested badges of an endpoint or notification cap: Mint keeps a non-zero badge unchanged; an unbadged cap (0) gets ' +
    'requested mod 2^28; a badge below 2^28 stays below 2^28 (so every badge ever stored fits in 28 bits); and the result is unbadged exactly when ' +
    'the cap was unbadged and requested mod 2^28 = 0.',
  obligation: (z) => badgeClaim(z, 'code'),
  broken: [
    { name: 'rebadge', change: 'Mint replaces a badge that is already set', obligation: (z) => badgeClaim(z, 'rebadge') },
    { name: 'mask-29-bits', change: 'the badge masked to 29 bits instead of 28', obligation: (z) => badgeClaim(z, 'wide-mask') },
  ],
  mirror: {
    samples: drawSamples(0xbad9e, 300, (next) => [next() % 2 === 0 ? 0 : oneOf(next, [word(next) % 2 ** 28, word(next), ...EDGE_32.slice(0, 4)]), word(next), next() % 2]),
    code: ([current, requested, kind]) => {
      const cap = withBadge(capWithRights(RIGHTS_KINDS[kind!]!, 0xf, current!), requested!);
      return ['badge' in cap ? cap.badge >>> 0 : -1];
    },
    formula: (z, [current, requested]) => [badgeZ(z, k(z, current!), k(z, requested!))],
  },
};

export const RIGHTS_LEMMAS: readonly Lemma[] = [attenuationLemma, badgeLemma];
