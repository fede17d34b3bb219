// The bridged model: a bridge (multicast snooping off, so the guest's multicast is flooded
// rather than filtered by IGMP state the bridge never learnt) joining the veth and a tap. As in
// the macvtap model the guest takes the veth's MAC and addresses: the bridge would otherwise
// deliver frames for that MAC to the host (a local fdb entry) instead of the tap.
import type { TapHostNic } from '../host-nic.js';
import type { Link } from '../netlink/index.js';
import type { AttachRun } from './attach-run.js';
import { unlessGone } from './attach-run.js';
import { journalBorrowedLink } from './borrow-journal.js';
import { createTap } from './host-tap.js';
import { ownerAlias, randomLocalMac } from './names.js';
import type { VethEndpoint } from './types.js';
import { clearVethAddresses, freshVethMac } from './veth-handover.js';
import { tapHostNic, vhostStep } from './vhost-net.js';

// The bridged interworking model, each step named and undone.
/**
 * Plumbs bridged interworking for `veth` (already read) and returns the HostNic.
 * @throws {StepError} 'journal <veth>', 'create bridge', 'set bridge alias', 'open tap'..., 'set veth mac',
 *   'clear veth addresses', 'join veth to bridge', 'join tap to bridge', 'set bridge up',
 *   'open vhost-net'.
 */
export async function attachBridged(
  run: AttachRun,
  endpoint: VethEndpoint,
  veth: Link,
): Promise<TapHostNic> {
  const queues = endpoint.queues ?? 1;
  const mtu = endpoint.mtu ?? veth.mtu;
  const mac = endpoint.mac ?? veth.mac ?? randomLocalMac();
  const bridgeName = run.linkName('b');
  await journalBorrowedLink(run, veth, { addresses: true }, ['b', 't']);
  const bridge = await run.step('create bridge', async (nl) => {
    await nl.links.addBridge({ name: bridgeName, mtu: veth.mtu, mcastSnooping: false });
    // Registered before anything else can fail, by name (the ifindex is not known yet).
    run.undo('delete bridge', (client) => unlessGone(() => client.links.delete(bridgeName)));
    return (await nl.links.get(bridgeName)).index;
  });
  await run.step('set bridge alias', (nl) => nl.links.setAlias(bridge, ownerAlias(run.ctx.nicId)));
  const tap = await createTap(run, queues, mtu);
  await freshVethMac(run, veth);
  await clearVethAddresses(run, veth);
  await run.step('join veth to bridge', async (nl) => {
    await nl.links.setMaster(veth.index, bridge);
    run.undo('release veth from bridge', (client) =>
      unlessGone(() => client.links.setNoMaster(veth.index)),
    );
  });
  await run.step('join tap to bridge', (nl) => nl.links.setMaster(tap.index, bridge));
  // The bridge forwards the guest's frames out of the veth: tx limits shape its egress.
  run.shaped.tx = { index: veth.index, name: veth.name };
  await run.step('set bridge up', (nl) => nl.links.setUp(bridge));
  const vhost = await vhostStep(run, queues);
  return tapHostNic(run, { mac, mtu, ifname: tap.name, tapFds: tap.fds, vhost });
}
