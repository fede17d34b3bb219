import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ownerAlive,
  parseProcStat,
  selfOwner,
  type ProcReader,
} from '../../../../network/journal/owner.js';

const BOOT = 'e96241cd-f277-417a-a9bc-0967cde5989c';

// A /proc/<pid>/stat line with a given comm, state and start time (field 22).
function statLine(pid: number, comm: string, state: string, start: number): string {
  const rest = Array.from({ length: 18 }, (_, i) => String(i + 4)); // fields 4..21
  return `${pid} (${comm}) ${state} ${rest.join(' ')} ${start} 3133440 381\n`;
}

// A /proc with one process in it.
function proc(pid: number, state: string, start: number, boot = BOOT): ProcReader {
  return {
    stat: (p) => (p === pid ? statLine(pid, 'node', state, start) : undefined),
    bootId: () => boot,
  };
}

describe('the owner of a journal entry', () => {
  it('is read from /proc/<pid>/stat even when the command name holds spaces and parentheses', () => {
    expect(parseProcStat(statLine(7, 'a) b (c', 'S', 746412))).toEqual({
      state: 'S',
      start: 746412,
    });
    expect(() => parseProcStat('7 (x) S 1 2')).toThrow(/not a \/proc/);
  });

  it('is this process as /proc itself shows it', () => {
    const me = selfOwner();
    expect(me.pid).toBe(process.pid);
    expect(me.start).toBe(parseProcStat(readFileSync('/proc/self/stat', 'utf8')).start);
    expect(me.boot).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(ownerAlive(me)).toBe(true);
  });

  it('is alive only with the same pid, start time and boot, and not a zombie', () => {
    const owner = { pid: 100, start: 5000, boot: BOOT };
    expect(ownerAlive(owner, proc(100, 'S', 5000))).toBe(true);
    expect(ownerAlive(owner, proc(100, 'R', 5000))).toBe(true);
    expect(ownerAlive(owner, proc(100, 'S', 5001)), 'pid reused').toBe(false);
    expect(ownerAlive(owner, proc(101, 'S', 5000)), 'pid gone').toBe(false);
    expect(ownerAlive(owner, proc(100, 'Z', 5000)), 'zombie').toBe(false);
    expect(ownerAlive(owner, proc(100, 'S', 5000, 'other-boot')), 'rebooted').toBe(false);
  });
});
