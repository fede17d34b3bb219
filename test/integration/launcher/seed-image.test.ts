// The seed image made with the real dosfstools and mtools: a FAT file system labelled cidata
// (as blkid, independent of us, reads it) holding exactly the files given; the same files give
// the same bytes; a failed build leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSeedImage, SeedImageError } from '../../../launcher/seed/seed-image.js';
import { prerequisite } from '../../helpers/prereq.js';

function toolsMissing(): string | undefined {
  for (const [tool, pkg] of [
    ['/usr/sbin/mkfs.vfat', 'dosfstools'],
    ['/usr/bin/mcopy', 'mtools'],
    ['/usr/sbin/blkid', 'util-linux'],
  ] as const) {
    if (!existsSync(tool)) return `needs ${tool} (Debian package ${pkg}; scripts/setup.sh)`;
  }
  return undefined;
}

describe.runIf(prerequisite('seed image', toolsMissing()))('buildSeedImage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vml-seed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const files: [string, string][] = [
    ['meta-data', '{"instance-id": "i-1"}\n'],
    ['network-config', '{"version": 2, "ethernets": {}}\n'],
    ['user-data', '#cloud-config\n{}\n'],
    ['vmlaunch-net', '# vmlaunch-net 1\n'],
  ];

  it('makes a vfat labelled cidata with exactly the files, the same bytes each time', async () => {
    const a = join(dir, 'a.img');
    const t0 = performance.now();
    await buildSeedImage(a, files);
    console.log(`seed image built in ${(performance.now() - t0).toFixed(0)} ms`);
    const probe = execFileSync('blkid', ['-o', 'export', a], { encoding: 'utf8' });
    expect(probe).toMatch(/^LABEL=cidata$/m);
    expect(probe).toMatch(/^TYPE=vfat$/m);
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    for (const [name, content] of files) {
      const got = execFileSync('mtype', ['-i', a, `::${name}`], { encoding: 'utf8', env });
      expect(got, name).toBe(content);
    }
    const listing = execFileSync('mdir', ['-b', '-i', a, '::'], { encoding: 'utf8', env });
    expect(listing.trim().split('\n').sort()).toEqual(files.map(([n]) => `::/${n}`).sort());
    const b = join(dir, 'b.img');
    await buildSeedImage(b, files);
    expect(readFileSync(b).equals(readFileSync(a))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['a.img', 'b.img']);
  });

  it('a missing tool is a SeedImageError naming its Debian package, and leaves no file', async () => {
    const target = join(dir, 'c.img');
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'no-such-bin');
    let error: unknown;
    try {
      error = await buildSeedImage(target, files).catch((e: unknown) => e);
    } finally {
      process.env.PATH = path;
    }
    expect(error).toBeInstanceOf(SeedImageError);
    expect(error).toMatchObject({ code: 'SEED_IMAGE', message: /mkfs\.vfat.*dosfstools/ });
    expect(readdirSync(dir).filter((n) => n.startsWith('c.img'))).toEqual([]);
  });
});
