/**
 * Errors as values.
 *
 * Nothing in mkhv throws on bad input: a rejected operation returns one of these, with a
 * stable machine-readable `code`, a one-line `message` for people, and, where the input was
 * structured, the `path` of the offending field (`devices[1].irq`) or a source position.
 *
 * @module
 */

/** A rejected input or operation. */
export interface MkhvError {
  /** Stable identifier, dotted by layer: `config.range`, `asm.syntax`, ... */
  readonly code: string;
  /** One line that names the problem and, where there is one, the offending field. */
  readonly message: string;
  /** JSON path of the offending field, when the input was structured. */
  readonly path?: string;
}

/** Builds an error value; line breaks in `message` (a name or key quoted from the input may hold one) are escaped, so that it stays one line. */
export function mkError(code: string, message: string, path?: string): MkhvError {
  const line = message.replace(/[\r\n\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16)}`));
  return path === undefined ? { code, message: line } : { code, message: line, path };
}
