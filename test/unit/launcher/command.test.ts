import { describe, expect, it } from 'vitest';
import type { HostNic } from '../../../network/host-nic.js';
import { buildCommand, checkCommand, formatDryRun } from '../../../launcher/command.js';
import { nicDevices } from '../../../launcher/devices/nic-devices.js';
import type { VmConfig } from '../../../launcher/vm-config.js';
import { resolveTemplate } from '../../../qemu-templates/index.js';
import { expectValidation } from './devices/helpers.js';

const config = (patch: Partial<VmConfig> = {}): VmConfig => ({
  machine: { template: 'q35' },
  accel: 'tcg',
  cpus: 1,
  memory: { sizeMiB: 256 },
  boot: { kernel: '/k/vmlinuz', initrd: '/k/initrd.img', cmdline: ['quiet'] },
  qmp: { fd: 17 },
  ...patch,
});

const tap: HostNic = {
  kind: 'tap',
  id: 'a',
  mac: '52:54:00:00:00:0a',
  mtu: 1500,
  tapFds: [30, 31],
  vhostFds: [40, 41],
  vhost: { enabled: true },
  ifname: 'vml-a',
};
const vhostUser: HostNic = {
  kind: 'vhost-user',
  id: 'b',
  mac: '52:54:00:00:00:0b',
  queues: 1,
  socketPath: '/run/vu,1.sock',
  mode: 'server',
};

describe('buildCommand golden argv per template', () => {
  it('q35: root ports, QMP on fd 3, console on fd 4, paused, no-shutdown', () => {
    const cmd = buildCommand(
      config({ console: { kind: 'fd', fd: 18 }, paused: true, noShutdown: true }),
      [tap],
    );
    expect(cmd.fds).toEqual([17, 18, 30, 31, 40, 41]);
    expect(cmd.hotplugBuses).toEqual(['rp0', 'rp1', 'rp2', 'rp3']);
    expect(cmd.argv).toEqual([
      'qemu-system-x86_64',
      ...['-nodefaults', '-no-user-config', '-display', 'none'],
      ...['-machine', 'q35', '-accel', 'tcg', '-m', '256M', '-smp', 'cpus=1'],
      ...['-kernel', '/k/vmlinuz', '-initrd', '/k/initrd.img', '-append', 'console=ttyS0 quiet'],
      ...['-chardev', 'socket,id=qmp,fd=3', '-mon', 'chardev=qmp,mode=control'],
      ...['-chardev', 'socket,id=console,fd=4', '-serial', 'chardev:console'],
      ...['-device', 'pcie-root-port,id=rp0,chassis=1,bus=pcie.0'],
      ...['-device', 'pcie-root-port,id=rp1,chassis=2,bus=pcie.0'],
      ...['-device', 'pcie-root-port,id=rp2,chassis=3,bus=pcie.0'],
      ...['-device', 'pcie-root-port,id=rp3,chassis=4,bus=pcie.0'],
      ...['-netdev', 'tap,id=netdev-a,fds=5:6,vhost=on,vhostfds=7:8'],
      ...[
        '-device',
        'virtio-net-pci,id=nic-a,netdev=netdev-a,mac=52:54:00:00:00:0a,mq=on,vectors=6,host_mtu=1500,romfile=',
      ],
      '-S',
      '-no-shutdown',
    ]);
  });

  it('microvm: mmio transport, machine options, shared memory for vhost-user', () => {
    const cmd = buildCommand(
      config({
        machine: { template: 'microvm' },
        memory: { sizeMiB: 256, shared: true },
        console: { kind: 'file', path: '/tmp/con.log' },
      }),
      [vhostUser],
    );
    expect(cmd.hotplugBuses).toEqual([]);
    expect(cmd.fds).toEqual([17]);
    expect(cmd.argv.slice(5, 7)).toEqual([
      '-machine',
      'microvm,x-option-roms=off,isa-serial=on,memory-backend=mem0',
    ]);
    expect(cmd.argv).toContain('memory-backend-memfd,id=mem0,size=256M,share=on');
    expect(cmd.argv.join(' ')).toContain(
      '-chardev socket,id=chr-b,path=/run/vu,,1.sock,server=on,wait=off -netdev vhost-user,id=netdev-b,chardev=chr-b,queues=1 ' +
        '-device virtio-net-device,id=nic-b,netdev=netdev-b,mac=52:54:00:00:00:0b',
    );
    expect(cmd.argv.join(' ')).toContain(
      '-chardev file,id=console,path=/tmp/con.log -serial chardev:console',
    );
  });

  it('microvm-pcie and pc', () => {
    const mp = buildCommand(
      config({ machine: { template: 'microvm-pcie' }, accel: 'kvm', cpu: 'host' }),
    );
    expect(mp.argv.slice(5, 11)).toEqual([
      '-machine',
      'microvm,x-option-roms=off,isa-serial=on,pcie=on',
      '-accel',
      'kvm',
      '-cpu',
      'host',
    ]);
    expect(mp.hotplugBuses).toEqual([]);
    const pc = buildCommand(config({ machine: { template: 'pc' } }), [
      { ...tap, vhost: { enabled: false }, vhostFds: [] },
    ]);
    expect(pc.argv.slice(5, 7)).toEqual(['-machine', 'pc']);
    expect(pc.argv).toContain('tap,id=netdev-a,fds=4:5,vhost=off');
  });

  it('gives a vhost-user NIC on PCI no MSI-X under TCG (QEMU 7.2 segfaults otherwise), MSI-X under KVM', () => {
    const shared = { memory: { sizeMiB: 256, shared: true } };
    const device = (accel: 'tcg' | 'kvm'): string =>
      buildCommand(config({ ...shared, accel }), [vhostUser]).argv.find((a) =>
        a.startsWith('virtio-net-pci,id=nic-b'),
      )!;
    expect(device('tcg')).toBe(
      'virtio-net-pci,id=nic-b,netdev=netdev-b,mac=52:54:00:00:00:0b,vectors=0,romfile=',
    );
    expect(device('kvm')).toBe(
      'virtio-net-pci,id=nic-b,netdev=netdev-b,mac=52:54:00:00:00:0b,romfile=',
    );
  });

  it('a RAM image fd: a shared file backend QEMU opens through its inherited fd', () => {
    const cmd = buildCommand(config({ memory: { sizeMiB: 256, file: 30 } }), []);
    const child = 3 + cmd.fds.indexOf(30);
    expect(cmd.fds).toContain(30);
    expect(cmd.argv).toContain(
      `memory-backend-file,id=mem0,size=256M,mem-path=/proc/self/fd/${child},share=on`,
    );
    expect(cmd.argv.join(' ')).toContain('memory-backend=mem0');
  });

  it('the same fd given twice takes one child slot', () => {
    expect(
      buildCommand(config({ console: { kind: 'fd', fd: 20 } }), [
        { ...tap, tapFds: [20, 20], vhostFds: [], vhost: { enabled: false } },
      ]).fds,
    ).toEqual([17, 20]);
  });
});

describe('buildCommand validation (before anything is spawned)', () => {
  it.each([
    [
      config({ memory: { sizeMiB: 256 } }),
      [vhostUser],
      'memory.shared',
      'VHOST_USER_NEEDS_SHARED_MEMORY',
    ],
    [config(), [{ ...tap, vhostFds: [40] }], 'nics[0].vhostFds', 'FD_COUNT_MISMATCH'],
    [config(), [tap, { ...tap }], 'nics[1].id', 'DUPLICATE_ID'],
    [config(), [{ ...tap, id: 'a,b' }], 'nics[0].id', 'QEMU_ID'],
    [config(), [{ ...tap, mac: 'ff:ff:ff:ff:ff:ff' }], 'nics[0].mac', 'VALIDATION'],
    [
      config(),
      [{ ...vhostUser, socketPath: `/${'s'.repeat(120)}` }],
      'nics[0].socketPath',
      'SOCKET_PATH_LENGTH',
    ],
    [
      config({ machine: { template: 'microvm' } }),
      [{ kind: 'vfio', id: 'p', pciAddress: '0000:01:00.0' }],
      'nics[0].pciAddress',
      'TRANSPORT',
    ],
    [config({ cpus: 0 }), [], 'cpus', 'RANGE'],
    [config({ memory: { sizeMiB: 1 } }), [], 'memory.sizeMiB', 'RANGE'],
    [
      config({ boot: { kernel: '/k', cmdline: ['a\nb'] } }),
      [],
      'boot.append[1]',
      'QEMU_ARG_CONTROL_CHAR',
    ],
    [config({ cpu: 'a=b' }), [], 'cpu', 'CPU'],
    [
      config({ machine: { template: 'microvm', overrides: { hotplugRootPorts: 2 } } }),
      [],
      'machine.overrides.hotplugRootPorts',
      'TEMPLATE_OVERRIDE',
    ],
  ] as const)('%# -> %s', (cfg, nics, path, code) => {
    expectValidation(() => buildCommand(cfg, nics as unknown as HostNic[]), path, code);
  });

  it('caps microvm at eight virtio-mmio NICs', () => {
    const nics = Array.from({ length: 9 }, (_, i) => ({ ...tap, id: `n${i}` }));
    expectValidation(
      () => buildCommand(config({ machine: { template: 'microvm' } }), nics),
      'nics',
      'TOO_MANY_DEVICES',
    );
  });
});

describe('one device model, two serialisations', () => {
  it('a tap NIC hot-plugs with getfd names through the same objects', () => {
    const names: string[] = [];
    const devices = nicDevices(tap, {
      transport: 'pci',
      sharedMemory: false,
      bus: 'rp0',
      fdRef: (_fd, role) => {
        names.push(`a-${role}`);
        return { kind: 'named', name: `a-${role}` };
      },
    });
    expect(names).toEqual(['a-tap0', 'a-tap1', 'a-vhost0', 'a-vhost1']);
    expect(devices.flatMap((d) => d.toQmp())).toEqual([
      {
        execute: 'netdev_add',
        arguments: {
          type: 'tap',
          id: 'netdev-a',
          vhost: true,
          fds: 'a-tap0:a-tap1',
          vhostfds: 'a-vhost0:a-vhost1',
        },
      },
      {
        execute: 'device_add',
        arguments: {
          driver: 'virtio-net-pci',
          id: 'nic-a',
          netdev: 'netdev-a',
          mac: '52:54:00:00:00:0a',
          mq: true,
          vectors: 6,
          host_mtu: 1500,
          bus: 'rp0',
        },
      },
    ]);
    expect(devices.reverse().flatMap((d) => d.toQmpRemove())).toEqual([
      { execute: 'device_del', arguments: { id: 'nic-a' } },
      { execute: 'netdev_del', arguments: { id: 'netdev-a' } },
    ]);
  });
});

describe('formatDryRun', () => {
  it('prints the inherited fds as a comment and a pasteable command', () => {
    const out = formatDryRun(buildCommand(config({ boot: { kernel: '/k k' } })));
    expect(out.split('\n')).toEqual([
      '# inherited fds (child<-parent): 3<-17',
      expect.stringContaining(
        "-kernel '/k k' -append console=ttyS0 -chardev socket,id=qmp,fd=3",
      ) as string,
    ]);
  });
});

describe('checkCommand', () => {
  it('refuses what buildCommand refuses, with the same path and code', () => {
    const bad = config({ memory: { sizeMiB: 0 } });
    expectValidation(() => buildCommand(bad), 'memory.sizeMiB', 'RANGE');
    expectValidation(() => checkCommand(bad), 'memory.sizeMiB', 'RANGE');
    const dup = [tap, { ...tap, tapFds: [32], vhostFds: [] }];
    expectValidation(() => checkCommand(config(), dup), 'nics[1].id', 'DUPLICATE_ID');
  });

  it('accepts a good config; a template the caller resolved is the one built with', () => {
    expect(() => checkCommand(config({ console: { kind: 'fd', fd: 18 } }), [tap])).not.toThrow();
    const template = resolveTemplate('q35', { hotplugRootPorts: 1 });
    expect(buildCommand(config(), [], template).hotplugBuses).toEqual(['rp0']);
    expect(buildCommand(config()).hotplugBuses.length).toBeGreaterThan(1);
  });
});
