// Attach right after launch, while the guest is still booting: attach waits for the guest to
// be able to take the device (its ready marker), the NIC is not lost, and a NIC still attached
// at shutdown is cleaned up by the VM's teardown.
import { describe, expect, it } from 'vitest';
import { launch } from '../../../launcher/launch.js';
import { defaultGuest, HARNESS_CMDLINE, qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots } from '../../helpers/leaks.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { createTestNet, guestNic, guestPing, snapshot } from './fixture.js';

describe.runIf(prerequisite('hot-plug at boot', qemuMissing() ?? rootNetnsMissing()))(
  'hot-plug while the guest boots',
  () => {
    it('waits for the guest, the guest gets the NIC, and shutdown removes the host side', async () => {
      const net = createTestNet();
      try {
        const before = snapshot(net);
        const guest = await defaultGuest();
        const vm = await launch({
          kernel: guest.kernel,
          initrd: guest.initrd,
          cmdline: HARNESS_CMDLINE,
        });
        try {
          const nic = await vm.attach(
            {
              endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
              netns: net.netns,
            },
            { timeout: 90_000 },
          );
          console.log(`attach at boot: ${JSON.stringify(nic.timings)}`);
          expect(await guestNic(vm, nic.mac)).toBe(`${nic.guestIfname} 1400`);
          const ping = await guestPing(vm, nic.guestIfname!, net.guestCidr, net.peerAddress);
          expect(ping.status, ping.output).toBe(0);
          expect(vm.hotplugged.map((n) => n.id)).toEqual([nic.id]);
        } finally {
          await vm.shutdown({ timeout: 3000 });
        }
        expect(vm.leftovers).toEqual([]);
        expect(diffSnapshots(before, snapshot(net))).toEqual([]);
      } finally {
        net.remove();
      }
    }, 120_000);
  },
);
