/**
 * Devices (HV-DEV-1..4). Every domain sees two emulated devices in pages of its physical
 * address space that stage 2 leaves unmapped, so each access exits to the hypervisor's
 * device model: a UART (its output is the domain's console) and a block device carved out of
 * the machine's disk by the domain's storage quota, whose DMA the device model performs
 * through the IOMMU with the domain's own stage-2 table — so it reaches only that domain's
 * memory, its granted mappings included. A machine device may instead be assigned to one
 * domain: its register page is mapped into the domain, the IOMMU uses the domain's stage-2
 * table, and its interrupt is delivered to the domain as an event.
 *
 * @module
 */
import { BLOCK_CMD, BLOCK_REG, BLOCK_STATUS, configureLine, deviceRead, deviceWrite, setIommuRoot } from '../hw/index.ts';
import { ERRNO } from './abi.ts';
import { s2Map } from './memory.ts';
import { openPort } from './events.ts';
import type { DomId, VblkRegs } from './types.ts';
import { getDomain, updateDomain, type HvLog, type HvWorld } from './world.ts';

/** UART registers (word offsets): DATA (write a character), STATUS (reads 1). */
export const UART_REG = { DATA: 0, STATUS: 1 } as const;

/** The emulated block device's registers: as the machine's block device (HV-DEV-1). */
export const VBLK_REG = BLOCK_REG;

/** Which emulated device, if any, a guest-physical address falls in. */
export function emulatedDevice(w: HvWorld, ipa: number): { device: 'uart' | 'vblk'; reg: number } | null {
  const pageBytes = w.m.geometry.pageBytes;
  const page = Math.floor(ipa / pageBytes);
  const reg = (ipa % pageBytes) >>> 2;
  if (page === Math.floor(w.h.config.uartIpa / pageBytes)) return { device: 'uart', reg };
  if (page === Math.floor(w.h.config.vblkIpa / pageBytes)) return { device: 'vblk', reg };
  return null;
}

/** A load from an emulated register (HV-DEV-1). */
export function emulatedRead(w: HvWorld, d: DomId, device: 'uart' | 'vblk', reg: number): number {
  if (device === 'uart') return reg === UART_REG.STATUS ? 1 : 0;
  const v = vblkOf(w, d);
  switch (reg) {
    case VBLK_REG.SECTOR:
      return v.sector;
    case VBLK_REG.ADDR:
      return v.addr;
    case VBLK_REG.COUNT:
      return v.count;
    case VBLK_REG.STATUS:
      return v.status;
    default:
      return 0;
  }
}

function vblkOf(w: HvWorld, d: DomId): VblkRegs {
  return getDomain(w.h, d)?.vblk ?? { sector: 0, addr: 0, count: 0, status: BLOCK_STATUS.IDLE };
}

/** A store to an emulated register (HV-DEV-1). */
export function emulatedWrite(w: HvWorld, log: HvLog, d: DomId, vcpu: number, device: 'uart' | 'vblk', reg: number, value: number): HvWorld {
  if (device === 'uart') {
    if (reg !== UART_REG.DATA) return w;
    const dom = getDomain(w.h, d)!;
    log.observations.push({ dom: d, vcpu, kind: 'console', values: [value & 0xff] });
    return updateDomain(w, d, { console: dom.console + String.fromCharCode(value & 0xff) });
  }
  const v = vblkOf(w, d);
  switch (reg) {
    case VBLK_REG.SECTOR:
      return updateDomain(w, d, { vblk: { ...v, sector: value } });
    case VBLK_REG.ADDR:
      return updateDomain(w, d, { vblk: { ...v, addr: value } });
    case VBLK_REG.COUNT:
      return updateDomain(w, d, { vblk: { ...v, count: value } });
    case VBLK_REG.ACK:
      return updateDomain(w, d, { vblk: { ...v, status: BLOCK_STATUS.IDLE } });
    case VBLK_REG.CMD:
      return blockCommand(w, log, d, v, value);
    default:
      return w;
  }
}

/**
 * The machine's disk sector where a domain's command for `count` sectors from its own sector
 * `sector` starts, or null when they are not all inside its allowance `storage` (HV-MEM-5).
 */
export function storageSector(storage: { readonly first: number; readonly count: number }, sector: number, count: number): number | null {
  if (count < 1 || sector + count > storage.count) return null;
  return storage.first + sector;
}

/**
 * Runs a command of domain `d`'s emulated block device on the machine's block device
 * (HV-DEV-1, HV-MEM-5): sectors are relative to the domain's storage allowance and must lie
 * in it; the DMA goes through the IOMMU with the domain's stage-2 table as its table, so it
 * reaches only memory the domain has mapped, and writable only where it may write.
 */
function blockCommand(w: HvWorld, log: HvLog, d: DomId, v: VblkRegs, command: number): HvWorld {
  const dom = getDomain(w.h, d)!;
  const dev = w.h.config.blockDevice;
  const done = (world: HvWorld, status: number) => updateDomain(world, d, { vblk: { ...v, status } });
  if (dev < 0) return done(w, BLOCK_STATUS.BAD_COMMAND);
  if (command !== BLOCK_CMD.READ && command !== BLOCK_CMD.WRITE) return done(w, BLOCK_STATUS.BAD_COMMAND);
  const sector = storageSector(dom.storage, v.sector, v.count);
  if (sector === null) return done(w, BLOCK_STATUS.RANGE_ERROR);
  let m = setIommuRoot(w.m, dev, dom.s2root);
  for (const [reg, value] of [
    [BLOCK_REG.SECTOR, sector],
    [BLOCK_REG.ADDR, v.addr],
    [BLOCK_REG.COUNT, v.count],
    [BLOCK_REG.CMD, command],
  ] as const) {
    const r = deviceWrite(m, dev, reg, value);
    log.ops.push('mmioAccess', ...r.ops);
    m = r.machine;
  }
  const status = deviceRead(m, dev, BLOCK_REG.STATUS);
  m = deviceWrite(m, dev, BLOCK_REG.ACK, 0).machine;
  // The device's completion interrupt is the device model's; nothing is left pending for the line.
  m = { ...setIommuRoot(m, dev, -1), gic: { ...m.gic, pending: (m.gic.pending & ~(1 << blockIrq(w, dev))) >>> 0 } };
  return done({ ...w, m }, status);
}

function blockIrq(w: HvWorld, dev: number): number {
  const cfg = w.m.geometry.config.devices[dev];
  return cfg === undefined ? 31 : cfg.irq;
}

/**
 * Assigns machine device `dev` to domain `d` (HV-DEV-2): its register page mapped at `gfn`,
 * its DMA translated by the domain's stage-2 table, its interrupt delivered to a new port of
 * the domain (returned).
 */
export function assignDevice(w: HvWorld, log: HvLog, d: DomId, dev: number, gfn: number): { w: HvWorld; port: number } | number {
  const dom = getDomain(w.h, d);
  const cfg = w.m.geometry.config.devices[dev];
  if (dom === null) return ERRNO.ESRCH;
  if (cfg === undefined || dev === w.h.config.blockDevice) return ERRNO.EINVAL;
  if (w.h.domains.some((o) => o !== null && o.lifecycle !== 'destroyed' && o.devices.includes(dev))) return ERRNO.EBUSY;
  const mapped = s2Map(w, log, d, gfn, w.m.geometry.firstDevicePage + dev, true, false);
  if (typeof mapped === 'number') return mapped;
  const opened = openPort(mapped, d, { kind: 'pirq', line: cfg.irq });
  if (typeof opened === 'number') return opened;
  let world = updateDomain(opened.w, d, { devices: [...getDomain(opened.w.h, d)!.devices, dev] });
  const pirqs = world.h.pirqs.slice();
  pirqs[cfg.irq] = { dom: d, port: opened.port };
  const m = setIommuRoot(world.m, dev, dom.s2root);
  world = { m: { ...m, gic: configureLine(m.gic, cfg.irq, true, 0) }, h: { ...world.h, pirqs } };
  return { w: world, port: opened.port };
}
