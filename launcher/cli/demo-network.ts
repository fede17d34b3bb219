// The demo's network: a "container" netns with a veth eth0 (as CNI would leave it) whose peer
// sits in a second netns holding the address the guest pings, and a second veth eth1 on its own
// subnet for the hot-plug step. Both netns are ours, made and removed by the demo; the host's
// own interfaces are never touched.
import { randomBytes } from 'node:crypto';
import { createNetns, type NamedNetns } from '../../network/netns/index.js';
import { openNetlink } from '../../network/netlink/index.js';

/** The two netns and the addresses of the demo. */
export interface DemoNetwork {
  container: NamedNetns;
  peer: NamedNetns;
  /** Address of the peer (what the guest pings). */
  peerAddress: string;
  /** Address the guest takes (eth0's, as kata does), with its prefix. */
  guestCidr: string;
  /** The second veth (for the hot-plug step): its name in the container, peer and guest addresses. */
  second: { ifname: string; peerAddress: string; guestCidr: string };
  /** Removes both netns (their links go with them); safe to call twice. */
  remove(): void;
}

// Builds the demo network; on failure removes what it made.
export async function createDemoNetwork(): Promise<DemoNetwork> {
  const id = randomBytes(3).toString('hex');
  const a = 200 + (parseInt(id.slice(0, 2), 16) % 50);
  const b = parseInt(id.slice(2, 4), 16);
  const subnet = `10.${a}.${b}`;
  // A different /24 (the top bit of the third octet flipped) for the hot-plugged NIC.
  const subnet2 = `10.${a}.${b ^ 0x80}`;
  const made: NamedNetns[] = [];
  const remove = (): void => {
    for (const ns of made.reverse()) ns.delete();
    made.length = 0;
  };
  try {
    const container = createNetns(`vml-demo-${id}`);
    made.push(container);
    const peer = createNetns(`vml-demo-${id}-peer`);
    made.push(peer);
    const ctr = openNetlink(container.path);
    try {
      await ctr.links.setUp('lo');
      await ctr.links.addVeth({ name: 'eth0', peer: { name: 'peer0', netns: peer.path } });
      await ctr.addresses.add('eth0', `${subnet}.2/24`);
      await ctr.links.setUp('eth0');
      await ctr.links.addVeth({ name: 'eth1', peer: { name: 'peer1', netns: peer.path } });
      await ctr.addresses.add('eth1', `${subnet2}.2/24`);
      await ctr.links.setUp('eth1');
    } finally {
      await ctr.close();
    }
    const p = openNetlink(peer.path);
    try {
      await p.links.setUp('lo');
      await p.addresses.add('peer0', `${subnet}.1/24`);
      await p.links.setUp('peer0');
      await p.addresses.add('peer1', `${subnet2}.1/24`);
      await p.links.setUp('peer1');
    } finally {
      await p.close();
    }
    return {
      container,
      peer,
      peerAddress: `${subnet}.1`,
      guestCidr: `${subnet}.2/24`,
      second: { ifname: 'eth1', peerAddress: `${subnet2}.1`, guestCidr: `${subnet2}.2/24` },
      remove,
    };
  } catch (error) {
    remove();
    throw error;
  }
}
