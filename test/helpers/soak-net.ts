// The test networks of the soak runs: the hot-plug fixture's (a "container" netns whose veth
// eth0, MTU 1400, has its peer peer0 in a second netns holding the address the guest pings),
// under a `vml-soak` prefix of their own, so other suites' leak snapshots (which filter on their
// prefixes) never see them, and ours see only our own.
import { takeSnapshot, type LeakSnapshot } from './leaks.js';
import { createTestNet, type TestNet } from '../e2e/hotplug/fixture.js';

/** Prefix of every netns the soak runs make. */
export const SOAK_NETNS_PREFIX = 'vml-soak';

/** vml-soak-<hex> with eth0 (.2/24) and vml-soak-<hex>-p with peer0 (.1/24). */
export function createSoakNet(): TestNet {
  return createTestNet(SOAK_NETNS_PREFIX);
}

/** The `ip`/`tc` snapshot (leaks.ts) of `nets`: their links and tc, and only their netns. */
export function oracleSnapshot(nets: TestNet[]): LeakSnapshot {
  const names = nets.flatMap((n) => [n.netns, n.peer]);
  return takeSnapshot({ netns: names, netnsFilter: (n) => names.includes(n) });
}

/** 100 Mbit/s each way: tbf qdiscs to clean up, without slowing a ping. */
export const SOAK_RATE = { rx: { rate: 12_500_000 }, tx: { rate: 12_500_000 } };
