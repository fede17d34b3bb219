import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '../../../../core/index.js';
import { VIRTIO_NET_BY_TRANSPORT, virtioNet } from '../../../../launcher/devices/virtio-net.js';
import { expectValidation } from './helpers.js';

const base = {
  id: 'nic-a',
  netdev: 'netdev-a',
  mac: '52:54:00:AB:CD:EF',
  queues: 1,
  path: 'nics[0]',
};

describe('virtioNet', () => {
  it('pci, one queue: driver from the table, lower-cased mac', () => {
    expect(virtioNet({ ...base, transport: 'pci' }).toArgs()).toEqual([
      '-device',
      'virtio-net-pci,id=nic-a,netdev=netdev-a,mac=52:54:00:ab:cd:ef',
    ]);
  });

  it('pci, 4 queues: mq=on and vectors=2*4+2, mtu, bus/addr, no option ROM', () => {
    const d = virtioNet({
      ...base,
      transport: 'pci',
      queues: 4,
      mtu: 9000,
      bus: 'rp0',
      addr: '0x0',
      romfile: 'none',
    });
    expect(d.toArgs()).toEqual([
      '-device',
      'virtio-net-pci,id=nic-a,netdev=netdev-a,mac=52:54:00:ab:cd:ef,mq=on,vectors=10,host_mtu=9000,bus=rp0,addr=0x0,romfile=',
    ]);
    expect(d.toQmp()).toEqual([
      {
        execute: 'device_add',
        arguments: {
          driver: 'virtio-net-pci',
          id: 'nic-a',
          netdev: 'netdev-a',
          mac: '52:54:00:ab:cd:ef',
          mq: true,
          vectors: 10,
          host_mtu: 9000,
          bus: 'rp0',
          addr: '0x0',
          romfile: '',
        },
      },
    ]);
    expect(d.toQmpRemove()).toEqual([{ execute: 'device_del', arguments: { id: 'nic-a' } }]);
  });

  it('a romfile path is escaped like any value', () => {
    const d = virtioNet({ ...base, transport: 'pci', romfile: { path: '/roms/a,b.rom' } });
    expect(d.toArgs()[1]).toMatch(/romfile=\/roms\/a,,b\.rom$/);
  });

  it('mmio: virtio-net-device, mq without vectors, no romfile, no hot plug', () => {
    const d = virtioNet({ ...base, transport: 'mmio', queues: 2, romfile: 'none' });
    expect(d.toArgs()).toEqual([
      '-device',
      'virtio-net-device,id=nic-a,netdev=netdev-a,mac=52:54:00:ab:cd:ef,mq=on',
    ]);
    expect(() => d.toQmp()).toThrow(UnsupportedError);
  });

  it('table rows name QEMU drivers', () => {
    expect(VIRTIO_NET_BY_TRANSPORT.pci.driver).toBe('virtio-net-pci');
    expect(VIRTIO_NET_BY_TRANSPORT.mmio.driver).toBe('virtio-net-device');
    expect(Object.isFrozen(VIRTIO_NET_BY_TRANSPORT.pci)).toBe(true);
  });

  it.each([
    [{ mac: '01:00:5e:00:00:01' }, 'nics[0].mac', 'VALIDATION'],
    [{ mac: 'nope' }, 'nics[0].mac', 'VALIDATION'],
    [{ queues: 0 }, 'nics[0].queues', 'RANGE'],
    [{ queues: 512 }, 'nics[0].queues', 'RANGE'],
    [{ mtu: 20 }, 'nics[0].mtu', 'VALIDATION'],
    [{ addr: 'zz' }, 'nics[0].addr', 'PCI_ADDR'],
    [{ bus: 'a,b' }, 'nics[0].bus', 'QEMU_ID'],
    [{ transport: 'mmio', bus: 'rp0' }, 'nics[0].bus', 'TRANSPORT'],
    [{ transport: 'isa' }, 'nics[0].transport', 'TRANSPORT'],
  ] as const)('rejects %j at %s', (patch, path, code) => {
    const spec = { ...base, transport: 'pci' as const, ...patch } as Parameters<
      typeof virtioNet
    >[0];
    expectValidation(() => virtioNet(spec).validate(), path, code);
  });
});
