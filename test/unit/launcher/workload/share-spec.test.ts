import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGuestPath } from '../../../../launcher/workload/guest-path.js';
import { resolveShares, shareCmdline } from '../../../../launcher/workload/share-spec.js';
import { resolveLaunchShares } from '../../../../launcher/workload/share-config.js';
import { escapeFuseOpt, virtiofsdArgv } from '../../../../launcher/workload/virtiofsd.js';
import { expectValidation } from '../devices/helpers.js';

let dir = '';
let file = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vml-share-spec-'));
  file = join(dir, 'a-file');
  writeFileSync(file, '');
  symlinkSync(dir, join(dir, 'link'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveShares', () => {
  it('fills in tags, ids and absolute host paths', () => {
    const rel = relative(process.cwd(), dir);
    expect(
      resolveShares([
        { hostPath: rel },
        { hostPath: join(dir, 'link'), tag: 'src', mount: '/src/', readOnly: true },
        { hostPath: dir, tag: '9p.x', id: 'data' },
      ]),
    ).toEqual([
      { index: 0, id: 'share0', tag: 'share0', hostPath: dir, mount: undefined, readOnly: false },
      {
        index: 1,
        id: 'src',
        tag: 'src',
        hostPath: join(dir, 'link'),
        mount: '/src',
        readOnly: true,
      },
      { index: 2, id: 'data', tag: '9p.x', hostPath: dir, mount: undefined, readOnly: false },
    ]);
    expect(resolveShares(undefined)).toEqual([]);
  });

  it('falls back to share<i> as the id when the tag does not start with a letter', () => {
    expect(resolveShares([{ hostPath: dir, tag: '0data' }])[0]).toMatchObject({
      id: 'share0',
      tag: '0data',
    });
  });

  it('refuses a host path that is missing or not a directory', () => {
    expectValidation(
      () => resolveShares([{ hostPath: join(dir, 'nope') }]),
      'shares[0].hostPath',
      'SHARE_DIR',
    );
    expectValidation(
      () => resolveShares([{ hostPath: dir }, { hostPath: file }]),
      'shares[1].hostPath',
      'SHARE_DIR',
    );
    expectValidation(() => resolveShares([{ hostPath: '' }]), 'shares[0].hostPath', 'TYPE');
    expectValidation(() => resolveShares([{}]), 'shares[0].hostPath', 'TYPE');
  });

  it('refuses tags that are too long (36 bytes max) or carry other characters', () => {
    expect(resolveShares([{ hostPath: dir, tag: 'a'.repeat(36) }])[0]!.tag).toHaveLength(36);
    expectValidation(
      () => resolveShares([{ hostPath: dir, tag: 'a'.repeat(37) }]),
      'shares[0].tag',
      'SHARE_TAG_LENGTH',
    );
    for (const tag of ['', 'a b', 'a,b', 'ä', 'a/b']) {
      expectValidation(() => resolveShares([{ hostPath: dir, tag }]), 'shares[0].tag', 'SHARE_TAG');
    }
  });

  it('refuses duplicate tags, ids and mount paths, and unknown fields', () => {
    expectValidation(
      () =>
        resolveShares([
          { hostPath: dir, tag: 't' },
          { hostPath: dir, tag: 't' },
        ]),
      'shares[1].tag',
      'DUPLICATE_ID',
    );
    expectValidation(
      () =>
        resolveShares([
          { hostPath: dir, id: 'x' },
          { hostPath: dir, id: 'x' },
        ]),
      'shares[1].id',
      'DUPLICATE_ID',
    );
    expectValidation(
      () =>
        resolveShares([
          { hostPath: dir, mount: '/m' },
          { hostPath: dir, mount: '/m/' },
        ]),
      'shares[1].mount',
      'DUPLICATE_ID',
    );
    expectValidation(
      () => resolveShares([{ hostPath: dir, readonly: true }]),
      'shares[0].readonly',
      'UNKNOWN_FIELD',
    );
    expectValidation(() => resolveShares([{ hostPath: dir, id: '1x' }]), 'shares[0].id', 'QEMU_ID');
    expectValidation(() => resolveShares({}), 'shares', 'TYPE');
  });

  it('holds guest mount paths to what the init can split', () => {
    expect(validateGuestPath('/mnt/a.b+c-d_e', 'p')).toBe('/mnt/a.b+c-d_e');
    expect(validateGuestPath('//x//y/', 'p')).toBe('/x/y');
    for (const bad of ['relative', '/', '/a b', '/a,b', '/a/../b', '/./a', '', '/ä']) {
      expectValidation(() => validateGuestPath(bad, 'p'), 'p', 'GUEST_PATH');
    }
  });

  it('refuses shares with sharedMemory: false', () => {
    expectValidation(
      () => resolveLaunchShares({ shares: [{ hostPath: dir }], sharedMemory: false }),
      'sharedMemory',
      'VHOST_USER_NEEDS_SHARED_MEMORY',
    );
    expect(resolveLaunchShares({ sharedMemory: false })).toEqual([]);
  });

  it('refuses shares on microvm under TCG up front', () => {
    const shares = [{ hostPath: dir }];
    expectValidation(
      () => resolveLaunchShares({ shares, template: 'microvm', accel: 'tcg' }),
      'shares',
      'SHARE_MMIO_TCG',
    );
    expect(resolveLaunchShares({ shares, template: 'microvm', accel: 'kvm' })).toHaveLength(1);
    expect(resolveLaunchShares({ shares, accel: 'tcg' })).toHaveLength(1);
  });
});

describe('the guest mount arguments and the virtiofsd argv', () => {
  it('one vmlaunch.share= per share with a mount path', () => {
    const shares = resolveShares([
      { hostPath: dir, tag: 'src', mount: '/src' },
      { hostPath: dir, tag: 'nomount' },
      { hostPath: dir, tag: 'ro', mount: '/ro', readOnly: true },
    ]);
    expect(shareCmdline(shares)).toEqual(['vmlaunch.share=src,/src', 'vmlaunch.share=ro,/ro,ro']);
  });

  it('golden virtiofsd argv, commas and backslashes escaped for fuse_opt', () => {
    expect(escapeFuseOpt('/a,b\\c')).toBe('/a\\,b\\\\c');
    expect(virtiofsdArgv({ socketPath: '/run/v/vfs0.sock', source: '/srv/a,b' })).toEqual([
      '/usr/lib/qemu/virtiofsd',
      '--socket-path=/run/v/vfs0.sock',
      ...['-o', 'source=/srv/a\\,b', '-o', 'cache=auto', '-o', 'sandbox=namespace'],
    ]);
    expect(
      virtiofsdArgv({
        binary: '/x/virtiofsd',
        socketPath: '/s',
        source: '/d',
        cache: 'none',
        threadPoolSize: 4,
      }),
    ).toEqual([
      '/x/virtiofsd',
      '--socket-path=/s',
      ...['-o', 'source=/d', '-o', 'cache=none', '-o', 'sandbox=namespace'],
      '--thread-pool-size=4',
    ]);
  });
});
