// A hot-plugged NIC whose endpoint carries addresses (docs/guest-network.md): scanNetns reads
// the veth's address and its default route, vm.attach applies them (and the DNS given) in the
// default guest before it resolves, the guest pings the peer with no command of the test's,
// and vm.detach removes the configuration again (resolv.conf as before) with nothing left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '../../../launcher/vm.js';
import { scanNetns } from '../../../network/endpoints/scan.js';
import { qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots } from '../../helpers/leaks.js';
import { ip } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { bootGuest, createTestNet, guestNic, qemuFdCount, snapshot } from './fixture.js';

const missing = qemuMissing() ?? rootNetnsMissing();

describe.runIf(prerequisite('hot-plug guest network', missing))(
  'hot-plugged NIC with addresses',
  () => {
    let vm: Vm;
    beforeAll(async () => {
      vm = await bootGuest();
    }, 120_000);
    afterAll(async () => {
      await vm?.shutdown();
    });

    it('is configured in the guest before attach resolves, pings, and detach removes it', async () => {
      const net = createTestNet();
      try {
        ip('-n', net.netns, 'route', 'add', 'default', 'via', net.peerAddress, 'dev', 'eth0');
        const { endpoints } = await scanNetns(net.netns);
        expect(endpoints).toHaveLength(1);
        const endpoint = endpoints[0]!;
        expect(endpoint).toMatchObject({ kind: 'veth', addresses: [net.guestCidr] });
        const resolvBefore = await vm.guest.check('cat /etc/resolv.conf 2>/dev/null; true');
        const before = snapshot(net);
        const qemuFds = qemuFdCount(vm);
        const dns = { nameservers: [net.peerAddress], search: ['hp.test'] };
        const nic = await vm.attach({ endpoint, netns: net.netns }, { dns });
        console.log(`attach with guest config: timings ${JSON.stringify(nic.timings)}`);
        expect(nic.guestNetwork?.applied).toBe(true);
        expect(nic.guestNetwork?.config.ethernets[nic.id]).toMatchObject({
          match: { macaddress: nic.mac },
          addresses: [net.guestCidr],
          mtu: 1400,
          routes: [{ to: 'default', via: net.peerAddress }],
        });
        // Configured already: no command of the test's before these reads.
        const ifname = nic.guestIfname!;
        expect(await guestNic(vm, nic.mac)).toBe(`${ifname} 1400`);
        expect(await vm.guest.check(`ip -4 addr show dev ${ifname}`)).toContain(
          `inet ${net.guestCidr}`,
        );
        expect(await vm.guest.check('ip -4 route')).toMatch(
          new RegExp(`^default via ${net.peerAddress} dev ${ifname}`, 'm'),
        );
        const resolv = await vm.guest.check('cat /etc/resolv.conf');
        expect(resolv).toContain(`nameserver ${net.peerAddress}\nsearch hp.test\n`);
        const ping = await vm.guest.exec(`ping -c 2 -w 10 ${net.peerAddress}`, {
          timeout: 20_000,
        });
        expect(ping.status, ping.output).toBe(0);

        const result = await vm.detach(nic.id);
        expect(result).toMatchObject({ status: 'removed', id: nic.id });
        console.log(`detach with guest unconfig: ${result.ms} ms`);
        expect(await guestNic(vm, nic.mac)).toBe('');
        expect(await vm.guest.check('ip -4 addr; ip -4 route')).not.toContain(net.subnet);
        expect(await vm.guest.check('cat /etc/resolv.conf 2>/dev/null; true')).toBe(resolvBefore);
        expect(vm.hotplugged).toEqual([]);
        expect(qemuFdCount(vm)).toBe(qemuFds);
        expect(diffSnapshots(before, snapshot(net))).toEqual([]);
      } finally {
        for (const left of vm.hotplugged) await vm.detach(left.id).catch(() => undefined);
        net.remove();
      }
    }, 180_000);

    it('configureGuest: false leaves the guest NIC unconfigured but still returns its config', async () => {
      const net = createTestNet();
      try {
        const { endpoints } = await scanNetns(net.netns);
        const nic = await vm.attach(
          { endpoint: endpoints[0]!, netns: net.netns },
          { configureGuest: false },
        );
        expect(nic.guestNetwork).toMatchObject({ applied: false });
        expect(await vm.guest.check(`ip -4 addr show dev ${nic.guestIfname!}`)).not.toContain(
          'inet ',
        );
        expect(await vm.detach(nic.id)).toMatchObject({ status: 'removed' });
      } finally {
        for (const left of vm.hotplugged) await vm.detach(left.id).catch(() => undefined);
        net.remove();
      }
    }, 180_000);
  },
);
