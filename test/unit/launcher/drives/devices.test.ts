// Golden argv and QMP of the drive devices: blockdev nodes on fdsets, virtio-blk per
// transport, the cache mode mapping, ephemeral overlays, and the command builder's fdsets.
import { describe, expect, it } from 'vitest';
import { buildCommand } from '../../../../launcher/command.js';
import { blockdevFile, blockdevFormat } from '../../../../launcher/devices/blockdev.js';
import { driveDevices, type DriveConfig } from '../../../../launcher/devices/blockdev-drive.js';
import { virtioBlk } from '../../../../launcher/devices/virtio-blk.js';
import type { VmConfig } from '../../../../launcher/vm-config.js';
import { expectValidation } from '../devices/helpers.js';

type Json = Record<string, unknown>;
const parse = (text: string | undefined): Json => JSON.parse(text ?? 'null') as Json;
const fdset = (n: number) => ({ kind: 'fdset' as const, fdset: n });

describe('blockdev nodes', () => {
  it('file node: /dev/fdset/N, read-only, cache and aio; the same object for argv and QMP', () => {
    const node = blockdevFile({
      nodeName: 'd0-file',
      fd: fdset(2),
      readOnly: true,
      cache: 'none',
      aio: 'native',
    });
    const json = {
      driver: 'file',
      'node-name': 'd0-file',
      filename: '/dev/fdset/2',
      'read-only': true,
      cache: { direct: true, 'no-flush': false },
      aio: 'native',
    };
    expect(node.toArgs()).toEqual(['-blockdev', JSON.stringify(json)]);
    expect(node.toQmp()).toEqual([{ execute: 'blockdev-add', arguments: json }]);
    expect(node.toQmpRemove()).toEqual([
      { execute: 'blockdev-del', arguments: { 'node-name': 'd0-file' } },
    ]);
  });

  it('qcow2 format node never follows a header backing path (backing: null)', () => {
    const node = blockdevFormat({ nodeName: 'd0-fmt', format: 'qcow2', file: 'd0-file' });
    expect(parse(node.toArgs()[1])).toEqual({
      driver: 'qcow2',
      'node-name': 'd0-fmt',
      file: 'd0-file',
      backing: null,
    });
    const raw = blockdevFormat({
      nodeName: 'd0-fmt',
      format: 'raw',
      file: 'd0-file',
      discard: 'unmap',
    });
    expect(parse(raw.toArgs()[1])).toEqual({
      driver: 'raw',
      'node-name': 'd0-fmt',
      file: 'd0-file',
      discard: 'unmap',
    });
  });

  it('refuses what QEMU would refuse at start', () => {
    expectValidation(
      () => blockdevFile({ nodeName: 'd', fd: fdset(0), aio: 'native' }).validate(),
      'blockdev.aio',
      'DRIVE_OPTION',
    );
    expectValidation(
      () => blockdevFile({ nodeName: 'x'.repeat(32), fd: fdset(0) }).validate(),
      'blockdev.nodeName',
      'QEMU_ID',
    );
    expectValidation(
      () => blockdevFile({ nodeName: 'd', fd: { kind: 'named', name: 'img' } }).validate(),
      'blockdev.fd',
      'FD_REF_KIND',
    );
    expectValidation(
      () => blockdevFormat({ nodeName: 'd', format: 'raw', file: 'f', backing: 'b' }).validate(),
      'blockdev.backing',
      'IMAGE_FORMAT',
    );
  });
});

describe('virtio-blk', () => {
  it('driver from the transport table; serial and write-cache; mmio has no hot plug', () => {
    const pci = virtioBlk({
      id: 'd0',
      drive: 'd0-fmt',
      transport: 'pci',
      serial: 's-1',
      writeCache: false,
    });
    expect(pci.toArgs()).toEqual([
      '-device',
      'virtio-blk-pci,id=d0,drive=d0-fmt,serial=s-1,write-cache=off',
    ]);
    expect(pci.toQmp()).toEqual([
      {
        execute: 'device_add',
        arguments: {
          driver: 'virtio-blk-pci',
          id: 'd0',
          drive: 'd0-fmt',
          serial: 's-1',
          'write-cache': false,
        },
      },
    ]);
    const mmio = virtioBlk({ id: 'd0', drive: 'd0-fmt', transport: 'mmio' });
    expect(mmio.toArgs()).toEqual(['-device', 'virtio-blk-device,id=d0,drive=d0-fmt']);
    expect(() => mmio.toQmp()).toThrow(/virtio-mmio/);
  });

  it('refuses serials the guest init cannot match (comma, space, > 20 bytes)', () => {
    for (const serial of ['a,b', 'a b', 'x'.repeat(21), '']) {
      expectValidation(
        () => virtioBlk({ id: 'd', drive: 'n', transport: 'pci', serial }).validate(),
        'device.serial',
        'DRIVE_SERIAL',
      );
    }
  });
});

describe('driveDevices', () => {
  const ref = (_fd: number, role: 'image' | 'base') => fdset(role === 'base' ? 7 : 6);

  it('cache modes map to cache.direct/no-flush on every node and write-cache on the device', () => {
    const cases = {
      writeback: [false, false, 'on'],
      none: [true, false, 'on'],
      writethrough: [false, false, 'off'],
      directsync: [true, false, 'off'],
      unsafe: [false, true, 'on'],
    } as const;
    for (const [cache, [direct, noFlush, wce]] of Object.entries(cases)) {
      const devs = driveDevices(
        {
          id: 'd',
          fd: 9,
          format: 'raw',
          serial: 'd',
          cache: cache as DriveConfig['cache'] & string,
        },
        { transport: 'pci', fdRef: ref },
      );
      for (const node of devs.slice(0, 2)) {
        expect(parse(node.toArgs()[1]).cache).toEqual({ direct, 'no-flush': noFlush });
      }
      expect(devs[2]!.toArgs()[1]).toContain(`write-cache=${wce}`);
    }
  });

  it('ephemeral: read-only base file + format node, overlay qcow2 with backing = the base node', () => {
    const devs = driveDevices(
      { id: 'root', fd: 9, format: 'qcow2', serial: 'root', backing: { fd: 8, format: 'raw' } },
      { transport: 'mmio', fdRef: ref },
    );
    expect(devs.map((d) => d.toArgs().join(' '))).toEqual([
      '-blockdev {"driver":"file","node-name":"root-bfile","filename":"/dev/fdset/7","read-only":true}',
      '-blockdev {"driver":"raw","node-name":"root-base","file":"root-bfile","read-only":true}',
      '-blockdev {"driver":"file","node-name":"root-file","filename":"/dev/fdset/6"}',
      '-blockdev {"driver":"qcow2","node-name":"root-fmt","file":"root-file","backing":"root-base"}',
      '-device virtio-blk-device,id=root,drive=root-fmt,serial=root',
    ]);
    // Removal in reverse creation order is the caller's job; each names its own object.
    expect(devs.map((d) => d.toQmpRemove()[0]!.execute)).toEqual([
      'blockdev-del',
      'blockdev-del',
      'blockdev-del',
      'blockdev-del',
      'device_del',
    ]);
  });

  it('refuses a drive id whose node names would not fit', () => {
    expectValidation(
      () =>
        driveDevices(
          { id: 'x'.repeat(26), fd: 3, format: 'raw', serial: 's' },
          { transport: 'pci', fdRef: ref },
        ),
      'drive.id',
      'QEMU_ID',
    );
  });
});

describe('buildCommand with drives', () => {
  const config = (patch: Partial<VmConfig>): VmConfig => ({
    machine: { template: 'q35', overrides: { hotplugRootPorts: 0 } },
    accel: 'tcg',
    cpus: 1,
    memory: { sizeMiB: 256 },
    boot: { kernel: '/k' },
    qmp: { fd: 17 },
    ...patch,
  });

  it('-add-fd per fd (image before base), fds inherited at 3+i, blockdevs on those sets', () => {
    const cmd = buildCommand(
      config({
        drives: [
          { id: 'a', fd: 30, format: 'raw', serial: 'a', readOnly: true },
          { id: 'b', fd: 31, format: 'qcow2', serial: 'b', backing: { fd: 32, format: 'raw' } },
        ],
      }),
    );
    expect(cmd.fds).toEqual([17, 30, 31, 32]);
    const addFds = cmd.argv.flatMap((a, i) => (a === '-add-fd' ? [cmd.argv[i + 1]] : []));
    expect(addFds).toEqual([
      'fd=4,set=0,opaque=a:image',
      'fd=5,set=1,opaque=b:image',
      'fd=6,set=2,opaque=b:base',
    ]);
    const blockdevs = cmd.argv.flatMap((a, i) =>
      a === '-blockdev' ? [parse(cmd.argv[i + 1])] : [],
    );
    expect(
      blockdevs.filter((b) => b.driver === 'file').map((b) => [b['node-name'], b.filename]),
    ).toEqual([
      ['a-file', '/dev/fdset/0'],
      ['b-bfile', '/dev/fdset/2'],
      ['b-file', '/dev/fdset/1'],
    ]);
    expect(cmd.argv).toContain('virtio-blk-pci,id=b,drive=b-fmt,serial=b');
  });

  it('microvm: NICs and drives share the eight virtio-mmio slots', () => {
    const drives = Array.from({ length: 9 }, (_, i) => ({
      id: `d${i}`,
      fd: 30 + i,
      format: 'raw' as const,
      serial: `d${i}`,
    }));
    expectValidation(
      () => buildCommand(config({ machine: { template: 'microvm' }, drives })),
      'drives',
      'TOO_MANY_DEVICES',
    );
    expect(() =>
      buildCommand(config({ machine: { template: 'microvm' }, drives: drives.slice(0, 8) })),
    ).not.toThrow();
  });

  it('duplicate drive ids and bad fds are refused', () => {
    const d = { id: 'a', fd: 30, format: 'raw' as const, serial: 'a' };
    expectValidation(
      () => buildCommand(config({ drives: [d, { ...d, fd: 31 }] })),
      'drives[1].id',
      'DUPLICATE_ID',
    );
    expectValidation(
      () => buildCommand(config({ drives: [{ ...d, fd: -1 }] })),
      'drives[0].fd',
      'FD',
    );
  });
});
