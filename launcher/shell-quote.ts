// Prints an argv so that it pastes into a POSIX shell and runs the same command (dry runs,
// logs, launch errors). Single quotes keep everything literal except the quote itself.

/** Characters that never need quoting in sh. */
const SAFE_RE = /^[A-Za-z0-9_@%+=:,./-]+$/;

// One word: as is when it is safe, else in single quotes with ' written as '\''.
export function quoteShellArg(arg: string): string {
  if (SAFE_RE.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

// A whole command line, words separated by single spaces.
export function formatShellCommand(argv: readonly string[]): string {
  return argv.map(quoteShellArg).join(' ');
}
