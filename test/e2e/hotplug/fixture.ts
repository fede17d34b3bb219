// Fixtures of the hot-plug e2e tests: one booted default guest, a "container" netns whose veth
// eth0 (MTU 1400, as CNI would leave it) has its peer in a second netns holding the address the
// guest pings, and the oracles: ip/tc -json, QEMU's /proc/<pid>/fd, the guest's own view.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { launch } from '../../../launcher/launch.js';
import type { Vm } from '../../../launcher/vm.js';
import { defaultGuest, HARNESS_CMDLINE } from '../../helpers/guest.js';
import { takeSnapshot, type LeakSnapshot } from '../../helpers/leaks.js';
import { ip } from '../../helpers/netns.js';

/** Netns names of one test: `netns` holds eth0 (.2), `peer` holds peer0 (.1). */
export interface TestNet {
  netns: string;
  peer: string;
  /** e.g. 10.77.5 */
  subnet: string;
  peerAddress: string;
  /** The address the guest takes (the veth's, as kata does). */
  guestCidr: string;
  remove(): void;
}

/** The prefix of every netns these tests make. */
export const NETNS_PREFIX = 'vml-hp';

// Two vml- netns joined by a veth with MTU 1400; nothing outside them is touched. `prefix`
// keeps another suite's nets (the soak's) apart from these tests' snapshots.
export function createTestNet(prefix = NETNS_PREFIX): TestNet {
  const id = randomBytes(3).toString('hex');
  const netns = `${prefix}-${id}`;
  const peer = `${netns}-p`;
  const subnet = `10.${100 + (parseInt(id.slice(0, 2), 16) % 100)}.${parseInt(id.slice(2, 4), 16)}`;
  const remove = (): void => {
    for (const ns of [peer, netns]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // not created
      }
    }
  };
  try {
    ip('netns', 'add', netns);
    ip('netns', 'add', peer);
    ip('-n', netns, 'link', 'set', 'lo', 'up');
    ip(
      '-n',
      netns,
      'link',
      'add',
      'eth0',
      'mtu',
      '1400',
      'type',
      'veth',
      'peer',
      'name',
      'peer0',
      'mtu',
      '1400',
      'netns',
      peer,
    );
    ip('-n', netns, 'addr', 'add', `${subnet}.2/24`, 'dev', 'eth0');
    ip('-n', netns, 'link', 'set', 'eth0', 'up');
    ip('-n', peer, 'addr', 'add', `${subnet}.1/24`, 'dev', 'peer0');
    ip('-n', peer, 'link', 'set', 'peer0', 'up');
  } catch (error) {
    remove();
    throw error;
  }
  return { netns, peer, subnet, peerAddress: `${subnet}.1`, guestCidr: `${subnet}.2/24`, remove };
}

/** Boots the default guest and waits for its console shell. */
export async function bootGuest(): Promise<Vm> {
  const guest = await defaultGuest();
  const vm = await launch({ kernel: guest.kernel, initrd: guest.initrd, cmdline: HARNESS_CMDLINE });
  try {
    await vm.guest.waitReady({ timeout: 90_000 });
  } catch (error) {
    await vm.kill();
    throw error;
  }
  return vm;
}

/** Number of fds QEMU holds open. */
export function qemuFdCount(vm: Vm): number {
  return readdirSync(`/proc/${vm.pid}/fd`).length;
}

/** Our fds, the test netns links and tc objects (and no children besides QEMU). */
export function snapshot(net: TestNet): LeakSnapshot {
  return takeSnapshot({
    netns: [net.netns, net.peer],
    // This test's own netns only: other hot-plug tests running meanwhile (another vitest worker
    // or another run on this host) make and remove vml-hp netns of their own.
    netnsFilter: (n) => n === net.netns || n === net.peer,
  });
}

/** The guest's view of the NIC with `mac`: `ifname mtu`, or '' when it has none. */
export async function guestNic(vm: Vm, mac: string): Promise<string> {
  const script =
    'for d in /sys/class/net/*; do ' +
    `[ "$(cat $d/address)" = "${mac}" ] && echo "$\{d##*/} $(cat $d/mtu)"; done; true`;
  return (await vm.guest.check(script)).trim();
}

/** Gives the guest NIC an address and pings `peer` through it; returns ping's status. */
export async function guestPing(vm: Vm, ifname: string, cidr: string, peer: string) {
  await vm.guest.check(`ip link set ${ifname} up && ip addr add ${cidr} dev ${ifname}`);
  return vm.guest.exec(`ping -c 2 -w 10 ${peer}`, { timeout: 20_000 });
}
