/**
 * Clients of the serve protocol (ORC-SRV-1..4, ORC-DIFF-5 in spec/oracle.md): one request
 * line out, one response line back, one request at a time.
 *
 * {@link spawnClient} talks to another implementation running as a child process;
 * {@link inProcessClient} talks to mkhv's own session function, through the same JSON text,
 * so the differential driver treats both sides alike and mkhv's side needs no process.
 *
 * Nothing here throws: a process that cannot start, exits, writes something that is not a
 * JSON response, or does not answer in time gives an error value naming the command, and
 * the client stays failed (every later request gets the same error).
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as E from 'fp-ts/lib/Either.js';
import { mkError, type MkhvError } from '../hw/index.ts';
import { EMPTY_SESSION, handleLine, type Session } from './session.ts';

/** A response as received: a JSON object with a boolean `ok` and whatever else it carries. */
export interface ServeResponse {
  readonly ok: boolean;
  readonly [field: string]: unknown;
}

export interface ServeClient {
  /** Who is answering, for messages: the command line, or `mkhv` in-process. */
  readonly name: string;
  /** Sends one request and waits for its response. */
  request(request: Readonly<Record<string, unknown>>): Promise<E.Either<MkhvError, ServeResponse>>;
  /** Ends the session (closes the input, then stops the process if it lingers). */
  close(): Promise<void>;
}

/** How long a request may take before the implementation is declared stuck. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** Bytes of the implementation's standard error kept to explain a failure. */
const STDERR_TAIL = 2048;
/** How long `close` waits for a clean exit before it kills the process. */
const CLOSE_GRACE_MS = 2000;

/** Parses one response line: a JSON object with a boolean `ok` (ORC-SRV-1). */
function parseResponse(name: string, line: string): E.Either<MkhvError, ServeResponse> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return E.left(mkError('impl.json', `implementation '${name}' wrote a line that is not JSON: ${clip(line)}`));
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json) || typeof (json as { ok?: unknown }).ok !== 'boolean') {
    return E.left(mkError('impl.protocol', `implementation '${name}' wrote a response without a boolean "ok": ${clip(line)}`));
  }
  return E.right(json as ServeResponse);
}

const clip = (s: string, n = 200): string => {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n)}…` : one;
};

/**
 * mkhv's own side, in-process: requests are serialized to a line, handled by the pure
 * session function, and the response line parsed back, exactly as over a pipe.
 */
export function inProcessClient(): ServeClient {
  let session: Session = EMPTY_SESSION;
  return {
    name: 'mkhv',
    request(request) {
      const r = handleLine(session, JSON.stringify(request));
      session = r.session;
      return Promise.resolve(parseResponse('mkhv', JSON.stringify(r.response)));
    },
    close: () => Promise.resolve(),
  };
}

export interface SpawnOptions {
  /** Per-request timeout in milliseconds (default {@link DEFAULT_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

/**
 * Starts `command` through the shell and speaks the serve protocol to it. Each request gets
 * an `id` so that a response to the wrong request (an extra line, a skipped one) is caught.
 */
export function spawnClient(command: string, options: SpawnOptions = {}): ServeClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let failed: MkhvError | null = null;
  let stderr = '';
  let buffer = '';
  const lines: string[] = [];
  let waiting: ((line: E.Either<MkhvError, string>) => void) | null = null;
  let nextId = 1;
  let exited = false;
  let onExit: (() => void) | null = null;

  let child: ChildProcess | null = null;
  try {
    // Its own process group (detached), so that stopping it also stops whatever the shell started.
    child = spawn(command, { shell: true, stdio: ['pipe', 'pipe', 'pipe'], detached: true, ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });
  } catch (e) {
    failed = mkError('impl.spawn', `cannot start implementation '${command}': ${e instanceof Error ? e.message : String(e)}`);
  }

  const fail = (error: MkhvError): void => {
    failed ??= error;
    const w = waiting;
    waiting = null;
    w?.(E.left(failed));
  };
  const stderrNote = (): string => (stderr.trim() === '' ? '' : `: ${clip(stderr.trim().split('\n').slice(-3).join(' / '))}`);
  const kill = (): void => {
    if (child?.pid === undefined || exited) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };

  if (child !== null) {
    child.on('error', (e) => fail(mkError('impl.spawn', `cannot start implementation '${command}': ${e.message}`)));
    // Writing to a process that has gone is reported by 'close' below, not as an exception.
    child.stdin?.on('error', () => undefined);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        // ORC-SRV-1 ignores blank request lines; be as lenient with blank response lines.
        if (line.trim() !== '') lines.push(line);
      }
      deliver();
    });
    // 'close' comes after the process exited and its output was read to the end, so a last
    // response written just before exiting is still delivered.
    child.on('close', (code, signal) => {
      exited = true;
      onExit?.();
      if (buffer.trim() !== '') lines.push(buffer);
      buffer = '';
      deliver();
      const how = signal !== null ? `was killed by ${signal}` : code === 127 ? 'could not be run (exit code 127: command not found?)' : `exited with code ${code}`;
      fail(mkError('impl.exit', `implementation '${command}' ${how}${stderrNote()}`));
    });
  }

  function deliver(): void {
    if (waiting === null || lines.length === 0) return;
    const w = waiting;
    waiting = null;
    w(E.right(lines.shift()!));
  }

  function nextLine(what: string): Promise<E.Either<MkhvError, string>> {
    return new Promise((resolve) => {
      if (failed !== null) return resolve(E.left(failed));
      const timer = setTimeout(() => {
        fail(mkError('impl.timeout', `implementation '${command}' did not answer a '${what}' request within ${timeoutMs / 1000} s`));
        kill();
      }, timeoutMs);
      waiting = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      deliver();
    });
  }

  return {
    name: command,
    async request(request) {
      if (failed !== null || child === null) return E.left(failed ?? mkError('impl.spawn', `cannot start implementation '${command}'`));
      const id = nextId++;
      const what = typeof request['type'] === 'string' ? request['type'] : 'request';
      child.stdin?.write(JSON.stringify({ ...request, id }) + '\n');
      const line = await nextLine(what);
      if (E.isLeft(line)) return line;
      const response = parseResponse(command, line.right);
      if (E.isLeft(response)) {
        fail(response.left);
        kill();
        return response;
      }
      // ORC-SRV-1 echoes the id; a different one means the streams are out of step.
      const echoed = response.right['id'];
      if (echoed !== undefined && echoed !== id) {
        const error = mkError('impl.protocol', `implementation '${command}' answered request ${id} ('${what}') with a response for request ${JSON.stringify(echoed)}`);
        fail(error);
        kill();
        return E.left(error);
      }
      return response;
    },
    close() {
      if (child === null || exited) return Promise.resolve();
      const c = child;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          kill();
          resolve();
        }, CLOSE_GRACE_MS);
        onExit = () => {
          clearTimeout(timer);
          resolve();
        };
        failed ??= mkError('impl.closed', `implementation '${command}': the session is closed`);
        c.stdin?.end();
      });
    },
  };
}
