import { describe, expect, it } from 'vitest';
import { buildCommand } from '../../../../launcher/command.js';
import { vhostUserFs } from '../../../../launcher/devices/vhost-user-fs.js';
import { UnsupportedError } from '../../../../core/index.js';
import type { VmConfig } from '../../../../launcher/vm-config.js';
import { expectValidation } from './helpers.js';

const config = (patch: Partial<VmConfig> = {}): VmConfig => ({
  machine: { template: 'q35', overrides: { hotplugRootPorts: 0 } },
  accel: 'tcg',
  cpus: 1,
  memory: { sizeMiB: 256, shared: true },
  boot: { kernel: '/k/vmlinuz' },
  qmp: { fd: 17 },
  ...patch,
});

const fs = (patch: Partial<Parameters<typeof vhostUserFs>[0]> = {}) =>
  vhostUserFs({
    id: 'fs-src',
    chardev: 'chr-fs-src',
    tag: 'src',
    transport: 'pci',
    sharedMemory: true,
    ...patch,
  });

describe('vhost-user-fs', () => {
  it('q35: memfd guest RAM, the chardev on the inherited fd, vhost-user-fs-pci (golden argv)', () => {
    const cmd = buildCommand(
      config({
        shares: [
          { id: 'src', tag: 'src', fd: 40 },
          { id: 'ro', tag: 'ro', fd: 41, queueSize: 256 },
        ],
      }),
    );
    expect(cmd.fds).toEqual([17, 40, 41]);
    expect(cmd.argv.join(' ')).toContain('-machine q35,memory-backend=mem0');
    expect(cmd.argv.slice(-12)).toEqual([
      ...['-mon', 'chardev=qmp,mode=control'],
      ...['-object', 'memory-backend-memfd,id=mem0,size=256M,share=on'],
      ...['-chardev', 'socket,id=chr-fs-src,fd=4'],
      ...['-device', 'vhost-user-fs-pci,id=fs-src,chardev=chr-fs-src,tag=src,queue-size=1024'],
      ...['-chardev', 'socket,id=chr-fs-ro,fd=5'],
      ...['-device', 'vhost-user-fs-pci,id=fs-ro,chardev=chr-fs-ro,tag=ro,queue-size=256'],
    ]);
  });

  it('microvm: vhost-user-fs-device on virtio-mmio (KVM), refused under TCG', () => {
    const microvm = {
      machine: { template: 'microvm' as const },
      shares: [{ id: 's', tag: 's', fd: 40 }],
    };
    expectValidation(() => buildCommand(config(microvm)), 'shares[0]', 'SHARE_MMIO_TCG');
    const cmd = buildCommand(config({ ...microvm, accel: 'kvm' }));
    expect(cmd.argv.slice(-2)).toEqual([
      '-device',
      'vhost-user-fs-device,id=fs-s,chardev=chr-fs-s,tag=s,queue-size=1024',
    ]);
  });

  it('refuses private guest RAM, bad queue sizes, long tags, too many mmio devices', () => {
    expectValidation(
      () =>
        buildCommand(config({ memory: { sizeMiB: 256 }, shares: [{ id: 's', tag: 's', fd: 40 }] })),
      'memory.shared',
      'VHOST_USER_NEEDS_SHARED_MEMORY',
    );
    expectValidation(() => fs({ queueSize: 1000 }).validate(), 'device.queueSize', 'RANGE');
    expectValidation(() => fs({ queueSize: 2048 }).validate(), 'device.queueSize', 'RANGE');
    expectValidation(
      () => fs({ tag: 'x'.repeat(37) }).validate(),
      'device.tag',
      'SHARE_TAG_LENGTH',
    );
    expectValidation(
      () => fs({ transport: 'mmio', bus: 'rp0' }).validate(),
      'device.bus',
      'TRANSPORT',
    );
    const nine = Array.from({ length: 9 }, (_, i) => ({ id: `s${i}`, tag: `s${i}`, fd: 40 + i }));
    expectValidation(
      () => buildCommand(config({ machine: { template: 'microvm' }, accel: 'kvm', shares: nine })),
      'shares',
      'TOO_MANY_DEVICES',
    );
    expectValidation(
      () => buildCommand(config({ shares: [{ id: 's', tag: 's', fd: -1 }] })),
      'shares[0].fd',
      'FD',
    );
  });

  it('QMP: device_add on a root port (pci), refused on mmio; device_del to remove', () => {
    expect(fs({ bus: 'rp0' }).toQmp()).toEqual([
      {
        execute: 'device_add',
        arguments: {
          driver: 'vhost-user-fs-pci',
          id: 'fs-src',
          chardev: 'chr-fs-src',
          tag: 'src',
          'queue-size': 1024,
          bus: 'rp0',
        },
      },
    ]);
    expect(fs().toQmpRemove()).toEqual([{ execute: 'device_del', arguments: { id: 'fs-src' } }]);
    expect(() => fs({ transport: 'mmio' }).toQmp()).toThrow(UnsupportedError);
  });
});
