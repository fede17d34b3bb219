// `vmlaunch gc` reports what a killed vmlaunch left and what it did about it, one line each:
// a borrowed veth put back (from the crash journal), a malformed journal entry kept (exit 1).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { gcCommand } from '../../../../launcher/cli/gc.js';
import { linkName } from '../../../../network/endpoints/names.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';
import { netnsState, withVethPair } from '../../network/endpoints/veth-fixture.js';
import { entries, startChild, withJournal } from '../../network/orphans-fixture.js';

// Runs `vmlaunch gc ARGS`; returns its exit code and what it printed.
async function gc(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: await gcCommand(args), out };
  } finally {
    spy.mockRestore();
  }
}

describe.runIf(prerequisite('vmlaunch gc', rootNetnsMissing()))('vmlaunch gc', () => {
  it('says which veth it put back and how, and keeps (and reports) a malformed entry', () =>
    withJournal((journal) =>
      withVethPair('gccli', async ({ netns }) => {
        const before = netnsState(netns);
        const endpoint = { kind: 'veth', name: 'eth0', interworking: 'macvtap' } as const;
        const child = await startChild({ mode: 'attach', netns, nicId: 'n0', endpoint, journal });
        await child.kill();
        const args = ['--netns', netns, '--journal', journal];
        const owner = `(NIC n0, dead pid ${child.pid})`;

        const dry = await gc([...args, '--dry-run']);
        expect(dry.code).toBe(0);
        expect(dry.out).toMatch(
          new RegExp(
            `^borrowed link eth0 in netns ${netns} \\${owner.slice(0, -1)}\\): to do: ` +
              `delete macvtap ${linkName('n0', 'm')}, set mac [0-9a-f:]{17}, add address 10\\.9\\.0\\.2/24, ` +
              'add address fd00:9::2/64, add route default via 10\\.9\\.0\\.1, ' +
              'add route 10\\.10\\.0\\.0/16 via 10\\.9\\.0\\.1\\n$',
          ),
        );

        const bad = join(journal, '4242-n1-00000000.link.json');
        writeFileSync(bad, '{"version":1', { mode: 0o600 });
        const done = await gc(args);
        expect(done.code).toBe(1);
        const lines = done.out.trimEnd().split('\n');
        expect(lines).toHaveLength(2);
        expect(lines[0]).toMatch(
          new RegExp(`^journal entry ${bad}: NOT done: malformed, kept: .*JSON`),
        );
        expect(lines[1]).toMatch(/: done: delete macvtap .* \(journal entry removed\)$/);
        expect(netnsState(netns)).toEqual(before);
        expect(entries(journal)).toEqual(['4242-n1-00000000.link.json']);
      }),
    ));

  it('says so when nothing was left behind', () =>
    withJournal((journal) =>
      withVethPair('gcnone', async ({ netns }) => {
        expect(await gc(['--netns', netns, '--journal', journal])).toEqual({
          code: 0,
          out: 'vmlaunch gc: nothing left behind\n',
        });
      }),
    ));
});
