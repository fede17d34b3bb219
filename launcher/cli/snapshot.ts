// `vmlaunch snapshot <name> <FILE> [--then resume|pause|shutdown] [--timeout MS]`: saves the
// state of a VM that `vmlaunch run --name <name>` serves to FILE (and FILE.json, its manifest).
import { resolve } from 'node:path';
import { controlCalls } from '../control/client.js';
import { EXIT, msOption, parseCommandLine, stringOption, UsageError } from './usage.js';

/** Usage line of snapshot. */
export const SNAPSHOT_USAGE =
  'vmlaunch snapshot <name> <FILE> [--then resume|pause|shutdown] [--timeout MS]';

const THENS = ['resume', 'pause', 'shutdown'] as const;

// Runs snapshot; returns the exit code.
export async function snapshotCommand(argv: string[]): Promise<number> {
  const line = parseCommandLine(
    argv,
    { then: { type: 'string' }, timeout: { type: 'string' } },
    SNAPSHOT_USAGE,
    { min: 2, max: 2 },
  );
  const [name = '', file = ''] = line.positionals;
  const then = stringOption(line, 'then');
  if (then !== undefined && !(THENS as readonly string[]).includes(then))
    throw new UsageError(`--then expects resume, pause or shutdown, got "${then}"`, SNAPSHOT_USAGE);
  const opTimeout = msOption(stringOption(line, 'timeout'), '--timeout', SNAPSHOT_USAGE);
  // The server runs elsewhere: it gets the path resolved against our working directory.
  const r = await controlCalls.snapshot(
    name,
    resolve(file),
    then as (typeof THENS)[number] | undefined,
    opTimeout ? { opTimeout } : {},
  );
  const image = r.memoryImage
    ? `; RAM image ${r.memoryImage.path} (${r.memoryImage.allocatedBytes} bytes allocated)`
    : '';
  process.stdout.write(
    `Saved VM ${name} to ${r.path} (${r.bytes} bytes in ${Math.round(r.saveMs)} ms)${image}; manifest ${r.manifestPath}.\n`,
  );
  return EXIT.ok;
}
