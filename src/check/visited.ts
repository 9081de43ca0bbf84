/**
 * The model checker's visited set (CHK-FP-2): 64-bit fingerprints in an open-addressing hash
 * table over one Uint32Array — 8 bytes a slot, kept at most half full, so about 16 bytes a
 * state: 20 million states fit in a third of a gigabyte. Each fingerprint gets a dense id in
 * the order it was added, which the explorer uses to index its parent links.
 *
 * @module
 */

/** The all-zero fingerprint marks an empty slot; a real one that is all zero is stored as (0, 1). */
const EMPTY = 0;

export class FingerprintSet {
  private slots: Uint32Array;
  private ids: Int32Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1 << 16) {
    let capacity = 16;
    while (capacity < initialCapacity * 2) capacity *= 2;
    this.slots = new Uint32Array(capacity * 2);
    this.ids = new Int32Array(capacity);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes the table holds. */
  get bytes(): number {
    return this.slots.byteLength + this.ids.byteLength;
  }

  /** Adds (a, b); returns its new id, or -1 - (the existing id) if it was there already. */
  add(a: number, b: number): number {
    if (a === EMPTY && b === EMPTY) b = 1;
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    let i = (Math.imul(a ^ (b >>> 7), 0x9e3779b1) >>> 0) & this.mask;
    for (;;) {
      const sa = this.slots[2 * i]!;
      const sb = this.slots[2 * i + 1]!;
      if (sa === EMPTY && sb === EMPTY) {
        this.slots[2 * i] = a;
        this.slots[2 * i + 1] = b;
        this.ids[i] = this.count;
        return this.count++;
      }
      if (sa === a >>> 0 && sb === b >>> 0) return -1 - this.ids[i]!;
      i = (i + 1) & this.mask;
    }
  }

  has(a: number, b: number): boolean {
    if (a === EMPTY && b === EMPTY) b = 1;
    let i = (Math.imul(a ^ (b >>> 7), 0x9e3779b1) >>> 0) & this.mask;
    for (;;) {
      const sa = this.slots[2 * i]!;
      const sb = this.slots[2 * i + 1]!;
      if (sa === EMPTY && sb === EMPTY) return false;
      if (sa === a >>> 0 && sb === b >>> 0) return true;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    const oldIds = this.ids;
    const capacity = (this.mask + 1) * 2;
    this.slots = new Uint32Array(capacity * 2);
    this.ids = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let j = 0; j < oldIds.length; j++) {
      const a = old[2 * j]!;
      const b = old[2 * j + 1]!;
      if (a === EMPTY && b === EMPTY) continue;
      let i = (Math.imul(a ^ (b >>> 7), 0x9e3779b1) >>> 0) & this.mask;
      while (this.slots[2 * i] !== EMPTY || this.slots[2 * i + 1] !== EMPTY) i = (i + 1) & this.mask;
      this.slots[2 * i] = a;
      this.slots[2 * i + 1] = b;
      this.ids[i] = oldIds[j]!;
    }
  }
}
