// Link down/up on a running VM (QMP set_link), for a cold-plugged and a hot-plugged NIC of the
// default guest, each a veth in its own test netns: down, the guest's carrier is 0 and a ping to
// the peer fails; up, carrier 1 and the ping works again. vm.nicStats: a ping grows the host-side
// counters both ways and the rx-filter names the NIC's MAC. An unknown id is NIC_UNKNOWN.
import { describe, expect, it } from 'vitest';
import { launch } from '../../../launcher/launch.js';
import type { Vm } from '../../../launcher/vm.js';
import { defaultGuest, HARNESS_CMDLINE, qemuMissing } from '../../helpers/guest.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { createTestNet, guestNic, type TestNet } from '../hotplug/fixture.js';

const PREFIX = 'vml-nic';

async function carrier(vm: Vm, ifname: string): Promise<string> {
  return (await vm.guest.check(`cat /sys/class/net/${ifname}/carrier`)).trim();
}

async function ping(vm: Vm, peer: string): Promise<number | null> {
  return (await vm.guest.exec(`ping -c 1 -W 2 ${peer}`, { timeout: 20_000 })).status;
}

// Down then up on one NIC whose guest interface `ifname` has an address in `net`.
async function downAndUp(vm: Vm, nicId: string, ifname: string, net: TestNet): Promise<void> {
  expect(await carrier(vm, ifname)).toBe('1');
  expect(await ping(vm, net.peerAddress)).toBe(0);
  await vm.setLink(nicId, false);
  expect(await carrier(vm, ifname)).toBe('0');
  expect(await ping(vm, net.peerAddress)).not.toBe(0);
  await vm.setLink(nicId, true);
  expect(await carrier(vm, ifname)).toBe('1');
  expect(await ping(vm, net.peerAddress)).toBe(0);
}

describe.runIf(prerequisite('NIC link control', qemuMissing() ?? rootNetnsMissing()))(
  'live NIC control: vm.setLink, vm.nicStats',
  () => {
    it('takes a cold- and a hot-plugged NIC down and up; the guest sees carrier and ping follow', async () => {
      const coldNet = createTestNet(PREFIX);
      const hotNet = createTestNet(PREFIX);
      try {
        const guest = await defaultGuest();
        const vm = await launch({
          kernel: guest.kernel,
          initrd: guest.initrd,
          cmdline: HARNESS_CMDLINE,
          endpoints: [
            {
              id: 'cold0',
              endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
              netns: coldNet.netns,
            },
          ],
        });
        try {
          await vm.guest.waitReady({ timeout: 90_000 });
          const coldNic = vm.endpoints[0]!.hostNic;
          if (coldNic.kind !== 'tap') throw new Error('expected a tap-backed NIC');
          const coldIf = (await guestNic(vm, coldNic.mac.toLowerCase())).split(' ')[0]!;
          await vm.guest.check(
            `ip link set ${coldIf} up && ip addr add ${coldNet.guestCidr} dev ${coldIf}`,
          );
          await downAndUp(vm, 'cold0', coldIf, coldNet);

          const hot = await vm.attach(
            {
              endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
              netns: hotNet.netns,
            },
            { id: 'hot0', timeout: 90_000 },
          );
          const hotIf = hot.guestIfname!;
          await vm.guest.check(
            `ip link set ${hotIf} up && ip addr add ${hotNet.guestCidr} dev ${hotIf}`,
          );
          await downAndUp(vm, 'hot0', hotIf, hotNet);

          // Counters: a ping grows both directions, seen from the host side in the guest's terms.
          for (const [id, net, mac] of [
            ['cold0', coldNet, coldNic.mac.toLowerCase()],
            ['hot0', hotNet, hot.mac],
          ] as const) {
            const before = await vm.nicStats(id);
            expect(await ping(vm, net.peerAddress)).toBe(0);
            const after = await vm.nicStats(id);
            expect(after.rxFilter['main-mac']).toBe(mac);
            expect(after.host!.txPackets).toBeGreaterThan(before.host!.txPackets);
            expect(after.host!.txBytes - before.host!.txBytes).toBeGreaterThanOrEqual(98);
            expect(after.host!.rxBytes - before.host!.rxBytes).toBeGreaterThanOrEqual(98);
          }
          await expect(vm.nicStats('nope')).rejects.toMatchObject({ code: 'NIC_UNKNOWN' });
          await expect(vm.setLink('nope', false)).rejects.toMatchObject({ code: 'NIC_UNKNOWN' });
        } finally {
          await vm.shutdown({ timeout: 3000 });
        }
        expect(vm.leftovers).toEqual([]);
      } finally {
        coldNet.remove();
        hotNet.remove();
      }
    }, 240_000);
  },
);
