/**
 * Synchronous IPC through endpoints, call and reply, notifications, and fault delivery
 * (MK-IPC-1..10, MK-NTFN-1..4, MK-FAULT-1..3). The structure and the names follow seL4's
 * `sendIPC`, `receiveIPC`, `doReplyTransfer`, `sendSignal`, `receiveSignal`, `cancelIPC`,
 * `cancelAllIPC` and `cancelBadgedSends`.
 *
 * @module
 */
import { decodeInfo, encodeInfo, ERROR, MR_COUNT, REG } from './abi.ts';
import { deriveCap, insertCap, lookupCap, lookupSlot, slotContents } from './cspace.ts';
import { setThreadState } from './thread.ts';
import { RIGHTS, type Cap, type Endpoint, type FaultMessage, type Notification, type ObjId, type Tcb } from './types.ts';
import { getObject, getTcb, setObject, updateTcb, type Log, type World } from './world.ts';

function endpoint(w: World, id: ObjId): Endpoint {
  const o = getObject(w.k, id);
  if (o?.type !== 'endpoint') throw new Error(`kernel: object ${id} is not an endpoint`);
  return o;
}

function notification(w: World, id: ObjId): Notification {
  const o = getObject(w.k, id);
  if (o?.type !== 'notification') throw new Error(`kernel: object ${id} is not a notification`);
  return o;
}

function setQueue(w: World, ep: ObjId, threads: readonly ObjId[], kind: 'send' | 'recv'): World {
  const queue = threads.length === 0 ? ({ kind: 'idle' } as const) : { kind, threads };
  return { ...w, k: setObject(w.k, ep, { ...endpoint(w, ep), queue }) };
}

/** Writes registers of a (not running) thread's saved context. */
export function setContextRegs(w: World, t: ObjId, values: Readonly<Record<number, number>>): World {
  const tcb = getTcb(w.k, t);
  const regs = tcb.context.regs.slice();
  for (const [r, v] of Object.entries(values)) if (Number(r) !== 0) regs[Number(r)] = v >>> 0;
  return updateTcb(w, t, { context: { ...tcb.context, regs } });
}

/** The message a sender offers: its fault message, or its registers (MK-IPC-3). */
function outgoing(tcb: Tcb): { label: number; words: number[]; extraCaps: number } {
  if (tcb.fault !== null) return { label: tcb.fault.label, words: tcb.fault.words.slice(0, MR_COUNT), extraCaps: 0 };
  const info = decodeInfo(tcb.context.regs[REG.INFO]!);
  const length = Math.min(info.length, MR_COUNT);
  return { label: info.label, words: tcb.context.regs.slice(REG.MR0, REG.MR0 + length), extraCaps: info.extraCaps };
}

/**
 * Moves one capability from `sender` to `receiver` (MK-IPC-5): only with Grant; an endpoint
 * cap to the endpoint carrying the message is unwrapped to its badge instead; otherwise the
 * cap is derived into the receiver's receive slot, which must be empty. Anything missing
 * means no cap moves — the message still does.
 */
function transferCap(w: World, sender: ObjId, receiver: ObjId, via: ObjId | null): { w: World; extraCaps: number; unwrapped: number | null } {
  const none = { w, extraCaps: 0, unwrapped: null };
  const s = getTcb(w.k, sender);
  const found = lookupCap(w.k, sender, s.context.regs[REG.XCAP]!);
  if (!found.ok) return none;
  const cap: Cap = found.value.cte.cap;
  if (via !== null && cap.type === 'endpoint' && cap.obj === via && cap.badge !== 0) {
    // seL4 counts an unwrapped cap in extraCaps and marks it in capsUnwrapped.
    return { w, extraCaps: 1, unwrapped: cap.badge };
  }
  const r = getTcb(w.k, receiver);
  if (r.receiveSlot === null) return none;
  const slot = lookupSlot(w.k, receiver, r.receiveSlot);
  if (!slot.ok || slot.value === null || slotContents(w.k, slot.value) !== null) return none;
  const derived = deriveCap(cap);
  if (!derived.ok) return none;
  return { w: { ...w, k: insertCap(w.k, slot.value, derived.value, found.value.cte.id) }, extraCaps: 1, unwrapped: null };
}

/**
 * Copies the message from `sender` to `receiver` (MK-IPC-3, seL4's doIPCTransfer): badge
 * into r1, message info into r2, the words into MR0.., a cap when `grant` (MK-IPC-5).
 * `via` is the endpoint the message travels through (null for a reply).
 */
function transfer(w: World, log: Log, sender: ObjId, receiver: ObjId, badge: number, grant: boolean, via: ObjId | null): World {
  const msg = outgoing(getTcb(w.k, sender));
  let world = w;
  let extraCaps = 0;
  let unwrapped: number | null = null;
  if (msg.extraCaps > 0 && grant) {
    const t = transferCap(world, sender, receiver, via);
    world = t.w;
    extraCaps = t.extraCaps;
    unwrapped = t.unwrapped;
  }
  const regs: Record<number, number> = {
    [REG.BADGE]: badge,
    [REG.INFO]: encodeInfo({ label: msg.label, capsUnwrapped: unwrapped === null ? 0 : 1, extraCaps, length: msg.words.length }),
  };
  msg.words.forEach((v, i) => (regs[REG.MR0 + i] = v));
  if (unwrapped !== null) regs[REG.XCAP] = unwrapped;
  for (let i = 0; i < msg.words.length; i++) log.ops.push('wordCopy');
  log.observations.push({ thread: receiver, kind: 'message', values: [badge, msg.label, ...msg.words] });
  return setContextRegs(world, receiver, regs);
}

/** After a Call (or fault) is delivered: the caller waits for the reply, or stops if it may not get one. */
function afterCallDelivered(w: World, log: Log, caller: ObjId, receiver: ObjId, canGrant: boolean, canGrantReply: boolean, receiverGrant: boolean): World {
  if (!(canGrant || canGrantReply)) return setThreadState(w, log, caller, { kind: 'inactive' }, 'CALL_WITHOUT_REPLY');
  // MK-IPC-6: the receiver gets a one-shot reply right; an unused older one is dropped (its caller stays blocked, as in seL4).
  const world = updateTcb(w, receiver, { caller: { caller, canGrant: receiverGrant } });
  return setThreadState(world, log, caller, { kind: 'blockedOnReply' }, 'BLOCK_REPLY');
}

export interface SendOptions {
  readonly badge: number;
  readonly canGrant: boolean;
  readonly canGrantReply: boolean;
  readonly blocking: boolean;
  readonly isCall: boolean;
}

/** Send, NBSend or Call on endpoint `ep` by thread `t` (MK-IPC-2, seL4's sendIPC). */
export function sendIpc(w: World, log: Log, t: ObjId, ep: ObjId, o: SendOptions): World {
  const e = endpoint(w, ep);
  if (e.queue.kind === 'recv') {
    const [dest, ...rest] = e.queue.threads as [ObjId, ...ObjId[]];
    const destState = getTcb(w.k, dest).state;
    const receiverGrant = destState.kind === 'blockedOnReceive' && destState.canGrant;
    let world = setQueue(w, ep, rest, 'recv');
    world = transfer(world, log, t, dest, o.badge, o.canGrant, ep);
    world = setThreadState(world, log, dest, { kind: 'running' }, 'COMPLETE');
    const faulting = getTcb(world.k, t).fault !== null;
    if (o.isCall || faulting) world = afterCallDelivered(world, log, t, dest, o.canGrant, o.canGrantReply, receiverGrant);
    return world;
  }
  if (!o.blocking) return w; // MK-IPC-7: NBSend with no receiver waiting is dropped.
  const queued = e.queue.kind === 'send' ? e.queue.threads : [];
  const world = setThreadState(
    w,
    log,
    t,
    { kind: 'blockedOnSend', endpoint: ep, badge: o.badge, canGrant: o.canGrant, canGrantReply: o.canGrantReply, isCall: o.isCall, fault: getTcb(w.k, t).fault },
    'BLOCK_SEND',
  );
  return setQueue(world, ep, [...queued, t], 'send');
}

/** Delivers a pending bound-notification signal to `t` instead of a message (MK-NTFN-3). */
function takeBoundSignal(w: World, log: Log, t: ObjId): World | null {
  const bound = getTcb(w.k, t).boundNotification;
  if (bound === null) return null;
  const n = notification(w, bound);
  if (n.word === 0) return null;
  log.observations.push({ thread: t, kind: 'signal', values: [n.word] });
  const world = { ...w, k: setObject(w.k, bound, { ...n, word: 0 }) };
  return setContextRegs(world, t, { [REG.BADGE]: n.word, [REG.INFO]: 0 });
}

/** Recv or NBRecv on endpoint cap `cap` by thread `t` (MK-IPC-2, seL4's receiveIPC). */
export function receiveIpc(w: World, log: Log, t: ObjId, cap: Extract<Cap, { type: 'endpoint' }>, blocking: boolean): World {
  const signalled = takeBoundSignal(w, log, t);
  if (signalled !== null) return signalled;
  const ep = cap.obj;
  const canGrant = (cap.rights & RIGHTS.G) !== 0;
  let world = updateTcb(w, t, { receiveSlot: getTcb(w.k, t).context.regs[REG.XCAP]! });
  const e = endpoint(world, ep);
  if (e.queue.kind === 'send') {
    const [sender, ...rest] = e.queue.threads as [ObjId, ...ObjId[]];
    const st = getTcb(world.k, sender).state;
    if (st.kind !== 'blockedOnSend') throw new Error(`kernel: thread ${sender} queued to send is ${st.kind}`);
    world = setQueue(world, ep, rest, 'send');
    world = transfer(world, log, sender, t, st.badge, st.canGrant, ep);
    if (st.isCall || st.fault !== null) return afterCallDelivered(world, log, sender, t, st.canGrant, st.canGrantReply, canGrant);
    return setThreadState(world, log, sender, { kind: 'running' }, 'COMPLETE');
  }
  if (!blocking) return setContextRegs(world, t, { [REG.BADGE]: 0, [REG.INFO]: 0 }); // MK-IPC-7
  const queued = e.queue.kind === 'recv' ? e.queue.threads : [];
  world = setThreadState(world, log, t, { kind: 'blockedOnReceive', endpoint: ep, canGrant }, 'BLOCK_RECEIVE');
  return setQueue(world, ep, [...queued, t], 'recv');
}

/**
 * Reply by thread `t` (MK-IPC-6, seL4's doReplyTransfer): uses and consumes `t`'s reply
 * right. To a caller that faulted, a reply labelled 0 restarts it and any other label stops
 * it (MK-FAULT-3); to an ordinary caller it delivers the message.
 */
export function reply(w: World, log: Log, t: ObjId): World {
  const right = getTcb(w.k, t).caller;
  if (right === null) return w;
  let world = updateTcb(w, t, { caller: null });
  const callerTcb = getObject(world.k, right.caller);
  if (callerTcb?.type !== 'tcb' || callerTcb.state.kind !== 'blockedOnReply') return world;
  if (callerTcb.fault !== null) {
    const label = decodeInfo(getTcb(world.k, t).context.regs[REG.INFO]!).label;
    world = updateTcb(world, right.caller, { fault: null });
    log.observations.push({ thread: right.caller, kind: 'reply', values: [label] });
    return label === 0
      ? setThreadState(world, log, right.caller, { kind: 'restart' }, 'REPLY_RESTART')
      : setThreadState(world, log, right.caller, { kind: 'inactive' }, 'REPLY_STOP');
  }
  world = transfer(world, log, t, right.caller, 0, right.canGrant, null);
  return setThreadState(world, log, right.caller, { kind: 'running' }, 'COMPLETE');
}

/** Signal on notification `n` with `badge` (MK-NTFN-1, seL4's sendSignal). */
export function signal(w: World, log: Log, n: ObjId, badge: number): World {
  const ntfn = notification(w, n);
  if (ntfn.waiting.length > 0) {
    const [dest, ...rest] = ntfn.waiting as [ObjId, ...ObjId[]];
    let world = { ...w, k: setObject(w.k, n, { ...ntfn, waiting: rest }) };
    world = setContextRegs(world, dest, { [REG.BADGE]: badge });
    log.observations.push({ thread: dest, kind: 'signal', values: [badge] });
    return setThreadState(world, log, dest, { kind: 'running' }, 'COMPLETE');
  }
  const bound = ntfn.boundTcb;
  if (bound !== null && getTcb(w.k, bound).state.kind === 'blockedOnReceive') {
    // MK-NTFN-3: a bound thread waiting on an endpoint is woken with the signal.
    let world = cancelIpc(w, bound);
    world = setContextRegs(world, bound, { [REG.BADGE]: badge, [REG.INFO]: 0 });
    log.observations.push({ thread: bound, kind: 'signal', values: [badge] });
    return setThreadState(world, log, bound, { kind: 'running' }, 'COMPLETE');
  }
  return { ...w, k: setObject(w.k, n, { ...ntfn, word: (ntfn.word | badge) >>> 0 }) };
}

/** Wait (blocking) or Poll on notification `n` by thread `t` (MK-NTFN-2). */
export function wait(w: World, log: Log, t: ObjId, n: ObjId, blocking: boolean): World {
  const ntfn = notification(w, n);
  if (ntfn.word !== 0) {
    log.observations.push({ thread: t, kind: 'signal', values: [ntfn.word] });
    const world = { ...w, k: setObject(w.k, n, { ...ntfn, word: 0 }) };
    return setContextRegs(world, t, { [REG.BADGE]: ntfn.word, [REG.INFO]: 0 });
  }
  if (!blocking) return setContextRegs(w, t, { [REG.BADGE]: 0, [REG.INFO]: 0 });
  const world = setThreadState(w, log, t, { kind: 'blockedOnNotification', notification: n }, 'BLOCK_NOTIFICATION');
  return { ...world, k: setObject(world.k, n, { ...ntfn, waiting: [...ntfn.waiting, t] }) };
}

/**
 * Takes `t` out of whatever it is blocked on (seL4's cancelIPC), leaving its state to the
 * caller: off an endpoint or notification queue; a thread waiting for a reply loses its
 * pending fault and every reply right naming it dies.
 */
export function cancelIpc(w: World, t: ObjId): World {
  const s = getTcb(w.k, t).state;
  switch (s.kind) {
    case 'blockedOnSend':
    case 'blockedOnReceive': {
      const e = endpoint(w, s.endpoint);
      if (e.queue.kind === 'idle') return w;
      return setQueue(w, s.endpoint, e.queue.threads.filter((x) => x !== t), e.queue.kind);
    }
    case 'blockedOnNotification': {
      const n = notification(w, s.notification);
      return { ...w, k: setObject(w.k, s.notification, { ...n, waiting: n.waiting.filter((x) => x !== t) }) };
    }
    case 'blockedOnReply': {
      let k = w.k;
      k.objects.forEach((o, id) => {
        if (o?.type === 'tcb' && o.caller?.caller === t) k = setObject(k, id, { ...o, caller: null });
      });
      return updateTcb({ ...w, k }, t, { fault: null });
    }
    default:
      return w;
  }
}

/** Suspends `t` (MK-OBJ-5): cancels its IPC and makes it inactive. */
export function suspendThread(w: World, log: Log, t: ObjId): World {
  const world = updateTcb(cancelIpc(w, t), t, { fault: null });
  return setThreadState(world, log, t, { kind: 'inactive' }, 'SUSPEND');
}

/** Restarts every thread queued on endpoint `ep` (MK-IPC-8, seL4's cancelAllIPC). */
export function cancelAllIpc(w: World, log: Log, ep: ObjId): World {
  const e = endpoint(w, ep);
  if (e.queue.kind === 'idle') return w;
  let world = setQueue(w, ep, [], 'send');
  for (const t of e.queue.threads) world = setThreadState(updateTcb(world, t, { fault: null }), log, t, { kind: 'restart' }, 'CANCEL');
  return world;
}

/** Restarts the senders queued on `ep` with `badge` (MK-IPC-9, seL4's cancelBadgedSends). */
export function cancelBadgedSends(w: World, log: Log, ep: ObjId, badge: number): World {
  const e = getObject(w.k, ep);
  if (e?.type !== 'endpoint' || e.queue.kind !== 'send') return w;
  const cancelled = e.queue.threads.filter((t) => {
    const s = getTcb(w.k, t).state;
    return s.kind === 'blockedOnSend' && s.badge === badge;
  });
  let world = setQueue(w, ep, e.queue.threads.filter((t) => !cancelled.includes(t)), 'send');
  for (const t of cancelled) world = setThreadState(updateTcb(world, t, { fault: null }), log, t, { kind: 'restart' }, 'CANCEL');
  return world;
}

/** Restarts every thread waiting on notification `n` (MK-NTFN-4). */
export function cancelAllSignals(w: World, log: Log, n: ObjId): World {
  const ntfn = notification(w, n);
  let world = { ...w, k: setObject(w.k, n, { ...ntfn, waiting: [] }) };
  for (const t of ntfn.waiting) world = setThreadState(world, log, t, { kind: 'restart' }, 'CANCEL');
  return world;
}

/** Binds notification `n` to thread `t` (MK-NTFN-3); both must be unbound. */
export function bindNotification(w: World, t: ObjId, n: ObjId): World | number {
  const ntfn = notification(w, n);
  if (ntfn.boundTcb !== null || getTcb(w.k, t).boundNotification !== null) return ERROR.ILLEGAL_OPERATION;
  const world = { ...w, k: setObject(w.k, n, { ...ntfn, boundTcb: t }) };
  return updateTcb(world, t, { boundNotification: n });
}

export function unbindNotification(w: World, t: ObjId): World {
  const n = getTcb(w.k, t).boundNotification;
  if (n === null) return w;
  const ntfn = getObject(w.k, n);
  const world = ntfn?.type === 'notification' ? { ...w, k: setObject(w.k, n, { ...ntfn, boundTcb: null }) } : w;
  return updateTcb(world, t, { boundNotification: null });
}

/**
 * Delivers fault `fault` of thread `t` (MK-FAULT-1..2): as a Call on the endpoint named by
 * its fault-endpoint CPtr, which must be an endpoint cap with Write and Grant or GrantReply;
 * with no such handler the thread stops (seL4's handleDoubleFault).
 */
export function deliverFault(w: World, log: Log, t: ObjId, fault: FaultMessage): World {
  const tcb = getTcb(w.k, t);
  const handler = tcb.faultEndpoint === null ? null : lookupCap(w.k, t, tcb.faultEndpoint);
  const cap = handler?.ok ? handler.value.cte.cap : null;
  if (cap?.type !== 'endpoint' || (cap.rights & RIGHTS.W) === 0 || (cap.rights & (RIGHTS.G | RIGHTS.GR)) === 0) {
    log.observations.push({ thread: t, kind: 'stopped', values: [fault.label, ...fault.words] });
    return setThreadState(w, log, t, { kind: 'inactive' }, 'FAULT_NO_HANDLER');
  }
  log.observations.push({ thread: t, kind: 'fault', values: [fault.label, ...fault.words] });
  return sendIpc(updateTcb(w, t, { fault }), log, t, cap.obj, {
    badge: cap.badge,
    canGrant: (cap.rights & RIGHTS.G) !== 0,
    canGrantReply: (cap.rights & RIGHTS.GR) !== 0,
    blocking: true,
    isCall: true,
  });
}
