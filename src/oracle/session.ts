/**
 * The serve protocol (ORC-SRV-1..4 in spec/oracle.md) as a pure function: a session and one
 * request line give the next session and one response. `mkhv serve` feeds it stdin line by
 * line; `mkhv diff` speaks the same protocol to another implementation. A malformed or
 * unknown request gets an error response and leaves the session as it was.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { mkError, type MkhvError } from '../hw/index.ts';
import { builtinArchs, builtinTable } from '../perf/builtin.ts';
import { refine, strict } from '../perf/decode.ts';
import { decodeEvent, decodeScenario, decodeTagged, parseJson } from './formats.ts';
import { bootInstance, type Instance } from './instance.ts';
import { CAPABILITIES, RECORD_FORMAT, RECORD_VERSION } from './record.ts';

/** The cost table records are priced under unless a load names another. */
export const DEFAULT_ARCH = 'cortex-a57';

export interface Session {
  readonly instance: Instance | null;
}

export const EMPTY_SESSION: Session = { instance: null };

/** The requests (ORC-SRV-2). */
export const REQUESTS = ['hello', 'load', 'step', 'view', 'fingerprint', 'reset'] as const;

const id = t.union([t.string, t.number, t.null]);
/** A field that must be there, whatever its value (the value has its own decoder). */
const present = refine(t.unknown, (v) => v !== undefined, 'given');
const RequestCodec = t.union(
  [
    strict({ type: t.literal('hello') }, { id }, "a 'hello' request"),
    strict({ type: t.literal('load'), scenario: present }, { id, arch: t.string }, "a 'load' request"),
    strict({ type: t.literal('step'), event: present }, { id }, "a 'step' request"),
    strict({ type: t.literal('view'), domain: t.string }, { id }, "a 'view' request"),
    strict({ type: t.literal('fingerprint') }, { id }, "a 'fingerprint' request"),
    strict({ type: t.literal('reset') }, { id }, "a 'reset' request"),
  ],
  `an object whose 'type' is one of ${REQUESTS.map((r) => `'${r}'`).join(', ')}`,
);
type Request = t.TypeOf<typeof RequestCodec>;

/** A response: always an object with `ok`, echoing the request's `id` when it had one. */
export type Response = { readonly ok: true; readonly type: string; readonly [field: string]: unknown } | { readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

function decodeRequest(json: unknown): E.Either<MkhvError, Request> {
  return decodeTagged(RequestCodec, json, 'type', 'request', 'request.invalid');
}

const failure = (e: MkhvError, reqId?: unknown): Response => ({ ...(reqId === undefined ? {} : { id: reqId }), ok: false, error: { code: e.code, message: e.message } });

/** ORC-SRV-1: handles one request line. */
export function handleLine(session: Session, line: string): { session: Session; response: Response } {
  const json = parseJson(line, 'request');
  if (E.isLeft(json)) return { session, response: failure(json.left) };
  const request = decodeRequest(json.right);
  if (E.isLeft(request)) {
    const reqId = typeof json.right === 'object' && json.right !== null ? (json.right as { id?: unknown }).id : undefined;
    return { session, response: failure(request.left, typeof reqId === 'string' || typeof reqId === 'number' ? reqId : undefined) };
  }
  return handleRequest(session, request.right);
}

function handleRequest(session: Session, request: Request): { session: Session; response: Response } {
  const echo = request.id === undefined ? {} : { id: request.id };
  const ok = (fields: Record<string, unknown>): Response => ({ ...echo, ok: true, type: request.type, ...fields });
  const fail = (e: MkhvError) => ({ session, response: failure(e, request.id) });
  const loaded = session.instance;
  switch (request.type) {
    case 'hello':
      return { session, response: ok({ format: RECORD_FORMAT, version: RECORD_VERSION, capabilities: CAPABILITIES, producer: 'mkhv 0.1.0', requests: REQUESTS, archs: builtinArchs() }) };
    case 'load': {
      const scenario = decodeScenario(request.scenario);
      if (E.isLeft(scenario)) return fail(scenario.left);
      const table = builtinTable(request.arch ?? DEFAULT_ARCH);
      if (E.isLeft(table)) return fail(table.left);
      const booted = bootInstance(scenario.right, table.right);
      if (E.isLeft(booted)) return fail(booted.left);
      const inst = booted.right;
      return { session: { instance: inst }, response: ok({ header: inst.header, domains: inst.domains(), fingerprint: inst.fingerprint() }) };
    }
    case 'step': {
      if (loaded === null) return fail(notLoaded());
      const event = decodeEvent(request.event);
      if (E.isLeft(event)) return fail(event.left);
      const r = loaded.step(event.right);
      return { session: { instance: r.instance }, response: ok({ record: r.record }) };
    }
    case 'view': {
      if (loaded === null) return fail(notLoaded());
      const view = loaded.view(request.domain);
      if (E.isLeft(view)) return fail(view.left);
      return { session, response: ok({ domain: request.domain, view: view.right }) };
    }
    case 'fingerprint':
      if (loaded === null) return fail(notLoaded());
      return { session, response: ok({ index: loaded.index, fingerprint: loaded.fingerprint() }) };
    case 'reset': {
      if (loaded === null) return fail(notLoaded());
      const inst = loaded.reset();
      return { session: { instance: inst }, response: ok({ fingerprint: inst.fingerprint() }) };
    }
  }
}

const notLoaded = () => mkError('session.empty', "no scenario is loaded: send a 'load' request first", '');
