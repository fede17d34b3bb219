import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NetnsEntry } from '../../../../network/journal/entry.js';
import {
  defaultJournalDir,
  readJournal,
  removeEntry,
  writeEntry,
} from '../../../../network/journal/store.js';

const owner = { pid: 4242, start: 1, boot: 'b' };
const entry = (name: string, at = 1): NetnsEntry => ({
  version: 1,
  kind: 'netns',
  owner,
  at,
  name,
});

let parent: string;
let dir: string;
beforeEach(() => {
  parent = mkdtempSync(join(tmpdir(), 'vml-store-'));
  dir = join(parent, 'journal');
});
afterEach(() => rmSync(parent, { recursive: true, force: true }));

// A pid that existed and is gone now.
function deadPid(): number {
  return spawnSync('true').pid;
}

describe('the journal directory', () => {
  it('defaults to .journal in the runtime root, or VMLAUNCH_JOURNAL_DIR', () => {
    expect(defaultJournalDir({ VMLAUNCH_JOURNAL_DIR: '/x/j' })).toBe('/x/j');
    expect(defaultJournalDir({ VMLAUNCH_RUNTIME_DIR: '/r' })).toBe('/r/.journal');
    if (process.getuid?.() === 0) expect(defaultJournalDir({})).toBe('/run/vmlaunch/.journal');
  });

  it('is made private (0700) and holds each entry, written whole, until it is removed', () => {
    const file = writeEntry(dir, entry('vml-a'));
    expect(file).toBe(join(dir, '4242-vml-a.netns.json'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['4242-vml-a.netns.json']); // no temp file left
    expect(readJournal(dir)).toEqual({
      entries: [{ file, entry: entry('vml-a') }],
      problems: [],
      staleTemps: [],
    });
    removeEntry(file);
    removeEntry(file); // a second removal is fine
    expect(readJournal(dir).entries).toEqual([]);
  });

  it('never overwrites an entry unless asked to replace it', () => {
    const file = writeEntry(dir, entry('vml-a', 1));
    expect(() => writeEntry(dir, entry('vml-a', 2))).toThrow(
      expect.objectContaining({ code: 'JOURNAL_EXISTS', path: file }),
    );
    expect(readJournal(dir).entries[0]!.entry.at).toBe(1);
    writeEntry(dir, entry('vml-a', 3), true);
    expect(readJournal(dir).entries[0]!.entry.at).toBe(3);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('is refused when it is a symlink, not private, or under a group/world-writable parent', () => {
    mkdirSync(join(parent, 'real'), { mode: 0o700 });
    symlinkSync(join(parent, 'real'), dir);
    expect(() => writeEntry(dir, entry('vml-a'))).toThrow(/symbolic link/);
    expect(() => readJournal(dir)).toThrow(expect.objectContaining({ code: 'UNSAFE_JOURNAL_DIR' }));
    rmSync(dir);
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o755);
    expect(() => writeEntry(dir, entry('vml-a'))).toThrow(/expected 0700/);
    chmodSync(dir, 0o700);
    chmodSync(parent, 0o777);
    expect(() => writeEntry(dir, entry('vml-a'))).toThrow(/group\/world-writable/);
    chmodSync(parent, 0o700);
    expect(() => writeEntry(dir, entry('vml-a'))).not.toThrow();
  });

  it('reads as empty when it does not exist (and is not created by reading)', () => {
    expect(readJournal(dir)).toEqual({ entries: [], problems: [], staleTemps: [] });
    expect(existsSync(dir)).toBe(false);
  });

  it('reports what is not a usable entry, and finds the temp files of dead writers', () => {
    writeEntry(dir, entry('vml-a'));
    writeFileSync(join(dir, '4242-vml-b.netns.json'), '{"version":1', { mode: 0o600 });
    writeFileSync(join(dir, '999-vml-a.netns.json'), JSON.stringify(entry('vml-a')), {
      mode: 0o600,
    });
    writeFileSync(join(dir, '4242-n0-00000000.link.json'), JSON.stringify(entry('vml-c')), {
      mode: 0o600,
    });
    writeFileSync(join(dir, 'notes.txt'), 'hello', { mode: 0o600 });
    symlinkSync('/etc/hostname', join(dir, '4242-vml-d.netns.json'));
    const dead = deadPid();
    const stale = join(dir, `.4242-vml-e.netns.json.${dead}.abcdef.tmp`);
    const live = join(dir, `.4242-vml-f.netns.json.${process.pid}.abcdef.tmp`);
    writeFileSync(stale, '{');
    writeFileSync(live, '{');
    const read = readJournal(dir);
    expect(read.entries.map((e) => e.file)).toEqual([join(dir, '4242-vml-a.netns.json')]);
    const problems = read.problems.map((p) => [p.file.slice(dir.length + 1), p.error]);
    expect(problems.map(([file]) => file)).toEqual([
      '4242-n0-00000000.link.json',
      '4242-vml-b.netns.json',
      '4242-vml-d.netns.json',
      '999-vml-a.netns.json',
      'notes.txt',
    ]);
    const [kind, json, symlink, pid, name] = problems.map(([, error]) => error);
    expect(kind).toBe('a netns entry in a .link.json file');
    expect(json).toMatch(/JSON/);
    expect(symlink).toMatch(/ELOOP/);
    expect(pid).toBe('owner pid 4242 is not 999');
    expect(name).toBe('not a journal entry name');
    expect(read.staleTemps).toEqual([stale]);
  });
});
