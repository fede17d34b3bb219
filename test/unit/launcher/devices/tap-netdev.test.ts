import { describe, expect, it } from 'vitest';
import { tapNetdev } from '../../../../launcher/devices/tap-netdev.js';
import type { FdRef } from '../../../../launcher/devices/types.js';
import { expectValidation } from './helpers.js';

const inh = (childFd: number): FdRef => ({ kind: 'inherited', childFd });
const named = (name: string): FdRef => ({ kind: 'named', name });

describe('tapNetdev', () => {
  it('one queue: fd= and vhostfd=', () => {
    const d = tapNetdev({ id: 'netdev-a', tapFds: [inh(5)], vhostFds: [inh(6)], vhost: true });
    expect(d.toArgs()).toEqual(['-netdev', 'tap,id=netdev-a,fd=5,vhost=on,vhostfd=6']);
    expect(d.queues).toBe(1);
  });

  it('several queues: fds=/vhostfds= and never queues= (QEMU refuses it with fds=)', () => {
    const d = tapNetdev({
      id: 'n',
      tapFds: [inh(3), inh(4)],
      vhostFds: [inh(5), inh(6)],
      vhost: true,
    });
    expect(d.toArgs()).toEqual(['-netdev', 'tap,id=n,fds=3:4,vhost=on,vhostfds=5:6']);
    expect(d.toArgs()[1]).not.toContain('queues=');
  });

  it('vhost off: vhost=off and no vhost fds', () => {
    const d = tapNetdev({ id: 'n', tapFds: [inh(3)], vhostFds: [], vhost: false });
    expect(d.toArgs()).toEqual(['-netdev', 'tap,id=n,fd=3,vhost=off']);
  });

  it('hot plug: netdev_add with getfd names, typed values', () => {
    const d = tapNetdev({
      id: 'n',
      tapFds: [named('n-tap0'), named('n-tap1')],
      vhostFds: [named('n-vhost0'), named('n-vhost1')],
      vhost: true,
    });
    expect(d.toQmp()).toEqual([
      {
        execute: 'netdev_add',
        arguments: {
          type: 'tap',
          id: 'n',
          vhost: true,
          fds: 'n-tap0:n-tap1',
          vhostfds: 'n-vhost0:n-vhost1',
        },
      },
    ]);
    expect(d.toQmpRemove()).toEqual([{ execute: 'netdev_del', arguments: { id: 'n' } }]);
  });

  it('single-queue hot plug uses fd', () => {
    const d = tapNetdev({ id: 'n', tapFds: [named('t')], vhostFds: [], vhost: false });
    expect(d.toQmp()[0]!.arguments).toEqual({ type: 'tap', id: 'n', vhost: false, fd: 't' });
  });

  it('checks one vhost fd per queue', () => {
    const spec = {
      id: 'n',
      tapFds: [inh(3), inh(4)],
      vhostFds: [inh(5)],
      vhost: true,
      path: 'nics[0]',
    };
    expectValidation(() => tapNetdev(spec).validate(), 'nics[0].vhostFds', 'FD_COUNT_MISMATCH');
    expectValidation(
      () => tapNetdev({ ...spec, vhost: false }).validate(),
      'nics[0].vhostFds',
      'FD_COUNT_MISMATCH',
    );
  });

  it('needs at least one tap fd', () => {
    expectValidation(
      () =>
        tapNetdev({ id: 'n', tapFds: [], vhostFds: [], vhost: false, path: 'nics[3]' }).toArgs(),
      'nics[3].tapFds',
      'FD_COUNT',
    );
  });

  it('refuses fdsets, bad names and stdio fds where QEMU wants an fd', () => {
    const base = { id: 'n', vhostFds: [], vhost: false, path: 'nics[0]' };
    expectValidation(
      () => tapNetdev({ ...base, tapFds: [{ kind: 'fdset', fdset: 1 }] }).toQmp(),
      'nics[0].tapFds[0]',
      'FD_REF_KIND',
    );
    expectValidation(
      () => tapNetdev({ ...base, tapFds: [named('1abc')] }).toQmp(),
      'nics[0].tapFds[0]',
      'FD_REF',
    );
    expectValidation(
      () => tapNetdev({ ...base, tapFds: [named('a:b')] }).toQmp(),
      'nics[0].tapFds[0]',
      'FD_REF',
    );
    expectValidation(
      () => tapNetdev({ ...base, tapFds: [inh(2)] }).toArgs(),
      'nics[0].tapFds[0]',
      'FD_REF',
    );
  });

  it('validates its id', () => {
    expectValidation(
      () =>
        tapNetdev({
          id: 'a,b',
          tapFds: [inh(3)],
          vhostFds: [],
          vhost: false,
          path: 'nics[0]',
        }).toArgs(),
      'nics[0].id',
      'QEMU_ID',
    );
  });
});
