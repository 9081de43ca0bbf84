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

/** Builds an error value. */
export function mkError(code: string, message: string, path?: string): MkhvError {
  return path === undefined ? { code, message } : { code, message, path };
}
