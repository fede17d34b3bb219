// The guest takes its network from the endpoint (docs/guest-network.md): the real CNI ptp
// plugin (test/helpers/cni-ptp.ts) leaves eth0 in a vml- netns with a /24 address, an on-link
// route to the gateway and routes through it; scanNetns finds that veth, the default guest is
// launched on it with no kernel argument from the test, applies the NoCloud seed itself, shows
// CNI's address, routes and MTU, and pings the gateway. The seed image lives in the VM's run
// directory and is gone after shutdown.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanNetns } from '../../../network/endpoints/scan.js';
import { dadSettled } from '../../helpers/cni-macvlan.js';
import { addPtpNet, cniPtpMissing, PTP_GATEWAY, PTP_MTU } from '../../helpers/cni-ptp.js';
import { guestNicByMac, pingFromGuest, withTestNet } from '../../helpers/coldplug-net.js';
import { withColdplugVmIn } from '../../helpers/coldplug-vm.js';
import { prerequisite } from '../../helpers/prereq.js';
import { coldplugMissing } from './prereq.js';

describe.runIf(prerequisite('cold-plug CNI ptp seed', coldplugMissing() ?? cniPtpMissing()))(
  'guest network from a CNI ptp endpoint',
  () => {
    it('the default guest applies the seed and pings the gateway with no kernel argument', async () => {
      await withTestNet('ptp', async (net) => {
        const cni = addPtpNet(net.peerNs, net.ns);
        try {
          await dadSettled(net.ns);
          const scan = await scanNetns(net.ns);
          expect(scan.endpoints).toHaveLength(1);
          const endpoint = scan.endpoints[0]!;
          expect(endpoint.kind).toBe('veth');
          const address = cni.result.ips[0]!.address;
          // What ptp made: the on-link route to the gateway and routes through it.
          expect(endpoint).toMatchObject({ addresses: [address], mtu: PTP_MTU });
          const routes = (endpoint as { routes: { dst: string; gateway?: string }[] }).routes;
          expect(routes).toContainEqual({ dst: `${PTP_GATEWAY}/32` });
          expect(routes).toContainEqual({ dst: 'default', gateway: PTP_GATEWAY });
          const mac = cni.result.interfaces.find((i) => i.name === 'eth0')!.mac;
          let seedPath = '';
          await withColdplugVmIn(
            net,
            {
              unchanged: ['eth0'],
              endpoints: [{ endpoint, netns: net.ns }],
              guestNetwork: { dns: { nameservers: [PTP_GATEWAY], search: ['ptp.test'] } },
              beforeReady: (vm) => {
                expect(vm.command.argv.join(' ')).not.toContain('vmlaunch.ip=');
                seedPath = join(vm.runDir!, 'seed.img');
                expect(existsSync(seedPath)).toBe(true);
              },
            },
            async (vm) => {
              const nic = await guestNicByMac(vm, mac);
              expect(nic.mtu).toBe(PTP_MTU);
              const addr = await vm.guest.check(`ip -4 addr show dev ${nic.ifname}`);
              expect(addr).toContain(`inet ${address}`);
              const routes = await vm.guest.check('ip -4 route');
              expect(routes).toMatch(
                new RegExp(`^default via ${PTP_GATEWAY} dev ${nic.ifname}`, 'm'),
              );
              expect(routes).toMatch(
                new RegExp(`^${PTP_GATEWAY} dev ${nic.ifname} scope link`, 'm'),
              );
              expect(await vm.guest.check('cat /etc/resolv.conf')).toBe(
                `nameserver ${PTP_GATEWAY}\nsearch ptp.test\n`,
              );
              expect(await pingFromGuest(vm, PTP_GATEWAY)).toBe(3);
            },
          );
          expect(seedPath).not.toBe('');
          expect(existsSync(seedPath)).toBe(false);
          cni.del();
        } finally {
          cni.remove();
        }
      });
    }, 180_000);

    it('with guestNetwork.seed false there is no seed drive and the guest NIC stays bare', async () => {
      await withTestNet('ptp', async (net) => {
        const cni = addPtpNet(net.peerNs, net.ns);
        try {
          await dadSettled(net.ns);
          const { endpoints } = await scanNetns(net.ns);
          const mac = cni.result.interfaces.find((i) => i.name === 'eth0')!.mac;
          await withColdplugVmIn(
            net,
            {
              unchanged: ['eth0'],
              endpoints: [{ endpoint: endpoints[0]!, netns: net.ns }],
              guestNetwork: { seed: false },
              beforeReady: (vm) => {
                expect(vm.command.argv.join(' ')).not.toContain('vmlaunch-seed');
                expect(existsSync(join(vm.runDir!, 'seed.img'))).toBe(false);
              },
            },
            async (vm) => {
              const nic = await guestNicByMac(vm, mac);
              expect(await vm.guest.check(`ip -4 addr show dev ${nic.ifname}`)).not.toContain(
                'inet ',
              );
            },
          );
          cni.del();
        } finally {
          cni.remove();
        }
      });
    }, 180_000);
  },
);
