import { describe, expect, it } from 'vitest';
import { closeAll } from '../../../native/index.js';
import { attachEndpoint } from '../../../network/endpoints/attach.js';
import type { TapHostNic } from '../../../network/host-nic.js';
import { collectOrphans } from '../../../network/orphans.js';
import { ip, ipJson, tcJson, withTestNetns } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { withJournal } from './orphans-fixture.js';

// The netns's links and tc state, as ip/tc show them.
function state(ns: string): unknown {
  const links = ipJson<{ ifname: string; address?: string; mtu: number }[]>('-n', ns, 'link')
    .map((l) => `${l.ifname} ${l.mtu}`)
    .sort();
  const qdiscs = tcJson<{ kind: string; dev: string }[]>('-n', ns, 'qdisc')
    .filter((q) => q.kind === 'ingress')
    .map((q) => q.dev);
  return { links, qdiscs };
}

// A veth eth0 in `ns` whose peer sits in `peerNs` (as CNI leaves it).
function addVeth(ns: string, peerNs: string): void {
  ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0', 'netns', peerNs);
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
}

describe.runIf(prerequisite('orphans', rootNetnsMissing()))(
  'collecting what a dead vmlaunch process left behind',
  () => {
    // Without the journal (journal: false), labels and redirects alone are what GC goes by.
    it('removes a dead attach of a tcfilter veth: the dangling redirect and its ingress qdisc', () =>
      withTestNetns('orph', (ns) =>
        withTestNetns('orphp', async (peerNs) => {
          addVeth(ns, peerNs);
          const before = state(ns);
          const attached = await attachEndpoint(
            { kind: 'veth', name: 'eth0', interworking: 'tcfilter' },
            { netns: ns, nicId: 'n0', journal: false },
          );
          // Our process "dies": QEMU's copies and ours close, nothing is detached.
          closeAll((attached.hostNic as TapHostNic).tapFds);
          await new Promise((r) => setTimeout(r, 100));
          expect(state(ns)).not.toEqual(before);

          const dry = await collectOrphans({ netns: [ns], dryRun: true, journal: false });
          expect(dry.map((o) => o.kind).sort()).toEqual(['ingress-qdisc', 'redirect']);
          expect(dry.every((o) => !o.removed)).toBe(true);

          const done = await collectOrphans({ netns: [ns], journal: false });
          expect(done.every((o) => o.removed)).toBe(true);
          expect(state(ns)).toEqual(before);
          expect(await collectOrphans({ netns: [ns], journal: false })).toEqual([]);
        }),
      ));

    it('removes our links whose owner died, and keeps those of a live owner', () =>
      withJournal((journal) =>
        withTestNetns('orpl', (ns) =>
          withTestNetns('orplp', async (peerNs) => {
            addVeth(ns, peerNs);
            const attached = await attachEndpoint(
              { kind: 'veth', name: 'eth0', interworking: 'macvtap' },
              { netns: ns, nicId: 'n1', journal },
            );
            closeAll((attached.hostNic as TapHostNic).tapFds);
            // Our own pid is alive: nothing of ours is an orphan yet, journal entry included.
            expect(await collectOrphans({ netns: [ns], journal })).toEqual([]);
            const found = await collectOrphans({ netns: [ns], journal, alive: () => false });
            expect(found).toEqual([
              expect.objectContaining({
                kind: 'link',
                nicId: 'n1',
                pid: process.pid,
                removed: true,
              }),
            ]);
            const kinds = ipJson<{ linkinfo?: { info_kind?: string } }[]>(
              '-n',
              ns,
              '-d',
              'link',
            ).map((l) => l.linkinfo?.info_kind);
            expect(kinds).not.toContain('macvtap');
          }),
        ),
      ));
  },
);
