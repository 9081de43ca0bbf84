#!/usr/bin/env node
// The mkhv command. The sources are TypeScript; tsx compiles them on load, so a fresh
// clone runs with no build step.
import { createInterface } from 'node:readline';
import { register } from 'tsx/esm/api';

register();
// A reader that stops early (`mkhv run … | head`) is not an error of ours.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  // Standard input line by line, opened only when a command reads it.
  get input() {
    return createInterface({ input: process.stdin, crlfDelay: Infinity });
  },
});
