// Ownership by identity, not by name or pid (issue 14 point 4): GC acts only on links whose label
// names the owner by pid, start time and boot id and whose name has vmlaunch's shape, never on
// journal entries of another boot, and reports (does not delete) a netns entry without an inode;
// detach refuses to undo anything in a netns other than the one it attached in.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closeAll } from '../../../native/index.js';
import { attachEndpoint } from '../../../network/endpoints/attach.js';
import type { TapHostNic } from '../../../network/host-nic.js';
import { selfOwner } from '../../../network/journal/owner.js';
import { writeEntry } from '../../../network/journal/store.js';
import { collectOrphans } from '../../../network/orphans.js';
import { ip, ipJson, withTestNetns } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { withJournal } from './orphans-fixture.js';

// A pid that existed and is gone (reaped).
function deadPid(): number {
  return spawnSync('true').pid;
}

function links(ns: string): string[] {
  return ipJson<{ ifname: string }[]>('-n', ns, 'link')
    .map((l) => l.ifname)
    .sort();
}

// A bridge standing in for one of ours, labelled `alias`.
function labelled(ns: string, name: string, alias: string): void {
  ip('-n', ns, 'link', 'add', name, 'type', 'bridge');
  ip('-n', ns, 'link', 'set', name, 'alias', alias);
}

describe.runIf(prerequisite('ownership by identity', rootNetnsMissing()))(
  'ownership by identity',
  () => {
    it('GC removes only links labelled with a dead owner’s pid, start time and boot id, named as ours', () =>
      withTestNetns('own', async (ns) => {
        const me = selfOwner();
        const dead = deadPid();
        // Labels as they are made now: pid, start time and boot id.
        labelled(ns, 'vmlt00000001', `vmlaunch:n1:${dead}:${me.start}:${me.boot}`); // dead pid
        labelled(ns, 'vmlt00000002', `vmlaunch:n2:${me.pid}:${me.start + 1}:${me.boot}`); // pid reused
        labelled(ns, 'vmlt00000003', `vmlaunch:n3:${me.pid}:${me.start}:${me.boot}`); // us: alive
        labelled(ns, 'vmlt00000004', `vmlaunch:n4:${dead}:${me.start}:another-boot`); // other boot
        labelled(ns, 'vmlt00000005', `vmlaunch:n5:${dead}`); // no start time, no boot id
        labelled(ns, 'mylink0', `vmlaunch:n6:${dead}:${me.start}:${me.boot}`); // not our shape
        const done = await collectOrphans({ netns: [ns], journal: false });
        expect(done.map((o) => [o.ifname, o.removed])).toEqual([
          ['vmlt00000001', true],
          ['vmlt00000002', true],
        ]);
        expect(links(ns)).toEqual([
          'lo',
          'mylink0',
          'vmlt00000003',
          'vmlt00000004',
          'vmlt00000005',
        ]);
      }));

    it('GC does not act on a journal entry written in another boot', () =>
      withJournal((journal) =>
        withTestNetns('ownb', async (ns) => {
          const me = selfOwner();
          const ino = statSync(`/run/netns/${ns}`).ino;
          writeEntry(journal, {
            version: 1,
            kind: 'netns',
            owner: { pid: deadPid(), start: me.start, boot: 'another-boot' },
            at: Date.now(),
            name: ns,
            ino,
          });
          const done = await collectOrphans({ netns: [ns], journal });
          expect(statSync(`/run/netns/${ns}`).ino).toBe(ino);
          const entry = done.find((o) => o.entry !== undefined);
          expect(entry?.detail ?? entry?.error).toMatch(/another boot/);
        }),
      ));

    it('GC reports a netns entry without an inode and leaves the netns', () =>
      withJournal((journal) =>
        withTestNetns('owni', async (ns) => {
          const me = selfOwner();
          writeEntry(journal, {
            version: 1,
            kind: 'netns',
            owner: { pid: deadPid(), start: me.start, boot: me.boot },
            at: Date.now(),
            name: ns,
          });
          const done = await collectOrphans({ netns: [ns], journal });
          const netns = done.find((o) => o.kind === 'netns');
          expect(netns).toMatchObject({ netns: ns, removed: false });
          expect(netns?.error).toMatch(/no inode/);
          expect(statSync(`/run/netns/${ns}`).isFile()).toBe(true);
        }),
      ));

    it('detach refuses when the netns path now leads to another netns, and leaves that one alone', () =>
      withTestNetns('owna', (nsA) =>
        withTestNetns('ownx', async (nsB) => {
          const dir = mkdtempSync(join(tmpdir(), 'vml-nsref-'));
          const ref = join(dir, 'net');
          writeFileSync(ref, '');
          execFileSync('mount', ['--bind', `/run/netns/${nsA}`, ref]);
          let mounted = true;
          try {
            const attached = await attachEndpoint(
              { kind: 'tap', name: 'vmltap0', create: true },
              { netns: ref, nicId: 'n0', journal: false },
            );
            const tap = ipJson<{ ifname: string; ifindex: number; ifalias?: string }[]>(
              '-n',
              nsA,
              'link',
              'show',
              'vmltap0',
            )[0]!;
            // The path now leads to B, where a link has the tap's index, name and label.
            execFileSync('umount', [ref]);
            execFileSync('mount', ['--bind', `/run/netns/${nsB}`, ref]);
            ip('-n', nsB, 'link', 'add', 'vmltap0', 'index', String(tap.ifindex), 'type', 'bridge');
            ip('-n', nsB, 'link', 'set', 'vmltap0', 'alias', tap.ifalias ?? '');
            await expect(attached.detach()).rejects.toMatchObject({ code: 'NETNS_CHANGED' });
            expect(links(nsB)).toContain('vmltap0');
            closeAll((attached.hostNic as TapHostNic).tapFds);
          } finally {
            if (mounted) execFileSync('umount', [ref]);
            mounted = false;
            rmSync(dir, { recursive: true, force: true });
          }
        }),
      ));
  },
);
