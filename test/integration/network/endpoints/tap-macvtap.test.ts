// Tap and macvtap endpoints: an existing tap is opened and left as it was (T16: a single-queue
// tap asked for 4 queues is refused with a clear message before the kernel's EINVAL), a created
// tap comes and goes, an existing macvtap's queues are its own char device even when
// /dev/tap<ifindex> belongs to a macvtap of another netns.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { randomBytes, randomInt } from 'node:crypto';
import { fstatSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ownerAlias } from '../../../../network/endpoints/names.js';
import * as native from '../../../../native/index.js';
import { attachEndpoint } from '../../../../network/endpoints/attach.js';
import type { TapHostNic } from '../../../../network/host-nic.js';
import {
  findMacvtapDevice,
  makedev,
  openMacvtapQueues,
} from '../../../../network/macvtap-device.js';
import { StepError } from '../../../../core/index.js';
import { ip, ipJson, withTestNetns } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';
import { leakSnapshot, leaksSince, links, netnsState } from './veth-fixture.js';

const NIC = 'net1';

// The netns state once the kernel's linkwatch has caught up with carrier changes (it updates
// IFF_RUNNING, shown as NO-CARRIER, asynchronously): polls for up to 2 s for `expected`.
async function settledState(netns: string, expected: string[]): Promise<string[]> {
  const deadline = Date.now() + 2000;
  let state = netnsState(netns);
  while (JSON.stringify(state) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    state = netnsState(netns);
  }
  return state;
}

// The dev_t an fd refers to, as makedev() numbers it.
function rdev(fd: number): number {
  return fstatSync(fd).rdev;
}

describe.runIf(prerequisite('endpoints', rootNetnsMissing()))('tap and macvtap endpoints', () => {
  it('an existing multi-queue tap: its queues are opened, its MTU changed and put back on detach', async () => {
    await withTestNetns('eptap', async (netns) => {
      ip('-n', netns, 'tuntap', 'add', 'dev', 'tapx', 'mode', 'tap', 'multi_queue');
      ip('-n', netns, 'link', 'set', 'tapx', 'addrgenmode', 'none');
      ip('-n', netns, 'link', 'set', 'tapx', 'up');
      const before = netnsState(netns);
      const leaks = leakSnapshot(netns);
      const a = await attachEndpoint(
        { kind: 'tap', name: 'tapx', queues: 3, mtu: 1400 },
        { netns, nicId: NIC },
      );
      const nic = a.hostNic as TapHostNic;
      expect(nic.tapFds).toHaveLength(3);
      expect(nic.ifname).toBe('tapx');
      expect(nic.mtu).toBe(1400);
      expect(parseInt(nic.mac.slice(0, 2), 16) & 0x03).toBe(0x02);
      const tap = links(netns).get('tapx')!;
      expect(tap.mtu).toBe(1400);
      expect(tap.flags).toContain('UP');
      native.closeAll(nic.tapFds);
      await a.detach();
      expect(await settledState(netns, before)).toEqual(before);
      expect(leaksSince(leaks, netns)).toEqual([]);
    });
  });

  it('a down tap is brought up and down again; the default qdisc its first up attached stays (handle 0: the kernel refuses to delete it)', async () => {
    await withTestNetns('eptdown', async (netns) => {
      ip('-n', netns, 'tuntap', 'add', 'dev', 'tapd', 'mode', 'tap');
      const before = netnsState(netns);
      const a = await attachEndpoint({ kind: 'tap', name: 'tapd' }, { netns, nicId: NIC });
      expect(links(netns).get('tapd')!.flags).toContain('UP');
      native.closeAll((a.hostNic as TapHostNic).tapFds);
      await a.detach();
      expect(links(netns).get('tapd')!.flags).not.toContain('UP');
      const after = netnsState(netns);
      expect(after.filter((l) => !before.includes(l))).toEqual(['qdisc tapd pfifo_fast 0:']);
      expect(before.filter((l) => !after.includes(l))).toEqual([]);
    });
  });

  it('T16: a tap without multi_queue asked for 4 queues is refused before TUNSETIFF, naming the fix', async () => {
    await withTestNetns('ept16', async (netns) => {
      ip('-n', netns, 'tuntap', 'add', 'dev', 'tap1q', 'mode', 'tap');
      const before = netnsState(netns);
      const error = await attachEndpoint(
        { kind: 'tap', name: 'tap1q', queues: 4 },
        { netns, nicId: NIC },
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepError);
      expect((error as StepError).step).toBe('read tap');
      expect((error as StepError).code).toBe('QUEUES');
      expect((error as Error).message).toMatch(/tap1q was created without multi_queue/);
      expect(netnsState(netns)).toEqual(before);
    });
  });

  it('a multi-queue tap asked for 1 queue, a tun (layer 3) and a veth are refused as taps', async () => {
    await withTestNetns('eptbad', async (netns) => {
      ip('-n', netns, 'tuntap', 'add', 'dev', 'tapmq', 'mode', 'tap', 'multi_queue');
      ip('-n', netns, 'tuntap', 'add', 'dev', 'tun0', 'mode', 'tun');
      ip('-n', netns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
      const before = netnsState(netns);
      const cases: [string, number, RegExp][] = [
        ['tapmq', 1, /is multi_queue/],
        ['tun0', 1, /a tun \(layer 3\)/],
        ['v0', 1, /a veth link, not a tap/],
      ];
      for (const [name, queues, message] of cases) {
        const error = await attachEndpoint(
          { kind: 'tap', name, queues },
          { netns, nicId: NIC },
        ).catch((e: unknown) => e);
        expect((error as StepError).step).toBe('read tap');
        expect((error as Error).message).toMatch(message);
      }
      expect(netnsState(netns)).toEqual(before);
    });
  });

  it('refuses an existing multi-queue tap another process holds open (the kernel would let us add queues and share its traffic)', async () => {
    await withTestNetns('eptuse', async (netns) => {
      const held = native.tapOpen(`/run/netns/${netns}`, 'vmlheld0', { queues: 2 });
      try {
        const error = await attachEndpoint(
          { kind: 'tap', name: 'vmlheld0', queues: 2 },
          { netns, nicId: 'n0' },
        ).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StepError);
        expect((error as StepError).cause).toMatchObject({ code: 'IN_USE' });
      } finally {
        native.closeAll(held.fds);
      }
    });
  });

  it('tapOpen with exclusive refuses a tap that already exists (IFF_TUN_EXCL)', () =>
    withTestNetns('eptexcl', (netns) => {
      const first = native.tapOpen(`/run/netns/${netns}`, 'vmlexcl0', {
        queues: 2,
        exclusive: true,
      });
      try {
        expect(() =>
          native.tapOpen(`/run/netns/${netns}`, 'vmlexcl0', { queues: 2, exclusive: true }),
        ).toThrow(expect.objectContaining({ code: 'EBUSY' }));
      } finally {
        native.closeAll(first.fds);
      }
    }));

  it('create: true makes a labelled tap that detach removes, and refuses a taken name', async () => {
    await withTestNetns('eptnew', async (netns) => {
      const before = netnsState(netns);
      const a = await attachEndpoint(
        { kind: 'tap', name: 'vmlnew0', create: true, queues: 2 },
        { netns, nicId: NIC },
      );
      const nic = a.hostNic as TapHostNic;
      expect(links(netns).get('vmlnew0')!.ifalias).toBe(ownerAlias(NIC));
      const taken = await attachEndpoint(
        { kind: 'tap', name: 'vmlnew0', create: true },
        { netns, nicId: 'other' },
      ).catch((e: unknown) => e);
      expect((taken as StepError).step).toBe('open tap');
      expect((taken as StepError).code).toBe('EEXIST');
      await a.detach(); // fds still open: detach deletes the tap itself
      expect(netnsState(netns)).toEqual(before);
      native.closeAll(nic.tapFds);
    });
  });

  it('an existing macvtap: queues from its own char device, its MAC changed and restored', async () => {
    await withTestNetns('epmvt', async (netns) => {
      const name = `mv${randomBytes(4).toString('hex')}`;
      ip('-n', netns, 'link', 'add', 'low0', 'type', 'veth', 'peer', 'name', 'low1');
      ip(
        '-n',
        netns,
        'link',
        'add',
        'link',
        'low0',
        'name',
        name,
        'type',
        'macvtap',
        'mode',
        'bridge',
      );
      for (const l of ['low0', 'low1', name]) ip('-n', netns, 'link', 'set', l, 'up');
      const before = netnsState(netns);
      const leaks = leakSnapshot(netns);
      const a = await attachEndpoint(
        { kind: 'macvtap', name, queues: 2, mac: '02:00:00:aa:bb:cc' },
        { netns, nicId: NIC },
      );
      const nic = a.hostNic as TapHostNic;
      const link = links(netns).get(name)!;
      expect(link.address).toBe('02:00:00:aa:bb:cc');
      expect(nic.mac).toBe('02:00:00:aa:bb:cc');
      const dev = findMacvtapDevice(name, link.ifindex);
      for (const fd of nic.tapFds) expect(rdev(fd)).toBe(makedev(dev.major, dev.minor));
      native.closeAll(nic.tapFds);
      await a.detach();
      expect(await settledState(netns, before)).toEqual(before);
      expect(leaksSince(leaks, netns)).toEqual([]);
    });
  });

  it('two macvtaps with the same ifindex in two netns: /dev/tapN is the first one, and attach opens the second through a private node of its own dev_t', async () => {
    const index = String(randomInt(2_000_000, 3_000_000));
    await withTestNetns('epcola', async (nsA) => {
      await withTestNetns('epcolb', async (nsB) => {
        const names = [
          `ca${randomBytes(4).toString('hex')}`,
          `cb${randomBytes(4).toString('hex')}`,
        ];
        for (const [ns, name] of [
          [nsA, names[0]!],
          [nsB, names[1]!],
        ] as const) {
          ip('-n', ns, 'link', 'add', 'low0', 'type', 'veth', 'peer', 'name', 'low1');
          ip(
            '-n',
            ns,
            'link',
            'add',
            'link',
            'low0',
            'name',
            name,
            'index',
            index,
            'type',
            'macvtap',
          );
        }
        const devA = findMacvtapDevice(names[0]!, Number(index));
        const devB = findMacvtapDevice(names[1]!, Number(index));
        expect(devA.minor).not.toBe(devB.minor);
        // The measured fact: devtmpfs kept the first node; the path names A's device only.
        expect(statSync(`/dev/tap${index}`).rdev).toBe(makedev(devA.major, devA.minor));
        const viaB = openMacvtapQueues(names[1]!, Number(index), 1, true);
        expect(viaB.via).toBe('private-node');
        native.closeAll(viaB.fds);
        const viaA = openMacvtapQueues(names[0]!, Number(index), 1, true);
        expect(viaA.via).toBe('devtmpfs');
        native.closeAll(viaA.fds);
        const a = await attachEndpoint(
          { kind: 'macvtap', name: names[1]!, queues: 2 },
          { netns: nsB, nicId: NIC },
        );
        const nic = a.hostNic as TapHostNic;
        for (const fd of nic.tapFds) expect(rdev(fd)).toBe(makedev(devB.major, devB.minor));
        native.closeAll(nic.tapFds);
        await a.detach();
      });
    });
  });

  it('a link that is not a macvtap is refused at "read macvtap"', async () => {
    await withTestNetns('epmvbad', async (netns) => {
      ip('-n', netns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
      const error = await attachEndpoint(
        { kind: 'macvtap', name: 'v0' },
        { netns, nicId: NIC },
      ).catch((e: unknown) => e);
      expect((error as StepError).step).toBe('read macvtap');
      expect((error as Error).message).toMatch(/v0 is a veth link, not a macvtap/);
      expect(ipJson<unknown[]>('-n', netns, 'link', 'show')).toHaveLength(3);
    });
  });
});
