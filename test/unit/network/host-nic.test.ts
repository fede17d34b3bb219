// The fds of a HostNic, as launch() and hot-plug both take them: tap queues, then vhost-net.
import { describe, expect, it } from 'vitest';
import { hostNicFds, queueCount, type HostNic } from '../../../network/host-nic.js';

const tap: HostNic = {
  kind: 'tap',
  id: 'n0',
  mac: '52:54:00:12:34:56',
  mtu: 1500,
  tapFds: [10, 11],
  vhostFds: [20, 21],
  vhost: { enabled: true },
  ifname: 'vmlt00000000',
};

describe('hostNicFds', () => {
  it('lists a tap NIC’s queue fds, then its vhost-net fds, as a new array', () => {
    const fds = hostNicFds(tap);
    expect(fds).toEqual([10, 11, 20, 21]);
    fds.push(99);
    expect(hostNicFds(tap)).toEqual([10, 11, 20, 21]);
    expect(queueCount(tap)).toBe(2);
  });

  it('has no fds for a NIC without vhost-net, a vhost-user or a VFIO NIC', () => {
    const plain: HostNic = { ...tap, vhostFds: [], vhost: { enabled: false, reason: 'off' } };
    expect(hostNicFds(plain)).toEqual([10, 11]);
    const user: HostNic = {
      kind: 'vhost-user',
      id: 'n1',
      mac: '52:54:00:12:34:57',
      queues: 2,
      socketPath: '/run/x.sock',
      mode: 'client',
    };
    expect(hostNicFds(user)).toEqual([]);
    expect(hostNicFds({ kind: 'vfio', id: 'n2', pciAddress: '0000:01:00.0' })).toEqual([]);
  });
});
