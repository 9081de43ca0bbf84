/**
 * An abstract channel model of the microkernel's IPC, for the refinement test of MK-PROP-2
 * (test/kernel/ipc-model.test.ts).
 *
 * The model knows nothing of TCBs, CNodes or the ready queue. Each endpoint is a channel: a
 * FIFO queue of pending senders (each with the badge of the cap it sent through, whether it
 * may grant, whether it is a Call, and the message it offered) or of waiting receivers. Each
 * thread has a register file, capability slots, the receive slot named by its last receive,
 * a status, and at most one outstanding reply right (to one caller). The rules are the
 * spec's (MK-IPC-2..7, MK-ABI-2, MK-ABI-4), written from the text — the message-info word
 * is packed here, not with the kernel's own encoder, so a bug there cannot hide.
 *
 * The model is mutable (fast-check's model-based testing mutates it in each command's
 * `run`); {@link abstractModel} and {@link abstractSystem} project the model and the real
 * system onto the same plain value, which the test compares after every command.
 */
import type { KernelScenario, KernelState, Cap, ObjId, ThreadState } from '../../src/kernel/index.ts';
import { liveContext, RIGHTS, SYSCALL } from '../../src/kernel/index.ts';
import type { MicrokernelSystem, Observation } from '../../src/system/index.ts';

/** Slots per thread CNode (the scenario's default CNode of 2^4 slots). */
export const SLOTS = 16;
/** Message registers that travel in registers (MK-ABI-2). */
export const MRS = 8;
const R_BADGE = 1;
const R_INFO = 2;
const R_MR0 = 3;
const R_XCAP = 11;

/** Error codes the IPC system calls can return (MK-ABI-4). */
export const IPC_ERROR = { INVALID_CAPABILITY: 2, FAILED_LOOKUP: 6 } as const;

/** A capability as the model sees it: endpoint index or thread index instead of object ids. */
export type AbsCap =
  | { readonly kind: 'endpoint'; readonly ep: number; readonly rights: number; readonly badge: number }
  | { readonly kind: 'tcb'; readonly thread: number };

export type Status =
  | { readonly kind: 'runnable' }
  | { readonly kind: 'sending'; readonly ep: number }
  | { readonly kind: 'receiving'; readonly ep: number }
  | { readonly kind: 'awaitingReply' }
  | { readonly kind: 'inactive' };

/** The message-info word, field by field (MK-ABI-2: label 31:12, capsUnwrapped 11:9, extraCaps 8:7, length 6:0). */
export interface Info {
  readonly label: number;
  readonly capsUnwrapped: number;
  readonly extraCaps: number;
  readonly length: number;
}

export function packInfo(i: Info): number {
  return (i.label * 4096 + (i.capsUnwrapped & 7) * 512 + (i.extraCaps & 3) * 128 + (i.length & 0x7f)) >>> 0;
}

export function unpackInfo(word: number): Info {
  return { label: Math.floor(word / 4096), capsUnwrapped: (word >>> 9) & 7, extraCaps: (word >>> 7) & 3, length: word & 0x7f };
}

/** What a sender offers (MK-IPC-3): read from its registers when it sends. */
export interface Message {
  readonly label: number;
  /** MR0.., at most {@link MRS} (longer lengths are cut, MK-ABI-2). */
  readonly words: readonly number[];
  readonly extraCaps: number;
  /** The slot named by r11: the cap to transfer (MK-IPC-5). */
  readonly xcap: number;
}

export interface PendingSend {
  readonly thread: number;
  readonly badge: number;
  readonly canGrant: boolean;
  readonly canGrantReply: boolean;
  readonly isCall: boolean;
  readonly message: Message;
}

export interface WaitingReceiver {
  readonly thread: number;
  /** Whether the receiver's cap has Grant: a reply right it gets may transfer caps (MK-IPC-6). */
  readonly canGrant: boolean;
}

/** MK-IPC-1: an endpoint is idle, or has senders queued, or receivers — never both. */
export type Channel =
  | { readonly kind: 'idle' }
  | { readonly kind: 'send'; readonly queue: readonly PendingSend[] }
  | { readonly kind: 'recv'; readonly queue: readonly WaitingReceiver[] };

export interface ReplyRight {
  readonly caller: number;
  readonly canGrant: boolean;
}

export interface ModelThread {
  readonly name: string;
  priority: number;
  /** r0..r15 as the thread would see them now. */
  regs: number[];
  slots: (AbsCap | null)[];
  /** The r11 of its last receive (MK-IPC-5); null before any. */
  receiveSlot: number | null;
  status: Status;
  replyRight: ReplyRight | null;
}

export interface ChannelModel {
  readonly threads: ModelThread[];
  readonly channels: Channel[];
}

/** An observation in a step result (SYS-3), in order: the model expects only messages and errors. */
export interface ExpectedObservation {
  readonly subject: string;
  readonly kind: string;
  readonly values: readonly number[];
}

/** A capability the model expects to have moved, so the test can check its derivation parent. */
export interface CapMove {
  readonly from: { readonly thread: number; readonly slot: number };
  readonly to: { readonly thread: number; readonly slot: number };
}

/** What one system call did, as far as the model can tell from outside the kernel. */
export interface Effects {
  readonly observations: ExpectedObservation[];
  readonly moves: CapMove[];
  /** Interesting things that happened, for the generator's coverage check. */
  readonly events: CoverageEvent[];
}

export type CoverageEvent =
  | 'delivered'
  | 'fifoFromQueueOf2'
  | 'receiverFifoOf2'
  | 'callReplied'
  | 'replyWithoutRight'
  | 'secondReply'
  | 'capGranted'
  | 'capRefusedNoGrant'
  | 'badgeUnwrapped'
  | 'replyGrant'
  | 'nbSendDropped'
  | 'nbRecvEmpty'
  | 'callWithoutReply'
  | 'rightReplaced'
  | 'error'
  | 'truncated';

// ---------------------------------------------------------------------------------------
// Set-up

export interface ChannelScenarioSpec {
  readonly endpoints: number;
  readonly priorities: readonly number[];
  /** Per thread: endpoint caps by slot. */
  readonly caps: readonly (readonly { readonly slot: number; readonly ep: number; readonly rights: number; readonly badge: number }[])[];
}

/** First slot of the TCB caps: thread j's TCB cap sits at TCB_SLOT0 + j in every CSpace. */
export const TCB_SLOT0 = 12;

const RIGHT_LETTERS: readonly [number, string][] = [
  [RIGHTS.R, 'R'],
  [RIGHTS.W, 'W'],
  [RIGHTS.G, 'G'],
  [RIGHTS.GR, 'P'],
];

export function rightsLetters(rights: number): string {
  return RIGHT_LETTERS.filter(([bit]) => (rights & bit) !== 0)
    .map(([, l]) => l)
    .join('');
}

export function threadName(i: number): string {
  return `t${i}`;
}

/** The scenario: threads without programs or address spaces, driven by instruction injection. */
export function channelScenario(spec: ChannelScenarioSpec): KernelScenario {
  const n = spec.priorities.length;
  return {
    objects: Array.from({ length: spec.endpoints }, (_, e) => ({ name: `ep${e}`, type: 'endpoint' as const })),
    threads: spec.priorities.map((priority, i) => ({
      name: threadName(i),
      priority,
      vspace: false,
      caps: [
        ...spec.caps[i]!.map((c) => ({ slot: c.slot, object: `ep${c.ep}`, rights: rightsLetters(c.rights), badge: c.badge })),
        ...Array.from({ length: n }, (_, j) => ({ slot: TCB_SLOT0 + j, object: `${threadName(j)}.tcb` })),
      ],
    })),
  };
}

export function initialModel(spec: ChannelScenarioSpec): ChannelModel {
  const n = spec.priorities.length;
  return {
    threads: spec.priorities.map((priority, i) => {
      const slots: (AbsCap | null)[] = new Array<AbsCap | null>(SLOTS).fill(null);
      for (const c of spec.caps[i]!) slots[c.slot] = { kind: 'endpoint', ep: c.ep, rights: c.rights, badge: c.badge };
      for (let j = 0; j < n; j++) slots[TCB_SLOT0 + j] = { kind: 'tcb', thread: j };
      return { name: threadName(i), priority, regs: new Array<number>(16).fill(0), slots, receiveSlot: null, status: { kind: 'runnable' }, replyRight: null };
    }),
    channels: Array.from({ length: spec.endpoints }, () => ({ kind: 'idle' }) as const),
  };
}

// ---------------------------------------------------------------------------------------
// The model's rules

/**
 * The thread on the CPU: with one CPU and distinct priorities, the highest-priority runnable
 * thread (MK-SCHED-2), or none.
 */
export function currentThread(m: ChannelModel): number | null {
  let best: number | null = null;
  m.threads.forEach((t, i) => {
    if (t.status.kind === 'runnable' && (best === null || t.priority > m.threads[best]!.priority)) best = i;
  });
  return best;
}

function newEffects(): Effects {
  return { observations: [], moves: [], events: [] };
}

const has = (rights: number, bit: number): boolean => (rights & bit) !== 0;

/** MK-CAP-4: a CPtr outside the CNode fails the lookup; an empty slot is an invalid cap. */
function lookup(t: ModelThread, cptr: number): AbsCap | number {
  if (cptr >= SLOTS) return IPC_ERROR.FAILED_LOOKUP;
  return t.slots[cptr] ?? IPC_ERROR.INVALID_CAPABILITY;
}

function fail(m: ChannelModel, t: number, code: number, fx: Effects): void {
  m.threads[t]!.regs[R_INFO] = packInfo({ label: code, capsUnwrapped: 0, extraCaps: 0, length: 0 });
  fx.observations.push({ subject: m.threads[t]!.name, kind: 'error', values: [code] });
  fx.events.push('error');
}

function messageOf(t: ModelThread): Message {
  const info = unpackInfo(t.regs[R_INFO]!);
  const length = Math.min(info.length, MRS);
  return { label: info.label, words: t.regs.slice(R_MR0, R_MR0 + length), extraCaps: info.extraCaps, xcap: t.regs[R_XCAP]! };
}

/**
 * Delivers `msg` from `sender` to `receiver` (MK-IPC-3, MK-IPC-5): badge to r1, info to r2,
 * words to MR0..; with Grant and extraCaps ≥ 1, the sender's cap at r11 either unwraps (an
 * endpoint cap, badged, to the endpoint carrying the message) or lands in the receiver's
 * empty receive slot.
 */
function deliver(m: ChannelModel, fx: Effects, sender: number, receiver: number, msg: Message, badge: number, grant: boolean, via: number | null): void {
  const s = m.threads[sender]!;
  const r = m.threads[receiver]!;
  let extraCaps = 0;
  let unwrapped: number | null = null;
  if (msg.extraCaps > 0 && !grant) fx.events.push('capRefusedNoGrant');
  if (msg.extraCaps > 0 && grant) {
    const cap = msg.xcap < SLOTS ? s.slots[msg.xcap] : null;
    if (cap !== null && cap !== undefined) {
      if (via !== null && cap.kind === 'endpoint' && cap.ep === via && cap.badge !== 0) {
        unwrapped = cap.badge;
        extraCaps = 1;
        fx.events.push('badgeUnwrapped');
      } else if (r.receiveSlot !== null && r.receiveSlot < SLOTS && r.slots[r.receiveSlot] === null) {
        r.slots[r.receiveSlot] = cap;
        extraCaps = 1;
        fx.moves.push({ from: { thread: sender, slot: msg.xcap }, to: { thread: receiver, slot: r.receiveSlot } });
        fx.events.push(via === null ? 'replyGrant' : 'capGranted');
      }
    }
  }
  if (msg.words.length < unpackInfo(s.regs[R_INFO]!).length) fx.events.push('truncated');
  r.regs[R_BADGE] = badge;
  r.regs[R_INFO] = packInfo({ label: msg.label, capsUnwrapped: unwrapped === null ? 0 : 1, extraCaps, length: msg.words.length });
  msg.words.forEach((v, i) => (r.regs[R_MR0 + i] = v));
  if (unwrapped !== null) r.regs[R_XCAP] = unwrapped;
  fx.observations.push({ subject: r.name, kind: 'message', values: [badge, msg.label, ...msg.words] });
  fx.events.push('delivered');
}

/** MK-IPC-6: after a Call is delivered the caller waits for the reply — or stops, if its cap allows no reply. */
function afterCall(m: ChannelModel, fx: Effects, caller: number, receiver: number, canGrant: boolean, canGrantReply: boolean, receiverGrant: boolean): void {
  if (!canGrant && !canGrantReply) {
    m.threads[caller]!.status = { kind: 'inactive' };
    fx.events.push('callWithoutReply');
    return;
  }
  if (m.threads[receiver]!.replyRight !== null) fx.events.push('rightReplaced');
  m.threads[receiver]!.replyRight = { caller, canGrant: receiverGrant };
  m.threads[caller]!.status = { kind: 'awaitingReply' };
}

/** Send, NBSend or Call by thread `t` (MK-IPC-2, MK-IPC-7, MK-ENTRY-3). */
function send(m: ChannelModel, fx: Effects, t: number, n: number): void {
  const me = m.threads[t]!;
  const cap = lookup(me, me.regs[1]!);
  if (typeof cap === 'number') return fail(m, t, cap, fx);
  if (cap.kind !== 'endpoint') throw new Error('model: the test never invokes a TCB with an IPC command');
  if (!has(cap.rights, RIGHTS.W)) return fail(m, t, IPC_ERROR.INVALID_CAPABILITY, fx);
  const isCall = n === SYSCALL.CALL;
  // MK-IPC-5, MK-IPC-6: a Call receives too (its reply): a cap in the reply goes to the slot its r11 names now.
  if (isCall) me.receiveSlot = me.regs[R_XCAP]!;
  const pending: PendingSend = {
    thread: t,
    badge: cap.badge,
    canGrant: has(cap.rights, RIGHTS.G),
    canGrantReply: has(cap.rights, RIGHTS.GR),
    isCall,
    message: messageOf(me),
  };
  const ch = m.channels[cap.ep]!;
  if (ch.kind === 'recv') {
    const [dest, ...rest] = ch.queue as [WaitingReceiver, ...WaitingReceiver[]];
    if (ch.queue.length >= 2) fx.events.push('receiverFifoOf2');
    m.channels[cap.ep] = rest.length === 0 ? { kind: 'idle' } : { kind: 'recv', queue: rest };
    deliver(m, fx, t, dest.thread, pending.message, pending.badge, pending.canGrant, cap.ep);
    m.threads[dest.thread]!.status = { kind: 'runnable' };
    if (isCall) afterCall(m, fx, t, dest.thread, pending.canGrant, pending.canGrantReply, dest.canGrant);
    return;
  }
  if (n === SYSCALL.NB_SEND) {
    fx.events.push('nbSendDropped');
    return;
  }
  me.status = { kind: 'sending', ep: cap.ep };
  m.channels[cap.ep] = { kind: 'send', queue: [...(ch.kind === 'send' ? ch.queue : []), pending] };
}

/** Recv or NBRecv by thread `t` (MK-IPC-2, MK-IPC-7). */
function receive(m: ChannelModel, fx: Effects, t: number, blocking: boolean): void {
  const me = m.threads[t]!;
  const cap = lookup(me, me.regs[1]!);
  if (typeof cap === 'number') return fail(m, t, cap, fx);
  if (cap.kind !== 'endpoint' || !has(cap.rights, RIGHTS.R)) return fail(m, t, IPC_ERROR.INVALID_CAPABILITY, fx);
  me.receiveSlot = me.regs[R_XCAP]!;
  const canGrant = has(cap.rights, RIGHTS.G);
  const ch = m.channels[cap.ep]!;
  if (ch.kind === 'send') {
    const [first, ...rest] = ch.queue as [PendingSend, ...PendingSend[]];
    if (ch.queue.length >= 2) fx.events.push('fifoFromQueueOf2');
    m.channels[cap.ep] = rest.length === 0 ? { kind: 'idle' } : { kind: 'send', queue: rest };
    deliver(m, fx, first.thread, t, first.message, first.badge, first.canGrant, cap.ep);
    if (first.isCall) afterCall(m, fx, first.thread, t, first.canGrant, first.canGrantReply, canGrant);
    else m.threads[first.thread]!.status = { kind: 'runnable' };
    return;
  }
  if (!blocking) {
    me.regs[R_BADGE] = 0;
    me.regs[R_INFO] = 0;
    fx.events.push('nbRecvEmpty');
    return;
  }
  me.status = { kind: 'receiving', ep: cap.ep };
  m.channels[cap.ep] = { kind: 'recv', queue: [...(ch.kind === 'recv' ? ch.queue : []), { thread: t, canGrant }] };
}

/** Reply by thread `t` (MK-IPC-6): consumes its reply right and delivers to that caller only. */
function reply(m: ChannelModel, fx: Effects, t: number, repliedBefore: ReadonlySet<number>): void {
  const me = m.threads[t]!;
  const right = me.replyRight;
  if (right === null) {
    fx.events.push(repliedBefore.has(t) ? 'secondReply' : 'replyWithoutRight');
    return;
  }
  me.replyRight = null;
  const caller = m.threads[right.caller]!;
  if (caller.status.kind !== 'awaitingReply') throw new Error('model: a reply right names a caller that is not waiting');
  deliver(m, fx, t, right.caller, messageOf(me), 0, right.canGrant, null);
  caller.status = { kind: 'runnable' };
  fx.events.push('callReplied');
}

/** The priority TCB_SetPriority gives a promoted thread: above every other, so it runs if it can. */
export function promotedPriority(m: ChannelModel): number {
  return Math.max(...m.threads.map((t) => t.priority)) + 1;
}

/**
 * Applies system call `n`, made by the current thread with registers `regs` injected first,
 * to the model. `replied` remembers who has replied (for the coverage of a second Reply).
 */
export function applySyscall(m: ChannelModel, n: number, regs: Readonly<Record<number, number>>, replied: Set<number>): Effects {
  const t = currentThread(m);
  if (t === null) throw new Error('model: no thread to make a system call');
  const me = m.threads[t]!;
  for (const [r, v] of Object.entries(regs)) if (Number(r) !== 0) me.regs[Number(r)] = v >>> 0;
  const fx = newEffects();
  switch (n) {
    case SYSCALL.SEND:
    case SYSCALL.NB_SEND:
    case SYSCALL.CALL:
      send(m, fx, t, n);
      break;
    case SYSCALL.RECV:
    case SYSCALL.NB_RECV:
      receive(m, fx, t, n === SYSCALL.RECV);
      break;
    case SYSCALL.REPLY:
      reply(m, fx, t, replied);
      replied.add(t);
      break;
    case SYSCALL.REPLY_RECV:
      reply(m, fx, t, replied);
      replied.add(t);
      receive(m, fx, t, true);
      break;
    case SYSCALL.YIELD:
      // MK-SCHED-3: the current thread goes to the tail of its priority — alone there, it runs on.
      break;
    default:
      throw new Error(`model: system call ${n} is not modelled`);
  }
  return fx;
}

/** TCB_SetPriority of `target` by the current thread, as the test performs it (a Send on a TCB cap). */
export function applyPromote(m: ChannelModel, target: number, regs: Readonly<Record<number, number>>, priority: number): void {
  const t = currentThread(m);
  if (t === null) throw new Error('model: no thread to promote another');
  const me = m.threads[t]!;
  for (const [r, v] of Object.entries(regs)) if (Number(r) !== 0) me.regs[Number(r)] = v >>> 0;
  // MK-ABI-4: a successful invocation answers label 0 and no words.
  me.regs[R_INFO] = 0;
  m.threads[target]!.priority = priority;
}

// ---------------------------------------------------------------------------------------
// Abstraction: both sides projected onto one plain value

export interface AbstractThread {
  readonly name: string;
  readonly status: string;
  readonly regs: readonly number[];
  readonly slots: readonly (AbsCap | null)[];
  readonly receiveSlot: number | null;
  readonly replyRight: ReplyRight | null;
}

export interface AbstractState {
  readonly current: string | null;
  readonly threads: readonly AbstractThread[];
  readonly channels: readonly unknown[];
}

function statusText(s: Status): string {
  return s.kind === 'sending' || s.kind === 'receiving' ? `${s.kind} ep${s.ep}` : s.kind;
}

function channelValue(ch: Channel): unknown {
  if (ch.kind === 'idle') return { kind: 'idle' };
  if (ch.kind === 'recv') return { kind: 'recv', queue: ch.queue.map((r) => ({ thread: r.thread, canGrant: r.canGrant })) };
  return {
    kind: 'send',
    queue: ch.queue.map((s) => ({ thread: s.thread, badge: s.badge, canGrant: s.canGrant, canGrantReply: s.canGrantReply, isCall: s.isCall })),
  };
}

export function abstractModel(m: ChannelModel): AbstractState {
  const cur = currentThread(m);
  return {
    current: cur === null ? null : m.threads[cur]!.name,
    threads: m.threads.map((t) => ({
      name: t.name,
      status: statusText(t.status),
      regs: t.regs,
      slots: t.slots,
      receiveSlot: t.receiveSlot,
      replyRight: t.replyRight,
    })),
    channels: m.channels.map(channelValue),
  };
}

/** Object ids of the real system: endpoints in creation (scenario) order, TCBs by name. */
export interface RealIds {
  readonly endpoints: readonly ObjId[];
  readonly tcbs: readonly ObjId[];
}

export function realIds(sys: MicrokernelSystem, threadCount: number): RealIds {
  const endpoints: ObjId[] = [];
  sys.state.objects.forEach((o, id) => {
    if (o?.type === 'endpoint') endpoints.push(id);
  });
  const tcbs = Array.from({ length: threadCount }, (_, i) => sys.state.objects.findIndex((o) => o?.type === 'tcb' && o.name === threadName(i)));
  return { endpoints, tcbs };
}

function realCap(ids: RealIds, cap: Cap): AbsCap | { readonly kind: 'other'; readonly type: string } {
  if (cap.type === 'endpoint') return { kind: 'endpoint', ep: ids.endpoints.indexOf(cap.obj), rights: cap.rights, badge: cap.badge };
  if (cap.type === 'tcb') return { kind: 'tcb', thread: ids.tcbs.indexOf(cap.obj) };
  return { kind: 'other', type: cap.type };
}

function realStatus(ids: RealIds, s: ThreadState): string {
  switch (s.kind) {
    case 'running':
    case 'restart':
      return 'runnable';
    case 'blockedOnSend':
      return `sending ep${ids.endpoints.indexOf(s.endpoint)}`;
    case 'blockedOnReceive':
      return `receiving ep${ids.endpoints.indexOf(s.endpoint)}`;
    case 'blockedOnReply':
      return 'awaitingReply';
    default:
      return s.kind;
  }
}

function stateOf(k: KernelState, t: ObjId): ThreadState | null {
  const o = k.objects[t];
  return o?.type === 'tcb' ? o.state : null;
}

/** An endpoint's queue in the model's terms; the blocked state of each queued thread carries what the model keeps per entry. */
function realChannel(k: KernelState, ids: RealIds, ep: ObjId): unknown {
  const o = k.objects[ep];
  if (o?.type !== 'endpoint') return { kind: 'gone' };
  const q = o.queue;
  if (q.kind === 'idle') return { kind: 'idle' };
  const thread = (t: ObjId) => ids.tcbs.indexOf(t);
  if (q.kind === 'recv') {
    return {
      kind: 'recv',
      queue: q.threads.map((t) => {
        const s = stateOf(k, t);
        return s?.kind === 'blockedOnReceive' ? { thread: thread(t), canGrant: s.canGrant } : { thread: thread(t), state: s?.kind ?? 'gone' };
      }),
    };
  }
  return {
    kind: 'send',
    queue: q.threads.map((t) => {
      const s = stateOf(k, t);
      if (s?.kind !== 'blockedOnSend') return { thread: thread(t), state: s?.kind ?? 'gone' };
      return { thread: thread(t), badge: s.badge, canGrant: s.canGrant, canGrantReply: s.canGrantReply, isCall: s.isCall };
    }),
  };
}

export function abstractSystem(sys: MicrokernelSystem, ids: RealIds): AbstractState {
  const k = sys.state;
  const cur = k.cpus[0]!.current;
  return {
    current: cur === null ? null : threadName(ids.tcbs.indexOf(cur)),
    threads: ids.tcbs.map((id, i) => {
      const tcb = k.objects[id];
      if (tcb?.type !== 'tcb') throw new Error(`thread ${threadName(i)} is gone`);
      const cnode = tcb.cspace === null ? null : k.objects[tcb.cspace];
      const slots = cnode?.type === 'cnode' ? cnode.slots.map((cte) => (cte === null ? null : realCap(ids, cte.cap))) : [];
      return {
        name: tcb.name,
        status: realStatus(ids, tcb.state),
        regs: liveContext(sys.machine, k, id, tcb).regs,
        slots: slots as (AbsCap | null)[],
        receiveSlot: tcb.receiveSlot,
        replyRight: tcb.caller === null ? null : { caller: ids.tcbs.indexOf(tcb.caller.caller), canGrant: tcb.caller.canGrant },
      };
    }),
    channels: ids.endpoints.map((ep) => realChannel(k, ids, ep)),
  };
}

/** The observations of a step result in the model's terms. */
export function realObservations(obs: readonly Observation[]): ExpectedObservation[] {
  return obs.map((o) => ({ subject: o.subject, kind: o.kind, values: o.values }));
}

/** The derivation-tree identity of the cap in slot `slot` of thread `t` (MK-CAP-3), or null. */
export function capIdentity(sys: MicrokernelSystem, ids: RealIds, t: number, slot: number): { id: number; parent: number | null } | null {
  const tcb = sys.state.objects[ids.tcbs[t]!];
  if (tcb?.type !== 'tcb' || tcb.cspace === null) return null;
  const cnode = sys.state.objects[tcb.cspace];
  const cte = cnode?.type === 'cnode' ? cnode.slots[slot] : null;
  return cte === null || cte === undefined ? null : { id: cte.id, parent: cte.parent };
}
