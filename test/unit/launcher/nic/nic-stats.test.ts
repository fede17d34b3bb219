// Counters in the guest's direction: a tap's are swapped (it transmits what the guest
// receives), a macvtap's are not; a link without counters and a VFIO NIC are typed errors.
import { describe, expect, it } from 'vitest';
import { guestCounters, readNicStats } from '../../../../launcher/nic/nic-stats.js';
import type { Link, LinkStats } from '../../../../network/netlink/index.js';

const stats: LinkStats = {
  rxPackets: 1,
  txPackets: 2,
  rxBytes: 100,
  txBytes: 200,
  rxErrors: 3,
  txErrors: 4,
  rxDropped: 5,
  txDropped: 6,
  multicast: 0,
  collisions: 0,
};
const link = (kind: string, withStats = true) =>
  ({ name: 'vm0', kind, ...(withStats ? { stats } : {}) }) as Link;

describe('guestCounters', () => {
  it('a tap: what it transmitted is what the guest received', () => {
    expect(guestCounters(link('tun'))).toEqual({
      ifname: 'vm0',
      rxBytes: 200,
      rxPackets: 2,
      rxDropped: 6,
      rxErrors: 4,
      txBytes: 100,
      txPackets: 1,
      txDropped: 5,
      txErrors: 3,
    });
  });

  it('a macvtap counts as the guest does', () => {
    expect(guestCounters(link('macvtap'))).toMatchObject({ rxBytes: 100, txBytes: 200 });
  });

  it('a link without counters is NIC_NO_COUNTERS', () => {
    expect(() => guestCounters(link('tun', false))).toThrow(
      expect.objectContaining({ code: 'NIC_NO_COUNTERS' }),
    );
  });
});

describe('readNicStats', () => {
  it('refuses a VFIO NIC before asking QEMU', async () => {
    const calls: string[] = [];
    const qmp = {
      execute: (name: string) => {
        calls.push(name);
        return Promise.resolve([] as never);
      },
    };
    const nic = { id: 'pt0', plug: 'cold', backend: 'vfio', deviceId: 'nic-pt0' } as const;
    await expect(readNicStats(qmp, nic)).rejects.toMatchObject({ code: 'NIC_NO_COUNTERS' });
    expect(calls).toEqual([]);
  });

  it('without a host link: only the rx-filter, asked by the device id', async () => {
    const calls: unknown[] = [];
    const qmp = {
      execute: (name: string, args?: unknown) => {
        calls.push([name, args]);
        return Promise.resolve([{ name: 'nic-vu0', promiscuous: true }] as never);
      },
    };
    const nic = { id: 'vu0', plug: 'cold', backend: 'virtio-net', deviceId: 'nic-vu0' } as const;
    expect(await readNicStats(qmp, nic)).toEqual({
      id: 'vu0',
      rxFilter: { name: 'nic-vu0', promiscuous: true },
    });
    expect(calls).toEqual([['query-rx-filter', { name: 'nic-vu0' }]]);
  });
});
