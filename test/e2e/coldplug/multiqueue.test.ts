// Multi-queue cold plug: a tcfilter veth with queues=2 on a 2-CPU guest. The host tap is a
// multi_queue tap, the guest's virtio-net shows 2 queue pairs, and traffic flows both ways.
import { describe, expect, it } from 'vitest';
import {
  addVethPeer,
  expectPingsBothWays,
  guestNicByMac,
  subnet,
  withTestNet,
} from '../../helpers/coldplug-net.js';
import { withColdplugVmIn } from '../../helpers/coldplug-vm.js';
import { ipJson } from '../../helpers/netns.js';
import { prerequisite } from '../../helpers/prereq.js';
import { coldplugMissing } from './prereq.js';

interface TunLink {
  ifname: string;
  linkinfo?: { info_kind?: string; info_data?: { type?: string; multi_queue?: boolean } };
}

describe.runIf(prerequisite('cold-plug multi-queue', coldplugMissing()))(
  'cold-plugged multi-queue NIC',
  () => {
    it('queues=2, cpus=2: the guest sees rx-0 rx-1 tx-0 tx-1 and pings both ways', async () => {
      await withTestNet('mq', async (net) => {
        const sub = subnet(4);
        const mac = addVethPeer(net, 'eth0', sub, 1500);
        await withColdplugVmIn(
          net,
          {
            unchanged: ['eth0'],
            cpus: 2,
            endpoints: [
              {
                endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter', queues: 2 },
                netns: net.ns,
              },
            ],
          },
          async (vm) => {
            const taps = ipJson<TunLink[]>('-n', net.ns, '-d', 'link', 'show').filter(
              (l) => l.linkinfo?.info_kind === 'tun',
            );
            expect(taps).toHaveLength(1);
            expect(taps[0]!.linkinfo?.info_data).toMatchObject({ type: 'tap', multi_queue: true });
            expect(await vm.guest.check('nproc')).toBe('2\n');
            const nic = await guestNicByMac(vm, mac);
            expect(nic.queues).toEqual(['rx-0', 'rx-1', 'tx-0', 'tx-1']);
            await expectPingsBothWays(vm, nic.ifname, sub, net.peerNs);
          },
        );
      });
    }, 150_000);
  },
);
