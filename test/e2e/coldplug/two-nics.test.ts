// Two NICs of different kinds at once: a tcfilter veth (peer in another netns) and a plain tap
// (peer address on the tap in the test netns), on q35 (virtio-net-pci) and on microvm
// (virtio-net-device on virtio-mmio). Each NIC is found in the guest by its MAC, has its MTU,
// and carries traffic both ways to its own peer.
import { describe, expect, it } from 'vitest';
import { tcgClockArgs } from '../../../launcher/tcg-clock.js';
import { resolveTemplate, type TemplateName } from '../../../qemu-templates/index.js';
import {
  addTapPeer,
  addVethPeer,
  guestAddress,
  guestNicByMac,
  pingFromGuest,
  pingFromNetns,
  subnet,
  withTestNet,
} from '../../helpers/coldplug-net.js';
import { withColdplugVmIn } from '../../helpers/coldplug-vm.js';
import { prerequisite } from '../../helpers/prereq.js';
import { coldplugMissing } from './prereq.js';

const TEMPLATES: TemplateName[] = ['q35', 'microvm'];

describe.runIf(prerequisite('cold-plug two NICs', coldplugMissing()))(
  'two cold-plugged NICs of different kinds',
  () => {
    for (const template of TEMPLATES) {
      it(`${template}: veth (tcfilter) + tap, each with its MAC and MTU, ping both ways`, async () => {
        await withTestNet(`2n${template.slice(0, 3)}`, async (net) => {
          const vethSub = subnet(5);
          const tapSub = subnet(6);
          const vethMac = addVethPeer(net, 'eth0', vethSub, 1450);
          addTapPeer(net, 'vmtap1', tapSub);
          const tapMac = '52:54:00:c0:1d:06';
          await withColdplugVmIn(
            net,
            {
              unchanged: ['eth0', 'vmtap1'],
              template,
              // launch promises tsc_early_khz + tsc=reliable for microvm under TCG (else the
              // guest hangs in calibrate_delay in many boots, FINDINGS.md §3): fail fast if not.
              beforeReady: (vm) => {
                const clock = tcgClockArgs(resolveTemplate(template), vm.accel.accel).args;
                const append = vm.command.argv[vm.command.argv.indexOf('-append') + 1] ?? '';
                expect(append.split(' ')).toEqual(expect.arrayContaining(clock));
              },
              endpoints: [
                {
                  endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
                  netns: net.ns,
                },
                {
                  endpoint: { kind: 'tap', name: 'vmtap1', mac: tapMac, mtu: 1400 },
                  netns: net.ns,
                },
              ],
            },
            async (vm) => {
              const transport = template === 'microvm' ? 'virtio-net-device' : 'virtio-net-pci';
              expect(vm.command.argv.filter((a) => a.startsWith(`${transport},`))).toHaveLength(2);
              const vethNic = await guestNicByMac(vm, vethMac);
              const tapNic = await guestNicByMac(vm, tapMac);
              expect(vethNic).toMatchObject({ mac: vethMac, mtu: 1450 });
              expect(tapNic).toMatchObject({ mac: tapMac, mtu: 1400 });
              expect(vethNic.ifname).not.toBe(tapNic.ifname);
              await guestAddress(vm, vethNic.ifname, vethSub.guestCidr);
              await guestAddress(vm, tapNic.ifname, tapSub.guestCidr);
              expect(await pingFromGuest(vm, vethSub.peerIp)).toBe(3);
              expect(await pingFromGuest(vm, tapSub.peerIp)).toBe(3);
              expect(pingFromNetns(net.peerNs, vethSub.guestIp)).toBe(3);
              expect(pingFromNetns(net.ns, tapSub.guestIp)).toBe(3);
            },
          );
        });
      }, 150_000);
    }
  },
);
