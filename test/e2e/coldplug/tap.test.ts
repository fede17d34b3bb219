// Cold plug of a plain tap: an existing persistent tap in the test netns holding the peer
// address (its MTU set for the VM's lifetime and restored after), and a tap vmlaunch creates
// itself and removes again. The guest sees the requested MAC and MTU and pings both ways.
import { describe, expect, it } from 'vitest';
import {
  addTapPeer,
  createTestNet,
  guestAddress,
  guestNicByMac,
  leaks,
  linkState,
  pingFromGuest,
  pingFromNetns,
  snapshot,
  subnet,
} from '../../helpers/coldplug-net.js';
import { withColdplugVm } from '../../helpers/coldplug-vm.js';
import { netnsList } from '../../helpers/leaks.js';
import { ip, ipJson } from '../../helpers/netns.js';
import { prerequisite } from '../../helpers/prereq.js';
import { coldplugMissing } from './prereq.js';

describe.runIf(prerequisite('cold-plug tap', coldplugMissing()))(
  'cold-plugged tap endpoint',
  () => {
    it('an existing tap: the guest sees MAC and MTU 1400 and pings the tap netns both ways', async () => {
      const net = createTestNet('tap');
      try {
        const sub = subnet(2);
        addTapPeer(net, 'vmtap0', sub);
        const tapBefore = linkState(net.ns, 'vmtap0');
        expect(tapBefore.mtu).toBe(1500);
        const before = snapshot(net);
        const mac = '52:54:00:c0:1d:01';
        await withColdplugVm(
          {
            endpoints: [
              { endpoint: { kind: 'tap', name: 'vmtap0', mac, mtu: 1400 }, netns: net.ns },
            ],
          },
          async (vm) => {
            expect(linkState(net.ns, 'vmtap0').mtu).toBe(1400);
            const nic = await guestNicByMac(vm, mac);
            expect(nic).toMatchObject({ mac, mtu: 1400, queues: ['rx-0', 'tx-0'] });
            await guestAddress(vm, nic.ifname, sub.guestCidr);
            expect(await pingFromGuest(vm, sub.peerIp)).toBe(3);
            expect(pingFromNetns(net.ns, sub.guestIp)).toBe(3);
          },
        );
        expect(linkState(net.ns, 'vmtap0')).toEqual(tapBefore);
        expect(leaks(before, snapshot(net))).toEqual([]);
      } finally {
        net.remove();
      }
      expect(netnsList().filter((n) => n.startsWith(net.ns))).toEqual([]);
    }, 120_000);

    it('a tap vmlaunch creates (create: true) carries traffic and is removed afterwards', async () => {
      const net = createTestNet('tapc');
      try {
        const sub = subnet(3);
        const before = snapshot(net);
        const mac = '52:54:00:c0:1d:02';
        await withColdplugVm(
          {
            endpoints: [
              { endpoint: { kind: 'tap', name: 'vmtapc', create: true, mac }, netns: net.ns },
            ],
          },
          async (vm) => {
            // The tap exists for the VM's lifetime: give it the peer address now.
            ip('-n', net.ns, 'addr', 'add', `${sub.peerIp}/24`, 'dev', 'vmtapc');
            ip('-n', net.ns, 'link', 'set', 'vmtapc', 'up');
            const nic = await guestNicByMac(vm, mac);
            expect(nic).toMatchObject({ mac, mtu: 1500 });
            await guestAddress(vm, nic.ifname, sub.guestCidr);
            expect(await pingFromGuest(vm, sub.peerIp)).toBe(3);
            expect(pingFromNetns(net.ns, sub.guestIp)).toBe(3);
          },
        );
        expect(ipJson<unknown[]>('-n', net.ns, 'link', 'show')).toHaveLength(1); // lo only
        expect(leaks(before, snapshot(net))).toEqual([]);
      } finally {
        net.remove();
      }
      expect(netnsList().filter((n) => n.startsWith(net.ns))).toEqual([]);
    }, 120_000);
  },
);
