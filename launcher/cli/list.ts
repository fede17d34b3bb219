// `vmlaunch list [--json]`: the VMs `vmlaunch run` serves here, with their NICs; a runtime dir
// that does not answer is shown as such (it is never removed from here).
import { callVm, listVmNames } from '../control/client.js';
import type { StatusReply } from '../control/protocol.js';
import { explainError } from './explain.js';
import { EXIT, parseCommandLine } from './usage.js';

/** Usage line of list. */
export const LIST_USAGE = 'vmlaunch list [--json]';

type Row = { name: string; status?: StatusReply; problem?: string };

// One VM as a line (and one line per NIC).
function formatRow(row: Row): string {
  if (!row.status)
    return `${row.name}  not answering: ${row.problem ?? 'unknown'} (a run that ended without cleaning up leaves this; \`vmlaunch run --name ${row.name}\` reclaims it)`;
  const s = row.status;
  const head = `${s.name}  run pid ${s.pid}, QEMU pid ${s.qemuPid}, ${s.accel.toUpperCase()}, ${s.nics.length} NIC${s.nics.length === 1 ? '' : 's'}`;
  const nics = s.nics.map(
    (n) =>
      `    ${n.nicId}  ${n.origin === 'boot' ? 'boot' : 'hot-plugged'} ${n.kind}${n.mac ? `, mac ${n.mac}` : ''}${n.bus ? `, on ${n.bus}` : ''}${n.state === 'unplugging' ? ', unplugging' : ''}`,
  );
  return [head, ...nics].join('\n');
}

// Runs list; returns the exit code.
export async function listCommand(argv: string[]): Promise<number> {
  const line = parseCommandLine(argv, { json: { type: 'boolean' } }, LIST_USAGE, {
    min: 0,
    max: 0,
  });
  const rows: Row[] = await Promise.all(
    listVmNames().map(async (name): Promise<Row> => {
      try {
        return {
          name,
          status: await callVm<StatusReply>(name, { op: 'status' }, { timeout: 5000 }),
        };
      } catch (error) {
        return { name, problem: explainError(error).split('\n')[0] ?? '' };
      }
    }),
  );
  if (line.values.json === true) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  } else if (rows.length === 0) {
    process.stdout.write('No VMs are running under vmlaunch run here.\n');
  } else {
    process.stdout.write(`${rows.map(formatRow).join('\n')}\n`);
  }
  return EXIT.ok;
}
