// Command-line mistakes: a typed error main() prints with the command's usage and exit code 2.
import { parseArgs } from 'node:util';
import { VmlaunchError } from '../../core/index.js';

/** Wrong arguments for a subcommand; `usage` is the line to show. */
export class UsageError extends VmlaunchError {
  readonly usage: string;

  constructor(message: string, usage: string) {
    super(message, 'USAGE');
    this.usage = usage;
  }
}

/** Exit codes of the control commands (attach, detach, list, exec). */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  /** detach: the guest has not released the NIC yet (it completes by itself). */
  pending: 3,
  /** No such VM, or its control socket did not answer. */
  noVm: 4,
  /** exec: the command could not be run in the guest at all. */
  execFailed: 125,
} as const;

/** Parsed options (string or boolean flags only) and positionals. */
export interface CommandLine {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

// parseArgs with its TypeErrors turned into UsageErrors that carry the usage line.
/** @throws UsageError for unknown flags, missing values, or a wrong number of positionals. */
export function parseCommandLine(
  argv: string[],
  options: Record<string, { type: 'string' | 'boolean' }>,
  usage: string,
  positionals: { min: number; max: number },
): CommandLine {
  let parsed: CommandLine;
  try {
    const result = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    parsed = { values: result.values, positionals: result.positionals };
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
  const n = parsed.positionals.length;
  if (n < positionals.min) throw new UsageError('missing arguments', usage);
  if (n > positionals.max)
    throw new UsageError(`unexpected argument "${parsed.positionals[positionals.max]}"`, usage);
  return parsed;
}

// A string option's value (parseArgs gives strings for type 'string').
export function stringOption(line: CommandLine, key: string): string | undefined {
  const v = line.values[key];
  return typeof v === 'string' ? v : undefined;
}

// A positive integer option (milliseconds), or undefined.
export function msOption(
  value: string | undefined,
  flag: string,
  usage: string,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`${flag} expects milliseconds, got "${value}"`, usage);
  return n;
}
