// `vmlaunch gc`: removes what a killed vmlaunch process left behind — links of dead owners,
// dangling redirects and their ingress qdiscs, and from the crash journal: borrowed veths put
// back (MAC, addresses, routes, master...) and the netns it created; --dry-run only lists them.
import { parseArgs } from 'node:util';
import { collectOrphans, type Orphan } from '../../network/orphans.js';

// Where an orphan is, as a phrase.
function place(o: Orphan): string {
  return o.netns === '' ? 'this netns' : o.netns.startsWith('/') ? o.netns : `netns ${o.netns}`;
}

// What happened to it (or would, in a dry run).
function outcome(o: Orphan, dryRun: boolean): string {
  const changes = o.restored ?? [];
  let did = '';
  if (o.kind === 'borrowed-link' && changes.length > 0) {
    did = `${dryRun ? 'to do' : 'done'}: ${changes.join(', ')}`;
  } else if (o.kind === 'borrowed-link' || o.detail !== undefined) {
    did = o.detail ?? 'already as it was';
  } else if (o.error === undefined) {
    did = dryRun ? 'found' : o.kind === 'netns' ? 'deleted' : 'removed';
  }
  if (o.error !== undefined) return `${did ? `${did}; ` : ''}NOT done: ${o.error}`;
  const entryGone = o.entry !== undefined && o.removed && o.kind !== 'journal-temp';
  return entryGone ? `${did} (journal entry removed)` : did;
}

// One line per orphan, naming what it is and whose it was.
function describe(o: Orphan, dryRun: boolean): string {
  const owner =
    o.pid === undefined
      ? ''
      : o.nicId === undefined
        ? ` (created by dead pid ${o.pid})`
        : ` (NIC ${o.nicId}, dead pid ${o.pid})`;
  switch (o.kind) {
    case 'borrowed-link':
      return `borrowed link ${o.ifname} in ${place(o)}${owner}: ${outcome(o, dryRun)}`;
    case 'netns':
      return `netns ${o.netns}${owner}: ${outcome(o, dryRun)}`;
    case 'journal-entry':
      return `journal entry ${o.entry}: ${outcome(o, dryRun)}`;
    case 'journal-temp':
      return `unfinished journal write ${o.entry}: ${outcome(o, dryRun)}`;
    default:
      return `${o.kind} on ${o.ifname} in ${place(o)}${owner}: ${outcome(o, dryRun)}`;
  }
}

// Lists or removes orphans; returns the exit code (1 when something could not be dealt with,
// a malformed journal entry included).
export async function gcCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      netns: { type: 'string', multiple: true },
      journal: { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const dryRun = values['dry-run'] === true;
  const orphans = await collectOrphans({
    ...(values.netns ? { netns: values.netns } : {}),
    ...(values.journal ? { journal: values.journal } : {}),
    dryRun,
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(orphans, null, 2)}\n`);
  } else if (orphans.length === 0) {
    process.stdout.write('vmlaunch gc: nothing left behind\n');
  } else {
    for (const o of orphans) process.stdout.write(`${describe(o, dryRun)}\n`);
  }
  const failed = orphans.some((o) => o.error !== undefined || (!o.removed && !dryRun));
  return failed ? 1 : 0;
}
