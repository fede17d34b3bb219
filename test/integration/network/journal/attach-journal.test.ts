// The attach side of the crash journal, in this process: the models that change a borrowed veth
// write one entry before the first change, detach and rollback remove it once everything is
// back, a detach that could not put everything back keeps it (and GC finishes the job), and a
// netns vmlaunch creates has an entry for as long as it exists.
import { mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as native from '../../../../native/index.js';
import { attachVethWith } from '../../../../network/endpoints/veth.js';
import type { Interworking } from '../../../../network/endpoints/types.js';
import type { TapHostNic } from '../../../../network/host-nic.js';
import { parseEntry } from '../../../../network/journal/entry.js';
import { openNetlink } from '../../../../network/netlink/index.js';
import { createNetns, listNetns, type NetnsNative } from '../../../../network/netns/named.js';
import { collectOrphans } from '../../../../network/orphans.js';
import { StepError } from '../../../../core/index.js';
import { ip, tcJson, uniqueNetnsName } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';
import { faultyClient } from '../endpoints/fault-client.js';
import { netnsState, withVethPair } from '../endpoints/veth-fixture.js';
import { entries, withJournal } from '../orphans-fixture.js';

const veth = (interworking: Interworking) =>
  ({ kind: 'veth', name: 'eth0', interworking }) as const;

describe.runIf(prerequisite('attach journal', rootNetnsMissing()))(
  'the crash journal of attach',
  () => {
    for (const model of ['macvtap', 'bridged', 'tcfilter'] as const) {
      it(`${model}: one entry from before the first change until detach has put the veth back`, () =>
        withJournal((journal) =>
          withVethPair(`aj${model.slice(0, 3)}`, async ({ netns }) => {
            const before = netnsState(netns);
            const a = await attachVethWith(veth(model), { netns, nicId: 'n0', journal }, undefined);
            native.closeAll((a.hostNic as TapHostNic).tapFds);
            const [name] = entries(journal);
            expect(entries(journal)).toHaveLength(1);
            const entry = parseEntry(readFileSync(join(journal, name!), 'utf8'));
            expect(entry).toMatchObject({
              kind: 'borrowed-link',
              nicId: 'n0',
              owner: { pid: process.pid },
            });
            // The snapshot is of the veth before the attach: its addresses are all there.
            if (entry.kind === 'borrowed-link' && model !== 'tcfilter') {
              expect(entry.link.addresses?.map((x) => `${x.address}/${x.prefixLen}`)).toEqual([
                '10.9.0.2/24',
                'fd00:9::2/64',
              ]);
            }
            await a.detach();
            expect(netnsState(netns)).toEqual(before);
            expect(entries(journal)).toEqual([]);
          }),
        ));
    }

    it('none: no entry (the veth is not touched)', () =>
      withJournal((journal) =>
        withVethPair('ajnone', async ({ netns }) => {
          const a = await attachVethWith(veth('none'), { netns, nicId: 'n0', journal }, undefined);
          expect(entries(journal)).toEqual([]);
          native.closeAll((a.hostNic as TapHostNic).tapFds);
          await a.detach();
        }),
      ));

    for (const model of ['macvtap', 'bridged', 'tcfilter'] as const) {
      it(`${model}: a rollback after a failure at any netlink call leaves no entry`, () =>
        withJournal((journal) =>
          withVethPair(`ajrb${model.slice(0, 3)}`, async ({ netns }) => {
            const real = openNetlink(netns);
            try {
              for (let k = 1; ; k++) {
                const fault = { at: k, kind: 'fail' as const };
                const { client } = faultyClient(real, fault);
                const ctx = { netns, nicId: 'n0', journal, netlink: client };
                const result = await attachVethWith(veth(model), ctx, undefined).catch(
                  (e: unknown) => e,
                );
                if (result instanceof StepError) {
                  expect(entries(journal), `after a failure at call ${k}`).toEqual([]);
                  continue;
                }
                fault.at = 0;
                const a = result as Awaited<ReturnType<typeof attachVethWith>>;
                expect(entries(journal)).toHaveLength(1);
                native.closeAll((a.hostNic as TapHostNic).tapFds);
                await a.detach();
                expect(entries(journal)).toEqual([]);
                expect(k).toBeGreaterThan(5);
                break;
              }
            } finally {
              await real.close();
            }
          }),
        ));
    }

    it('a detach that cannot put everything back keeps the entry, and GC finishes the job', () =>
      withJournal((journal) =>
        withVethPair('ajkeep', async ({ netns }) => {
          const before = netnsState(netns);
          const real = openNetlink(netns);
          try {
            const fault = { at: 0, kind: 'fail' as const };
            const { client, calls } = faultyClient(real, fault);
            const ctx = { netns, nicId: 'n0', journal, netlink: client };
            const a = await attachVethWith(veth('macvtap'), ctx, undefined);
            native.closeAll((a.hostNic as TapHostNic).tapFds);
            fault.at = calls.length + 1; // the first call of detach: restoring the addresses
            await expect(a.detach()).rejects.toThrow(/restore veth addresses and routes/);
            expect(entries(journal)).toHaveLength(1);
            expect(netnsState(netns)).not.toEqual(before);
            // As if this process had died: GC puts the rest back.
            const done = await collectOrphans({ netns: [netns], journal, ownerAlive: () => false });
            expect(done).toEqual([
              expect.objectContaining({ kind: 'borrowed-link', removed: true }),
            ]);
            expect(done[0]!.restored).toEqual(
              expect.arrayContaining(['add address 10.9.0.2/24', 'add route default via 10.9.0.1']),
            );
            expect(netnsState(netns)).toEqual(before);
            expect(entries(journal)).toEqual([]);
          } finally {
            await real.close();
          }
        }),
      ));

    it('GC after a crash removes a rate limit set live on the borrowed veth', () =>
      withJournal((journal) =>
        withVethPair('ajrate', async ({ netns }) => {
          const before = netnsState(netns);
          const a = await attachVethWith(
            veth('tcfilter'),
            { netns, nicId: 'n0', journal },
            undefined,
          );
          await a.setRate!({ tx: { rate: 100_000 } });
          expect(
            tcJson<{ kind: string }[]>('-n', netns, 'qdisc', 'show', 'dev', 'eth0', 'root'),
          ).toEqual([expect.objectContaining({ kind: 'tbf', handle: '766d:' })]);
          // As if this process had died with QEMU: the tap's fds close, nobody detaches.
          native.closeAll((a.hostNic as TapHostNic).tapFds);
          const done = await collectOrphans({ netns: [netns], journal, ownerAlive: () => false });
          expect(done[0]!.restored).toEqual(
            expect.arrayContaining(['remove rate limit (root tbf 766d:)']),
          );
          expect(netnsState(netns)).toEqual(before);
          expect(entries(journal)).toEqual([]);
        }),
      ));

    it('a detach after the netns is gone removes the entry (nothing is left to put back)', () =>
      withJournal(async (journal) => {
        const netns = uniqueNetnsName('ajgone');
        ip('netns', 'add', netns);
        try {
          ip('-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
          ip('-n', netns, 'addr', 'add', '10.9.0.2/24', 'dev', 'eth0');
          ip('-n', netns, 'link', 'set', 'eth0', 'up');
          const a = await attachVethWith(
            veth('bridged'),
            { netns, nicId: 'n0', journal },
            undefined,
          );
          native.closeAll((a.hostNic as TapHostNic).tapFds);
          expect(entries(journal)).toHaveLength(1);
          ip('netns', 'del', netns);
          await a.detach();
          expect(entries(journal)).toEqual([]);
        } finally {
          if (listNetns().includes(netns)) ip('netns', 'del', netns);
        }
      }));

    it('a second attach of the same NIC in the same netns is refused before it changes anything', () =>
      withJournal((journal) =>
        withVethPair('ajtwice', async ({ netns }) => {
          const first = await attachVethWith(
            veth('macvtap'),
            { netns, nicId: 'n0', journal },
            undefined,
          );
          native.closeAll((first.hostNic as TapHostNic).tapFds);
          const attached = netnsState(netns);
          const written = entries(journal);
          const second = attachVethWith(
            veth('macvtap'),
            { netns, nicId: 'n0', journal },
            undefined,
          );
          await expect(second).rejects.toMatchObject({
            step: 'journal eth0',
            code: 'JOURNAL_EXISTS',
          });
          expect(netnsState(netns)).toEqual(attached);
          expect(entries(journal)).toEqual(written);
          await first.detach();
          expect(entries(journal)).toEqual([]);
        }),
      ));

    it('a symlinked journal dir is refused before anything changes', () =>
      withJournal((journal) =>
        withVethPair('ajlink', async ({ netns }) => {
          const before = netnsState(netns);
          const real = join(journal, '..', 'elsewhere');
          mkdirSync(real, { mode: 0o700 });
          symlinkSync(real, journal);
          const attach = attachVethWith(
            veth('macvtap'),
            { netns, nicId: 'n0', journal },
            undefined,
          );
          await expect(attach).rejects.toMatchObject({
            step: 'journal eth0',
            code: 'UNSAFE_JOURNAL_DIR',
          });
          expect(netnsState(netns)).toEqual(before);
        }),
      ));

    it('a netns vmlaunch creates has an entry (with its inode) until its handle deletes it', () =>
      withJournal((journal) => {
        const name = uniqueNetnsName('ajns');
        const ns = createNetns(name, undefined, journal);
        try {
          const [file] = entries(journal);
          expect(file).toBe(`${process.pid}-${name}.netns.json`);
          const entry = parseEntry(readFileSync(join(journal, file!), 'utf8'));
          expect(entry).toMatchObject({ kind: 'netns', name });
          expect(entry.kind === 'netns' && entry.ino).toBe(statSync(`/run/netns/${name}`).ino);
        } finally {
          ns.delete();
        }
        expect(entries(journal)).toEqual([]);
      }));

    it('a netns creation that fails leaves neither the netns nor an entry', () =>
      withJournal((journal) => {
        const name = uniqueNetnsName('ajnsf');
        const failing: NetnsNative = {
          netnsCreate: () => {
            throw Object.assign(new Error('injected'), { code: 'EPERM' });
          },
          mount: native.mount,
          umount: native.umount,
        };
        expect(() => createNetns(name, failing, journal)).toThrow(/binding a new netns/);
        expect(entries(journal)).toEqual([]);
      }));
  },
);
