// Cold plug of the macvlan the real CNI macvlan plugin made (test/helpers/cni-macvlan.ts, all in
// vml- netns of the test): scanNetns finds it, the default guest is launched on that endpoint
// with CNI's address as `vmlaunch.ip=`, takes the macvlan's MAC, and pings the plugin's gateway
// (in the parent netns, reached through the macvlan's master); the macvlan is given back as it
// was and nothing is left behind.
import { describe, expect, it } from 'vitest';
import { scanNetns } from '../../../network/endpoints/scan.js';
import {
  addMacvlanNet,
  cniMacvlanMissing,
  dadSettled,
  MACVLAN_GATEWAY,
} from '../../helpers/cni-macvlan.js';
import { guestNicByMac, pingFromGuest, withTestNet } from '../../helpers/coldplug-net.js';
import { withColdplugVmIn } from '../../helpers/coldplug-vm.js';
import { prerequisite } from '../../helpers/prereq.js';
import { coldplugMissing } from './prereq.js';

describe.runIf(prerequisite('cold-plug CNI macvlan', coldplugMissing() ?? cniMacvlanMissing()))(
  'cold-plugged CNI macvlan endpoint',
  () => {
    it('the guest on the scanned macvlan takes its MAC and pings the plugin gateway', async () => {
      await withTestNet('mvl', async (net) => {
        const cni = addMacvlanNet(net.peerNs, net.ns);
        try {
          await dadSettled(net.ns);
          const { endpoints } = await scanNetns(net.ns);
          expect(endpoints).toHaveLength(1);
          const endpoint = endpoints[0]!;
          expect(endpoint.kind).toBe('macvlan');
          const address = cni.result.ips[0]!.address;
          const mac = cni.result.interfaces.find((i) => i.name === 'net1')!.mac;
          await withColdplugVmIn(
            net,
            {
              unchanged: ['net1'],
              endpoints: [{ endpoint, netns: net.ns }],
              beforeReady: (vm) => expect(vm.command.argv.join(' ')).not.toContain('vmlaunch.ip='),
            },
            async (vm) => {
              const nic = await guestNicByMac(vm, mac);
              expect(nic.ifname).toBe('eth0');
              expect(await vm.guest.check('ip -4 addr show dev eth0')).toContain(`inet ${address}`);
              expect(await pingFromGuest(vm, MACVLAN_GATEWAY)).toBe(3);
            },
          );
          cni.del();
        } finally {
          cni.remove();
        }
      });
    }, 120_000);
  },
);
