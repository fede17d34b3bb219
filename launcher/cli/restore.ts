// `vmlaunch restore <FILE> [--net [ID=]SPEC ...] [--netns NS] [--name NAME] [--paused]`: a VM
// back from a snapshot, served like `vmlaunch run` (console on this terminal, control socket,
// Ctrl-C shuts it down). Each NIC gets a fresh host side: `--net net0=veth:eth0@ns2` names the
// endpoint of NIC net0 (a SPEC without ID= is for the NIC at its position), `--netns` moves
// every NIC's saved endpoint into another netns.
import { parseArgs } from 'node:util';
import { restore } from '../snapshot/restore.js';
import { readManifest } from '../snapshot/restore.js';
import type { RestoreNic } from '../snapshot/restore-options.js';
import { parseEndpointSpec } from './endpoint-spec.js';
import { defaultVmName } from './run-control.js';
import { serveVm } from './serve-vm.js';
import { StatusLine } from './status-line.js';
import { TerminalOutput } from './terminal-output.js';
import { UsageError } from './usage.js';

/** Usage line of restore. */
export const RESTORE_USAGE =
  'vmlaunch restore <FILE> [--net [ID=]SPEC ...] [--netns NS] [--name NAME] [--paused]';

// `--net` values -> per-NIC endpoints, by id or by position among the saved NICs.
function nicsFromFlags(specs: string[], savedIds: string[]): Record<string, RestoreNic> {
  const nics: Record<string, RestoreNic> = {};
  specs.forEach((value, i) => {
    const eq = value.indexOf('=');
    const colon = value.indexOf(':');
    const named = eq > 0 && (colon < 0 || eq < colon);
    const id = named ? value.slice(0, eq) : savedIds[i];
    if (id === undefined)
      throw new UsageError(
        `--net ${value}: the snapshot has only ${savedIds.length} NICs`,
        RESTORE_USAGE,
      );
    const spec = parseEndpointSpec(named ? value.slice(eq + 1) : value, i);
    nics[id] = { endpoint: spec.endpoint, ...(spec.netns ? { netns: spec.netns } : {}) };
  });
  return nics;
}

// Runs restore until the VM ends or Ctrl-C; returns the exit code.
export async function restoreCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        net: { type: 'string', multiple: true, default: [] },
        netns: { type: 'string' },
        name: { type: 'string' },
        paused: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message, RESTORE_USAGE);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError('expected one snapshot FILE', RESTORE_USAGE);
  const file = positionals[0]!;
  const saved = readManifest(file).nics.map((n) => n.id);
  const nics = nicsFromFlags(values.net, saved);
  const stdout = new TerminalOutput(1);
  const stderr = new TerminalOutput(2);
  const status = new StatusLine(stderr);
  return serveVm(
    values.name ?? defaultVmName(),
    () =>
      restore(file, {
        nics,
        ...(values.netns ? { netns: values.netns } : {}),
        ...(values.paused ? { paused: true } : {}),
      }),
    { stdout, stderr, status },
  );
}
