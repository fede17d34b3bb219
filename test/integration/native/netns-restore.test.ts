// Every primitive, succeeding or failing, returns the calling thread to the netns it was in:
// the addon enters netns only on the calling thread and must never leave it elsewhere.
import { closeSync, existsSync, openSync, readlinkSync, unlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as native from '../../../native/index.js';
import { MountFlags, NativeError } from '../../../native/index.js';
import { ip, uniqueNetnsName } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';

const threadNetns = (): string => readlinkSync('/proc/thread-self/ns/net');

describe.runIf(prerequisite('native netns restore', rootNetnsMissing()))(
  'the calling thread stays in its own netns',
  () => {
    const netns = uniqueNetnsName('rst');
    const nsPath = `/run/netns/${netns}`;
    const spare = `/run/netns/${netns}-bind`;
    let original: string;

    beforeAll(() => {
      ip('netns', 'add', netns);
      original = threadNetns();
      expect(original).toBe(readlinkSync('/proc/self/ns/net'));
    });

    afterAll(() => {
      ip('netns', 'del', netns);
    });

    // [what, call, the error code it must fail with, or undefined when it must succeed]
    const cases: [string, () => void, string | undefined][] = [
      ['netlinkOpen in a test netns', () => native.closeFd(native.netlinkOpen(nsPath)), undefined],
      ['netlinkOpen of a missing path', () => native.netlinkOpen(`${nsPath}-missing`), 'ENOENT'],
      [
        'netlinkOpen of a file that is no netns',
        () => native.netlinkOpen('/proc/self/stat'),
        'EINVAL',
      ],
      [
        'tapOpen in a test netns',
        () => native.closeAll(native.tapOpen(nsPath, 'vt0').fds),
        undefined,
      ],
      [
        'tapOpen with 4 queues',
        () => native.closeAll(native.tapOpen(nsPath, 'vt4', { queues: 4 }).fds),
        undefined,
      ],
      [
        'tapOpen into a file that is no netns',
        () => native.tapOpen('/proc/self/stat', 'vt0'),
        'EINVAL',
      ],
      // The kernel refuses the name after setns: the failure happens inside the foreign netns.
      [
        'tapOpen with a name the kernel refuses (EINVAL)',
        () => native.tapOpen(nsPath, 'a/b'),
        'EINVAL',
      ],
      ['tapOpen of a missing netns', () => native.tapOpen(`${nsPath}-missing`, 'vt0'), 'ENOENT'],
      ['netnsCreateAnonymous', () => native.closeFd(native.netnsCreateAnonymous()), undefined],
      [
        'netnsCreate onto a file',
        () => {
          closeSync(openSync(spare, 'wx'));
          try {
            native.netnsCreate(spare);
          } finally {
            native.umount(spare, MountFlags.MNT_DETACH);
            unlinkSync(spare);
          }
        },
        undefined,
      ],
      // unshare succeeds, then the bind mount fails: the thread must come back from the new netns.
      ['netnsCreate onto a missing path', () => native.netnsCreate(`${nsPath}-no/such`), 'ENOENT'],
      [
        'macvtapOpen of a missing node',
        () => native.macvtapOpen('/dev/vml-missing', 1, true),
        'ENOENT',
      ],
      [
        'vhostNetOpen',
        () => native.closeAll(native.vhostNetOpen(1)),
        existsSync('/dev/vhost-net') ? undefined : 'ENOENT',
      ],
      ['socketpair', () => native.closeAll(native.socketpair()), undefined],
      ['umount of a missing path', () => native.umount(`${nsPath}-missing`, 0), 'ENOENT'],
    ];

    it.each(cases)('after %s', (_what, call, code) => {
      let thrown: unknown;
      try {
        call();
      } catch (error) {
        thrown = error;
      }
      expect(threadNetns()).toBe(original);
      if (code === undefined) {
        expect(thrown).toBeUndefined();
      } else {
        expect(thrown).toBeInstanceOf(NativeError);
        expect((thrown as NativeError).code).toBe(code);
      }
    });
  },
);
