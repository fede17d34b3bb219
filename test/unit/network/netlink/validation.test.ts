// Bad input is a ValidationError raised before any request reaches the (here scripted) kernel.
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import { openNetlink } from '../../../../network/netlink/index.js';
import { FakeKernel } from '../../../helpers/netlink-fake-kernel.js';

const kernel = new FakeKernel(() => {
  throw new Error('no request should reach the kernel');
});
const client = openNetlink(undefined, { open: () => 99, io: kernel });

afterEach(() => {
  expect(kernel.requests).toEqual([]);
});

// Runs an operation that must fail validation, synchronously or as a rejection.
async function invalid(run: () => Promise<unknown>): Promise<ValidationError> {
  let error: unknown;
  try {
    await run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe('validation before any syscall', () => {
  it.each(['', 'sixteen-bytes-xx', 'a/b', 'a b', 'tab\t', '.', '..', 'é'])(
    'rejects the interface name %j',
    async (name) => {
      const e = await invalid(() => client.links.addVeth({ name, peer: { name: 'ok' } }));
      expect(e.path).toBe('name');
    },
  );

  it('names the peer field when the peer name is bad', async () => {
    const e = await invalid(() =>
      client.links.addVeth({ name: 'ok', peer: { name: 'x'.repeat(16) } }),
    );
    expect(e.path).toBe('peer.name');
  });

  it.each(['52:54:00:12:34', '01:00:5e:00:00:01', '00:00:00:00:00:00', 'zz:54:00:12:34:56'])(
    'rejects the MAC %s',
    async (mac) => {
      await invalid(() => client.links.setMac('eth0', mac));
      await invalid(() => client.links.addBridge({ name: 'br0', mac }));
    },
  );

  it.each([0, 67, 65536, 1500.5, Number.NaN])('rejects the MTU %s', async (mtu) => {
    await invalid(() => client.links.setMtu('eth0', mtu));
    await invalid(() => client.links.addVeth({ name: 'a', mtu, peer: { name: 'b' } }));
  });

  it('rejects a malformed or missing netns, for the client and for a veth peer', async () => {
    expect(() => openNetlink('../etc', { open: () => 1, io: kernel })).toThrow(ValidationError);
    expect(() => openNetlink('vml-absent-0000ffff', { open: () => 1, io: kernel })).toThrow(
      /no network namespace at \/run\/netns\/vml-absent-0000ffff/,
    );
    const e = await invalid(() =>
      client.links.addVeth({ name: 'a', peer: { name: 'b', netns: 'vml-absent-0000ffff' } }),
    );
    expect(e).toMatchObject({ path: 'peer.netns', code: 'NETNS_NOT_FOUND' });
    await invalid(() => client.links.moveToNetns('a', 'bad name'));
  });

  it('rejects bad macvlan modes, parents, ifindexes and aliases', async () => {
    await invalid(() =>
      client.links.addMacvtap({ name: 'mvt0', parent: 'eth0', mode: 'loud' as 'bridge' }),
    );
    await invalid(() => client.links.addMacvlan({ name: 'mv0', parent: '' }));
    await invalid(() => client.links.get(0));
    await invalid(() => client.links.delete(-3));
    await invalid(() => client.links.setAlias('eth0', 'x'.repeat(256)));
  });

  it('rejects bad addresses and routes', async () => {
    await invalid(() => client.addresses.add('eth0', '10.0.0.1/33'));
    await invalid(() => client.addresses.add('eth0', '10.0.0/24'));
    await invalid(() => client.addresses.delete('eth0', 'fd00::1/129'));
    await invalid(() => client.routes.add({ dst: '10.0.0.0/8' }));
    await invalid(() => client.routes.add({ dst: '10.0.0.0/8', gateway: 'fd00::1' }));
    await invalid(() => client.routes.add({ dst: 'default', gateway: 'nope' }));
    await invalid(() => client.routes.add({ dst: '10.0.0.0/8', dev: 'eth0', mtu: 10 }));
  });

  it('rejects bad tc priorities and devices', async () => {
    await invalid(() => client.tc.addRedirect('eth0', 'eth1', { pref: 70000 }));
    await invalid(() => client.tc.deleteRedirect('eth0', { pref: 0 }));
    await invalid(() => client.tc.addIngress('a/b'));
  });
});
