// `vmlaunch exec <name> [--timeout MS] -- CMD...`: runs a command in the guest of a VM served by
// `vmlaunch run` (over its console shell), prints its output, exits with its status. One word
// after `--` is a shell command line ('ls -l | wc -l'); several are an argv whose boundaries
// are kept (each word quoted for the guest's shell), like `docker exec`.
import { controlCalls } from '../control/client.js';
import { formatShellCommand } from '../shell-quote.js';
import { msOption, parseCommandLine, stringOption } from './usage.js';

/** Usage line of exec. */
export const EXEC_USAGE = 'vmlaunch exec <name> [--timeout MS] -- CMD...';

// Runs exec; returns the guest command's exit status.
export async function execCommand(argv: string[]): Promise<number> {
  const line = parseCommandLine(argv, { timeout: { type: 'string' } }, EXEC_USAGE, {
    min: 2,
    max: Infinity,
  });
  const [name = '', ...words] = line.positionals;
  const opTimeout = msOption(stringOption(line, 'timeout'), '--timeout', EXEC_USAGE);
  const command = words.length === 1 ? words[0]! : formatShellCommand(words);
  const r = await controlCalls.exec(name, command, opTimeout ? { opTimeout } : {});
  process.stdout.write(r.output);
  return r.status;
}
