// Links through our rtnetlink client, each test in its own vml- netns, checked with `ip -json`.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import { NetlinkError } from '../../../../network/errors.js';
import type { NetlinkClient } from '../../../../network/netlink/index.js';
import { openNetlink } from '../../../../network/netlink/index.js';
import { ip, ipJson, withTestNetns } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';

interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  operstate: string;
  master?: string;
  link?: string;
  link_index?: number;
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
}

// One link as `ip -d -json` sees it in netns `ns`.
function ipLink(ns: string, name: string): IpLink {
  return ipJson<IpLink[]>('-n', ns, '-d', 'link', 'show', 'dev', name)[0]!;
}

// Names of the links in netns `ns`, per `ip -json link show`.
function linkNames(ns: string): string[] {
  return ipJson<IpLink[]>('-n', ns, 'link', 'show').map((l) => l.ifname);
}

// Runs fn with a client open in a fresh test netns, closing it afterwards.
function withClient(tag: string, fn: (c: NetlinkClient, ns: string) => Promise<void>) {
  return withTestNetns(tag, async (ns) => {
    const client = openNetlink(ns);
    try {
      await fn(client, ns);
    } finally {
      await client.close();
    }
  });
}

describe.runIf(prerequisite('netlink', rootNetnsMissing()))('netlink links', () => {
  it('creates a veth whose peer is born in another netns, and both ends are as asked', async () => {
    await withTestNetns('nl-peer', async (peerNs) => {
      await withClient('nl-veth', async (c, ns) => {
        const created = await c.links.addVeth({
          name: 'vml-a',
          mtu: 1400,
          mac: '52:54:00:aa:00:01',
          peer: { name: 'vml-b', netns: peerNs, mac: '52:54:00:aa:00:02' },
        });
        const a = ipLink(ns, 'vml-a');
        const b = ipLink(peerNs, 'vml-b');
        expect(a).toMatchObject({ mtu: 1400, address: '52:54:00:aa:00:01' });
        expect(a.linkinfo?.info_kind).toBe('veth');
        expect(b).toMatchObject({ mtu: 1400, address: '52:54:00:aa:00:02' });
        expect(b.linkinfo?.info_kind).toBe('veth');
        expect(linkNames(ns)).not.toContain('vml-b');

        const ours = await c.links.get('vml-a');
        expect(ours).toMatchObject({
          index: a.ifindex,
          name: 'vml-a',
          kind: 'veth',
          mtu: 1400,
          mac: '52:54:00:aa:00:01',
          peerIndex: b.ifindex,
          up: false,
        });
        expect(ours.linkNetnsId).toBeGreaterThanOrEqual(0);
        expect(await c.links.get(a.ifindex)).toEqual(ours);
        // The link the kernel echoed back on creation is the one ip sees.
        expect(created).toMatchObject({ index: a.ifindex, name: 'vml-a', kind: 'veth', mtu: 1400 });
      });
    });
  });

  it('lists the same links, indexes, MTUs and MACs as ip -json', async () => {
    await withClient('nl-list', async (c, ns) => {
      await c.links.addVeth({ name: 'vml-x', peer: { name: 'vml-y' } });
      await c.links.addBridge({ name: 'vml-br' });
      const ours = await c.links.list();
      const theirs = ipJson<IpLink[]>('-n', ns, 'link', 'show');
      expect(ours.map((l) => [l.index, l.name, l.mtu, l.mac, l.operstate.toUpperCase()])).toEqual(
        theirs.map((l) => [l.ifindex, l.ifname, l.mtu, l.address, l.operstate]),
      );
    });
  });

  it('sets up/down, MTU, MAC and alias', async () => {
    await withClient('nl-set', async (c, ns) => {
      await c.links.addVeth({ name: 'vml-a', peer: { name: 'vml-b' } });
      await c.links.setUp('vml-a');
      await c.links.setMtu('vml-a', 9000);
      await c.links.setMac('vml-a', '02:00:00:00:00:2a');
      await c.links.setAlias('vml-a', 'uplink for vm 7');
      let l = ipLink(ns, 'vml-a');
      expect(l.flags).toContain('UP');
      expect(l).toMatchObject({
        mtu: 9000,
        address: '02:00:00:00:00:2a',
        ifalias: 'uplink for vm 7',
      });
      expect(await c.links.get('vml-a')).toMatchObject({ up: true, alias: 'uplink for vm 7' });
      await c.links.setDown('vml-a');
      l = ipLink(ns, 'vml-a');
      expect(l.flags).not.toContain('UP');
      expect((await c.links.get('vml-a')).up).toBe(false);
    });
  });

  it('reads and sets the transmit queue length as ip shows it', async () => {
    await withClient('nl-txq', async (c, ns) => {
      await c.links.addVeth({ name: 'vml-q', peer: { name: 'vml-r' } });
      await c.links.setTxqlen('vml-q', 0);
      expect(
        ipJson<{ txqlen?: number }[]>('-n', ns, 'link', 'show', 'dev', 'vml-q')[0]!.txqlen ?? 0,
      ).toBe(0);
      await c.links.setTxqlen('vml-q', 777);
      expect(
        ipJson<{ txqlen?: number }[]>('-n', ns, 'link', 'show', 'dev', 'vml-q')[0]!.txqlen,
      ).toBe(777);
      expect((await c.links.get('vml-q')).txqlen).toBe(777);
    });
  });

  it('creates a bridge with multicast snooping off and enslaves/releases a port', async () => {
    await withClient('nl-br', async (c, ns) => {
      await c.links.addBridge({ name: 'vml-br', mcastSnooping: false });
      await c.links.addBridge({ name: 'vml-br2' });
      await c.links.addVeth({ name: 'vml-a', peer: { name: 'vml-b' } });
      expect(ipLink(ns, 'vml-br').linkinfo?.info_data?.mcast_snooping).toBe(0);
      expect(ipLink(ns, 'vml-br2').linkinfo?.info_data?.mcast_snooping).toBe(1);
      expect(await c.links.get('vml-br')).toMatchObject({ kind: 'bridge', mcastSnooping: false });

      await c.links.setMaster('vml-a', 'vml-br');
      const bridge = await c.links.get('vml-br');
      expect(ipLink(ns, 'vml-a').master).toBe('vml-br');
      expect(await c.links.get('vml-a')).toMatchObject({
        masterIndex: bridge.index,
        slaveKind: 'bridge',
      });
      await c.links.setNoMaster('vml-a');
      expect(ipLink(ns, 'vml-a').master).toBeUndefined();
      expect((await c.links.get('vml-a')).masterIndex).toBeUndefined();
    });
  });

  it.each(['bridge', 'private', 'vepa', 'passthru'] as const)(
    'creates a macvlan and a macvtap in %s mode on a parent',
    async (mode) => {
      await withClient('nl-macv', async (c, ns) => {
        await c.links.addVeth({ name: 'vml-p', peer: { name: 'vml-q' } });
        const parent = await c.links.get('vml-p');
        await c.links.addMacvtap({ name: 'vml-tap', parent: 'vml-p', mode });
        const tap = ipLink(ns, 'vml-tap');
        expect(tap.linkinfo?.info_kind).toBe('macvtap');
        expect(tap.linkinfo?.info_data?.mode).toBe(mode);
        expect(tap.link).toBe('vml-p');
        expect(await c.links.get('vml-tap')).toMatchObject({
          kind: 'macvtap',
          macvlanMode: mode,
          parentIndex: parent.index,
        });
        if (mode === 'passthru') return; // passthru allows one upper device per parent
        await c.links.addMacvlan({ name: 'vml-mv', parent: parent.index, mode, mtu: 1300 });
        const mv = ipLink(ns, 'vml-mv');
        expect(mv.linkinfo?.info_kind).toBe('macvlan');
        expect(mv.linkinfo?.info_data?.mode).toBe(mode);
        expect(mv.mtu).toBe(1300);
      });
    },
  );

  it('moves a link to another netns and deletes links', async () => {
    await withTestNetns('nl-dest', async (dest) => {
      await withClient('nl-move', async (c, ns) => {
        await c.links.addVeth({ name: 'vml-a', peer: { name: 'vml-b' } });
        await c.links.moveToNetns('vml-b', dest);
        expect(linkNames(ns)).not.toContain('vml-b');
        expect(ipLink(dest, 'vml-b').linkinfo?.info_kind).toBe('veth');
        await c.links.delete('vml-a');
        expect(linkNames(ns)).not.toContain('vml-a');
        expect(linkNames(dest)).not.toContain('vml-b');
        expect(await c.links.find('vml-a')).toBeUndefined();
      });
    });
  });

  it('reports kernel refusals with the operation and errno name', async () => {
    await withClient('nl-err', async (c, ns) => {
      await c.links.addVeth({ name: 'vml-a', peer: { name: 'vml-b' } });
      const exists = await c.links
        .addVeth({ name: 'vml-a', peer: { name: 'vml-c' } })
        .catch((e: unknown) => e);
      expect(exists).toBeInstanceOf(NetlinkError);
      expect(exists).toMatchObject({ code: 'EEXIST', errno: 17, operation: 'link add veth vml-a' });
      expect((exists as Error).message).toMatch(/^link add veth vml-a: EEXIST/);
      await expect(c.links.delete('vml-none')).rejects.toThrow(/^link del vml-none: ENODEV/);
      await expect(c.links.get(99999)).rejects.toMatchObject({ errnoName: 'ENODEV' });
      await expect(c.links.addMacvtap({ name: 'vml-t', parent: 'vml-none' })).rejects.toThrow(
        /^link add macvtap vml-t: ENODEV/,
      );
      // Nothing was left half-created by the failures.
      expect(ip('-n', ns, '-o', 'link', 'show').trim().split('\n')).toHaveLength(3);
    });
  });

  it('rejects bad input before touching the netns', async () => {
    await withClient('nl-bad', async (c, ns) => {
      const before = ip('-n', ns, '-o', 'link', 'show');
      await expect(
        c.links.addVeth({ name: 'vml-a', peer: { name: 'x'.repeat(16) } }),
      ).rejects.toThrow(ValidationError);
      await expect(
        c.links.addVeth({ name: 'vml-a', peer: { name: 'vml-b', netns: 'vml-nope-00000000' } }),
      ).rejects.toThrow(ValidationError);
      await expect(
        c.links.addVeth({ name: 'vml-a', mac: '01:00:00:00:00:01', peer: { name: 'vml-b' } }),
      ).rejects.toThrow(ValidationError);
      expect(ip('-n', ns, '-o', 'link', 'show')).toBe(before);
    });
  });
});
