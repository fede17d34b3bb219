// Bad input is refused before any syscall (T18/T19 and issue 3's "bad input"): the netlink
// opener and the tap opener are spies that must never be called, and each error names the
// field with a code.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import { attachEndpoint } from '../../../../network/endpoints/attach.js';
import { attachTapWith } from '../../../../network/endpoints/tap.js';
import type { Endpoint, TapEndpoint, VethEndpoint } from '../../../../network/endpoints/types.js';
import { attachVethWith } from '../../../../network/endpoints/veth.js';

// Spies standing in for every side effect: none may run for bad input.
function spies() {
  return {
    openNetlink: vi.fn(() => {
      throw new Error('netlink opened');
    }),
    tapOpen: vi.fn(() => {
      throw new Error('tap opened');
    }),
  };
}

const VETH: VethEndpoint = { kind: 'veth', name: 'eth0', interworking: 'tcfilter' };

const BAD_VETHS: [string, unknown, string, string][] = [
  ['an empty name', { ...VETH, name: '' }, 'endpoint.name', 'VALIDATION'],
  ['a 16-byte name', { ...VETH, name: 'x'.repeat(16) }, 'endpoint.name', 'VALIDATION'],
  ['a name with a slash', { ...VETH, name: 'a/b' }, 'endpoint.name', 'VALIDATION'],
  ['a name with a colon', { ...VETH, name: 'a:b' }, 'endpoint.name', 'VALIDATION'],
  ['a non-ASCII name', { ...VETH, name: 'ethé' }, 'endpoint.name', 'VALIDATION'],
  ['a multicast MAC', { ...VETH, mac: '01:00:5e:00:00:01' }, 'endpoint.mac', 'VALIDATION'],
  ['the zero MAC', { ...VETH, mac: '00:00:00:00:00:00' }, 'endpoint.mac', 'VALIDATION'],
  ['a malformed MAC', { ...VETH, mac: '52:54:00:12:34' }, 'endpoint.mac', 'VALIDATION'],
  ['an MTU of 20', { ...VETH, mtu: 20 }, 'endpoint.mtu', 'VALIDATION'],
  ['an MTU of 70000', { ...VETH, mtu: 70000 }, 'endpoint.mtu', 'VALIDATION'],
  ['0 queues', { ...VETH, queues: 0 }, 'endpoint.queues', 'QUEUES'],
  ['257 queues', { ...VETH, queues: 257 }, 'endpoint.queues', 'QUEUES'],
  [
    'an unknown model',
    { ...VETH, interworking: 'ipvlan' },
    'endpoint.interworking',
    'INTERWORKING',
  ],
  ['an unknown field', { ...VETH, extra: 1 }, 'endpoint.extra', 'UNKNOWN_FIELD'],
];

describe('attach input validation', () => {
  for (const [what, endpoint, path, code] of BAD_VETHS) {
    it(`refuses a veth endpoint with ${what} before any syscall`, async () => {
      const deps = spies();
      const error = await attachVethWith(endpoint as VethEndpoint, { nicId: 'n0' }, deps).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).path).toBe(path);
      expect((error as ValidationError).code).toBe(code);
      expect(deps.openNetlink).not.toHaveBeenCalled();
      expect(deps.tapOpen).not.toHaveBeenCalled();
    });
  }

  for (const nicId of ['', 'a b', 'a:b', 'x'.repeat(65), 'é']) {
    it(`refuses the nicId ${JSON.stringify(nicId)} before any syscall`, async () => {
      const deps = spies();
      const error = await attachVethWith(VETH, { nicId }, deps).catch((e: unknown) => e);
      expect((error as ValidationError).path).toBe('nicId');
      expect((error as ValidationError).code).toBe('NIC_ID');
      expect(deps.openNetlink).not.toHaveBeenCalled();
    });
  }

  it('refuses a tap endpoint with a bad create flag before any syscall', async () => {
    const deps = spies();
    const tap = { kind: 'tap', name: 'tap0', create: 'yes' } as unknown as TapEndpoint;
    const error = await attachTapWith(tap, { nicId: 'n0' }, deps).catch((e: unknown) => e);
    expect((error as ValidationError).path).toBe('endpoint.create');
    expect(deps.openNetlink).not.toHaveBeenCalled();
  });

  it('attachEndpoint rejects (never throws synchronously) an unknown kind, naming it', async () => {
    const bad = { kind: 'wifi', name: 'x' } as unknown as Endpoint;
    const promise = attachEndpoint(bad, { nicId: 'n0' });
    await expect(promise).rejects.toMatchObject({ path: 'endpoint.kind', code: 'KIND' });
  });

  it('attachEndpoint refuses a netns name with a slash before opening anything', async () => {
    await expect(attachEndpoint(VETH, { nicId: 'n0', netns: 'a/b' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});
