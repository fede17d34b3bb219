// Cold plug of a plain tap: an existing persistent tap in the test netns holding the peer
// address (its MTU set for the VM's lifetime and restored after), and a tap vmlaunch creates
// itself and removes again. The guest sees the requested MAC and MTU and pings both ways.
import { describe, expect, it } from 'vitest';
import {
  addTapPeer,
  expectPingsBothWays,
  guestNicByMac,
  linkState,
  subnet,
  withTestNet,
} from '../../helpers/coldplug-net.js';
import { withColdplugVmIn } from '../../helpers/coldplug-vm.js';
import { ip, ipJson } from '../../helpers/netns.js';
import { prerequisite } from '../../helpers/prereq.js';
import { coldplugMissing } from './prereq.js';

describe.runIf(prerequisite('cold-plug tap', coldplugMissing()))(
  'cold-plugged tap endpoint',
  () => {
    it('an existing tap: the guest sees MAC and MTU 1400 and pings the tap netns both ways', async () => {
      await withTestNet('tap', async (net) => {
        const sub = subnet(2);
        addTapPeer(net, 'vmtap0', sub);
        expect(linkState(net.ns, 'vmtap0').mtu).toBe(1500);
        const mac = '52:54:00:c0:1d:01';
        await withColdplugVmIn(
          net,
          {
            unchanged: ['vmtap0'],
            endpoints: [
              { endpoint: { kind: 'tap', name: 'vmtap0', mac, mtu: 1400 }, netns: net.ns },
            ],
          },
          async (vm) => {
            expect(linkState(net.ns, 'vmtap0').mtu).toBe(1400);
            const nic = await guestNicByMac(vm, mac);
            expect(nic).toMatchObject({ mac, mtu: 1400, queues: ['rx-0', 'tx-0'] });
            await expectPingsBothWays(vm, nic.ifname, sub, net.ns);
          },
        );
      });
    }, 120_000);

    it('a tap vmlaunch creates (create: true) carries traffic and is removed afterwards', async () => {
      await withTestNet('tapc', async (net) => {
        const sub = subnet(3);
        const mac = '52:54:00:c0:1d:02';
        await withColdplugVmIn(
          net,
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
            await expectPingsBothWays(vm, nic.ifname, sub, net.ns);
          },
        );
        expect(ipJson<unknown[]>('-n', net.ns, 'link', 'show')).toHaveLength(1); // lo only
      });
    }, 120_000);
  },
);
