/**
 * Object invocations (MK-ABI-3, MK-ABI-4): a Call (or Send) on a capability to a kernel object other
 * than an endpoint or notification. The label of the message info names the operation, the
 * message registers carry its arguments, r11 a second capability where one is needed; the
 * result comes back as a message whose label is the error code (MK-ABI-4).
 *
 * @module
 */
import { decodeInfo, encodeInfo, ERROR, INVOCATION, MR_COUNT, REG } from './abi.ts';
import {
  allCaps,
  deleteCap,
  deriveCap,
  err,
  insertCap,
  lookupCap,
  maskRights,
  ok,
  revokeCap,
  slotContents,
  slotIn,
  type KResult,
  type SlotRef,
} from './cspace.ts';
import { bindNotification, cancelBadgedSends, setContextRegs, suspendThread, unbindNotification } from './ipc.ts';
import { ackIrq, clearIrqNotification, setIrqNotification } from './irq.ts';
import { stopIfRunningElsewhere } from './scheduler.ts';
import { setThreadState } from './thread.ts';
import { RIGHTS, type Cap, type Cte, type ObjId } from './types.ts';
import { retype } from './untyped.ts';
import { mapFrame, mapPageTable, unmapFrameCap, unmapPageTableCap } from './vspace.ts';
import { getObject, getTcb, setSlot, updateTcb, type Log, type World } from './world.ts';
import { FIRST_SHARED_IRQ } from '../hw/index.ts';

/** "No change" / "none" in an argument that names a CPtr, a CPU or a domain. */
export const NONE = 0xffffffff;

/** Largest badge (28 bits, as seL4). */
export const MAX_BADGE = 0x0fffffff;

/** Largest priority. */
export const MAX_PRIORITY = 255;

interface Call {
  readonly t: ObjId;
  readonly slot: SlotRef;
  readonly cte: Cte;
  readonly label: number;
  readonly args: readonly number[];
  /** CPtr in r11, and whether the message said it carries a cap. */
  readonly xcap: number;
  readonly extraCaps: number;
}

/** Writes the invocation's result to the caller: error code as label, results as MRs (MK-ABI-4). */
function answer(w: World, log: Log, t: ObjId, code: number, words: readonly number[] = []): World {
  const regs: Record<number, number> = { [REG.INFO]: encodeInfo({ label: code, capsUnwrapped: 0, extraCaps: 0, length: words.length }) };
  words.forEach((v, i) => (regs[REG.MR0 + i] = v));
  if (code !== ERROR.NO_ERROR) log.observations.push({ thread: t, kind: 'error', values: [code] });
  return getObject(w.k, t)?.type === 'tcb' ? setContextRegs(w, t, regs) : w;
}

function finish(w: World, log: Log, t: ObjId, r: KResult<World>, words: readonly number[] = []): World {
  return r.ok ? answer(r.value, log, t, ERROR.NO_ERROR, words) : answer(w, log, t, r.error);
}

/** The cap named by r11 in the caller's CSpace. */
function extraCap(w: World, c: Call): KResult<Cte> {
  const found = lookupCap(w.k, c.t, c.xcap);
  return found.ok ? ok(found.value.cte) : err(found.error);
}

/** Performs the invocation `label` on the cap in `slot` for thread `t` (MK-ABI-3). */
export function invoke(w: World, log: Log, t: ObjId, slot: SlotRef, cte: Cte): World {
  const regs = getTcb(w.k, t).context.regs;
  const info = decodeInfo(regs[REG.INFO]!);
  const call: Call = {
    t,
    slot,
    cte,
    label: info.label,
    args: regs.slice(REG.MR0, REG.MR0 + MR_COUNT),
    xcap: regs[REG.XCAP]!,
    extraCaps: info.extraCaps,
  };
  switch (cte.cap.type) {
    case 'untyped':
      return finish(w, log, t, invokeUntyped(w, log, call));
    case 'tcb':
      return invokeTcb(w, log, call, cte.cap.obj);
    case 'cnode':
      return finish(w, log, t, invokeCNode(w, log, call, cte.cap.obj));
    case 'frame':
    case 'pagetable':
      return finish(w, log, t, invokeMapping(w, log, call));
    case 'vspace':
      return answer(w, log, t, ERROR.ILLEGAL_OPERATION);
    case 'irqcontrol':
      return finish(w, log, t, invokeIrqControl(w, log, call));
    case 'irqhandler':
      return finish(w, log, t, invokeIrqHandler(w, call, cte.cap.line));
    case 'endpoint':
    case 'notification':
      return answer(w, log, t, ERROR.ILLEGAL_OPERATION);
  }
}

/** Where Retype and IRQControl_Get put new caps: the CNode in r11 if the message carries a cap, else the caller's CSpace. */
function destCNode(w: World, c: Call): KResult<ObjId> {
  if (c.extraCaps > 0) {
    const x = extraCap(w, c);
    if (!x.ok) return x;
    return x.value.cap.type === 'cnode' ? ok(x.value.cap.obj) : err(ERROR.INVALID_CAPABILITY);
  }
  const cspace = getTcb(w.k, c.t).cspace;
  return cspace === null ? err(ERROR.FAILED_LOOKUP) : ok(cspace);
}

/** Untyped_Retype(type, sizeBits, destIndex, count) (MK-OBJ-2). */
function invokeUntyped(w: World, log: Log, c: Call): KResult<World> {
  if (c.label !== INVOCATION.UNTYPED_RETYPE) return err(ERROR.ILLEGAL_OPERATION);
  const [type = 0, bits = 0, index = 0, count = 0] = c.args;
  const cnode = destCNode(w, c);
  if (!cnode.ok) return cnode;
  if (count < 1 || count > 16) return err(ERROR.RANGE_ERROR);
  const dest: SlotRef[] = [];
  for (let i = 0; i < count; i++) {
    const s = slotIn(w.k, cnode.value, index + i);
    if (!s.ok) return s;
    dest.push(s.value);
  }
  return retype(w, log, c.slot, type, bits, dest, getTcb(w.k, c.t).domain);
}

/** TCB invocations (MK-ABI-3, MK-OBJ-4, MK-OBJ-5). A target running on another CPU is stopped first. */
function invokeTcb(w0: World, log: Log, c: Call, target: ObjId): World {
  const w = stopIfRunningElsewhere(w0, log, target);
  const a = c.args;
  const tcb = getTcb(w.k, target);
  switch (c.label) {
    case INVOCATION.TCB_CONFIGURE:
      return finish(w, log, c.t, configure(w, c, target));
    case INVOCATION.TCB_SET_PRIORITY:
      if (a[0]! > MAX_PRIORITY) return answer(w, log, c.t, ERROR.RANGE_ERROR);
      return answer(updateTcb(w, target, { priority: a[0]! }), log, c.t, ERROR.NO_ERROR);
    case INVOCATION.TCB_RESUME:
      if (tcb.state.kind !== 'inactive') return answer(w, log, c.t, ERROR.NO_ERROR);
      return answer(setThreadState(w, log, target, { kind: 'restart' }, 'RESUME'), log, c.t, ERROR.NO_ERROR);
    case INVOCATION.TCB_SUSPEND:
      return answer(suspendThread(w, log, target), log, c.t, ERROR.NO_ERROR);
    case INVOCATION.TCB_READ_REGISTERS: {
      const [first = 0, count = 0] = a;
      if (count > MR_COUNT || first + count > 16) return answer(w, log, c.t, ERROR.RANGE_ERROR);
      const values = Array.from({ length: count }, (_, i) => (first + i === 0 ? tcb.context.pc : tcb.context.regs[first + i]!));
      return answer(w, log, c.t, ERROR.NO_ERROR, values);
    }
    case INVOCATION.TCB_WRITE_REGISTERS: {
      const [first = 0, count = 0] = a;
      if (count > MR_COUNT - 2 || first + count > 16) return answer(w, log, c.t, ERROR.RANGE_ERROR);
      const regs = tcb.context.regs.slice();
      let pc = tcb.context.pc;
      for (let i = 0; i < count; i++) {
        const r = first + i;
        if (r === 0) pc = a[2 + i]!;
        else regs[r] = a[2 + i]!;
      }
      return answer(updateTcb(w, target, { context: { ...tcb.context, regs, pc, restartPc: pc } }), log, c.t, ERROR.NO_ERROR);
    }
    case INVOCATION.TCB_BIND_NOTIFICATION: {
      const x = extraCap(w, c);
      if (!x.ok) return answer(w, log, c.t, x.error);
      if (x.value.cap.type !== 'notification' || (x.value.cap.rights & RIGHTS.R) === 0) return answer(w, log, c.t, ERROR.INVALID_CAPABILITY);
      const bound = bindNotification(w, target, x.value.cap.obj);
      return typeof bound === 'number' ? answer(w, log, c.t, bound) : answer(bound, log, c.t, ERROR.NO_ERROR);
    }
    case INVOCATION.TCB_UNBIND_NOTIFICATION:
      return answer(unbindNotification(w, target), log, c.t, ERROR.NO_ERROR);
    default:
      return answer(w, log, c.t, ERROR.ILLEGAL_OPERATION);
  }
}

/** TCB_Configure(faultEp, cspace, vspace, cpu, domain): each NONE leaves that field (MK-ABI-3). */
function configure(w: World, c: Call, target: ObjId): KResult<World> {
  const [faultEp = NONE, cspaceCptr = NONE, vspaceCptr = NONE, cpu = NONE, domain = NONE] = c.args;
  const tcb = getTcb(w.k, target);
  let cspace = tcb.cspace;
  let vspace = tcb.vspace;
  if (cspaceCptr !== NONE) {
    const found = lookupCap(w.k, c.t, cspaceCptr);
    if (!found.ok) return err(found.error);
    if (found.value.cte.cap.type !== 'cnode') return err(ERROR.INVALID_CAPABILITY);
    cspace = found.value.cte.cap.obj;
  }
  if (vspaceCptr !== NONE) {
    const found = lookupCap(w.k, c.t, vspaceCptr);
    if (!found.ok) return err(found.error);
    if (found.value.cte.cap.type !== 'vspace') return err(ERROR.INVALID_CAPABILITY);
    vspace = found.value.cte.cap.obj;
  }
  if (cpu !== NONE && cpu >= w.m.cpus.length) return err(ERROR.RANGE_ERROR);
  if (domain !== NONE && domain >= Math.max(1, w.k.config.domainNames.length)) return err(ERROR.RANGE_ERROR);
  // MK-ABI-3, MK-PROP-3: a thread can be moved only into its mover's own domain. Moving it
  // into another domain would change that domain's view, which the mover may have no
  // authority over (seL4 reserves setting a domain to the holder of the domain capability).
  if (domain !== NONE && domain !== getTcb(w.k, c.t).domain) return err(ERROR.ILLEGAL_OPERATION);
  return ok(
    updateTcb(w, target, {
      faultEndpoint: faultEp === NONE ? null : faultEp,
      cspace,
      vspace,
      affinity: cpu === NONE ? tcb.affinity : cpu,
      domain: domain === NONE ? tcb.domain : domain,
    }),
  );
}

/** CNode invocations (MK-ABI-3, MK-CAP-4..9). The source of Copy/Mint/Move is the CNode in r11 if the message carries a cap, else this one. */
function invokeCNode(w: World, log: Log, c: Call, cnode: ObjId): KResult<World> {
  const [a0 = 0, a1 = 0, a2 = 0, a3 = 0] = c.args;
  const here = slotIn(w.k, cnode, a0);
  if (!here.ok) return here;
  switch (c.label) {
    case INVOCATION.CNODE_DELETE:
      return ok(deleteCap(w, log, here.value));
    case INVOCATION.CNODE_REVOKE:
      return ok(revokeCap(w, log, here.value));
    case INVOCATION.CNODE_CANCEL_BADGED_SENDS: {
      const cap = slotContents(w.k, here.value)?.cap;
      if (cap?.type !== 'endpoint') return err(ERROR.ILLEGAL_OPERATION);
      return ok(cap.badge === 0 ? w : cancelBadgedSends(w, log, cap.obj, cap.badge));
    }
    case INVOCATION.CNODE_COPY:
    case INVOCATION.CNODE_MINT:
    case INVOCATION.CNODE_MOVE: {
      let srcNode = cnode;
      if (c.extraCaps > 0) {
        const x = extraCap(w, c);
        if (!x.ok) return x;
        if (x.value.cap.type !== 'cnode') return err(ERROR.INVALID_CAPABILITY);
        srcNode = x.value.cap.obj;
      }
      const from = slotIn(w.k, srcNode, a1);
      if (!from.ok) return from;
      const src = slotContents(w.k, from.value);
      if (src === null) return err(ERROR.FAILED_LOOKUP);
      if (slotContents(w.k, here.value) !== null) return err(ERROR.DELETE_FIRST);
      if (c.label === INVOCATION.CNODE_MOVE) {
        const k = setSlot(setSlot(w.k, from.value.cnode, from.value.index, null), here.value.cnode, here.value.index, src);
        return ok({ ...w, k });
      }
      const derived = deriveCap(maskRights(src.cap, a2));
      if (!derived.ok) return derived;
      const cap = c.label === INVOCATION.CNODE_MINT ? withBadge(derived.value, a3) : derived.value;
      return ok({ ...w, k: insertCap(w.k, here.value, cap, src.id) });
    }
    default:
      return err(ERROR.ILLEGAL_OPERATION);
  }
}

/** MK-CAP-6: Mint sets the badge of an unbadged endpoint or notification cap; a badge is never changed. */
export function withBadge(cap: Cap, badge: number): Cap {
  if ((cap.type === 'endpoint' || cap.type === 'notification') && cap.badge === 0) return { ...cap, badge: badge & MAX_BADGE };
  return cap;
}

/** Frame_Map/Unmap and PageTable_Map/Unmap (MK-VM-3..6). */
function invokeMapping(w: World, log: Log, c: Call): KResult<World> {
  const cap = c.cte.cap;
  const store = (world: World, next: Cap): World => ({ ...world, k: setSlot(world.k, c.slot.cnode, c.slot.index, { ...c.cte, cap: next }) });
  const unmap = c.label === INVOCATION.FRAME_UNMAP || c.label === INVOCATION.PAGETABLE_UNMAP;
  if (cap.type === 'frame' && c.label === INVOCATION.FRAME_UNMAP) return ok(store(unmapFrameCap(w, log, cap), { ...cap, mapping: null }));
  if (cap.type === 'pagetable' && c.label === INVOCATION.PAGETABLE_UNMAP) return ok(store(unmapPageTableCap(w, log, cap), { ...cap, mapping: null }));
  if (unmap) return err(ERROR.ILLEGAL_OPERATION);
  const x = extraCap(w, c);
  if (!x.ok) return x;
  if (x.value.cap.type !== 'vspace') return err(ERROR.INVALID_CAPABILITY);
  const vspace = x.value.cap.obj;
  const [va = 0, attrs = 0] = c.args;
  // MK-VM-5: the table must be unmapped, not only this cap: a copy of the cap may have mapped
  // it already, and one table in two places would map frames where no frame cap records it.
  if (cap.type === 'pagetable' && c.label === INVOCATION.PAGETABLE_MAP && tableMapped(w, cap.obj)) return err(ERROR.ILLEGAL_OPERATION);
  const r =
    cap.type === 'frame' && c.label === INVOCATION.FRAME_MAP
      ? mapFrame(w, log, cap, vspace, va, attrs)
      : cap.type === 'pagetable' && c.label === INVOCATION.PAGETABLE_MAP
        ? mapPageTable(w, log, cap, vspace, va)
        : err<{ w: World; cap: Cap }>(ERROR.ILLEGAL_OPERATION);
  return r.ok ? ok(store(r.value.w, r.value.cap)) : r;
}

/** Whether any cap to page table `pt` holds a mapping of it. */
function tableMapped(w: World, pt: ObjId): boolean {
  return allCaps(w.k).some(({ cte }) => cte.cap.type === 'pagetable' && cte.cap.obj === pt && cte.cap.mapping !== null);
}

/** IRQControl_Get(line, destIndex) (MK-IRQ-1). */
function invokeIrqControl(w: World, _log: Log, c: Call): KResult<World> {
  if (c.label !== INVOCATION.IRQ_CONTROL_GET) return err(ERROR.ILLEGAL_OPERATION);
  const [line = 0, index = 0] = c.args;
  if (line < FIRST_SHARED_IRQ || line >= w.m.geometry.config.irqLines) return err(ERROR.RANGE_ERROR);
  if (w.k.irqs[line]?.issued) return err(ERROR.REVOKE_FIRST);
  const cnode = destCNode(w, c);
  if (!cnode.ok) return cnode;
  const dest = slotIn(w.k, cnode.value, index);
  if (!dest.ok) return dest;
  if (slotContents(w.k, dest.value) !== null) return err(ERROR.DELETE_FIRST);
  const irqs = w.k.irqs.slice();
  irqs[line] = { issued: true, target: null };
  return ok({ ...w, k: insertCap({ ...w.k, irqs }, dest.value, { type: 'irqhandler', line }, c.cte.id) });
}

/** IRQHandler_SetNotification / Ack / Clear (MK-IRQ-2..3). */
function invokeIrqHandler(w: World, c: Call, line: number): KResult<World> {
  switch (c.label) {
    case INVOCATION.IRQ_HANDLER_SET_NOTIFICATION: {
      const x = extraCap(w, c);
      if (!x.ok) return x;
      const cap = x.value.cap;
      if (cap.type !== 'notification' || (cap.rights & RIGHTS.W) === 0) return err(ERROR.INVALID_CAPABILITY);
      return ok(setIrqNotification(w, line, cap.obj, cap.badge));
    }
    case INVOCATION.IRQ_HANDLER_ACK:
      return ok(ackIrq(w, line));
    case INVOCATION.IRQ_HANDLER_CLEAR:
      return ok(clearIrqNotification(w, line));
    default:
      return err(ERROR.ILLEGAL_OPERATION);
  }
}
