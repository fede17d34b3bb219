// `vmlaunch detach <name> <ID> [--timeout MS]`: hot-unplugs NIC ID from a VM served by
// `vmlaunch run`. Exit 0 when removed; 3 when the guest has not let go by the deadline (the run
// process completes the removal when it does, and says so on its stderr).
import { controlCalls } from '../control/client.js';
import { EXIT, msOption, parseCommandLine, stringOption } from './usage.js';

/** Usage line of detach. */
export const DETACH_USAGE = 'vmlaunch detach <name> <ID> [--timeout MS]';

// Runs detach; returns the exit code.
export async function detachCommand(argv: string[]): Promise<number> {
  const line = parseCommandLine(argv, { timeout: { type: 'string' } }, DETACH_USAGE, {
    min: 2,
    max: 2,
  });
  const [name = '', nicId = ''] = line.positionals;
  const opTimeout = msOption(stringOption(line, 'timeout'), '--timeout', DETACH_USAGE);
  const r = await controlCalls.detach(name, nicId, opTimeout ? { opTimeout } : {});
  if (r.status === 'removed') {
    process.stdout.write(
      `Detached ${r.nicId} from VM ${name} in ${r.ms} ms: the guest released it and its host side is removed.\n`,
    );
    return EXIT.ok;
  }
  process.stdout.write(`${r.nicId} is not detached yet (waited ${r.ms} ms): ${r.explanation}\n`);
  return EXIT.pending;
}
