// `vmlaunch attach <name> <SPEC> [--id ID] [--timeout MS]`: hot-plugs an endpoint into a VM that
// `vmlaunch run --name <name>` serves, and says where it went and how long each part took.
import { controlCalls } from '../control/client.js';
import { EXIT, msOption, parseCommandLine, stringOption } from './usage.js';

/** Usage line of attach. */
export const ATTACH_USAGE = 'vmlaunch attach <name> <SPEC> [--id ID] [--timeout MS]';

// Runs attach; returns the exit code.
export async function attachCommand(argv: string[]): Promise<number> {
  const line = parseCommandLine(
    argv,
    { id: { type: 'string' }, timeout: { type: 'string' } },
    ATTACH_USAGE,
    { min: 2, max: 2 },
  );
  const [name = '', spec = ''] = line.positionals;
  const opTimeout = msOption(stringOption(line, 'timeout'), '--timeout', ATTACH_USAGE);
  const r = await controlCalls.attach(
    name,
    spec,
    stringOption(line, 'id'),
    opTimeout ? { opTimeout } : {},
  );
  const t = r.timings;
  const parts = [
    `host ${t.host} ms`,
    `QMP ${t.qmp} ms`,
    ...(t.guest !== undefined ? [`guest ${t.guest} ms`] : []),
  ];
  process.stdout.write(
    `Attached ${r.nicId} to VM ${name}: mac ${r.mac}, on root port ${r.bus}, in ${r.ms} ms (${parts.join(', ')}).\n`,
  );
  return EXIT.ok;
}
