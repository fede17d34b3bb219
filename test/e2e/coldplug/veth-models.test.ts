// Cold plug of a CNI-style veth in each interworking model: the guest gets the veth's MAC and
// MTU, pings the peer at the veth's far end (another netns) and is pinged back from there; the
// veth is given back as it was (MAC, MTU, addresses, no master) and nothing is left behind.
import { describe, expect, it } from 'vitest';
import type { Interworking } from '../../../network/endpoints/types.js';
import {
  addVethPeer,
  expectPingsBothWays,
  guestNicByMac,
  subnet,
  withTestNet,
} from '../../helpers/coldplug-net.js';
import { withColdplugVmIn } from '../../helpers/coldplug-vm.js';
import { prerequisite } from '../../helpers/prereq.js';
import { coldplugMissing } from './prereq.js';

const MODELS: Interworking[] = ['tcfilter', 'macvtap', 'bridged'];

describe.runIf(prerequisite('cold-plug veth', coldplugMissing()))(
  'cold-plugged veth endpoint',
  () => {
    for (const model of MODELS) {
      it(`${model}: the guest sees the veth's MAC and MTU and pings the peer both ways`, async () => {
        await withTestNet(model.slice(0, 5), async (net) => {
          const sub = subnet(1);
          const mac = addVethPeer(net, 'eth0', sub, 1400);
          await withColdplugVmIn(
            net,
            {
              unchanged: ['eth0'],
              endpoints: [
                { endpoint: { kind: 'veth', name: 'eth0', interworking: model }, netns: net.ns },
              ],
            },
            async (vm) => {
              const nic = await guestNicByMac(vm, mac);
              expect(nic).toMatchObject({ mac, mtu: 1400, queues: ['rx-0', 'tx-0'] });
              await expectPingsBothWays(vm, nic.ifname, sub, net.peerNs);
            },
          );
        });
      }, 120_000);
    }
  },
);
