/**
 * `mkhv serve` (CLI-SERVE-1): the serve protocol (spec/oracle.md, ORC-SRV-1..4) over standard
 * input and output, one JSON request per line in, one JSON response per line out, until the
 * input ends. A bad request gets an error response; the session goes on.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { EMPTY_SESSION, handleLine, type Session } from '../oracle/session.ts';
import { parseOptions } from './args.ts';
import { EXIT, type Io } from './io.ts';

export const SERVE_HELP = [
  'usage: mkhv serve',
  '',
  'Reads JSON requests from standard input, one per line, and writes one JSON response per',
  'line: hello, load (a scenario, optionally an arch), step (an event; the response carries its',
  'record), view (a domain), fingerprint, reset. Every response has "ok"; an error response',
  'carries {"code", "message"} and leaves the session as it was. Blank lines are ignored.',
  'The protocol is specified in spec/oracle.md; examples/python/client.py is a client.',
].join('\n');

export async function runServe(args: readonly string[], io: Io): Promise<number> {
  const parsed = parseOptions('serve', args, []);
  if (E.isLeft(parsed)) {
    io.err(`mkhv: ${parsed.left}`);
    io.err(`Try 'mkhv serve --help'.`);
    return EXIT.USAGE;
  }
  if (io.input === undefined) {
    io.err('mkhv: serve: no standard input to read');
    return EXIT.USAGE;
  }
  let session: Session = EMPTY_SESSION;
  const answer = (line: string): void => {
    if (line.trim() === '') return;
    const r = handleLine(session, line);
    session = r.session;
    io.out(JSON.stringify(r.response));
  };
  // Input arrives in chunks; every whole line in a chunk is answered before the next is read.
  let partial = '';
  for await (const chunk of io.input) {
    // Only the new chunk is searched for line ends, so a long line in many chunks costs linear time.
    const lines = chunk.split('\n');
    lines[0] = partial + lines[0]!;
    partial = lines.pop()!;
    for (const line of lines) answer(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
  answer(partial);
  return EXIT.OK;
}
