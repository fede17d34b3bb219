// Cold plug of a vhost-user NIC served by a real backend: dpdk-testpmd (Debian's DPDK 22.11) as
// the vhost-user server, QEMU as client, guest RAM a shared memfd (launch turns it on). In
// 5tswap mode testpmd swaps MACs, IPs and ports of every frame it receives, so the guest's echo
// request to the "peer" comes back as a request to the guest, the guest's reply goes out and
// comes back as a reply: a real ping through the vhost-user datapath, with testpmd's own port
// counters showing each frame it received and sent.
// Known failure (q35 under TCG, QEMU 7.2): QEMU SIGSEGVs when the guest starts the NIC, in
// vhost_net_start -> msix_set_vector_notifiers (gdb backtrace); the same argv with
// virtio-net-pci `vectors=0` (no MSI-X) boots and works, and so does microvm (virtio-mmio).
// The launcher has to choose that (or refuse vhost-user on PCI under TCG); this test says so.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TemplateName } from '../../../qemu-templates/index.js';
import { guestAddress, guestNicByMac, pingFromGuest, subnet } from '../../helpers/coldplug-net.js';
import { withColdplugVm } from '../../helpers/coldplug-vm.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';
import { startTestpmd, testpmdMissing, type Testpmd } from '../../helpers/testpmd.js';
import { coldplugMissing } from './prereq.js';

// q35: virtio-net-pci (MSI-X); microvm: virtio-net-device on virtio-mmio.
const TEMPLATES: TemplateName[] = ['q35', 'microvm'];

// No netns here: our fds and child processes are what could leak.
const ours = (): ReturnType<typeof takeSnapshot> => takeSnapshot({ netnsFilter: () => false });

describe.runIf(prerequisite('cold-plug vhost-user', coldplugMissing() ?? testpmdMissing()))(
  'cold-plugged vhost-user NIC with dpdk-testpmd',
  () => {
    for (const template of TEMPLATES) {
      it(`${template}: handshake, the guest pings through testpmd, testpmd counts the frames`, async () => {
        const before = ours();
        // mkdtemp makes a 0700 directory: only we can put a socket there.
        const dir = mkdtempSync('/tmp/vml-vu-');
        const socketPath = join(dir, 'vu0.sock');
        const sub = subnet(8);
        const mac = '52:54:00:c0:1d:08';
        let pmd: Testpmd | undefined;
        try {
          pmd = await startTestpmd({ socketPath, forwardMode: '5tswap' });
          const backend = pmd;
          await withColdplugVm(
            {
              template,
              // QEMU 7.2's vhost-user netdev takes its socket only by path, which the jail
              // closes to it (launcher/jail-nics.ts, docs/confinement.md).
              confine: false,
              endpoints: [
                { endpoint: { kind: 'vhost-user', socketPath, mode: 'client', mac, mtu: 1400 } },
              ],
            },
            async (vm) => {
              const argv = vm.command.argv.join(' ');
              expect(argv).toMatch(/memory-backend-memfd,[^ ]*share=on/);
              expect(argv).toMatch(/vhost-user/);
              const nic = await guestNicByMac(vm, mac);
              expect(nic).toMatchObject({ mac, mtu: 1400, queues: ['rx-0', 'tx-0'] });
              await guestAddress(vm, nic.ifname, sub.guestCidr);
              // testpmd answers no ARP: give the peer a static neighbour entry.
              await vm.guest.check(`arp -i ${nic.ifname} -s ${sub.peerIp} 02:00:00:00:00:01`);
              expect(backend.output()).toMatch(/virtio is now ready for processing/);
              const s0 = await backend.stats();
              expect(await pingFromGuest(vm, sub.peerIp)).toBe(3);
              const s1 = await backend.stats();
              // Per ping: the request and the guest's reply in, both reflected back out.
              expect(s1.rxPackets - s0.rxPackets).toBeGreaterThanOrEqual(6);
              expect(s1.txPackets - s0.txPackets).toBeGreaterThanOrEqual(6);
              console.log(
                `testpmd (pid ${backend.pid}) port 0: rx ${s1.rxPackets} tx ${s1.txPackets} ` +
                  `(during the ping: rx +${s1.rxPackets - s0.rxPackets}, tx +${s1.txPackets - s0.txPackets})`,
              );
            },
          );
        } finally {
          await pmd?.stop();
          rmSync(dir, { recursive: true, force: true });
        }
        expect(diffSnapshots(before, ours())).toEqual([]);
      }, 120_000);
    }
  },
);
