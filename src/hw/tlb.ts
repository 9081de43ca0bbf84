/**
 * The TLB: a small, fully associative cache of completed translations, tagged by VMID, ASID
 * and virtual page, with first-in first-out replacement (HW-TLB-1..5).
 *
 * An entry is added only by a walk that succeeded and removed only by a TLBI or by being
 * replaced. Changing a page table or a table base does not touch it: the stale entry stays
 * in effect until invalidated, which is exactly the hazard a supervisor must manage.
 *
 * @module
 */

/** Tag used for the VMID field when stage 2 is off (HW-TLB-2). */
export const NO_VMID = 256;
/** Tag used for the ASID field when stage 1 is off. */
export const NO_ASID = 256;

/** One cached translation. */
export interface TlbEntry {
  /** Lookup key: {@link tlbKey}(vmidTag, asidTag, vpn). */
  readonly key: number;
  readonly vmid: number;
  readonly asid: number;
  readonly vpn: number;
  /** Output physical page number. */
  readonly ppn: number;
  /** Intermediate physical page number (= vpn when stage 1 is off). */
  readonly ipn: number;
  /** Stage-1 leaf flags (all permissions when stage 1 is off). */
  readonly s1: number;
  /** Stage-2 leaf flags (all permissions when stage 2 is off). */
  readonly s2: number;
}

export interface Tlb {
  readonly capacity: number;
  /** `keys[i]` is `entries[i].key`: a flat array of numbers keeps lookup a tight scan. */
  readonly keys: readonly number[];
  readonly entries: readonly TlbEntry[];
  /** Slot the next fill replaces once the TLB is full (FIFO). */
  readonly victim: number;
}

/** Packs the tag of an entry into one exact integer (at most 46 bits; vpn < 2^28). */
export function tlbKey(vmidTag: number, asidTag: number, vpn: number): number {
  return (vmidTag * 512 + asidTag) * 2 ** 28 + vpn;
}

export function emptyTlb(capacity: number): Tlb {
  return { capacity, keys: [], entries: [], victim: 0 };
}

/** Index of the entry with `key`, or -1. */
export function tlbFind(tlb: Tlb, key: number): number {
  const keys = tlb.keys;
  for (let i = 0; i < keys.length; i++) if (keys[i] === key) return i;
  return -1;
}

/** Adds an entry, replacing the oldest when full (HW-TLB-3). */
export function tlbInsert(tlb: Tlb, entry: TlbEntry): Tlb {
  const keys = tlb.keys.slice();
  const entries = tlb.entries.slice();
  if (entries.length < tlb.capacity) {
    keys.push(entry.key);
    entries.push(entry);
    return { capacity: tlb.capacity, keys, entries, victim: tlb.victim };
  }
  keys[tlb.victim] = entry.key;
  entries[tlb.victim] = entry;
  return { capacity: tlb.capacity, keys, entries, victim: (tlb.victim + 1) % tlb.capacity };
}

/** Removes every entry for which `matches` holds (HW-TLB-4). */
export function tlbRemove(tlb: Tlb, matches: (e: TlbEntry) => boolean): Tlb {
  if (!tlb.entries.some(matches)) return tlb;
  // Oldest first, so that FIFO order survives the removal.
  const byAge = tlb.entries.slice(tlb.victim).concat(tlb.entries.slice(0, tlb.victim));
  const kept = byAge.filter((e) => !matches(e));
  return { capacity: tlb.capacity, keys: kept.map((e) => e.key), entries: kept, victim: 0 };
}

/**
 * The entries a TLBI of `scope` with `operand` removes (HW-TLB-4), acting within the guest
 * regime tagged `vmidTag`: `all` every entry of that VMID (every entry at all when issued at
 * EL2), `asid` those of ASID `operand`, `va` those of the page holding address `operand`
 * under any ASID, `vmid` every entry of VMID `operand`.
 */
export function tlbiMatcher(
  scope: 'all' | 'va' | 'asid' | 'vmid',
  operand: number,
  vmidTag: number,
  atEl2: boolean,
  offsetBits: number,
): (e: TlbEntry) => boolean {
  switch (scope) {
    case 'all':
      return atEl2 ? () => true : (e) => e.vmid === vmidTag;
    case 'asid': {
      const asid = operand & 0xff;
      return (e) => e.vmid === vmidTag && e.asid === asid;
    }
    case 'va': {
      const vpn = operand >>> offsetBits;
      return (e) => e.vmid === vmidTag && e.vpn === vpn;
    }
    case 'vmid': {
      const vmid = operand & 0xff;
      return (e) => e.vmid === vmid;
    }
  }
}
