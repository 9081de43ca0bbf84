/**
 * DMA through the IOMMU (HW-IOMMU-1..5). A device reaches memory only through its own
 * translation table: no table, no DMA; a device-visible address (IOVA) is translated with the
 * same radix format as the MMU, a read needs P, a write needs P and W, and the result must
 * be RAM (no device-to-device DMA). A transfer is all or nothing: every page is translated
 * before any word moves, so a fault leaves memory unchanged.
 *
 * @module
 */
import type { PrimitiveOp } from '../perf/ops.ts';
import type { Machine } from './machine.ts';
import { readWord, writeWord, type WordStore } from './memory.ts';
import { PTE, walk } from './mmu.ts';

/** A transfer that did not happen, with the first IOVA that could not be reached. */
export interface DmaFault {
  readonly ok: false;
  readonly iova: number;
  readonly ops: readonly PrimitiveOp[];
}

/** The physical word index of each word of the transfer, or the first fault (HW-IOMMU-2..4). */
function translateTransfer(
  m: Machine,
  device: number,
  iova: number,
  count: number,
  write: boolean,
): { ok: true; words: number[]; ops: PrimitiveOp[] } | DmaFault {
  const ops: PrimitiveOp[] = [];
  const root = m.iommu.roots[device] ?? -1;
  const geo = m.geometry;
  const fault = (at: number): DmaFault => ({ ok: false, iova: at >>> 0, ops });
  if (root < 0) return fault(iova);
  if (iova % 4 !== 0) return fault(iova);
  const need = write ? PTE.P | PTE.W : PTE.P;
  const words: number[] = new Array<number>(count);
  let pageBase = -1;
  let pageStart = 0;
  for (let i = 0; i < count; i++) {
    const at = iova + 4 * i;
    if (at >= 2 ** 32) return fault(at);
    const page = Math.floor(at / geo.pageBytes);
    if (page !== pageBase) {
      const w = walk(geo, m.memory, root, at);
      for (let r = 0; r < w.reads; r++) ops.push('iommuWalkStep');
      if (!w.ok || (w.flags & need) !== need || w.page >= geo.config.frames) return fault(at);
      pageBase = page;
      pageStart = w.page * geo.pageBytes;
    }
    words[i] = (pageStart + (at % geo.pageBytes)) >>> 2;
  }
  for (let i = 0; i < count; i++) ops.push('dmaWord');
  return { ok: true, words, ops };
}

/** Device `device` reads `count` words from memory at `iova`. */
export function dmaRead(
  m: Machine,
  device: number,
  iova: number,
  count: number,
): { readonly ok: true; readonly data: readonly number[]; readonly ops: readonly PrimitiveOp[] } | DmaFault {
  const t = translateTransfer(m, device, iova, count, false);
  if (!t.ok) return t;
  return { ok: true, data: t.words.map((w) => readWord(m.memory, w)), ops: t.ops };
}

/** Device `device` writes `data` to memory at `iova`. */
export function dmaWrite(
  m: Machine,
  device: number,
  iova: number,
  data: readonly number[],
): { readonly ok: true; readonly memory: WordStore; readonly ops: readonly PrimitiveOp[] } | DmaFault {
  const t = translateTransfer(m, device, iova, data.length, true);
  if (!t.ok) return t;
  let memory = m.memory;
  for (let i = 0; i < data.length; i++) memory = writeWord(memory, t.words[i]!, data[i]!);
  return { ok: true, memory, ops: t.ops };
}

/** Points device `device`'s IOMMU table at frame `rootPpn`, or at nothing with -1 (HW-IOMMU-1). */
export function setIommuRoot(m: Machine, device: number, rootPpn: number): Machine {
  if (!Number.isInteger(device) || device < 0 || device >= m.iommu.roots.length) return m;
  const valid = Number.isInteger(rootPpn) && rootPpn >= 0 && rootPpn < m.geometry.config.frames;
  const roots = m.iommu.roots.slice();
  roots[device] = valid ? rootPpn : -1;
  return { ...m, iommu: { roots } };
}
