/**
 * Command-line parsing of every ORLY command, on `node:util` parseArgs: `--flag value` and
 * `--flag=value` for string options, `-h` / `--help` on every command, and a UsageError naming
 * the option for anything else (an unknown option, a missing value, a value given to a boolean
 * flag, a positional argument the command does not take).
 *
 * parseArgs runs non-strict and only tokenizes; the checks are ours, so that a string option
 * takes the next argument even when it starts with a dash (`orly sync --range -3w`, as strfry
 * has it), which strict parseArgs refuses as ambiguous.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The options given: a string for string options, `true` for boolean flags (last one wins). */
export type OptionValues<T extends OptionSpecs> = {
  -readonly [K in keyof T]?: T[K]['type'] extends 'string' ? string : true;
};

/** `help: true` when -h / --help was given (the rest is then not checked). */
export type CommandLine<T extends OptionSpecs> =
  | { readonly help: true }
  | { readonly help: false; readonly values: OptionValues<T>; readonly positionals: readonly string[] };

/**
 * Parses `args` (without node, script and subcommand) against `options` (plus -h / --help);
 * throws UsageError. Positional arguments are refused unless `positionals` is set.
 */
export function parseCommandLine<T extends OptionSpecs>(
  args: readonly string[],
  options: T,
  config: { positionals?: boolean } = {},
): CommandLine<T> {
  const { tokens } = parseArgs({
    args: [...args],
    options: { ...options, help: { type: 'boolean', short: 'h' } } as ParseArgsConfig['options'],
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) return { help: true };
  const values: Record<string, string | true> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
    } else if (token.kind === 'option') {
      const spec = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
      if (spec === undefined) throw new UsageError(`unknown option ${token.rawName}`);
      if (spec.type === 'boolean') {
        if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
        values[token.name] = true;
      } else {
        if (token.value === undefined) throw new UsageError(`${token.rawName} needs a value`);
        values[token.name] = token.value;
      }
    }
  }
  if (!config.positionals && positionals.length > 0)
    throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  return { help: false, values: values as OptionValues<T>, positionals };
}
