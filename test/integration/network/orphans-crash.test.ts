// T23 with the crash journal: a vmlaunch process (a child this test starts) attaches a CNI veth
// and is SIGKILLed, while attached or at an exact step of the attach; `collectOrphans` then puts
// the netns back exactly as it was before the attach (every link attribute, address, route,
// qdisc and filter, by `ip -json` / `tc -json`). Entries of live owners are left alone, a
// reused pid does not pass for the owner, a malformed entry is reported and kept, and a netns
// a killed vmlaunch created is deleted once nothing live uses it.
// Fault ids (T1...T35) are defined in docs/faults.md.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linkName, ownerAlias } from '../../../network/endpoints/names.js';
import type { Interworking } from '../../../network/endpoints/types.js';
import { parseEntry } from '../../../network/journal/entry.js';
import { parseProcStat } from '../../../network/journal/owner.js';
import { ensureJournalDir, removeEntry, writeEntry } from '../../../network/journal/store.js';
import { listNetns } from '../../../network/netns/named.js';
import { collectOrphans } from '../../../network/orphans.js';
import { ip, uniqueNetnsName } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import type { ChildSpec, Pause } from './orphans-child.js';
import { withVethPair } from './endpoints/veth-fixture.js';
import { entries, fullState, startChild, withJournal } from './orphans-fixture.js';

const NIC = 'n0';
const MACVTAP = linkName(NIC, 'm');
const BRIDGE = linkName(NIC, 'b');

// veth-fixture's CNI veth (10.9.0.2/24, fd00:9::2/64 nodad, default route, a route with an
// MTU) plus a secondary address with a broadcast and a route with a metric.
function withCniVeth(tag: string, fn: (netns: string, journal: string) => Promise<void>) {
  return withJournal((journal) =>
    withVethPair(tag, async ({ netns }) => {
      ip('-n', netns, 'addr', 'add', '10.9.0.3/24', 'brd', '+', 'dev', 'eth0');
      ip('-n', netns, 'route', 'add', '10.11.0.0/16', 'via', '10.9.0.1', 'metric', '50');
      await fn(netns, journal);
    }),
  );
}

function attachSpec(netns: string, journal: string, model: Interworking, pause?: Pause): ChildSpec {
  const endpoint = { kind: 'veth', name: 'eth0', interworking: model } as const;
  return { mode: 'attach', netns, nicId: NIC, endpoint, journal, ...(pause ? { pause } : {}) };
}

/** What GC puts back for a dead attach of each model (MACs are random). */
const RESTORED_WHEN_ATTACHED: Record<'macvtap' | 'bridged' | 'tcfilter', unknown[]> = {
  macvtap: [
    `delete macvtap ${MACVTAP}`,
    expect.stringMatching(/^set mac /),
    'add address 10.9.0.2/24',
    'add address 10.9.0.3/24',
    'add address fd00:9::2/64',
    'add route default via 10.9.0.1',
    'add route 10.10.0.0/16 via 10.9.0.1',
    'add route 10.11.0.0/16 via 10.9.0.1',
  ],
  bridged: [
    `delete bridge ${BRIDGE}`,
    expect.stringMatching(/^set mac /),
    'add address 10.9.0.2/24',
    'add address 10.9.0.3/24',
    'add address fd00:9::2/64',
    'add route default via 10.9.0.1',
    'add route 10.10.0.0/16 via 10.9.0.1',
    'add route 10.11.0.0/16 via 10.9.0.1',
  ],
  // The tap vanished with the process; its redirect on the veth went with our qdisc.
  tcfilter: ['remove ingress qdisc'],
};

describe.runIf(prerequisite('orphans after a crash', rootNetnsMissing()))(
  'a vmlaunch process killed during or after an attach',
  () => {
    for (const model of ['macvtap', 'bridged', 'tcfilter'] as const) {
      it(`${model}: killed while attached, GC puts the netns back exactly and drops the entry`, () =>
        withCniVeth(`orc${model.slice(0, 3)}`, async (netns, journal) => {
          const before = fullState(netns);
          const child = await startChild(attachSpec(netns, journal, model));
          const written = entries(journal);
          expect(written).toEqual([
            expect.stringMatching(`^${child.pid}-${NIC}-[0-9a-f]{8}\\.link\\.json$`),
          ]);
          await child.kill();
          const broken = fullState(netns, true);
          expect(fullState(netns)).not.toEqual(before);

          const dry = await collectOrphans({ netns: [netns], journal, dryRun: true });
          // One line: the links and tc of the dead attach are the journal entry's to list.
          expect(dry).toEqual([
            expect.objectContaining({
              kind: 'borrowed-link',
              ifname: 'eth0',
              pid: child.pid,
              restored: RESTORED_WHEN_ATTACHED[model],
              removed: false,
            }),
          ]);
          expect(fullState(netns, true)).toEqual(broken);
          expect(entries(journal)).toEqual(written);

          const done = await collectOrphans({ netns: [netns], journal });
          expect(done).toEqual([
            {
              netns,
              kind: 'borrowed-link',
              ifname: 'eth0',
              nicId: NIC,
              pid: child.pid,
              entry: join(journal, written[0]!),
              restored: RESTORED_WHEN_ATTACHED[model],
              removed: true,
            },
          ]);
          expect(fullState(netns)).toEqual(before);
          expect(entries(journal)).toEqual([]);
          expect(await collectOrphans({ netns: [netns], journal })).toEqual([]);
        }));
    }

    const MAC: unknown = expect.stringMatching(/^set mac /);
    const ALL_IP = [
      'add address 10.9.0.2/24',
      'add address 10.9.0.3/24',
      'add address fd00:9::2/64',
      'add route default via 10.9.0.1',
      'add route 10.10.0.0/16 via 10.9.0.1',
      'add route 10.11.0.0/16 via 10.9.0.1',
    ];
    const cuts: { model: Interworking; pause: Pause; labelsSeeIt: boolean; changes: unknown[] }[] =
      [
        {
          model: 'macvtap',
          pause: { api: 'links', method: 'setMac', when: 'after' },
          labelsSeeIt: false,
          changes: [MAC],
        },
        {
          model: 'macvtap',
          pause: { api: 'links', method: 'setAlias', when: 'before' },
          labelsSeeIt: false,
          changes: [`delete macvtap ${MACVTAP}`, MAC],
        },
        {
          model: 'macvtap',
          pause: { api: 'addresses', method: 'delete', when: 'after' },
          labelsSeeIt: true,
          // Addresses go last first: only the IPv6 one was gone.
          changes: [`delete macvtap ${MACVTAP}`, MAC, 'add address fd00:9::2/64'],
        },
        {
          model: 'bridged',
          pause: { api: 'links', method: 'setMaster', when: 'after' },
          labelsSeeIt: true,
          changes: [`delete bridge ${BRIDGE}`, MAC, ...ALL_IP],
        },
        {
          model: 'tcfilter',
          pause: { api: 'tc', method: 'addIngress', when: 'after' },
          labelsSeeIt: false,
          changes: ['remove ingress qdisc'],
        },
      ];
    for (const { model, pause, labelsSeeIt, changes } of cuts) {
      const at = `${pause.when} the first ${pause.api}.${pause.method}`;
      it(`${model}: killed ${at}, GC puts the netns back exactly`, () =>
        withCniVeth(`orm${model.slice(0, 3)}`, async (netns, journal) => {
          const before = fullState(netns);
          const child = await startChild(attachSpec(netns, journal, model, pause));
          await child.kill();
          expect(fullState(netns)).not.toEqual(before);
          // What labels and redirects alone can tell (the GC before the journal).
          const byLabels = await collectOrphans({ netns: [netns], journal: false, dryRun: true });
          expect(byLabels.length > 0).toBe(labelsSeeIt);

          const done = await collectOrphans({ netns: [netns], journal });
          expect(done).toEqual([
            expect.objectContaining({ kind: 'borrowed-link', pid: child.pid, removed: true }),
          ]);
          expect(done[0]!.error).toBeUndefined();
          expect(done[0]!.restored).toEqual(changes);
          expect(fullState(netns)).toEqual(before);
          expect(entries(journal)).toEqual([]);
        }));
    }

    it("leaves a live owner's entry and changes alone, and acts once the owner is killed", () =>
      withCniVeth('orlive', async (netns, journal) => {
        const before = fullState(netns);
        const child = await startChild(attachSpec(netns, journal, 'macvtap'));
        try {
          const attached = fullState(netns, true);
          const written = entries(journal);
          expect(await collectOrphans({ netns: [netns], journal })).toEqual([]);
          expect(fullState(netns, true)).toEqual(attached);
          expect(entries(journal)).toEqual(written);
        } finally {
          await child.kill();
        }
        const done = await collectOrphans({ netns: [netns], journal });
        expect(done).toEqual([expect.objectContaining({ kind: 'borrowed-link', removed: true })]);
        expect(fullState(netns)).toEqual(before);
      }));

    it('does not take a reused pid for the owner: the start time decides', () =>
      withCniVeth('orpid', async (netns, journal) => {
        const before = fullState(netns);
        // Killed right after the MAC change: only the journal knows (no labelled link yet).
        const pause: Pause = { api: 'links', method: 'setMac', when: 'after' };
        const child = await startChild(attachSpec(netns, journal, 'macvtap', pause));
        await child.kill();
        const broken = fullState(netns, true);
        const [name] = entries(journal);
        const entry = parseEntry(readFileSync(join(journal, name!), 'utf8'));
        // A live process now has a pid the entry names.
        const other = spawn('sleep', ['60'], { stdio: 'ignore' });
        try {
          const pid = other.pid!;
          const start = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).start;
          const owned = (s: number): void => {
            for (const f of entries(journal)) removeEntry(join(journal, f));
            writeEntry(journal, { ...entry, owner: { ...entry.owner, pid, start: s } });
          };
          owned(start); // written by that very process: alive, left alone
          expect(await collectOrphans({ netns: [netns], journal })).toEqual([]);
          expect(fullState(netns, true)).toEqual(broken);
          owned(start + 1); // the same pid, started at another time: the writer is dead
          const done = await collectOrphans({ netns: [netns], journal });
          expect(done).toEqual([
            expect.objectContaining({ kind: 'borrowed-link', pid, removed: true }),
          ]);
          expect(fullState(netns)).toEqual(before);
        } finally {
          other.kill('SIGKILL');
        }
      }));

    it('reports a malformed entry and keeps it, and still does the rest', () =>
      withCniVeth('orbad', async (netns, journal) => {
        const before = fullState(netns);
        const child = await startChild(attachSpec(netns, journal, 'bridged'));
        await child.kill();
        ensureJournalDir(journal);
        const cut = join(journal, '4242-n1-00000000.link.json');
        writeFileSync(cut, '{"version":1,"kind":"borrowed-li', { mode: 0o600 });
        const bad = join(journal, '4243-n2-00000000.link.json');
        const [good] = entries(journal).filter((f) => f.startsWith(`${child.pid}-`));
        const text = readFileSync(join(journal, good!), 'utf8').replace(
          /"mac":"[^"]+"/,
          '"mac":"zz"',
        );
        writeFileSync(bad, text.replace(`"pid":${child.pid}`, '"pid":4243'), { mode: 0o600 });

        const done = await collectOrphans({ netns: [netns], journal });
        const byEntry = new Map(done.map((o) => [o.entry, o]));
        expect(byEntry.get(cut)).toMatchObject({ kind: 'journal-entry', removed: false });
        expect(byEntry.get(cut)?.error).toMatch(/^malformed, kept: .*JSON/);
        expect(byEntry.get(bad)).toMatchObject({ kind: 'journal-entry', removed: false });
        expect(byEntry.get(bad)?.error).toContain('entry.link.mac');
        expect(done).toContainEqual(
          expect.objectContaining({ kind: 'borrowed-link', pid: child.pid, removed: true }),
        );
        expect(done).toHaveLength(3);
        expect(fullState(netns)).toEqual(before);
        expect(entries(journal)).toEqual([
          '4242-n1-00000000.link.json',
          '4243-n2-00000000.link.json',
        ]);
      }));

    it('deletes a netns a killed vmlaunch created, once nothing of a live owner is in it', () =>
      withJournal(async (journal) => {
        const name = uniqueNetnsName('orns');
        try {
          const child = await startChild({ mode: 'netns', name, journal });
          await child.kill();
          expect(listNetns()).toContain(name);
          expect(entries(journal)).toEqual([`${child.pid}-${name}.netns.json`]);
          // A live vmlaunch (this process, by its label) has a link in it.
          ip('-n', name, 'link', 'add', 'vmlbusy', 'type', 'bridge');
          ip('-n', name, 'link', 'set', 'vmlbusy', 'alias', ownerAlias('n9'));
          const kept = await collectOrphans({ netns: [name], journal });
          expect(kept).toEqual([
            expect.objectContaining({ kind: 'netns', netns: name, pid: child.pid, removed: false }),
          ]);
          expect(kept[0]!.error).toMatch(
            /^still in use, kept: vmlbusy belongs to vmlaunch pid \d+/,
          );
          expect(listNetns()).toContain(name);

          ip('-n', name, 'link', 'del', 'vmlbusy');
          const done = await collectOrphans({ netns: [name], journal });
          expect(done).toEqual([
            {
              netns: name,
              kind: 'netns',
              ifname: '',
              pid: child.pid,
              entry: join(journal, `${child.pid}-${name}.netns.json`),
              removed: true,
            },
          ]);
          expect(listNetns()).not.toContain(name);
          expect(entries(journal)).toEqual([]);
        } finally {
          if (listNetns().includes(name)) ip('netns', 'del', name);
        }
      }));
  },
);
