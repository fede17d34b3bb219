// The CNI macvlan plugin as a real peer, in two vml- netns of the test (see
// test/helpers/cni-macvlan.ts: a "parent" holding the master and the gateway, the "sandbox" CNI
// configures). Scan must find the macvlan endpoint with CNI's address and route; attach (tcfilter) + detach must
// leave the sandbox as CNI made it (ip/tc oracles and the leak snapshot); CNI DEL then succeeds.
// ipvlan: the kernels of the CI hosts have no ipvlan module ("Unknown device type"), so its
// logic and netlink decoding are unit-tested in stacked-link.test.ts, not here (no test that
// would only skip).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { StepError } from '../../../../core/index.js';
import { closeFd } from '../../../../native/index.js';
import { attachEndpoint } from '../../../../network/endpoints/attach.js';
import { scanNetns } from '../../../../network/endpoints/scan.js';
import type { Endpoint } from '../../../../network/endpoints/types.js';
import {
  addMacvlanNet,
  cniMacvlanMissing,
  dadSettled,
  MACVLAN_GATEWAY,
  type MacvlanNet,
} from '../../../helpers/cni-macvlan.js';
import { diffSnapshots, takeSnapshot } from '../../../helpers/leaks.js';
import { ip, ipJson, netnsConfig as snapshot, uniqueNetnsName } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';

// Attaches, checks the netns changed and the NIC is a tap, detaches, closes the fds.
async function attachDetach(endpoint: Endpoint, netns: string, nicId: string): Promise<void> {
  const before = snapshot(netns);
  const attached = await attachEndpoint(endpoint, { netns, nicId });
  const nic = attached.hostNic;
  const fds = nic.kind === 'tap' ? [...nic.tapFds, ...nic.vhostFds] : [];
  try {
    expect(nic.kind).toBe('tap');
    expect(snapshot(netns), 'attach changed nothing').not.toEqual(before);
  } finally {
    await attached.detach();
    fds.forEach((fd) => closeFd(fd));
  }
}

describe.runIf(prerequisite('CNI macvlan real peer', rootNetnsMissing() ?? cniMacvlanMissing()))(
  'CNI macvlan plugin as a real peer',
  () => {
    it('scan finds the macvlan; attach/detach leave the netns as CNI made it; DEL works', async () => {
      const parent = uniqueNetnsName('mvp');
      const sandbox = uniqueNetnsName('mvs');
      let net: MacvlanNet | undefined;
      ip('netns', 'add', parent);
      ip('netns', 'add', sandbox);
      try {
        net = addMacvlanNet(parent, sandbox);
        const result = net.result;
        console.info(`CNI ADD result: ${JSON.stringify(result)}`);
        const net1 = result.interfaces.find((i) => i.name === 'net1')!;

        await dadSettled(sandbox);
        const scanned = await scanNetns(sandbox);
        expect(scanned.endpoints).toEqual([
          {
            kind: 'macvlan',
            name: 'net1',
            mac: net1.mac,
            mtu: 1500,
            addresses: [result.ips[0]!.address],
            routes: [{ dst: 'default', gateway: MACVLAN_GATEWAY }],
          },
        ]);
        expect(scanned.skipped).toEqual([{ name: 'lo', reason: 'loopback' }]);

        const asCniMadeIt = snapshot(sandbox);
        const leaksBefore = takeSnapshot({
          netns: [sandbox, parent],
          netnsFilter: (n) => n === sandbox || n === parent,
        });
        await attachDetach(scanned.endpoints[0]!, sandbox, 'mvl0');
        expect.soft(snapshot(sandbox), 'sandbox after detach').toEqual(asCniMadeIt);
        const leaksAfter = takeSnapshot({
          netns: [sandbox, parent],
          netnsFilter: (n) => n === sandbox || n === parent,
        });
        expect.soft(diffSnapshots(leaksBefore, leaksAfter), 'leaks').toEqual([]);

        // An endpoint naming the wrong kind is refused when the link is read, changing nothing.
        const error = await attachEndpoint(
          { kind: 'ipvlan', name: 'net1' },
          { netns: sandbox, nicId: 'mvl1' },
        ).catch((e: unknown) => e);
        expect((error as StepError).step).toBe('read ipvlan');
        expect((error as Error).message).toMatch(/net1 is a macvlan link, not a ipvlan/);
        expect(snapshot(sandbox)).toEqual(asCniMadeIt);

        net.del();
        const left = ipJson<{ ifname: string }[]>('-n', sandbox, 'link', 'show');
        expect(left.map((l) => l.ifname)).toEqual(['lo']);
      } finally {
        net?.remove();
        execFileSync('ip', ['netns', 'del', sandbox], { stdio: 'ignore' });
        execFileSync('ip', ['netns', 'del', parent], { stdio: 'ignore' });
      }
    });
  },
);
