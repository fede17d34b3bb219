// The test networks of the soak runs, made with `ip` (independent of the code under test): as
// the hot-plug fixture's (a "container" netns whose veth eth0, MTU 1400, has its peer peer0 in
// a second netns holding the address the guest pings), but under a `vml-soak` prefix of their
// own, so other suites' leak snapshots (which filter on their prefixes) never see them, and
// ours see only our own.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { takeSnapshot, type LeakSnapshot } from './leaks.js';
import { ip } from './netns.js';
import type { TestNet } from '../e2e/hotplug/fixture.js';

/** Prefix of every netns the soak runs make. */
export const SOAK_NETNS_PREFIX = 'vml-soak';

// Removes named netns that exist, ignoring those that do not.
function removeNetns(names: string[]): void {
  for (const ns of names) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // not created
    }
  }
}

/** vml-soak-<hex> with eth0 (.2/24) and vml-soak-<hex>-p with peer0 (.1/24). */
export function createSoakNet(): TestNet {
  const id = randomBytes(3).toString('hex');
  const netns = `${SOAK_NETNS_PREFIX}-${id}`;
  const peer = `${netns}-p`;
  const subnet = `10.${100 + (parseInt(id.slice(0, 2), 16) % 100)}.${parseInt(id.slice(2, 4), 16)}`;
  const remove = (): void => removeNetns([peer, netns]);
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

/** The `ip`/`tc` snapshot (leaks.ts) of `nets`: their links and tc, and only their netns. */
export function oracleSnapshot(nets: TestNet[]): LeakSnapshot {
  const names = nets.flatMap((n) => [n.netns, n.peer]);
  return takeSnapshot({ netns: names, netnsFilter: (n) => names.includes(n) });
}
