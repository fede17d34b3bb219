// A tap that vmlaunch creates for a NIC: opened through the addon inside the netns (not
// persistent, so it vanishes when the last queue fd closes, e.g. when QEMU dies), labelled with
// our ifalias, given its MTU and brought up. Used by the tcfilter, bridged and none models and
// by tap endpoints with `create: true`.
import { NetlinkError } from '../errors.js';
import type { TapHostNic } from '../host-nic.js';
import type { Link } from '../netlink/index.js';
import type { AttachRun } from './attach-run.js';
import { unlessGone } from './attach-run.js';
import { ownerAlias, randomLocalMac } from './names.js';
import type { TcfilterEndpoint } from './types.js';
import { tapHostNic, vhostStep } from './vhost-net.js';

/** A tap made by createTap: its name, ifindex and queue fds (the caller's after attach). */
export interface CreatedTap {
  name: string;
  index: number;
  fds: number[];
}

// Every model that needs a tap makes it the same way, each step named and undone.
/**
 * Creates tap `name` (default: the run's own, run.linkName('t')) with `queues` queues in its netns, sets
 * alias, MTU and up.
 * @throws {StepError} 'open tap' (EEXIST when the name is taken), 'set tap alias',
 *   'set tap mtu', 'set tap up'.
 */
export async function createTap(
  run: AttachRun,
  queues: number,
  mtu: number | undefined,
  name = run.linkName('t'),
): Promise<CreatedTap> {
  const alias = ownerAlias(run.ctx.nicId);
  const tap = await run.step('open tap', async (nl) => {
    // TUNSETIFF on an existing tap would attach to it: a taken name must be refused, not reused.
    if ((await nl.links.find(name)) !== undefined) {
      throw new NetlinkError(`tap open ${name}`, 17, 'EEXIST', 'a link of that name exists');
    }
    // Exclusive: a concurrent creator of the same name gets EBUSY instead of our queues.
    const opened = run.deps.tapOpen(run.netnsFile, name, {
      queues,
      vnetHdr: true,
      exclusive: true,
    });
    run.ownFds('close tap fds', opened.fds);
    const index = (await nl.links.get(name)).index;
    run.undo('remove tap', async (client) => {
      // Before hand-over, closing our fds removes the non-persistent tap; afterwards the fds
      // are the caller's, so the tap is deleted if it still exists and is still ours.
      if (!run.attached) return;
      await unlessGone(async () => {
        const link = await client.links.find(index);
        if (link !== undefined && link.name === name && link.alias === alias) {
          // Done once the tap has left the netns; the kernel's RCU wait ends in the background.
          await client.links.delete(index, { until: 'unlisted' });
        }
      });
    });
    return { name, index, fds: opened.fds };
  });
  const index = tap.index;
  // The tap's egress is what the guest receives: rate limits shape it there.
  run.shaped.rx = { index, name, removedWithTheLink: true };
  await run.step('set tap alias', (nl) => nl.links.setAlias(index, alias));
  if (mtu !== undefined) await run.step('set tap mtu', (nl) => nl.links.setMtu(index, mtu));
  await run.step('set tap up', (nl) => nl.links.setUp(index));
  return tap;
}

// The models that give the guest a tap of their own for a veth (tcfilter, none) hand it over
// alike: vhost-net per the policy, the endpoint's MAC, else the veth's.
/** The TapHostNic of `tap`, made for `veth`. */
export async function vethTapNic(
  run: AttachRun,
  endpoint: TcfilterEndpoint,
  veth: Link,
  tap: CreatedTap,
  queues: number,
  mtu: number,
): Promise<TapHostNic> {
  const vhost = await vhostStep(run, queues);
  return tapHostNic(run, {
    mac: endpoint.mac ?? veth.mac ?? randomLocalMac(),
    mtu,
    ifname: tap.name,
    tapFds: tap.fds,
    vhost,
  });
}
