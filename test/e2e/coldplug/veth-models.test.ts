// Cold plug of a CNI-style veth in each interworking model: the guest gets the veth's MAC and
// MTU, pings the peer at the veth's far end (another netns) and is pinged back from there; the
// veth is given back as it was (MAC, MTU, addresses, no master) and nothing is left behind.
import { describe, expect, it } from 'vitest';
import type { Interworking } from '../../../network/endpoints/types.js';
import {
  addVethPeer,
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
import { prerequisite } from '../../helpers/prereq.js';
import { coldplugMissing } from './prereq.js';

const MODELS: Interworking[] = ['tcfilter', 'macvtap', 'bridged'];

describe.runIf(prerequisite('cold-plug veth', coldplugMissing()))(
  'cold-plugged veth endpoint',
  () => {
    for (const model of MODELS) {
      it(`${model}: the guest sees the veth's MAC and MTU and pings the peer both ways`, async () => {
        const net = createTestNet(model.slice(0, 5));
        try {
          const sub = subnet(1);
          const mac = addVethPeer(net, 'eth0', sub, 1400);
          const vethBefore = linkState(net.ns, 'eth0');
          const before = snapshot(net);
          await withColdplugVm(
            {
              endpoints: [
                { endpoint: { kind: 'veth', name: 'eth0', interworking: model }, netns: net.ns },
              ],
            },
            async (vm) => {
              const nic = await guestNicByMac(vm, mac);
              expect(nic).toMatchObject({ mac, mtu: 1400, queues: ['rx-0', 'tx-0'] });
              await guestAddress(vm, nic.ifname, sub.guestCidr);
              expect(await pingFromGuest(vm, sub.peerIp)).toBe(3);
              expect(pingFromNetns(net.peerNs, sub.guestIp)).toBe(3);
            },
          );
          expect(linkState(net.ns, 'eth0')).toEqual(vethBefore);
          expect(leaks(before, snapshot(net))).toEqual([]);
        } finally {
          net.remove();
        }
        expect(netnsList().filter((n) => n.startsWith(net.ns))).toEqual([]);
      }, 120_000);
    }
  },
);
