// The addon's errors look like Node's system errors (code, negative errno, syscall, path) and
// wrong arguments are TypeErrors that print the expected usage.
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as native from '../../../native/index.js';
import { VmlaunchError } from '../../../core/index.js';
import { NativeError, loadBinding } from '../../../native/index.js';
import type { NativeBinding } from '../../../native/index.js';
import { ip, uniqueNetnsName } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';

// Calls fn and returns what it threw; fails when it does not throw.
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe.runIf(prerequisite('native errors', rootNetnsMissing()))('native system errors', () => {
  const netns = uniqueNetnsName('err');
  const nsPath = `/run/netns/${netns}`;

  beforeAll(() => ip('netns', 'add', netns));
  afterAll(() => ip('netns', 'del', netns));

  const cases: [
    string,
    () => unknown,
    { code: string; syscall: string; path: string | undefined; operation: string },
  ][] = [
    [
      'netlinkOpen of a missing netns',
      () => native.netlinkOpen(`${nsPath}-missing`),
      { code: 'ENOENT', syscall: 'open', path: `${nsPath}-missing`, operation: 'netlinkOpen' },
    ],
    [
      'tapOpen into a file that is no netns',
      () => native.tapOpen('/proc/self/stat', 'vt0'),
      { code: 'EINVAL', syscall: 'setns', path: '/proc/self/stat', operation: 'tapOpen' },
    ],
    [
      'tapOpen with a 16-byte name',
      () => native.tapOpen(nsPath, 'x'.repeat(16)),
      { code: 'EINVAL', syscall: 'ioctl(TUNSETIFF)', path: 'x'.repeat(16), operation: 'tapOpen' },
    ],
    [
      'macvtapOpen of a missing node',
      () => native.macvtapOpen('/dev/vml-missing', 1, true),
      { code: 'ENOENT', syscall: 'open', path: '/dev/vml-missing', operation: 'macvtapOpen' },
    ],
    [
      'netnsCreate onto a missing path',
      () => native.netnsCreate(`${nsPath}-no/such`),
      { code: 'ENOENT', syscall: 'mount', path: `${nsPath}-no/such`, operation: 'netnsCreate' },
    ],
    [
      'umount of a missing path',
      () => native.umount(`${nsPath}-missing`, 0),
      { code: 'ENOENT', syscall: 'umount2', path: `${nsPath}-missing`, operation: 'umount' },
    ],
    [
      'close of an fd that is not open',
      () => native.closeFd(999_999),
      { code: 'EBADF', syscall: 'close', path: undefined, operation: 'close' },
    ],
    [
      'sendFds on an fd that is not open',
      () => native.sendFds(999_999, Buffer.from('x'), []),
      { code: 'EBADF', syscall: 'sendmsg', path: undefined, operation: 'sendFds' },
    ],
  ];
  if (!existsSync('/dev/vhost-net')) {
    cases.push([
      'vhostNetOpen where vhost-net is absent',
      () => native.vhostNetOpen(2),
      { code: 'ENOENT', syscall: 'open', path: '/dev/vhost-net', operation: 'vhostNetOpen' },
    ]);
  }

  it.each(cases)(
    '%s is a NativeError with code, negative errno, syscall and path',
    (_w, fn, want) => {
      const error = thrownBy(fn);
      expect(error).toBeInstanceOf(NativeError);
      expect(error).toBeInstanceOf(VmlaunchError);
      const e = error as NativeError;
      expect(e).toMatchObject(want);
      expect(e.errno).toBe(-constants.errno[want.code as keyof typeof constants.errno]);
      expect(e.message).toContain(want.operation);
      expect(e.message).toContain(want.code);
      if (want.path !== undefined) expect(e.message).toContain(want.path);
      // The addon's own Node-style error is kept as the cause.
      expect((e.cause as { code?: string }).code).toBe(want.code);
    },
  );

  it('names errno numbers the way Node does', () => {
    expect(native.errnoName(17)).toBe('EEXIST');
    expect(native.errnoName(constants.errno.ENODEV)).toBe('ENODEV');
  });
});

// Wrong argument types never reach a syscall: each is a TypeError naming the usage.
describe('native usage errors', () => {
  const raw = (): NativeBinding => loadBinding();
  const b = (): Record<string, (...args: unknown[]) => unknown> =>
    raw() as unknown as Record<string, (...args: unknown[]) => unknown>;

  const cases: [string, unknown[], string][] = [
    ['netnsCreate', [], 'netnsCreate(path: string)'],
    ['netnsCreate', [42], 'netnsCreate(path: string)'],
    ['netnsCreateAnonymous', [1], 'netnsCreateAnonymous()'],
    ['netlinkOpen', [5], 'netlinkOpen(netns: string | null, options?:'],
    ['netlinkOpen', [null, 7], 'netlinkOpen(netns: string | null, options?:'],
    ['netlinkOpen', [null, { groups: -1 }], 'netlinkOpen(netns: string | null, options?:'],
    ['sendDetached', [3, 'x'], 'sendDetached(socket: number, data: Buffer)'],
    ['closeDetached', [[1.5]], 'closeDetached(fds: number[])'],
    ['mount', [null, 5, null, 0], 'mount(source: string | null, target: string'],
    ['mount', [null, '/x', null, -1], 'mount(source: string | null, target: string'],
    ['umount', [5, 0], 'umount(target: string, flags: number)'],
    ['umount', ['/x', 'now'], 'umount(target: string, flags: number)'],
    ['tapOpen', [null, 5], 'tapOpen(netns: string | null, name: string'],
    ['tapOpen', [7, 'vt0'], 'tapOpen(netns: string | null, name: string'],
    ['tapOpen', [null, 'vt0', { queues: 0 }], 'tapOpen('],
    ['tapOpen', [null, 'vt0', { queues: 257 }], 'tapOpen('],
    ['tapOpen', [null, 'vt0', { queues: '2' }], 'tapOpen('],
    ['tapOpen', [null, 'vt0', { vnetHdr: 1 }], 'tapOpen('],
    ['tapOpen', [null, 'vt0', 'mq'], 'tapOpen('],
    ['macvtapOpen', [5, 1, true], 'macvtapOpen(devicePath: string, queues: number'],
    ['macvtapOpen', ['/dev/tap1', 0, true], 'macvtapOpen('],
    ['macvtapOpen', ['/dev/tap1', 1, 'yes'], 'macvtapOpen('],
    ['vhostNetOpen', [0], 'vhostNetOpen(count: number)'],
    ['vhostNetOpen', ['1'], 'vhostNetOpen(count: number)'],
    ['sendFds', [-1, Buffer.from('x'), []], 'sendFds(socket: number, data: Buffer'],
    ['sendFds', [0, 'x', []], 'sendFds('],
    ['sendFds', [0, Buffer.alloc(0), []], 'sendFds('],
    ['sendFds', [0, Buffer.from('x'), ['3']], 'sendFds('],
    ['recvFds', [0, 0, 0], 'recvFds(socket: number, maxBytes: number, maxFds: number)'],
    ['recvFds', [0, 16], 'recvFds('],
    ['socketpair', [1], 'socketpair()'],
    ['close', ['3'], 'close(fd: number)'],
    ['close', [1.5], 'close(fd: number)'],
    ['errnoName', ['EEXIST'], 'errnoName(errno: number)'],
  ];

  it.each(cases)('%s(%j) is a TypeError showing the usage', (name, args, usage) => {
    const fn = b()[name];
    expect(fn).toBeTypeOf('function');
    const error = thrownBy(() => fn!(...args));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain(`usage: ${usage}`);
  });

  it('lets a TypeError through the wrapper unchanged (not a NativeError)', () => {
    const error = thrownBy(() => native.tapOpen(null, 'vt0', { queues: 0 }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error).not.toBeInstanceOf(NativeError);
  });
});
