// Addresses and routes through our client, each test in its own vml- netns, checked with
// `ip -json addr` / `ip -json route`.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import { NetlinkError } from '../../../../network/errors.js';
import type { NetlinkClient } from '../../../../network/netlink/index.js';
import { openNetlink } from '../../../../network/netlink/index.js';
import { ipJson, withTestNetns } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';

interface IpAddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope: string;
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  metrics?: { mtu?: number }[];
  protocol?: string;
}

// The addresses `ip` shows on one link, as 'address/len' with scope.
function ipAddrs(ns: string, dev: string): string[] {
  const [link] = ipJson<{ addr_info: IpAddrInfo[] }[]>('-n', ns, 'addr', 'show', 'dev', dev);
  return link!.addr_info.map((a) => `${a.local}/${a.prefixlen} ${a.scope}`).sort();
}

// A veth pair, up, in a fresh netns, with a client on it.
function withLink(tag: string, fn: (c: NetlinkClient, ns: string) => Promise<void>) {
  return withTestNetns(tag, async (ns) => {
    const c = openNetlink(ns);
    try {
      await c.links.addVeth({ name: 'vml-a', peer: { name: 'vml-b' } });
      await c.links.setUp('vml-a');
      await c.links.setUp('vml-b');
      await fn(c, ns);
    } finally {
      await c.close();
    }
  });
}

describe.runIf(prerequisite('netlink', rootNetnsMissing()))('netlink addresses and routes', () => {
  it('adds, lists and deletes IPv4 and IPv6 addresses', async () => {
    await withLink('nl-addr', async (c, ns) => {
      await c.addresses.add('vml-a', '10.20.0.1/24');
      await c.addresses.add('vml-a', 'fd00:20::1/64', { noDad: true });
      await c.addresses.add('vml-a', '10.21.0.1');
      const theirs = ipAddrs(ns, 'vml-a').filter((a) => !a.startsWith('fe80'));
      expect(theirs).toEqual([
        '10.20.0.1/24 global',
        '10.21.0.1/32 global',
        'fd00:20::1/64 global',
      ]);
      const ours = (await c.addresses.list('vml-a'))
        .map((a) => `${a.address}/${a.prefixLen} ${a.scope}`)
        .sort();
      expect(ours).toEqual(ipAddrs(ns, 'vml-a'));
      const index = (await c.links.get('vml-a')).index;
      expect((await c.addresses.list()).filter((a) => a.index === index).length).toBe(ours.length);

      await c.addresses.delete('vml-a', '10.20.0.1/24');
      await c.addresses.delete('vml-a', 'fd00:20::1/64');
      expect(ipAddrs(ns, 'vml-a').filter((a) => !a.startsWith('fe80'))).toEqual([
        '10.21.0.1/32 global',
      ]);
    });
  });

  it('sets an IPv4 broadcast address as ip shows it', async () => {
    await withLink('nl-bcast', async (c, ns) => {
      await c.addresses.add('vml-a', '10.22.0.1/24', { broadcast: '10.22.0.255' });
      const [link] = ipJson<{ addr_info: (IpAddrInfo & { broadcast?: string })[] }[]>(
        '-n',
        ns,
        'addr',
        'show',
        'dev',
        'vml-a',
      );
      expect(link!.addr_info.find((a) => a.local === '10.22.0.1')?.broadcast).toBe('10.22.0.255');
      expect(
        (await c.addresses.list('vml-a')).find((a) => a.address === '10.22.0.1')?.broadcast,
      ).toBe('10.22.0.255');
      await expect(
        c.addresses.add('vml-a', 'fd00::1/64', { broadcast: '10.0.0.255' }),
      ).rejects.toThrow(ValidationError);
    });
  });

  it('reports address errors with the operation', async () => {
    await withLink('nl-addr-err', async (c) => {
      await c.addresses.add('vml-a', '10.20.0.1/24');
      const e = await c.addresses.add('vml-a', '10.20.0.1/24').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NetlinkError);
      expect((e as Error).message).toMatch(/^addr add 10\.20\.0\.1\/24 dev vml-a: EEXIST/);
      await expect(c.addresses.add('vml-none', '10.0.0.1/8')).rejects.toThrow(
        /^addr add 10\.0\.0\.1\/8 dev vml-none: ENODEV/,
      );
      await expect(c.addresses.delete('vml-a', '10.99.0.1/24')).rejects.toMatchObject({
        errnoName: 'EADDRNOTAVAIL',
      });
    });
  });

  it('adds routes (gateway, device, default, MTU metric), lists them like ip, deletes them', async () => {
    await withLink('nl-route', async (c, ns) => {
      await c.addresses.add('vml-a', '10.30.0.2/24');
      await c.addresses.add('vml-a', 'fd00:30::2/64', { noDad: true });
      await c.routes.add({ dst: '10.31.0.0/16', gateway: '10.30.0.1', mtu: 1300 });
      await c.routes.add({ dst: '10.32.0.0/16', dev: 'vml-a', metric: 50 });
      await c.routes.add({ dst: 'default', gateway: '10.30.0.1', dev: 'vml-a' });
      await c.routes.add({ dst: 'fd00:31::/48', gateway: 'fd00:30::1', mtu: 1280 });

      const v4 = ipJson<IpRoute[]>('-n', ns, 'route', 'show');
      const byDst = new Map(v4.map((r) => [r.dst, r]));
      expect(byDst.get('10.31.0.0/16')).toMatchObject({ gateway: '10.30.0.1', dev: 'vml-a' });
      expect(byDst.get('10.31.0.0/16')!.metrics?.[0]?.mtu).toBe(1300);
      expect(byDst.get('10.32.0.0/16')).toMatchObject({ dev: 'vml-a' });
      expect(byDst.get('default')).toMatchObject({ gateway: '10.30.0.1' });
      const v6 = ipJson<IpRoute[]>('-n', ns, '-6', 'route', 'show');
      expect(v6.find((r) => r.dst === 'fd00:31::/48')?.metrics?.[0]?.mtu).toBe(1280);

      const ours = await c.routes.list(4);
      expect(ours.map((r) => r.dst).sort()).toEqual(v4.map((r) => r.dst).sort());
      const index = (await c.links.get('vml-a')).index;
      expect(ours.find((r) => r.dst === '10.31.0.0/16')).toMatchObject({
        gateway: '10.30.0.1',
        oifIndex: index,
        mtu: 1300,
      });
      expect(ours.find((r) => r.dst === '10.32.0.0/16')).toMatchObject({
        metric: 50,
        scope: 'link',
      });
      const all = await c.routes.list();
      expect(all.find((r) => r.dst === 'fd00:31::/48')).toMatchObject({ family: 6, mtu: 1280 });
      expect(
        all
          .filter((r) => r.family === 6)
          .map((r) => r.dst)
          .sort(),
      ).toEqual(v6.map((r) => r.dst).sort());

      await c.routes.delete({ dst: '10.31.0.0/16' });
      await c.routes.delete({ dst: 'default', gateway: '10.30.0.1' });
      await c.routes.delete({ dst: 'fd00:31::/48' });
      const after = ipJson<IpRoute[]>('-n', ns, 'route', 'show').map((r) => r.dst);
      expect(after).not.toContain('10.31.0.0/16');
      expect(after).not.toContain('default');
      expect(after).toContain('10.32.0.0/16');
      await expect(c.routes.delete({ dst: '10.31.0.0/16' })).rejects.toThrow(
        /^route del 10\.31\.0\.0\/16: ESRCH/,
      );
      await expect(c.routes.add({ dst: '10.32.0.0/16', dev: 'vml-a', metric: 50 })).rejects.toThrow(
        /^route add 10\.32\.0\.0\/16 dev vml-a: EEXIST/,
      );
    });
  });
});
