import { describe, expect, it } from 'vitest';
import { UnsupportedError, ValidationError } from '../../../../core/index.js';
import { fileChardev, socketChardev } from '../../../../launcher/devices/chardev.js';
import { memoryBackend } from '../../../../launcher/devices/memory-backend.js';
import { pcieRootPort } from '../../../../launcher/devices/pcie-root-port.js';
import { qmpMonitor } from '../../../../launcher/devices/qmp-monitor.js';
import { serialConsole } from '../../../../launcher/devices/serial-console.js';
import { vfioPci } from '../../../../launcher/devices/vfio-pci.js';
import { vhostUserNetdev } from '../../../../launcher/devices/vhost-user-netdev.js';
import { expectValidation } from './helpers.js';

describe('socketChardev', () => {
  it('server: path escaped, server=on, wait=off; QMP chardev-add with the unix address', () => {
    const d = socketChardev({ id: 'c0', path: '/run/a,b.sock', server: true });
    expect(d.toArgs()).toEqual(['-chardev', 'socket,id=c0,path=/run/a,,b.sock,server=on,wait=off']);
    expect(d.toQmp()).toEqual([
      {
        execute: 'chardev-add',
        arguments: {
          id: 'c0',
          backend: {
            type: 'socket',
            data: {
              addr: { type: 'unix', data: { path: '/run/a,b.sock' } },
              server: true,
              wait: false,
            },
          },
        },
      },
    ]);
    expect(d.toQmpRemove()).toEqual([{ execute: 'chardev-remove', arguments: { id: 'c0' } }]);
  });

  it('client with reconnect', () => {
    const d = socketChardev({ id: 'c0', path: '/s', server: false, reconnect: 2 });
    expect(d.toArgs()).toEqual(['-chardev', 'socket,id=c0,path=/s,server=off,reconnect=2']);
    expect(d.toQmp()[0]!.arguments).toMatchObject({
      backend: { data: { server: false, reconnect: 2 } },
    });
  });

  it('on an fd: argv fd=N, QMP fd address by getfd name', () => {
    expect(socketChardev({ id: 'q', fd: { kind: 'inherited', childFd: 3 } }).toArgs()).toEqual([
      '-chardev',
      'socket,id=q,fd=3',
    ]);
    expect(
      socketChardev({ id: 'q', fd: { kind: 'named', name: 'con' } }).toQmp()[0]!.arguments,
    ).toEqual({
      id: 'q',
      // server: false: QMP's default is true, and QEMU would try to listen on the passed fd.
      backend: {
        type: 'socket',
        data: { addr: { type: 'fd', data: { str: 'con' } }, server: false },
      },
    });
  });

  it('refuses a socket path longer than sun_path', () => {
    const spec = {
      id: 'c',
      path: `/${'x'.repeat(107)}`,
      server: true as const,
      pathField: 'nics[1].socketPath',
    };
    expectValidation(
      () => socketChardev(spec).validate(),
      'nics[1].socketPath',
      'SOCKET_PATH_LENGTH',
    );
  });

  it('refuses a newline in a path', () => {
    expectValidation(
      () => socketChardev({ id: 'c', path: '/a\nb', server: true, errPath: 'console' }).toArgs(),
      'console.path',
      'QEMU_ARG_CONTROL_CHAR',
    );
  });
});

describe('fileChardev', () => {
  it('path escaped; an fdset for hot plug; QMP file backend', () => {
    expect(fileChardev({ id: 'log', file: '/var/log/a,b' }).toArgs()).toEqual([
      '-chardev',
      'file,id=log,path=/var/log/a,,b',
    ]);
    const d = fileChardev({ id: 'log', file: { kind: 'fdset', fdset: 2 } });
    expect(d.toQmp()).toEqual([
      {
        execute: 'chardev-add',
        arguments: { id: 'log', backend: { type: 'file', data: { out: '/dev/fdset/2' } } },
      },
    ]);
  });

  it('refuses a getfd name where a path is opened', () => {
    expectValidation(
      () =>
        fileChardev({ id: 'l', file: { kind: 'named', name: 'x' }, errPath: 'console' }).toArgs(),
      'console.file',
      'FD_REF_KIND',
    );
  });
});

describe('vhostUserNetdev', () => {
  it('argv and QMP', () => {
    const d = vhostUserNetdev({ id: 'nd', chardev: 'chr', queues: 2, sharedMemory: true });
    expect(d.toArgs()).toEqual(['-netdev', 'vhost-user,id=nd,chardev=chr,queues=2']);
    expect(d.toQmp()).toEqual([
      {
        execute: 'netdev_add',
        arguments: { type: 'vhost-user', id: 'nd', chardev: 'chr', queues: 2 },
      },
    ]);
  });

  it('without shared guest memory: a validation error pointing at memory.shared', () => {
    const d = vhostUserNetdev({
      id: 'nd',
      chardev: 'chr',
      queues: 1,
      sharedMemory: false,
      path: 'nics[2]',
    });
    expectValidation(() => d.toArgs(), 'memory.shared', 'VHOST_USER_NEEDS_SHARED_MEMORY');
    expect(() => d.validate()).toThrow(/nics\[2\] is vhost-user/);
  });

  it('checks queues', () => {
    expectValidation(
      () =>
        vhostUserNetdev({
          id: 'nd',
          chardev: 'chr',
          queues: 0,
          sharedMemory: true,
          path: 'nics[0]',
        }).validate(),
      'nics[0].queues',
      'RANGE',
    );
  });
});

describe('vfioPci', () => {
  it('argv and QMP', () => {
    const d = vfioPci({ id: 'nic-p', host: '0000:01:00.0', transport: 'pci', bus: 'rp1' });
    expect(d.toArgs()).toEqual(['-device', 'vfio-pci,id=nic-p,host=0000:01:00.0,bus=rp1']);
    expect(d.toQmp()).toEqual([
      {
        execute: 'device_add',
        arguments: { driver: 'vfio-pci', id: 'nic-p', host: '0000:01:00.0', bus: 'rp1' },
      },
    ]);
  });

  it('needs a PCI address and a PCI machine', () => {
    expectValidation(
      () => vfioPci({ id: 'p', host: '01:00.0', transport: 'pci', path: 'nics[0]' }).validate(),
      'nics[0].pciAddress',
      'PCI_HOST',
    );
    expectValidation(
      () =>
        vfioPci({ id: 'p', host: '0000:01:00.0', transport: 'mmio', path: 'nics[0]' }).validate(),
      'nics[0].pciAddress',
      'TRANSPORT',
    );
  });
});

describe('pcieRootPort', () => {
  it('argv; no hot plug', () => {
    const d = pcieRootPort({ id: 'rp0', chassis: 1, bus: 'pcie.0' });
    expect(d.toArgs()).toEqual(['-device', 'pcie-root-port,id=rp0,chassis=1,bus=pcie.0']);
    expect(() => d.toQmp()).toThrow(UnsupportedError);
  });

  it('chassis is 1..255', () => {
    expectValidation(
      () => pcieRootPort({ id: 'rp0', chassis: 0, bus: 'pcie.0' }).validate(),
      'rootPort.chassis',
      'RANGE',
    );
  });
});

describe('memoryBackend', () => {
  it('memfd share=on; QMP object-add in bytes', () => {
    const d = memoryBackend({ id: 'mem0', kind: 'memfd', sizeMiB: 256, share: true });
    expect(d.toArgs()).toEqual(['-object', 'memory-backend-memfd,id=mem0,size=256M,share=on']);
    expect(d.toQmp()).toEqual([
      {
        execute: 'object-add',
        arguments: { 'qom-type': 'memory-backend-memfd', id: 'mem0', size: 268435456, share: true },
      },
    ]);
  });

  it('file: mem-path before share (a restore maps its RAM image through an fd)', () => {
    const d = memoryBackend({
      id: 'mem0',
      kind: 'file',
      memPath: '/proc/self/fd/7',
      sizeMiB: 256,
      share: true,
    });
    expect(d.toArgs()).toEqual([
      '-object',
      'memory-backend-file,id=mem0,size=256M,mem-path=/proc/self/fd/7,share=on',
    ]);
    expect(d.toQmp()[0]!.arguments).toMatchObject({ 'mem-path': '/proc/self/fd/7' });
  });

  it('a file backend needs memPath, and only a file backend takes one', () => {
    expect(() =>
      memoryBackend({ id: 'm', kind: 'file', sizeMiB: 64, share: true }).validate(),
    ).toThrow(ValidationError);
    expect(() =>
      memoryBackend({ id: 'm', kind: 'memfd', memPath: '/x', sizeMiB: 64, share: true }).validate(),
    ).toThrow(ValidationError);
  });

  it('checks the size', () => {
    expectValidation(
      () => memoryBackend({ id: 'm', kind: 'ram', sizeMiB: 1.5, share: false }).validate(),
      'memory.sizeMiB',
      'RANGE',
    );
  });
});

describe('serialConsole and qmpMonitor', () => {
  it('console on an inherited socket or a file, wired with -serial chardev:ID', () => {
    expect(
      serialConsole('console', { kind: 'socket', fd: { kind: 'inherited', childFd: 4 } }).toArgs(),
    ).toEqual(['-chardev', 'socket,id=console,fd=4', '-serial', 'chardev:console']);
    expect(serialConsole('console', { kind: 'file', file: '/tmp/c,1.log' }).toArgs()).toEqual([
      '-chardev',
      'file,id=console,path=/tmp/c,,1.log',
      '-serial',
      'chardev:console',
    ]);
    expect(() => serialConsole('c', { kind: 'file', file: '/x' }).toQmp()).toThrow(
      UnsupportedError,
    );
  });

  it('QMP monitor on an inherited socketpair end', () => {
    expect(qmpMonitor({ kind: 'inherited', childFd: 3 }).toArgs()).toEqual([
      '-chardev',
      'socket,id=qmp,fd=3',
      '-mon',
      'chardev=qmp,mode=control',
    ]);
  });
});
