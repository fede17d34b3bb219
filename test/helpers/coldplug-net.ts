// Cold-plug e2e plumbing, made with `ip` (independent of the code under test) and only inside
// vml- netns of our own: a "container" netns whose veth eth0 (as CNI leaves it) has its peer in
// a second netns holding the address the guest talks to, or a plain tap in the test netns.
// Also the guest-side checks (NIC by MAC, MTU, queues, ping) and the host-side ping.
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import type { Vm } from '../../launcher/vm.js';
import { diffSnapshots, netnsList, takeSnapshot, type LeakSnapshot } from './leaks.js';
import { ip, ipJson, uniqueNetnsName } from './netns.js';

/** Two netns of one test: `ns` (where the endpoints are) and `peerNs` (the veth's far end). */
export interface TestNet {
  ns: string;
  peerNs: string;
  /** Removes both netns; safe to call twice. */
  remove(): void;
}

/** Makes `vml-cp-<tag>-<random>` and its `-p` peer netns, lo up in both. */
export function createTestNet(tag: string): TestNet {
  const ns = uniqueNetnsName(`cp-${tag}`);
  const peerNs = `${ns}-p`;
  const made: string[] = [];
  const remove = (): void => {
    for (const name of made.splice(0).reverse()) {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    }
  };
  try {
    for (const name of [ns, peerNs]) {
      ip('netns', 'add', name);
      made.push(name);
      ip('-n', name, 'link', 'set', 'lo', 'up');
    }
  } catch (error) {
    remove();
    throw error;
  }
  return { ns, peerNs, remove };
}

/**
 * Runs `body` in a fresh TestNet (see createTestNet), removes it even when `body` throws, and
 * then checks that no netns of it is left.
 */
export async function withTestNet(
  tag: string,
  body: (net: TestNet) => Promise<void>,
): Promise<void> {
  const net = createTestNet(tag);
  try {
    await body(net);
  } finally {
    net.remove();
  }
  expect(netnsList().filter((n) => n.startsWith(net.ns))).toEqual([]);
}

/** A point-to-point subnet: the peer's address and the guest's. */
export interface Subnet {
  peerIp: string;
  guestIp: string;
  /** The guest's address with its prefix. */
  guestCidr: string;
}

/** 10.77.<n>.1 (peer) and 10.77.<n>.2/24 (guest); netns are private, so n only separates NICs. */
export function subnet(n: number): Subnet {
  return { peerIp: `10.77.${n}.1`, guestIp: `10.77.${n}.2`, guestCidr: `10.77.${n}.2/24` };
}

/**
 * A CNI-style veth: `name` in net.ns with the guest's address, its peer `peer<n>` in net.peerNs
 * with the peer address; both with `mtu`. Returns the veth's MAC (the one the guest must get).
 */
export function addVethPeer(net: TestNet, name: string, sub: Subnet, mtu: number): string {
  const peer = `peer-${name}`;
  ip(
    '-n',
    net.ns,
    'link',
    'add',
    name,
    'mtu',
    String(mtu),
    'type',
    'veth',
    'peer',
    'name',
    peer,
    'netns',
    net.peerNs,
    'mtu',
    String(mtu),
  );
  ip('-n', net.ns, 'addr', 'add', sub.guestCidr, 'dev', name);
  ip('-n', net.ns, 'link', 'set', name, 'up');
  ip('-n', net.peerNs, 'addr', 'add', `${sub.peerIp}/24`, 'dev', peer);
  ip('-n', net.peerNs, 'link', 'set', peer, 'up');
  return linkState(net.ns, name).mac;
}

/** A persistent tap `name` in net.ns holding the peer address (the guest's peer is the netns). */
export function addTapPeer(net: TestNet, name: string, sub: Subnet): void {
  ip('-n', net.ns, 'tuntap', 'add', 'dev', name, 'mode', 'tap');
  ip('-n', net.ns, 'addr', 'add', `${sub.peerIp}/24`, 'dev', name);
  ip('-n', net.ns, 'link', 'set', name, 'up');
}

/** What a link looks like to `ip -j addr`: MAC, MTU, addresses (CIDR), master. */
export interface LinkState {
  mac: string;
  mtu: number;
  addresses: string[];
  master?: string;
}

interface IpAddrLink {
  ifname: string;
  address: string;
  mtu: number;
  master?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** The state of `name` in `netns` (IPv4 addresses only: IPv6 link-local ones come and go). */
export function linkState(netns: string, name: string): LinkState {
  const [link] = ipJson<IpAddrLink[]>('-n', netns, 'addr', 'show', 'dev', name);
  if (!link) throw new Error(`no link ${name} in ${netns}`);
  return {
    mac: link.address,
    mtu: link.mtu,
    addresses: (link.addr_info ?? [])
      .filter((a) => a.family === 'inet')
      .map((a) => `${a.local}/${a.prefixlen}`),
    ...(link.master ? { master: link.master } : {}),
  };
}

/** The leak snapshot of our own two netns (and only our netns in the /run/netns list). */
export function snapshot(net: TestNet): LeakSnapshot {
  return takeSnapshot({
    netns: [net.ns, net.peerNs],
    netnsFilter: (name) => name === net.ns || name === net.peerNs,
  });
}

/** Differences that are leaks (or losses) between two snapshots. */
export function leaks(before: LeakSnapshot, after: LeakSnapshot): string[] {
  return diffSnapshots(before, after);
}

/** What the guest shows for one NIC. */
export interface GuestNic {
  ifname: string;
  mac: string;
  mtu: number;
  /** Entries of /sys/class/net/<if>/queues, sorted (rx-0 tx-0 ...). */
  queues: string[];
}

/** The guest NIC with `mac`, read from /sys/class/net (busybox ip has no -j). */
export async function guestNicByMac(vm: Vm, mac: string): Promise<GuestNic> {
  const out = await vm.guest.check(
    'for d in /sys/class/net/*; do ' +
      `if [ "$(cat $d/address)" = "${mac.toLowerCase()}" ]; then ` +
      'echo "${d##*/} $(cat $d/address) $(cat $d/mtu) $(ls $d/queues | tr "\\n" " ")"; fi; done',
  );
  const lines = out.trim().split('\n').filter(Boolean);
  if (lines.length !== 1) {
    const all = await vm.guest.exec('cat /sys/class/net/*/address');
    throw new Error(`guest NICs with MAC ${mac}: ${lines.length}; guest MACs:\n${all.output}`);
  }
  const [ifname, gmac, mtu, ...queues] = lines[0]!.trim().split(/\s+/);
  return { ifname: ifname!, mac: gmac!, mtu: Number(mtu), queues: queues.sort() };
}

/** Brings `ifname` up in the guest with `cidr`. */
export async function guestAddress(vm: Vm, ifname: string, cidr: string): Promise<void> {
  await vm.guest.check(`ip link set dev ${ifname} up && ip addr add ${cidr} dev ${ifname}`);
}

// "3 packets transmitted, 3 packets received" (busybox and iputils both say it so).
function received(output: string): number {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  if (!m) throw new Error(`unexpected ping output:\n${output}`);
  return Number(m[2]);
}

/**
 * Gives the guest's `ifname` its address in `sub`, then checks that it pings the peer and that
 * `peerNetns` (where the peer address is) pings it back: 3 replies each way.
 */
export async function expectPingsBothWays(
  vm: Vm,
  ifname: string,
  sub: Subnet,
  peerNetns: string,
): Promise<void> {
  await guestAddress(vm, ifname, sub.guestCidr);
  expect(await pingFromGuest(vm, sub.peerIp)).toBe(3);
  expect(pingFromNetns(peerNetns, sub.guestIp)).toBe(3);
}

/** Pings `target` from the guest (3 echo requests); returns how many replies came back. */
export async function pingFromGuest(vm: Vm, target: string, count = 3): Promise<number> {
  const r = await vm.guest.exec(`ping -c ${count} -A -W 3 -w 15 ${target}`, { timeout: 30_000 });
  return received(r.output);
}

/** Pings `target` from inside `netns` (3 echo requests); returns how many replies came back. */
export function pingFromNetns(netns: string, target: string, count = 3): number {
  try {
    const out = execFileSync(
      'ip',
      ['netns', 'exec', netns, 'ping', '-n', '-c', String(count), '-i', '0.3', '-W', '3', target],
      { encoding: 'utf8', timeout: 30_000 },
    );
    return received(out);
  } catch (error) {
    const out = (error as { stdout?: string }).stdout ?? '';
    return /packets transmitted/.test(out) ? received(out) : 0;
  }
}

let accelPrinted = false;

/** Prints which accelerator runs the guests (once per test process). */
export function printAccel(vm: Vm): void {
  if (accelPrinted) return;
  accelPrinted = true;
  console.log(`accelerator: ${vm.accel.accel.toUpperCase()} (${vm.accel.reason})`);
}

/** Why the host side cannot ping here (iputils-ping), or undefined. */
export function hostPingMissing(): string | undefined {
  try {
    execFileSync('ping', ['-V'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'needs ping on the host (Debian: iputils-ping)';
  }
}
