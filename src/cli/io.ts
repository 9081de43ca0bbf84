/**
 * What a command may do to the outside world: print lines. Commands take this instead of
 * touching process.stdout, so tests can run them in-process and read what they print.
 *
 * @module
 */
export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Standard input as text in chunks of any size (not necessarily whole lines), for commands that read it (`serve`). */
  readonly input?: AsyncIterable<string>;
}

/** Exit codes (CLI-EXIT-1): 0 success, 1 a check failed, 2 bad input or usage. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;
