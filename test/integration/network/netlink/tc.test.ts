// tc through our client: the ingress qdisc and u32 + mirred redirect filters, checked with
// `tc -json`, each test in its own vml- netns.
import { describe, expect, it } from 'vitest';
import { openNetlink } from '../../../../network/netlink/index.js';
import { tcJson, withTestNetns } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';

interface TcQdisc {
  kind: string;
  handle: string;
  parent?: string;
}
interface TcFilter {
  pref: number;
  protocol: string;
  kind: string;
  options?: {
    fh?: string;
    match?: { value: string; mask: string };
    actions?: { kind: string; mirred_action: string; direction: string; to_dev: string }[];
  };
}

describe.runIf(prerequisite('netlink', rootNetnsMissing()))('netlink tc', () => {
  it('adds, lists and deletes the ingress qdisc', async () => {
    await withTestNetns('nl-qdisc', async (ns) => {
      await using c = openNetlink(ns);
      await c.links.addVeth({ name: 'vml-a', peer: { name: 'vml-b' } });
      expect(await c.tc.hasIngress('vml-a')).toBe(false);
      await c.tc.addIngress('vml-a');
      const theirs = tcJson<TcQdisc[]>('-n', ns, 'qdisc', 'show', 'dev', 'vml-a');
      expect(theirs.find((q) => q.kind === 'ingress')).toMatchObject({
        handle: 'ffff:',
        parent: 'ffff:fff1',
      });
      const index = (await c.links.get('vml-a')).index;
      expect(await c.tc.listQdiscs('vml-a')).toContainEqual({
        index,
        kind: 'ingress',
        handle: 0xffff0000,
        parent: 0xfffffff1,
      });
      expect(await c.tc.hasIngress('vml-a')).toBe(true);
      await expect(c.tc.addIngress('vml-a')).rejects.toThrow(
        /^qdisc add dev vml-a ingress: EEXIST/,
      );
      await c.tc.deleteIngress('vml-a');
      const after = tcJson<TcQdisc[]>('-n', ns, 'qdisc', 'show', 'dev', 'vml-a');
      expect(after.map((q) => q.kind)).not.toContain('ingress');
      expect(await c.tc.hasIngress('vml-a')).toBe(false);
    });
  });

  it('redirects ingress of one link to egress of another, like tc u32 + mirred', async () => {
    await withTestNetns('nl-mirred', async (ns) => {
      await using c = openNetlink(ns);
      await c.links.addVeth({ name: 'vml-a', peer: { name: 'vml-b' } });
      await c.links.addVeth({ name: 'vml-c', peer: { name: 'vml-d' } });
      await c.tc.addIngress('vml-a');
      await c.tc.addRedirect('vml-a', 'vml-c');
      await c.tc.addRedirect('vml-a', 'vml-d', { pref: 10 });

      const theirs = tcJson<TcFilter[]>('-n', ns, 'filter', 'show', 'dev', 'vml-a', 'ingress');
      const nodes = theirs.filter((f) => f.options?.actions !== undefined);
      expect(nodes).toHaveLength(2);
      for (const f of nodes) {
        expect(f).toMatchObject({ kind: 'u32', protocol: 'all' });
        expect(f.options?.match).toMatchObject({ value: '0', mask: '0' });
        expect(f.options?.actions?.[0]).toMatchObject({
          kind: 'mirred',
          mirred_action: 'redirect',
          direction: 'egress',
        });
      }
      expect(nodes.map((f) => [f.pref, f.options?.actions?.[0]?.to_dev]).sort()).toEqual([
        [10, 'vml-d'],
        [49152, 'vml-c'],
      ]);

      const cIndex = (await c.links.get('vml-c')).index;
      const dIndex = (await c.links.get('vml-d')).index;
      const ours = await c.tc.listRedirects('vml-a');
      expect(
        ours.map((f) => [f.pref, f.targetIndex, f.action, f.matchAll, f.protocol]).sort(),
      ).toEqual([
        [10, dIndex, 'egress-redirect', true, 3],
        [49152, cIndex, 'egress-redirect', true, 3],
      ]);

      const byNode = ours.find((f) => f.pref === 49152)!;
      await c.tc.deleteRedirect('vml-a', { pref: byNode.pref, handle: byNode.handle });
      await c.tc.deleteRedirect('vml-a', { pref: 10 });
      expect((await c.tc.listRedirects('vml-a')).length).toBe(0);
      const left = tcJson<TcFilter[]>('-n', ns, 'filter', 'show', 'dev', 'vml-a', 'ingress');
      expect(left.filter((f) => f.options?.actions !== undefined)).toEqual([]);
      await expect(c.tc.deleteRedirect('vml-a', { pref: 10 })).rejects.toThrow(
        /^filter del dev vml-a ingress pref 10: ENOENT/,
      );
    });
  });

  it('fails a redirect on a link without an ingress qdisc, naming the operation', async () => {
    await withTestNetns('nl-mirred-err', async (ns) => {
      await using c = openNetlink(ns);
      await c.links.addVeth({ name: 'vml-a', peer: { name: 'vml-b' } });
      await expect(c.tc.addRedirect('vml-a', 'vml-b')).rejects.toThrow(
        /^filter add dev vml-a ingress u32 mirred egress redirect dev vml-b: E/,
      );
      await expect(c.tc.addRedirect('vml-a', 'vml-none')).rejects.toThrow(/: ENODEV/);
    });
  });
});
