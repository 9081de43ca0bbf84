#!/usr/bin/env node
// The mkhv command. The sources are TypeScript; tsx compiles them on load, so a fresh
// clone runs with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
});
