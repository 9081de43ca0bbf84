#!/usr/bin/env node
// The mkhv command. The sources are TypeScript; tsx compiles them on load, so a fresh
// clone runs with no build step.
import { register } from 'tsx/esm/api';

register();
// A reader that stops early (`mkhv run … | head`) is not an error of ours.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
const { main } = await import('../src/cli/main.ts');
// Standard output is buffered: one write per 64 KiB or per turn of the event loop, not one per
// line — a replay or a serve session prints hundreds of thousands of lines.
let pending = [];
let pendingBytes = 0;
let scheduled = false;
function flush() {
  scheduled = false;
  if (pending.length === 0) return;
  const text = pending.join('');
  pending = [];
  pendingBytes = 0;
  process.stdout.write(text);
}
function out(line) {
  pending.push(line + '\n');
  pendingBytes += line.length + 1;
  if (pendingBytes >= 65536) flush();
  else if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}
process.exitCode = await main(process.argv.slice(2), {
  out,
  err: (line) => {
    flush();
    process.stderr.write(line + '\n');
  },
  // Standard input as text chunks, opened only when a command reads it.
  get input() {
    return process.stdin.setEncoding('utf8');
  },
});
flush();
