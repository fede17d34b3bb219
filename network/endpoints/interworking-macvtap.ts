// The macvtap model: a macvtap in bridge mode on the veth, its queues opened from its own char
// device. The macvtap takes the veth's MAC (the MAC the CNI network knows) and the veth gets a
// fresh locally administered one; the veth's addresses are cleared while attached.
import type { TapHostNic } from '../host-nic.js';
import type { Link } from '../netlink/index.js';
import { openMacvtapQueues } from '../macvtap-device.js';
import type { AttachRun } from './attach-run.js';
import { unlessGone } from './attach-run.js';
import { journalBorrowedLink } from './borrow-journal.js';
import { createMacvtapLink } from './macvtap-link.js';
import { ownerAlias, randomLocalMac } from './names.js';
import type { VethEndpoint } from './types.js';
import { clearVethAddresses, freshVethMac } from './veth-handover.js';
import { tapHostNic, vhostStep } from './vhost-net.js';

// The macvtap interworking model, each step named and undone.
/**
 * Plumbs macvtap interworking for `veth` (already read) and returns the HostNic.
 * @throws {StepError} 'journal <veth>', 'set veth mac', 'create macvtap', 'set macvtap alias', 'set macvtap up',
 *   'clear veth addresses', 'open macvtap queues', 'open vhost-net'.
 */
export async function attachMacvtapModel(
  run: AttachRun,
  endpoint: VethEndpoint,
  veth: Link,
): Promise<TapHostNic> {
  const queues = endpoint.queues ?? 1;
  const name = run.linkName('m');
  const mac = endpoint.mac ?? veth.mac ?? randomLocalMac();
  const mtu = endpoint.mtu ?? veth.mtu;
  await journalBorrowedLink(run, veth, { addresses: true }, ['m']);
  // The macvtap cannot come up with its lower's MAC (macvlan_open: EADDRINUSE), so the veth
  // gives its MAC away first.
  await freshVethMac(run, veth);
  const index = await run.step('create macvtap', async (nl) => {
    const created = await createMacvtapLink(nl, {
      name,
      parentIndex: veth.index,
      mac,
      ...(endpoint.mtu === undefined ? {} : { mtu: endpoint.mtu }),
    });
    run.undo('delete macvtap', (client) => unlessGone(() => client.links.delete(created)));
    return created;
  });
  await run.step('set macvtap alias', (nl) => nl.links.setAlias(index, ownerAlias(run.ctx.nicId)));
  await run.step('set macvtap up', (nl) => nl.links.setUp(index));
  // What the guest writes is sent by the macvtap (its egress): tx limits shape there. What it
  // receives never passes an egress of ours, so rx has no link (docs/nic-control.md).
  run.shaped.tx = { index, name, removedWithTheLink: true };
  await clearVethAddresses(run, veth);
  const opened = await run.step('open macvtap queues', () =>
    openMacvtapQueues(name, index, queues, true, run.deps.macvtap),
  );
  run.ownFds('close macvtap fds', opened.fds);
  const vhost = await vhostStep(run, queues);
  return tapHostNic(run, { mac, mtu, ifname: name, tapFds: opened.fds, vhost });
}
