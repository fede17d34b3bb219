// Finding and opening the char device of a macvtap that lives in a test netns, without trusting
// /dev/tap<ifindex>: ifindexes are per netns, but devtmpfs names are global (see the
// macvtap-node test), so the node is found by its own dev_t and made privately with mknod.
// The lookup itself is library code (network/macvtap-device.ts); this file adds the test setup.
import {
  findMacvtapDevice,
  macvtapMajor,
  makedev,
  makePrivateNode,
} from '../../../network/macvtap-device.js';
import { ip, ipJson } from '../../helpers/netns.js';

export { macvtapMajor, makedev };

/** A macvtap made by `ip` in a test netns, with its ifindex and char device numbers. */
export interface TestMacvtap {
  name: string;
  ifindex: number;
  major: number;
  minor: number;
}

/**
 * Adds macvtap `name` (mode bridge) on a new veth inside `netns` and finds its dev_t through
 * /sys/dev/char, whose links name the device path ('.../net/NAME/macvtap/tapIFINDEX'): unique
 * when the macvtap name is unique, unlike /dev/tapN.
 */
export function addMacvtap(netns: string, name: string, lower: string): TestMacvtap {
  ip('-n', netns, 'link', 'add', lower, 'type', 'veth', 'peer', 'name', `${lower}p`);
  ip('-n', netns, 'link', 'add', 'link', lower, 'name', name, 'type', 'macvtap', 'mode', 'bridge');
  const [link] = ipJson<{ ifindex: number }[]>('-n', netns, 'link', 'show', name);
  if (link === undefined) throw new Error(`macvtap ${name} not found in ${netns}`);
  const device = findMacvtapDevice(name, link.ifindex);
  return { name, ifindex: link.ifindex, ...device };
}

/** A private char node for the macvtap (mode 0600 in a 0700 temp dir); remove() deletes it. */
export function privateNode(tap: TestMacvtap): { path: string; remove(): void } {
  return makePrivateNode(tap, `tap${tap.ifindex}`);
}
