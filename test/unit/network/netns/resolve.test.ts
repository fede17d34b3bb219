// The one netns resolver and opener, without root: names map to /run/netns/NAME, absolute paths
// stay as given, anything else is a ValidationError naming the argument; a missing file is a
// NetnsNotFoundError, a file that is no netns an EINVAL, and the fd helper always closes.
import { fstatSync, mkdtempSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import { NetnsError } from '../../../../network/netns/errors.js';
import { NetnsNotFoundError, isNetnsNotFound } from '../../../../network/netns/not-found.js';
import { openNetns, withNetnsFd } from '../../../../network/netns/open.js';
import { NETNS_RUN_DIR, netnsPath, resolveNetns } from '../../../../network/netns/paths.js';

// Whether fd `fd` of this process (still) refers to a network namespace.
function isNetnsFd(fd: number): boolean {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`).startsWith('net:[');
  } catch {
    return false;
  }
}

// What a call threw (a failing expect when it threw nothing).
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('resolveNetns', () => {
  it.each(['ns1', 'vml-a_b.c', '_x', 'x'.repeat(255)])('maps the name %j under /run/netns', (n) => {
    expect(resolveNetns(n)).toBe(`${NETNS_RUN_DIR}/${n}`);
    expect(netnsPath(n)).toBe(resolveNetns(n));
  });

  it.each(['/proc/123/ns/net', '/proc/self/fd/7', '/run/netns/x', '/'])(
    'takes the absolute path %j as given',
    (path) => {
      expect(resolveNetns(path)).toBe(path);
    },
  );

  it.each(['', '.', '..', 'a/b', './x', '../etc', 'a b', '-x', '.x', 'x'.repeat(256), 'é', 'a\n'])(
    'refuses %j with a ValidationError naming the argument',
    (bad) => {
      const error = thrown(() => resolveNetns(bad, 'peer.netns'));
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ path: 'peer.netns', value: bad, code: 'VALIDATION' });
      expect(error).not.toBeInstanceOf(NetnsNotFoundError);
    },
  );

  it('refuses a path with a NUL byte and a value that is not a string', () => {
    expect(thrown(() => resolveNetns('/proc/1/ns/net\0x'))).toMatchObject({
      path: 'netns',
      code: 'VALIDATION',
    });
    expect(thrown(() => resolveNetns(7 as unknown as string))).toBeInstanceOf(ValidationError);
    expect(thrown(() => resolveNetns(undefined as unknown as string))).toBeInstanceOf(
      ValidationError,
    );
  });

  it('refuses an absolute path only as a name (netnsPath is for named netns)', () => {
    expect(thrown(() => netnsPath('/proc/1/ns/net'))).toBeInstanceOf(ValidationError);
  });
});

describe('openNetns and withNetnsFd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vml-resolve-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a missing netns as NetnsNotFoundError, code NETNS_NOT_FOUND, naming the file', () => {
    const missing = join(dir, 'absent');
    const error = thrown(() => openNetns(missing, 'peer.netns'));
    expect(error).toBeInstanceOf(NetnsNotFoundError);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({
      code: 'NETNS_NOT_FOUND',
      path: 'peer.netns',
      value: missing,
      file: missing,
    });
    expect((error as Error).message).toContain(missing);
    expect((error as Error).cause).toMatchObject({ code: 'ENOENT' });
    expect(isNetnsNotFound(error)).toBe(true);
  });

  it('reports a file that is no netns as NetnsError EINVAL, not as not-found', () => {
    const file = join(dir, 'plain');
    writeFileSync(file, '');
    const error = thrown(() => openNetns(file));
    expect(error).toBeInstanceOf(NetnsError);
    expect(error).toMatchObject({ code: 'EINVAL', operation: 'open' });
    expect(isNetnsNotFound(error)).toBe(false);
  });

  it('tells only the not-found code apart', () => {
    expect(isNetnsNotFound(new ValidationError('netns', 'a/b', 'bad'))).toBe(false);
    expect(isNetnsNotFound({ code: 'NETNS_NOT_FOUND' })).toBe(true);
    expect(isNetnsNotFound(undefined)).toBe(false);
    expect(isNetnsNotFound('NETNS_NOT_FOUND')).toBe(false);
  });

  it('opens our own netns by path and closes the fd after fn, also when fn throws', async () => {
    let seen = -1;
    const ino = await withNetnsFd('/proc/self/ns/net', 'netns', (fd) => {
      seen = fd;
      expect(isNetnsFd(fd)).toBe(true);
      return fstatSync(fd).ino;
    });
    expect(ino).toBe(statSync('/proc/self/ns/net').ino);
    expect(isNetnsFd(seen)).toBe(false);

    const failure = new Error('request failed');
    await expect(
      withNetnsFd('/proc/self/ns/net', 'netns', async (fd) => {
        seen = fd;
        await Promise.resolve();
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(seen).toBeGreaterThan(2);
    expect(isNetnsFd(seen)).toBe(false);
  });

  it('does not call fn when the netns cannot be opened', async () => {
    let called = false;
    await expect(
      withNetnsFd(join(dir, 'absent'), 'netns', () => {
        called = true;
      }),
    ).rejects.toMatchObject({ code: 'NETNS_NOT_FOUND' });
    expect(called).toBe(false);
  });
});
