// Hot-plug on a running default guest, for each endpoint kind this host can serve: the guest
// sees the NIC (MAC, MTU) and pings a peer in another test netns through it; after detach the
// NIC is gone in the guest and on the host, and nothing leaked (our fds, links, tc, QEMU fds).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../network/endpoints/types.js';
import type { Vm } from '../../../launcher/vm.js';
import { qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots } from '../../helpers/leaks.js';
import { ip } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import {
  bootGuest,
  createTestNet,
  guestNic,
  guestPing,
  qemuFdCount,
  snapshot,
  type TestNet,
} from './fixture.js';

const missing = qemuMissing() ?? rootNetnsMissing();

interface Case {
  name: string;
  /** Extra host plumbing before attach (in the test netns), and the endpoint to attach. */
  prepare(net: TestNet): Endpoint;
  /** Address the guest takes and the peer it pings. */
  route(net: TestNet): { cidr: string; peer: string };
  mtu: number;
}

const vethCase = (model: 'tcfilter' | 'macvtap' | 'bridged'): Case => ({
  name: `veth (${model})`,
  prepare: () => ({ kind: 'veth', name: 'eth0', interworking: model }),
  route: (net) => ({ cidr: net.guestCidr, peer: net.peerAddress }),
  mtu: 1400,
});

const CASES: Case[] = [
  {
    name: 'tap (created)',
    // The tap's own netns answers: it holds 172.30.0.1 on the tap (a subnet of its own there).
    prepare: () => ({ kind: 'tap', name: 'vmltaphp', create: true, mtu: 1450 }),
    route: () => ({ cidr: '172.30.0.2/24', peer: '172.30.0.1' }),
    mtu: 1450,
  },
  vethCase('tcfilter'),
  vethCase('macvtap'),
  vethCase('bridged'),
  {
    name: 'macvtap (existing, on the veth)',
    prepare: (net) => {
      ip(
        '-n',
        net.netns,
        'link',
        'add',
        'link',
        'eth0',
        'name',
        'mvt0',
        'type',
        'macvtap',
        'mode',
        'bridge',
      );
      // Up, as the CNI macvtap plugin leaves it (a link's first up gives it a default qdisc).
      ip('-n', net.netns, 'link', 'set', 'mvt0', 'up');
      return { kind: 'macvtap', name: 'mvt0' };
    },
    route: (net) => ({ cidr: `${net.subnet}.3/24`, peer: net.peerAddress }),
    mtu: 1400,
  },
];

describe.runIf(prerequisite('hot-plug e2e', missing))(
  'hot-plugging a NIC into a running guest',
  () => {
    let vm: Vm;
    beforeAll(async () => {
      vm = await bootGuest();
      console.log(`accelerator: ${vm.accel.accel} (${vm.accel.reason})`);
    }, 120_000);
    afterAll(async () => {
      await vm?.shutdown({ timeout: 3000 });
    });

    it('a detach past its deadline is pending, keeps the host side, and the late DEVICE_DELETED finishes it', async () => {
      const net = createTestNet();
      try {
        const before = snapshot(net);
        const qemuFds = qemuFdCount(vm);
        const nic = await vm.attach({
          endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
          netns: net.netns,
        });
        const result = await vm.detach(nic.id, { timeout: 1 });
        expect(result.status).toBe('pending');
        if (result.status !== 'pending') return;
        console.log(`pending: ${result.explanation}`);
        expect(vm.hotplugged.map((n) => n.id)).toEqual([nic.id]);
        await result.completion;
        expect(vm.hotplugged).toEqual([]);
        expect(await guestNic(vm, nic.mac)).toBe('');
        expect(qemuFdCount(vm)).toBe(qemuFds);
        expect(diffSnapshots(before, snapshot(net))).toEqual([]);
      } finally {
        net.remove();
      }
    });

    for (const c of CASES) {
      it(`${c.name}: the guest sees it, pings through it, and it is gone after detach`, async () => {
        const net = createTestNet();
        try {
          const endpoint = c.prepare(net);
          const before = snapshot(net);
          const qemuFds = qemuFdCount(vm);
          const nic = await vm.attach({ endpoint, netns: net.netns });
          if (endpoint.kind === 'tap') {
            ip('-n', net.netns, 'addr', 'add', '172.30.0.1/24', 'dev', 'vmltaphp');
          }
          expect(nic.bus).toMatch(/^rp\d$/);
          expect(nic.guestIfname).toBeDefined();
          expect(await guestNic(vm, nic.mac)).toBe(`${nic.guestIfname} ${c.mtu}`);
          const { cidr, peer } = c.route(net);
          const ping = await guestPing(vm, nic.guestIfname!, cidr, peer);
          expect(ping.status, ping.output).toBe(0);
          console.log(`${c.name}: timings ${JSON.stringify(nic.timings)}`);

          const result = await vm.detach(nic.id);
          expect(result).toMatchObject({ status: 'removed', id: nic.id });
          console.log(`${c.name}: detach ${result.ms} ms`);
          expect(await guestNic(vm, nic.mac)).toBe('');
          expect(vm.hotplugged).toEqual([]);
          expect(qemuFdCount(vm)).toBe(qemuFds);
          expect(diffSnapshots(before, snapshot(net))).toEqual([]);
        } finally {
          for (const left of vm.hotplugged) await vm.detach(left.id).catch(() => undefined);
          net.remove();
        }
      });
    }
  },
);
