import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import { parseEndpoint, parseEndpoints } from '../../../../network/endpoints/parse.js';

// Runs parseEndpoint and returns the ValidationError's path and code.
function rejection(input: unknown): { path: string; code: string } {
  try {
    parseEndpoint(input, 'ep');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const { path, code } = error as ValidationError;
    return { path, code };
  }
  throw new Error('expected a ValidationError');
}

describe('parseEndpoint', () => {
  it('lower-cases the MAC of a valid endpoint', () => {
    expect(parseEndpoint({ kind: 'tap', name: 'tap0', mac: '52:54:00:AA:BB:CC' })).toEqual({
      kind: 'tap',
      name: 'tap0',
      mac: '52:54:00:aa:bb:cc',
    });
  });

  it.each([
    [{ kind: 'tap', name: 'a-name-far-too-long' }, 'ep.name', 'VALIDATION'],
    [{ kind: 'tap', name: 'tap0', mac: '01:00:5e:00:00:01' }, 'ep.mac', 'VALIDATION'],
    [{ kind: 'tap', name: 'tap0', mac: '52:54:00' }, 'ep.mac', 'VALIDATION'],
    [{ kind: 'tap', name: 'tap0', mtu: 70000 }, 'ep.mtu', 'VALIDATION'],
    [{ kind: 'tap', name: 'tap0', queues: 0 }, 'ep.queues', 'QUEUES'],
    [{ kind: 'tap', name: 'tap0', queues: 257 }, 'ep.queues', 'QUEUES'],
    [
      { kind: 'vhost-user', socketPath: 'relative.sock', mode: 'client' },
      'ep.socketPath',
      'SOCKET_PATH',
    ],
    [
      { kind: 'vhost-user', socketPath: `/${'x'.repeat(107)}`, mode: 'client' },
      'ep.socketPath',
      'SOCKET_PATH',
    ],
    [{ kind: 'vhost-user', socketPath: '/s.sock', mode: 'both' }, 'ep.mode', 'TYPE'],
    [{ kind: 'physical', pciAddress: '01:00.0' }, 'ep.pciAddress', 'PCI_ADDRESS'],
    [
      { kind: 'veth', name: 'eth0', interworking: 'tcfilter', addresses: ['10.0.0.1/40'] },
      'ep.addresses[0]',
      'VALIDATION',
    ],
    [{ kind: 'macvtap', name: 'm0', fds: [3] }, 'ep.fds', 'UNKNOWN_FIELD'],
    // docs/faults.md T18: the shape of vmlaunch's own link names is reserved for links it
    // names itself.
    [{ kind: 'tap', name: 'vmlt3f2a9c01', create: true }, 'ep.name', 'VALIDATION'],
  ])('rejects %j at %s', (input, path, code) => {
    expect(rejection(input)).toEqual({ path, code });
  });

  it('accepts a tap to create whose name only starts like ours, and an existing tap of our shape', () => {
    expect(parseEndpoint({ kind: 'tap', name: 'vmltap1', create: true })).toMatchObject({
      name: 'vmltap1',
    });
    expect(parseEndpoint({ kind: 'tap', name: 'vmlt3f2a9c01' })).toMatchObject({
      name: 'vmlt3f2a9c01',
    });
  });

  it('accepts a vhost-user path of exactly 107 bytes', () => {
    const socketPath = `/${'x'.repeat(106)}`;
    expect(parseEndpoint({ kind: 'vhost-user', socketPath, mode: 'server' })).toMatchObject({
      socketPath,
    });
  });
});

describe('parseEndpoints', () => {
  it('refuses two endpoints for the same link', () => {
    expect(() =>
      parseEndpoints([
        { kind: 'tap', name: 'tap0' },
        { kind: 'veth', name: 'tap0', interworking: 'none' },
      ]),
    ).toThrow(/endpoints\[1\].*duplicates endpoints\[0\]/);
  });
});
