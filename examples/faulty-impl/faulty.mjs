#!/usr/bin/env node
// A deliberately faulty implementation of the mkhv serve protocol (spec/oracle.md, §3), for
// trying `mkhv diff` (spec/oracle.md, ORC-DIFF-6; see examples/README.md).
//
// THE PLANTED BUG. It computes every step exactly as mkhv does, but from the fourth step of a
// trace on (record index >= 3) it leaves out of the record's `memory` list every write to a
// word whose physical byte address is a multiple of 64. Everything else — registers, the
// state itself and so its fingerprint — stays right, and the first three records are
// always right. So the bug shows only on traces that store to such a word late enough.
//
// In examples/scenarios/two-counters.json, thread `a` on CPU 0 stores to physical address
// 0x300 (= 12 × 64) with the second instruction of its 4-instruction loop, while thread `b`
// on CPU 1 stores to 0x708 and 0x70c, which the bug never touches. The shortest traces that
// reveal it have 4 events: one `exec` on CPU 0 (addi), two events that leave CPU 0 alone
// (say `exec` on CPU 1), then the store on CPU 0 at index 3. Six fetched `exec`s on CPU 0
// reveal it too (the second store is at index 5), and none of those six can be removed.
// `mkhv diff` has to find such a trace among random ones of up to 40 events and shrink it;
// the field it reports is `memory[0]`: mkhv has {"address":768,...}, this has nothing.
//
// Run as: node examples/faulty-impl/faulty.mjs   (from anywhere; it finds the repo itself)
import { createInterface } from 'node:readline';
import { register } from 'tsx/esm/api';

// mkhv's sources are TypeScript; tsx compiles them on load, as bin/mkhv.js does.
register();
const { EMPTY_SESSION, handleLine } = await import(new URL('../../src/oracle/session.ts', import.meta.url).href);

const PRODUCER = 'faulty-impl 0.1 (mkhv with a planted bug)';

/** The bug, applied to a correct response. */
function plantBug(response) {
  if (!response.ok) return response;
  if (response.type === 'hello') return { ...response, producer: PRODUCER };
  if (response.type === 'load') return { ...response, header: { ...response.header, producer: PRODUCER } };
  if (response.type === 'step' && response.record.index >= 3) {
    const memory = response.record.memory.filter((m) => m.address % 64 !== 0);
    return { ...response, record: { ...response.record, memory } };
  }
  return response;
}

let session = EMPTY_SESSION;
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.trim() === '') continue;
  const r = handleLine(session, line);
  session = r.session;
  process.stdout.write(JSON.stringify(plantBug(r.response)) + '\n');
}
