import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findCachedGuest } from '../../../launcher/guest-cache.js';

let work: string;
afterEach(() => rmSync(work, { recursive: true, force: true }));

// A script dir (build.sh + init) and a cache root; returns the script path and its hash.
function setup(): { script: string; hash: string; env: NodeJS.ProcessEnv; root: string } {
  work = mkdtempSync(join(tmpdir(), 'vml-guest-cache-'));
  mkdirSync(join(work, 'guest'));
  const script = join(work, 'guest', 'build.sh');
  writeFileSync(script, '#!/bin/bash\necho build\n');
  writeFileSync(join(work, 'guest', 'init'), '#!/bin/sh\necho init\n');
  const hash = createHash('sha256')
    .update('#!/bin/bash\necho build\n#!/bin/sh\necho init\n')
    .digest('hex');
  const root = join(work, 'cache', 'guest');
  mkdirSync(root, { recursive: true });
  return { script, hash, env: { VMLAUNCH_CACHE: join(work, 'cache') }, root };
}

// A cached guest dir; `complete` false leaves the initrd empty.
function guest(root: string, key: string, hash: string, ageS: number, complete = true): void {
  const dir = join(root, key);
  mkdirSync(dir);
  writeFileSync(join(dir, 'vmlinuz'), 'k');
  writeFileSync(join(dir, 'initrd.img'), complete ? 'i' : '');
  writeFileSync(
    join(dir, 'manifest.json'),
    `{\n  "key": "${key}",\n  "script_sha256": "${hash}"\n}\n`,
  );
  const t = Date.now() / 1000 - ageS;
  utimesSync(join(dir, 'manifest.json'), t, t);
}

describe('findCachedGuest', () => {
  it('picks the newest complete guest made by this build.sh + init', () => {
    const { script, hash, env, root } = setup();
    guest(root, 'old', hash, 100);
    guest(root, 'new', hash, 10);
    guest(root, 'newest-but-incomplete', hash, 1, false);
    guest(root, 'other-script', 'f'.repeat(64), 0);
    expect(findCachedGuest(script, env)).toEqual({
      key: 'new',
      dir: join(root, 'new'),
      kernel: join(root, 'new', 'vmlinuz'),
      initrd: join(root, 'new', 'initrd.img'),
      manifest: join(root, 'new', 'manifest.json'),
      cached: true,
    });
  });

  it('finds nothing when the script changed or the cache is empty', () => {
    const { script, env, root } = setup();
    expect(findCachedGuest(script, env)).toBeUndefined();
    guest(root, 'stale', 'a'.repeat(64), 0);
    expect(findCachedGuest(script, env)).toBeUndefined();
  });
});

describe('the cache directory is trusted only when it is ours and private', () => {
  it.each([
    ['group/other-writable', (dir: string) => chmodSync(dir, 0o777)],
    ['owned by another uid', (dir: string) => chownSync(dir, 12345, 12345)],
  ])('refuses a cache dir that is %s, naming it', (_what, spoil) => {
    const { script, hash, env, root } = setup();
    guest(root, 'planted', hash, 10);
    spoil(env.VMLAUNCH_CACHE!);
    expect(() => findCachedGuest(script, env)).toThrow(
      expect.objectContaining({ code: 'CACHE_DIR_UNSAFE' }),
    );
    expect(() => findCachedGuest(script, env)).toThrow(env.VMLAUNCH_CACHE!);
  });

  it('refuses a cache dir that is a symlink', () => {
    const { script, hash, env, root } = setup();
    guest(root, 'planted', hash, 10);
    const link = join(work, 'link');
    symlinkSync(env.VMLAUNCH_CACHE!, link);
    expect(() => findCachedGuest(script, { VMLAUNCH_CACHE: link })).toThrow(
      expect.objectContaining({ code: 'CACHE_DIR_UNSAFE' }),
    );
  });

  it('creates a missing cache dir 0700', () => {
    const { script, env } = setup();
    const fresh = join(work, 'fresh', 'vmlaunch');
    expect(findCachedGuest(script, { ...env, VMLAUNCH_CACHE: fresh })).toBeUndefined();
    expect(statSync(fresh).mode & 0o777).toBe(0o700);
  });
});
