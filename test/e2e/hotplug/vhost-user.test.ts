// Hot-plug of a vhost-user NIC served by a real backend (dpdk-testpmd as the vhost-user server,
// QEMU as client): chardev-add + netdev_add vhost-user + device_add on a running guest whose RAM
// is a shared memfd. In 5tswap mode testpmd reflects every frame, so the guest's ping to a
// "peer" comes back as a real reply, and testpmd's counters show the frames it carried. Then
// detach: the NIC is gone in the guest and QEMU's fd table is back to where it was.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch } from '../../../launcher/launch.js';
import { guestAddress, pingFromGuest, subnet } from '../../helpers/coldplug-net.js';
import { defaultGuest, HARNESS_CMDLINE, qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';
import { startTestpmd, testpmdMissing, type Testpmd } from '../../helpers/testpmd.js';
import { guestNic, qemuFdCount } from './fixture.js';

const ours = (): ReturnType<typeof takeSnapshot> => takeSnapshot({ netnsFilter: () => false });

describe.runIf(prerequisite('hot-plug vhost-user', qemuMissing() ?? testpmdMissing()))(
  'a hot-plugged vhost-user NIC with dpdk-testpmd',
  () => {
    it('attaches to a running guest, carries a ping through testpmd, and detaches cleanly', async () => {
      const before = ours();
      const dir = mkdtempSync('/tmp/vml-hpvu-'); // 0700: only we can put a socket here
      const socketPath = join(dir, 'vu0.sock');
      const mac = '52:54:00:c0:1d:18';
      const sub = subnet(18);
      let pmd: Testpmd | undefined;
      try {
        pmd = await startTestpmd({ socketPath, forwardMode: '5tswap' });
        const guest = await defaultGuest();
        const vm = await launch({
          kernel: guest.kernel,
          initrd: guest.initrd,
          cmdline: HARNESS_CMDLINE,
          sharedMemory: true, // vhost-user needs the guest's RAM shared with the backend
          // QEMU 7.2's vhost-user netdev takes its socket only by path, which the jail
          // closes to it (launcher/jail-nics.ts, docs/confinement.md).
          confine: false,
        });
        try {
          await vm.guest.waitReady({ timeout: 90_000 });
          const fdsBefore = qemuFdCount(vm);
          const nic = await vm.attach({
            endpoint: { kind: 'vhost-user', socketPath, mode: 'client', mac, mtu: 1400 },
          });
          expect(nic.mac).toBe(mac);
          const [ifname, mtu] = (await guestNic(vm, mac)).split(' ');
          expect(mtu).toBe('1400');
          expect(pmd.output()).toMatch(/virtio is now ready for processing/);
          await guestAddress(vm, ifname!, sub.guestCidr);
          // testpmd answers no ARP: give the "peer" a static neighbour entry.
          await vm.guest.check(`arp -i ${ifname} -s ${sub.peerIp} 02:00:00:00:00:01`);
          const s0 = await pmd.stats();
          expect(await pingFromGuest(vm, sub.peerIp)).toBe(3);
          const s1 = await pmd.stats();
          expect(s1.rxPackets - s0.rxPackets).toBeGreaterThanOrEqual(6);
          expect(s1.txPackets - s0.txPackets).toBeGreaterThanOrEqual(6);

          const result = await vm.detach(nic.id);
          expect(result.status).toBe('removed');
          expect(await guestNic(vm, mac)).toBe('');
          expect(qemuFdCount(vm)).toBe(fdsBefore);
          expect(await vm.shutdown()).toMatchObject({ rung: 'powerdown' });
          expect(vm.leftovers).toEqual([]);
        } finally {
          await vm.shutdown();
        }
      } finally {
        await pmd?.stop();
        rmSync(dir, { recursive: true, force: true });
      }
      expect(diffSnapshots(before, ours())).toEqual([]);
    }, 120_000);

    it('is refused before any host change in a jailed VM, which keeps running', async () => {
      const dir = mkdtempSync('/tmp/vml-hpvuj-');
      const socketPath = join(dir, 'vu0.sock');
      let pmd: Testpmd | undefined;
      try {
        pmd = await startTestpmd({ socketPath, forwardMode: 'io' });
        const guest = await defaultGuest();
        const vm = await launch({
          kernel: guest.kernel,
          initrd: guest.initrd,
          cmdline: HARNESS_CMDLINE,
          sharedMemory: true,
        });
        try {
          const fdsBefore = qemuFdCount(vm);
          const attach = vm.attach({
            endpoint: { kind: 'vhost-user', socketPath, mode: 'client' },
          });
          await expect(attach).rejects.toThrow(/JAIL_NIC|fd-passing feature/);
          await attach.catch((error: unknown) => {
            const text = `${String(error)} ${String((error as { cause?: unknown }).cause)}`;
            expect(text).toMatch(/confine: false/);
          });
          expect(pmd.output()).not.toMatch(/new vhost user connection/);
          expect(qemuFdCount(vm)).toBe(fdsBefore);
          expect(vm.process.running).toBe(true);
        } finally {
          await vm.shutdown();
        }
      } finally {
        await pmd?.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  },
);
