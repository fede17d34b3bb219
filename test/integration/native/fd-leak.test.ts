// 1,000 open/close rounds of each native primitive, succeeding or failing, leave /proc/self/fd
// exactly as it was (same numbers, same targets).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as native from '../../../native/index.js';
import { NativeError } from '../../../native/index.js';
import { diffSnapshots, takeSnapshot, type LeakSnapshot } from '../../helpers/leaks.js';
import { ip, uniqueNetnsName } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { addMacvtap, privateNode, type TestMacvtap } from './macvtap-helpers.js';

const ROUNDS = 1000;
// A tap create + destroy costs ~16 ms here and a macvtap queue open/close ~13 ms (RCU waits),
// so 1,000 rounds take 15-30 s.
const SLOW = 120_000;

// Our fds and the test netns's links; other people's netns are not ours to watch.
function snapshot(netns: string): LeakSnapshot {
  return takeSnapshot({ netns: [netns], children: false, netnsFilter: (n) => n === netns });
}

// Runs `round` ROUNDS times between two snapshots and returns what differs.
function leaksOf(netns: string, round: (i: number) => void): string[] {
  const before = snapshot(netns);
  for (let i = 0; i < ROUNDS; i++) round(i);
  return diffSnapshots(before, snapshot(netns));
}

// Calls fn, which must fail with a NativeError of `code`.
function expectNativeError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(NativeError);
    expect((error as NativeError).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe.runIf(prerequisite('native fd leaks', rootNetnsMissing()))(
  'native primitives over 1,000 rounds',
  () => {
    const netns = uniqueNetnsName('fdl');
    const nsPath = `/run/netns/${netns}`;
    let macvtap: TestMacvtap;
    let node: { path: string; remove(): void };

    beforeAll(() => {
      ip('netns', 'add', netns);
      // A unique macvtap name keeps its /sys/dev/char entry unambiguous across parallel tests.
      macvtap = addMacvtap(netns, `mvt${randomBytes(4).toString('hex')}`, 'vlow0');
      node = privateNode(macvtap);
    });

    afterAll(() => {
      node?.remove();
      ip('netns', 'del', netns);
    });

    it('the snapshot does see an fd left open', () => {
      const before = snapshot(netns);
      const pair = native.socketpair();
      try {
        const leaks = diffSnapshots(before, snapshot(netns));
        expect(leaks).toHaveLength(2);
        expect(leaks[0]).toMatch(new RegExp(`^fd ${pair[0]}: \\+ socket:\\[\\d+\\]$`));
      } finally {
        native.closeAll(pair);
      }
    });

    it('netlinkOpen inside a test netns leaks nothing', () => {
      expect(leaksOf(netns, () => native.closeFd(native.netlinkOpen(nsPath)))).toEqual([]);
    });

    it(
      'tapOpen with 1 queue (creating and destroying the tap each round) leaks nothing',
      () => {
        const leaks = leaksOf(netns, () => {
          const tap = native.tapOpen(nsPath, 'vt1', { queues: 1 });
          expect(tap.fds).toHaveLength(1);
          native.closeAll(tap.fds);
        });
        expect(leaks).toEqual([]);
      },
      SLOW,
    );

    it(
      'tapOpen with 4 queues leaks nothing',
      () => {
        const leaks = leaksOf(netns, () => {
          const tap = native.tapOpen(nsPath, 'vt4', { queues: 4, vnetHdr: true });
          expect(new Set(tap.fds).size).toBe(4);
          native.closeAll(tap.fds);
        });
        expect(leaks).toEqual([]);
      },
      SLOW,
    );

    it(
      'netnsCreateAnonymous leaks nothing',
      () => {
        expect(leaksOf(netns, () => native.closeFd(native.netnsCreateAnonymous()))).toEqual([]);
      },
      SLOW,
    );

    it('socketpair leaks nothing', () => {
      expect(leaksOf(netns, () => native.closeAll(native.socketpair()))).toEqual([]);
    });

    it('a sendFds + recvFds round trip leaks nothing once the received fd is closed', () => {
      const leaks = leaksOf(netns, (i) => {
        const [a, b] = native.socketpair();
        try {
          expect(native.sendFds(a, Buffer.from(`r${i}`), [a])).toBe(`r${i}`.length);
          const got = native.recvFds(b, 64, 4);
          expect(got.data.toString()).toBe(`r${i}`);
          expect(got.fds).toHaveLength(1);
          expect(got.fds[0]).not.toBe(a);
          native.closeAll(got.fds);
        } finally {
          native.closeAll([a, b]);
        }
      });
      expect(leaks).toEqual([]);
    });

    it(
      'macvtapOpen (a private node for a macvtap in the test netns) leaks nothing',
      () => {
        const leaks = leaksOf(netns, (i) => {
          const queues = i % 2 === 0 ? 1 : 4;
          const fds = native.macvtapOpen(node.path, queues, true);
          expect(fds).toHaveLength(queues);
          native.closeAll(fds);
        });
        expect(leaks).toEqual([]);
      },
      SLOW,
    );

    it('vhostNetOpen leaks nothing (here: ENOENT every round)', () => {
      const present = existsSync('/dev/vhost-net');
      const leaks = leaksOf(netns, () => {
        if (present) native.closeAll(native.vhostNetOpen(2));
        else expectNativeError(() => native.vhostNetOpen(2), 'ENOENT');
      });
      expect(leaks).toEqual([]);
    });

    it('failing calls leak nothing: missing netns, non-netns file, bad tap names, busy tap', () => {
      const held = native.tapOpen(nsPath, 'vtheld', { queues: 1 });
      try {
        const leaks = leaksOf(netns, () => {
          expectNativeError(() => native.netlinkOpen(`/run/netns/${netns}-missing`), 'ENOENT');
          expectNativeError(() => native.tapOpen('/proc/self/stat', 'vt0'), 'EINVAL');
          expectNativeError(() => native.tapOpen(nsPath, 'a/b'), 'EINVAL');
          expectNativeError(() => native.tapOpen(nsPath, 'x'.repeat(16)), 'EINVAL');
          // A single-queue tap cannot take a multi-queue attach: the first open fails, and the
          // fds of earlier queues (none here) are closed.
          expectNativeError(() => native.tapOpen(nsPath, 'vtheld', { queues: 4 }), 'EINVAL');
          expectNativeError(() => native.macvtapOpen(`${node.path}-missing`, 2, true), 'ENOENT');
        });
        expect(leaks).toEqual([]);
      } finally {
        native.closeAll(held.fds);
      }
    });
  },
);
