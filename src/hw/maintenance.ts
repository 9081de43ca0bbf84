/**
 * Operations a supervisor written as a pure function performs on the machine while it
 * handles a trap — what its handler code would do with a TLBI instruction. Each is the same
 * rule the instruction obeys (HW-TLB-4), applied directly.
 *
 * @module
 */
import type { TlbiScope } from './isa/instruction.ts';
import type { Machine } from './machine.ts';
import { tlbiMatcher, tlbRemove, NO_VMID } from './tlb.ts';

/**
 * TLBI from a supervisor (HW-TLB-4): removes the entries of `scope`/`operand` in the guest
 * regime tagged `vmidTag` (NO_VMID when stage 2 is off), on CPU `cpu` or, with
 * `broadcast`, on every CPU — exactly as `tlbi[.is]` executed at EL1 (or EL2 with `atEl2`).
 */
export function invalidateTlb(
  m: Machine,
  cpu: number,
  scope: TlbiScope,
  operand: number,
  broadcast: boolean,
  vmidTag: number = NO_VMID,
  atEl2 = false,
): Machine {
  const matches = tlbiMatcher(scope, operand, vmidTag, atEl2, m.geometry.offsetBits);
  const cpus = m.cpus.map((c, i) => (broadcast || i === cpu ? { ...c, tlb: tlbRemove(c.tlb, matches) } : c));
  return { ...m, cpus };
}
