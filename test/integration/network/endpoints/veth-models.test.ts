// Attaching a CNI-style veth with each interworking model creates exactly the expected links,
// qdiscs and filters (checked with ip -json / tc -json), carries traffic, and detach gives the
// netns back exactly as it was, leaking no fd, link or tc object.
import { fstatSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as native from '../../../../native/index.js';
import type { TapHostNic } from '../../../../network/host-nic.js';
import { attachEndpoint } from '../../../../network/endpoints/attach.js';
import type { AttachedEndpoint } from '../../../../network/endpoints/attach-types.js';
import { linkName, ownerAlias } from '../../../../network/endpoints/names.js';
import type { Interworking } from '../../../../network/endpoints/types.js';
import { findMacvtapDevice, makedev } from '../../../../network/macvtap-device.js';
import { ip } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';
import { askArp, mirredPackets, rxPackets, waitForCount, writeArpRequest } from './frames.js';
import {
  leakSnapshot,
  leaksSince,
  links,
  netnsState,
  redirectTargets,
  withVethPair,
} from './veth-fixture.js';

const NIC = 'net0';
const TAP = linkName(NIC, 't');
const MACVTAP = linkName(NIC, 'm');
const BRIDGE = linkName(NIC, 'b');
const ALIAS = ownerAlias(NIC);

// Attaches eth0 with `model`, runs `check`, closes the fds (as QEMU's exit would) and detaches,
// asserting the netns state and the leak snapshot are what they were before attach.
async function roundTrip(
  model: Interworking,
  queues: number,
  check: (
    a: AttachedEndpoint,
    nic: TapHostNic,
    netns: string,
    peer: string,
  ) => void | Promise<void>,
): Promise<void> {
  await withVethPair(`ep${model.slice(0, 3)}`, async ({ netns, peer }) => {
    const before = netnsState(netns);
    const leaks = leakSnapshot(netns);
    const attached = await attachEndpoint(
      { kind: 'veth', name: 'eth0', interworking: model, queues },
      { netns, nicId: NIC },
    );
    const nic = attached.hostNic as TapHostNic;
    try {
      expect(nic.kind).toBe('tap');
      expect(nic.tapFds).toHaveLength(queues);
      await check(attached, nic, netns, peer);
    } finally {
      native.closeAll([...nic.tapFds, ...nic.vhostFds]);
      await attached.detach();
    }
    expect(netnsState(netns)).toEqual(before);
    expect(leaksSince(leaks, netns)).toEqual([]);
    await attached.detach(); // a second detach does nothing
    expect(netnsState(netns)).toEqual(before);
  });
}

describe.runIf(prerequisite('endpoints', rootNetnsMissing()))('veth endpoints', () => {
  it('tcfilter: a multi-queue tap with the veth MTU, ingress qdiscs on both and mirred redirects both ways', async () => {
    ip('netns', 'list'); // warm the oracle
    await roundTrip('tcfilter', 2, (_a, nic, netns) => {
      const l = links(netns);
      const veth = l.get('eth0')!;
      const tap = l.get(TAP)!;
      expect(tap.linkinfo?.info_kind).toBe('tun');
      expect(tap.mtu).toBe(veth.mtu);
      expect(tap.flags).toContain('UP');
      expect(tap.ifalias).toBe(ALIAS);
      expect(nic.mac).toBe(veth.address);
      expect(nic.ifname).toBe(TAP);
      expect(nic.vhost.enabled).toBe(false);
      expect(nic.vhost.reason).toMatch(/vhost-net is absent/);
      expect(redirectTargets(netns, 'eth0')).toEqual([`mirred:${TAP}`]);
      expect(redirectTargets(netns, TAP)).toEqual(['mirred:eth0']);
    });
  });

  it('tcfilter carries packets both ways: an ARP request written on the tap fd is answered by the peer, and the reply is read back from the tap', async () => {
    await roundTrip('tcfilter', 1, async (_a, nic, netns, peer) => {
      const peerRx = rxPackets(peer, 'peer0');
      const ask = () => writeArpRequest(nic.tapFds[0]!, nic.mac, '10.9.0.2', '10.9.0.1');
      // veth -> tap: the peer's reply was redirected into the tap (counted before reading, so
      // the blocking read cannot hang).
      const seen = await askArp(nic.tapFds[0]!, ask, () => mirredPackets(netns, 'eth0'));
      expect(seen).toEqual({ op: 2, senderIp: '10.9.0.1', dstMac: nic.mac });
      // tap -> veth: the request left through the veth and arrived at the peer.
      expect(mirredPackets(netns, TAP)).toBeGreaterThanOrEqual(1);
      expect(await waitForCount(() => rxPackets(peer, 'peer0'), peerRx + 1)).toBeGreaterThan(
        peerRx,
      );
    });
  });

  it('macvtap: a bridge-mode macvtap with the veth MAC, the veth on a fresh local MAC without addresses; fds are the macvtap char device', async () => {
    await withVethPair('epmvmac', async ({ netns }) => {
      const vethBefore = links(netns).get('eth0')!;
      await roundTripIn(netns, 'macvtap', 2, (nic) => {
        const l = links(netns);
        const mvt = l.get(MACVTAP)!;
        expect(mvt.linkinfo?.info_kind).toBe('macvtap');
        expect(mvt.address).toBe(vethBefore.address);
        expect(mvt.ifalias).toBe(ALIAS);
        expect(nic.mac).toBe(vethBefore.address);
        const veth = l.get('eth0')!;
        expect(veth.address).not.toBe(vethBefore.address);
        expect(parseInt(veth.address!.slice(0, 2), 16) & 0x03).toBe(0x02); // local, unicast
        expect(ip('-n', netns, '-4', 'addr', 'show', 'dev', 'eth0').trim()).toBe('');
        expect(ip('-n', netns, 'addr', 'show', 'dev', 'eth0')).not.toMatch(/fd00:9::2/);
        const dev = findMacvtapDevice(MACVTAP, mvt.ifindex);
        for (const fd of nic.tapFds) expect(fstatSync(fd).rdev).toBe(makedev(dev.major, dev.minor));
      });
    });
  });

  it('macvtap carries packets: an ARP request written on a macvtap fd is answered and read back', async () => {
    await withVethPair('epmvtr', async ({ netns }) => {
      await roundTripIn(netns, 'macvtap', 1, async (nic) => {
        const rx = rxPackets(netns, MACVTAP);
        const ask = () => writeArpRequest(nic.tapFds[0]!, nic.mac, '10.9.0.2', '10.9.0.1');
        const seen = await askArp(nic.tapFds[0]!, ask, () => rxPackets(netns, MACVTAP) - rx);
        expect(seen).toEqual({ op: 2, senderIp: '10.9.0.1', dstMac: nic.mac });
      });
    });
  });

  it('bridged: a bridge without multicast snooping joining the veth and a tap', async () => {
    await withVethPair('epbr', async ({ netns }) => {
      const vethBefore = links(netns).get('eth0')!;
      await roundTripIn(netns, 'bridged', 2, (nic) => {
        const l = links(netns);
        const bridge = l.get(BRIDGE)!;
        expect(bridge.linkinfo?.info_kind).toBe('bridge');
        expect(bridge.ifalias).toBe(ALIAS);
        expect(ip('-n', netns, '-d', 'link', 'show', BRIDGE)).toMatch(/mcast_snooping 0/);
        expect(l.get('eth0')!.master).toBe(BRIDGE);
        expect(l.get(TAP)!.master).toBe(BRIDGE);
        expect(l.get(TAP)!.mtu).toBe(vethBefore.mtu);
        expect(nic.mac).toBe(vethBefore.address);
        expect(l.get('eth0')!.address).not.toBe(vethBefore.address);
      });
    });
  });

  it('none: only a tap, the veth untouched', async () => {
    await withVethPair('epnone', async ({ netns }) => {
      const vethBefore = links(netns).get('eth0')!;
      await roundTripIn(netns, 'none', 1, (nic) => {
        const l = links(netns);
        expect([...l.keys()].sort()).toEqual(['eth0', 'lo', TAP].sort());
        expect(l.get('eth0')).toEqual(vethBefore);
        expect(nic.mac).toBe(vethBefore.address);
        expect(redirectTargets(netns, 'eth0')).toEqual([]);
      });
    });
  });

  it('detach after the tap fds are still open removes the tap too, and works with a caller-given netlink client', async () => {
    await withVethPair('epopen', async ({ netns }) => {
      const before = netnsState(netns);
      const { openNetlink } = await import('../../../../network/netlink/index.js');
      const nl = openNetlink(netns);
      try {
        const a = await attachEndpoint(
          { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
          { netns: `/run/netns/${netns}`, nicId: NIC, netlink: nl },
        );
        const nic = a.hostNic as TapHostNic;
        try {
          await a.detach();
          expect(netnsState(netns)).toEqual(before);
        } finally {
          native.closeAll(nic.tapFds);
        }
      } finally {
        await nl.close();
      }
    });
  });
});

// roundTrip for a pair the caller already made.
async function roundTripIn(
  netns: string,
  model: Interworking,
  queues: number,
  check: (nic: TapHostNic) => void | Promise<void>,
): Promise<void> {
  const before = netnsState(netns);
  const leaks = leakSnapshot(netns);
  const attached = await attachEndpoint(
    { kind: 'veth', name: 'eth0', interworking: model, queues },
    { netns, nicId: NIC },
  );
  const nic = attached.hostNic as TapHostNic;
  try {
    expect(nic.tapFds).toHaveLength(queues);
    await check(nic);
  } finally {
    native.closeAll([...nic.tapFds, ...nic.vhostFds]);
    await attached.detach();
  }
  expect(netnsState(netns)).toEqual(before);
  expect(leaksSince(leaks, netns)).toEqual([]);
}
