// T6: QEMU is SIGKILLed while the guest runs with an endpoint of every model: cold-plugged veths
// in tcfilter, macvtap and bridged interworking, a tap vmlaunch creates, a borrowed macvtap, and
// a tcfilter veth hot-plugged after boot. The exit is seen through the child's exit event, the
// VM is 'crashed', and every host object vmlaunch made is gone: its non-persistent taps with
// QEMU, its macvtap, bridge, ingress qdiscs and filters by explicit deletes. The links it only
// borrowed (the veths, the existing macvtap) are given back as they were. Oracle: `ip`/`tc -json`.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it } from 'vitest';
import type { EndpointSpec } from '../../../launcher/launch.js';
import { launch } from '../../../launcher/launch.js';
import {
  addVethPeer,
  leaks,
  linkState,
  snapshot,
  subnet,
  withTestNet,
} from '../../helpers/coldplug-net.js';
import { defaultGuest, HARNESS_CMDLINE, qemuMissing } from '../../helpers/guest.js';
import { ip, ipJson } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';

/** Kinds of the links in `netns`, by name (from `ip -d -json link`). */
function linkKinds(netns: string): Map<string, string> {
  const links = ipJson<{ ifname: string; linkinfo?: { info_kind?: string } }[]>(
    '-n',
    netns,
    '-d',
    'link',
    'show',
  );
  return new Map(links.map((l) => [l.ifname, l.linkinfo?.info_kind ?? 'plain']));
}

describe.runIf(prerequisite('SIGKILL with endpoints', rootNetnsMissing() ?? qemuMissing()))(
  'QEMU SIGKILLed while running (T6)',
  () => {
    it('T6: with an endpoint of every model, all host plumbing is torn down and borrowed links are given back', async () => {
      await withTestNet('kill', async (net) => {
        for (const [i, name] of ['eth0', 'eth1', 'eth2', 'eth3', 'eth4'].entries()) {
          addVethPeer(net, name, subnet(10 + i), 1400);
        }
        ip('-n', net.ns, 'link', 'add', 'link', 'eth3', 'name', 'mvt0', 'type', 'macvtap');
        ip('-n', net.ns, 'link', 'set', 'mvt0', 'up');
        const borrowed = ['eth0', 'eth1', 'eth2', 'eth3', 'eth4', 'mvt0'];
        const statesBefore = borrowed.map((name) => linkState(net.ns, name));
        const kindsBefore = linkKinds(net.ns);
        const before = snapshot(net);

        const inNs = (endpoint: EndpointSpec['endpoint']): EndpointSpec => ({
          endpoint,
          netns: net.ns,
        });
        const guest = await defaultGuest();
        const vm = await launch({
          kernel: guest.kernel,
          initrd: guest.initrd,
          cmdline: HARNESS_CMDLINE,
          endpoints: [
            inNs({ kind: 'veth', name: 'eth0', interworking: 'tcfilter' }),
            inNs({ kind: 'veth', name: 'eth1', interworking: 'macvtap' }),
            inNs({ kind: 'veth', name: 'eth2', interworking: 'bridged' }),
            inNs({ kind: 'tap', name: 'vmlkill0', create: true }),
            inNs({ kind: 'macvtap', name: 'mvt0' }),
          ],
        });
        try {
          await vm.guest.waitReady({ timeout: 90_000 });
          await vm.attach({
            endpoint: { kind: 'veth', name: 'eth4', interworking: 'tcfilter' },
            netns: net.ns,
          });
          // While QEMU runs, vmlaunch's own objects are there (so the check below can fail).
          const madeKinds = [...linkKinds(net.ns)]
            .filter(([name]) => !kindsBefore.has(name))
            .map(([, kind]) => kind)
            .sort();
          expect(madeKinds).toEqual(['bridge', 'macvtap', 'tun', 'tun', 'tun', 'tun']);
          expect(leaks(before, snapshot(net))).not.toEqual([]);
        } catch (error) {
          await vm.kill();
          throw error;
        }

        process.kill(vm.pid, 'SIGKILL');
        const exit = await vm.exited;
        expect(exit).toMatchObject({ signal: 'SIGKILL', unexpected: true });
        expect(exit.rung).toBeUndefined();
        expect(vm.state).toBe('crashed');
        expect(vm.leftovers).toEqual([]);
        expect(vm.hotplugged).toEqual([]);
        expect(leaks(before, snapshot(net))).toEqual([]);
        expect(borrowed.map((name) => linkState(net.ns, name))).toEqual(statesBefore);
      });
    }, 180_000);
  },
);
