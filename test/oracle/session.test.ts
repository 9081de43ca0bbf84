/**
 * ORC-SRV-1..4: the serve protocol as a pure function of request lines — one response per
 * request, errors that leave the session as it was, and the same lines giving the same answers.
 */
import { describe, expect, it } from 'vitest';
import { CAPABILITIES, RECORD_FORMAT } from '../../src/oracle/record.ts';
import { EMPTY_SESSION, handleLine, REQUESTS, type Response, type Session } from '../../src/oracle/session.ts';
import { HV_SCENARIO, MK_SCENARIO } from './fixtures.ts';

function converse(lines: readonly string[], start: Session = EMPTY_SESSION): { session: Session; responses: Response[] } {
  let session = start;
  const responses = lines.map((l) => {
    const r = handleLine(session, l);
    session = r.session;
    return r.response;
  });
  return { session, responses };
}

const req = (v: object) => JSON.stringify(v);
const load = (scenario: unknown, extra: object = {}) => req({ type: 'load', scenario, ...extra });
const exec = (cpu: number) => req({ type: 'step', event: { kind: 'exec', cpu } });

describe('the serve protocol', () => {
  it('ORC-SRV-1, ORC-SRV-2: hello answers with the record format and capabilities; ids are echoed', () => {
    const { responses } = converse([req({ type: 'hello', id: 'h1' }), req({ type: 'hello', id: 7 }), req({ type: 'hello' })]);
    expect(responses[0]).toMatchObject({ id: 'h1', ok: true, type: 'hello', format: RECORD_FORMAT, capabilities: CAPABILITIES, requests: REQUESTS });
    expect(responses[1]).toMatchObject({ id: 7, ok: true });
    expect('id' in responses[2]!).toBe(false);
  });

  it('ORC-SRV-2: load, step, view, fingerprint and reset', () => {
    const { responses } = converse([load(MK_SCENARIO, { arch: 'haswell' }), exec(0), exec(0), req({ type: 'view', domain: 'default' }), req({ type: 'fingerprint' }), req({ type: 'reset' }), req({ type: 'fingerprint' }), exec(0)]);
    const [loaded, s0, s1, view, fp, reset, fp0, again] = responses as Record<string, unknown>[];
    expect(loaded).toMatchObject({ ok: true, type: 'load', domains: ['default'], header: { supervisor: 'microkernel', arch: 'haswell' } });
    expect((s0!.record as { index: number }).index).toBe(0);
    expect((s1!.record as { index: number }).index).toBe(1);
    expect(view).toMatchObject({ ok: true, domain: 'default' });
    expect((view!.view as { threads: unknown[] }).threads.length).toBe(3);
    expect(fp).toEqual({ ok: true, type: 'fingerprint', index: 2, fingerprint: (s1!.record as { fingerprint: string }).fingerprint });
    expect(reset).toEqual({ ok: true, type: 'reset', fingerprint: loaded!.fingerprint });
    expect(fp0).toMatchObject({ index: 0, fingerprint: loaded!.fingerprint });
    expect(again!.record).toEqual(s0!.record);
  });

  it('ORC-SRV-2: a load replaces the loaded scenario', () => {
    const { responses } = converse([load(MK_SCENARIO), load(HV_SCENARIO), req({ type: 'view', domain: 'a' })]);
    expect(responses[1]).toMatchObject({ ok: true, domains: ['dom0', 'a', 'b'] });
    expect(responses[2]).toMatchObject({ ok: true, domain: 'a' });
  });

  it('ORC-SRV-3: bad requests get an error naming the problem and leave the session exactly as it was', () => {
    const { session } = converse([load(MK_SCENARIO), exec(0)]);
    const bad: [string, RegExp][] = [
      ['not json', /^request: not JSON/],
      ['[]', /^request must be/],
      [req({ type: 'frob' }), /'type' must be one of 'hello', 'load', 'step', 'view', 'fingerprint', 'reset'/],
      [req({ type: 'step' }), /'event' must be/],
      [req({ type: 'step', event: { kind: 'exec', cpu: -1 } }), /^event: 'cpu' must be a non-negative integer/],
      [req({ type: 'step', event: { kind: 'exec', cpu: 0 }, extra: 1 }), /'extra' is not a known field/],
      [req({ type: 'view', domain: 'nobody' }), /unknown domain 'nobody'/],
      [load({ format: 'mkhv-scenario' }), /^scenario: 'version' must be version 1/],
      [load(MK_SCENARIO, { arch: 'pentium' }), /pentium/],
      [load({ ...MK_SCENARIO, boot: { threads: [{ name: 't', program: 'frobnicate r1' }] } }), /./],
    ];
    for (const [line, message] of bad) {
      const r = handleLine(session, line);
      expect(r.response.ok, line).toBe(false);
      if (!r.response.ok) expect(r.response.error.message, line).toMatch(message);
      expect(r.session, line).toBe(session);
    }
    // Before any load, everything but hello and load is refused.
    for (const line of [exec(0), req({ type: 'view', domain: 'x' }), req({ type: 'fingerprint' }), req({ type: 'reset' })]) {
      const r = handleLine(EMPTY_SESSION, line);
      expect(r.response).toMatchObject({ ok: false, error: { code: 'session.empty' } });
    }
  });

  it('ORC-SRV-4: the same request lines give the same response lines', () => {
    const lines = [req({ type: 'hello' }), load(HV_SCENARIO), ...Array.from({ length: 40 }, (_, i) => exec(i % 2)), req({ type: 'view', domain: 'a' }), req({ type: 'reset' }), exec(1)];
    expect(JSON.stringify(converse(lines).responses)).toBe(JSON.stringify(converse(lines).responses));
  });
});
