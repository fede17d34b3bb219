// T17: 32 macvtap attaches at once across 4 netns. None surfaces EEXIST (each macvtap gets an
// explicit random ifindex whose /dev/tapN is free), and every queue fd opened is the char
// device of its own macvtap, never a namesake's in another netns.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { fstatSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as native from '../../../../native/index.js';
import { attachEndpoint } from '../../../../network/endpoints/attach.js';
import type { AttachedEndpoint } from '../../../../network/endpoints/attach-types.js';
import type { TapHostNic } from '../../../../network/host-nic.js';
import { findMacvtapDevice, makedev } from '../../../../network/macvtap-device.js';
import { ip, ipJson, withTestNetns } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';
import { leakSnapshot, leaksSince, netnsState } from './veth-fixture.js';

const NETNS = 4;
const PER_NETNS = 8;

// Runs `fn` with `n` fresh test netns.
async function withNetnsList<T>(n: number, fn: (names: string[]) => Promise<T>): Promise<T> {
  const names: string[] = [];
  const next = async (): Promise<T> => {
    if (names.length === n) return fn(names);
    return withTestNetns(`t17${names.length}`, async (ns) => {
      names.push(ns);
      return next();
    });
  };
  return next();
}

describe.runIf(prerequisite('endpoints', rootNetnsMissing()))('T17: parallel macvtaps', () => {
  it('32 concurrent macvtap-model attaches in 4 netns: no EEXIST, each fd is its own macvtap', async () => {
    await withNetnsList(NETNS, async (netnsList) => {
      for (const ns of netnsList) {
        for (let i = 0; i < PER_NETNS; i++) {
          ip('-n', ns, 'link', 'add', `eth${i}`, 'type', 'veth', 'peer', 'name', `p${i}`);
          ip('-n', ns, 'link', 'set', `eth${i}`, 'up');
        }
      }
      const before = netnsList.map((ns) => netnsState(ns));
      const leaks = netnsList.map((ns) => leakSnapshot(ns));
      const jobs = netnsList.flatMap((netns, n) =>
        Array.from({ length: PER_NETNS }, (_, i) => ({
          netns,
          nicId: `n${n}q${i}`,
          veth: `eth${i}`,
        })),
      );
      const results = await Promise.allSettled(
        jobs.map((j) =>
          attachEndpoint(
            { kind: 'veth', name: j.veth, interworking: 'macvtap', queues: 2 },
            { netns: j.netns, nicId: j.nicId },
          ),
        ),
      );
      const attached = results
        .filter((r): r is PromiseFulfilledResult<AttachedEndpoint> => r.status === 'fulfilled')
        .map((r) => r.value);
      try {
        const failures = results.filter((r) => r.status === 'rejected');
        expect(failures.map((f) => String(f.reason))).toEqual([]);
        expect(attached).toHaveLength(NETNS * PER_NETNS);
        const devices = new Set<string>();
        for (const [k, a] of attached.entries()) {
          const nic = a.hostNic as TapHostNic;
          const [link] = ipJson<{ ifindex: number }[]>(
            '-n',
            jobs[k]!.netns,
            'link',
            'show',
            nic.ifname,
          );
          const dev = findMacvtapDevice(nic.ifname, link!.ifindex);
          devices.add(`${dev.major}:${dev.minor}`);
          for (const fd of nic.tapFds) {
            expect(fstatSync(fd).rdev).toBe(makedev(dev.major, dev.minor));
          }
        }
        expect(devices.size).toBe(NETNS * PER_NETNS);
      } finally {
        for (const a of attached) native.closeAll((a.hostNic as TapHostNic).tapFds);
        await Promise.all(attached.map((a) => a.detach()));
      }
      netnsList.forEach((ns, n) => {
        expect(netnsState(ns)).toEqual(before[n]);
        expect(leaksSince(leaks[n]!, ns)).toEqual([]);
      });
    });
  }, 60_000);
});
