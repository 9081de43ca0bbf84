/**
 * Command-line options: a small, strict parser. Every option is declared; an unknown one, a
 * missing value, a value outside the allowed set, or a stray argument is an error value whose
 * message names the offending word (CLI-EXIT-1).
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';

export interface OptionSpec {
  readonly name: string;
  /** Takes a value (`--arch skylake` or `--arch=skylake`); otherwise a flag. */
  readonly value?: { readonly placeholder: string; readonly choices?: readonly string[] };
  readonly help: string;
}

export interface Parsed {
  readonly flags: ReadonlySet<string>;
  readonly values: ReadonlyMap<string, string>;
  readonly positional: readonly string[];
}

/** Parses `args` against `specs`, allowing at most `maxPositional` plain arguments. */
export function parseOptions(command: string, args: readonly string[], specs: readonly OptionSpec[], maxPositional = 0): E.Either<string, Parsed> {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) {
      if (positional.length >= maxPositional) return E.left(`${command}: unexpected argument '${arg}'`);
      positional.push(arg);
      continue;
    }
    const [raw, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const spec = specs.find((s) => `--${s.name}` === raw);
    if (spec === undefined) return E.left(`${command}: unknown option '${raw}'`);
    if (spec.value === undefined) {
      if (inline !== undefined) return E.left(`${command}: option '${raw}' takes no value`);
      flags.add(spec.name);
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) return E.left(`${command}: option '${raw}' needs a value (${spec.value.placeholder})`);
    if (spec.value.choices !== undefined && !spec.value.choices.includes(value)) {
      return E.left(`${command}: '${value}' is not a valid ${raw} (one of: ${spec.value.choices.join(', ')})`);
    }
    if (values.has(spec.name)) return E.left(`${command}: option '${raw}' given twice`);
    values.set(spec.name, value);
  }
  return E.right({ flags, values, positional });
}

/** Help lines for the options. */
export function describeOptions(specs: readonly OptionSpec[]): string[] {
  const label = (s: OptionSpec) => `--${s.name}${s.value === undefined ? '' : ` <${s.value.placeholder}>`}`;
  const width = Math.max(...specs.map((s) => label(s).length));
  return specs.map((s) => `  ${label(s).padEnd(width)}  ${s.help}${s.value?.choices === undefined ? '' : ` (${s.value.choices.join(' | ')})`}`);
}

/** The integer value of option `--name`, `fallback` when absent; out of [min, max] is a usage error. */
export function integerOption(command: string, values: ReadonlyMap<string, string>, name: string, fallback: number, min: number, max: number): E.Either<string, number> {
  const raw = values.get(name);
  if (raw === undefined) return E.right(fallback);
  const n = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) return E.left(`${command}: --${name} must be an integer from ${min} to ${max} (got '${raw}')`);
  return E.right(n);
}
