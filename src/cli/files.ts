/**
 * Reading the JSON files commands are given: a missing or unreadable file, or text that is
 * not JSON, is an error value naming the file (CLI-EXIT-1), never an exception.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import * as E from 'fp-ts/lib/Either.js';
import { mkError, type MkhvError } from '../hw/index.ts';
import { parseJson } from '../oracle/formats.ts';

/** The largest file a command reads: a 10-million-event trace is about 300 MiB. */
const MAX_BYTES = 512 * 2 ** 20;

export function readJsonFile(path: string, what: string): E.Either<MkhvError, unknown> {
  let text: string;
  try {
    const buffer = readFileSync(path);
    if (buffer.length > MAX_BYTES) return E.left(mkError('file.size', `${what} '${path}': larger than ${MAX_BYTES / 2 ** 20} MiB`, ''));
    text = buffer.toString('utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    return E.left(mkError('file.read', `${what} '${path}': cannot read it (${why})`, ''));
  }
  return E.mapLeft((err: MkhvError) => mkError(err.code, `${what} '${path}': ${err.message.replace(/^[^:]*: /, '')}`, err.path))(parseJson(text, what));
}
