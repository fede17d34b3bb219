// `vmlaunch gc`: removes what a killed vmlaunch process left in network namespaces (links of
// dead owners, dangling redirects and their ingress qdiscs); --dry-run only lists them.
import { parseArgs } from 'node:util';
import { collectOrphans } from '../../network/orphans.js';

// Lists or removes orphans; returns the exit code (1 when something could not be removed).
export async function gcCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      netns: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const orphans = await collectOrphans({
    ...(values.netns ? { netns: values.netns } : {}),
    dryRun: values['dry-run'] === true,
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(orphans, null, 2)}\n`);
  } else if (orphans.length === 0) {
    process.stdout.write('vmlaunch gc: nothing left behind\n');
  } else {
    for (const o of orphans) {
      const where = o.netns === '' ? 'this netns' : `netns ${o.netns}`;
      const owner = o.pid !== undefined ? ` (NIC ${o.nicId}, dead pid ${o.pid})` : '';
      const done = values['dry-run'] ? 'found' : o.removed ? 'removed' : `NOT removed: ${o.error}`;
      process.stdout.write(`${o.kind} on ${o.ifname} in ${where}${owner}: ${done}\n`);
    }
  }
  return orphans.some((o) => !o.removed && !values['dry-run']) ? 1 : 0;
}
