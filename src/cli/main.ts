/**
 * The `mkhv` command line. Each command is a function of its arguments that prints through
 * an {@link Io} and returns an exit code: 0 success, 1 a check failed, 2 bad usage or input
 * (with a one-line message naming the problem, never a stack trace).
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { parseOptions } from './args.ts';
import { COST_HELP, runCost } from './cost.ts';
import { DIFF_HELP, runDiffCommand } from './diff.ts';
import { runHardwareDemo } from './demos/hardware.ts';
import { runHypervisorDemo } from './demos/hypervisor.ts';
import { runMicrokernelDemo } from './demos/microkernel.ts';
import { EXIT, type Io } from './io.ts';
import { RUN_HELP, runRun } from './run.ts';
import { SERVE_HELP, runServe } from './serve.ts';
import { VECTORS_HELP, runVectors } from './vectors.ts';
import { CHECK_HELP, runCheck } from './check.ts';

export type { Io } from './io.ts';

const VERSION = '0.1.0';

interface Command {
  readonly summary: string;
  readonly help: string;
  readonly run: (args: readonly string[], io: Io) => number | Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  demo: {
    summary: 'run the built-in demonstrations and print readable traces',
    help: [
      'usage: mkhv demo [hardware | microkernel | hypervisor]',
      '',
      'Runs built-in demonstrations step by step and prints one line per step; with no',
      'argument, all of them in turn.',
      '  hardware     a tiny EL1 kernel and an EL0 program: system calls, a page fault',
      '               served by mapping the page, a timer interrupt',
      '  microkernel  a client calls a server over an endpoint; a page fault is served by',
      '               a user-level pager',
      '  hypervisor   two guests, a driver domain and dom0: a paravirtual disk request over',
      '               a granted ring and an event channel, and a save and restore',
    ].join('\n'),
    run: (args, io) => {
      const parsed = parseOptions('demo', args, [], 1);
      if (E.isLeft(parsed)) return usage(io, parsed.left);
      const demos: Readonly<Record<string, (print: (line: string) => void) => unknown>> = {
        hardware: runHardwareDemo,
        microkernel: runMicrokernelDemo,
        hypervisor: runHypervisorDemo,
      };
      const chosen = args[0] === undefined ? Object.keys(demos) : [args[0]];
      const unknown = chosen.find((d) => !Object.hasOwn(demos, d));
      if (unknown !== undefined) return usage(io, `demo: unknown demo '${unknown}' (known: ${Object.keys(demos).join(', ')})`);
      chosen.forEach((d, i) => {
        if (i > 0) io.out('');
        demos[d]!(io.out);
      });
      return EXIT.OK;
    },
  },
  cost: {
    summary: 'cycles of a named operation under a microarchitecture\'s cost table',
    help: COST_HELP,
    run: runCost,
  },
  run: {
    summary: 'replay a trace on a scenario and print one record per step',
    help: RUN_HELP,
    run: runRun,
  },
  serve: {
    summary: 'the oracle protocol: JSON requests on stdin, JSON responses on stdout',
    help: SERVE_HELP,
    run: runServe,
  },
  diff: {
    summary: 'drive another implementation through the serve protocol and compare its records with mkhv\'s',
    help: DIFF_HELP,
    run: runDiffCommand,
  },
  check: {
    summary: 'model-check a scenario: every reachable state against every invariant, every transition against integrity',
    help: CHECK_HELP,
    run: runCheck,
  },
  vectors: {
    summary: 'write the conformance vectors to spec/vectors/ (or --check them) and print their coverage',
    help: VECTORS_HELP,
    run: runVectors,
  },
};

function usage(io: Io, message: string): number {
  io.err(`mkhv: ${message}`);
  io.err(`Try 'mkhv --help'.`);
  return EXIT.USAGE;
}

function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'mkhv — an executable, model-checked reference of a microkernel and a hypervisor',
    '',
    'usage: mkhv <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'options:',
    '  --help, -h     show this help, or a command\'s help after the command',
    '  --version      print the version',
  ].join('\n');
}

/** Runs the command line `args` (without the program name); returns the exit code. */
export async function main(args: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.out(overview());
    return first === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (first === '--version') {
    io.out(VERSION);
    return EXIT.OK;
  }
  // Own names only: 'toString' or '__proto__' is not a command.
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (command === undefined) {
    return usage(io, first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}'`);
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.help);
    return EXIT.OK;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    // A defect, not bad input: say so in one line rather than dump a stack.
    io.err(`mkhv: internal error in '${first}': ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.FAILED;
  }
}
