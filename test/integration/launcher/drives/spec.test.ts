// checkDriveSpecs against real files and the real qemu-img: every bad input is a
// ValidationError naming the field, before launch creates anything.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import { resolveTemplate } from '../../../../qemu-templates/index.js';
import { checkDriveSpecs } from '../../../../launcher/workload/drive-spec.js';
import { prerequisite } from '../../../helpers/prereq.js';

function qemuImgMissing(): string | undefined {
  try {
    execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'needs qemu-img (Debian: qemu-utils)';
  }
}

describe.runIf(prerequisite('drive checks', qemuImgMissing()))('checkDriveSpecs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vml-drive-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const raw = join(dir, 'a,b raw.img');
  writeFileSync(raw, Buffer.alloc(1 << 20));
  const qcow = join(dir, 'q.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcow, '4M']);
  const chained = join(dir, 'chained.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', qcow, chained]);
  const q35 = { template: resolveTemplate('q35'), nics: 0 };

  async function refused(drives: unknown, path: string, code: string, ctx = q35): Promise<string> {
    const error = await checkDriveSpecs(drives, ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ path, code });
    return (error as Error).message;
  }

  it('fills in defaults, reads the format, resolves relative paths (commas and spaces are fine)', async () => {
    const [a, b] = await checkDriveSpecs(
      [{ path: relative(process.cwd(), raw) }, { path: qcow, id: 'data', ephemeral: true }],
      q35,
    );
    expect(a).toMatchObject({
      id: 'drive0',
      serial: 'drive0',
      path: raw,
      format: 'raw',
      readOnly: false,
    });
    expect(a!.virtualSize).toBe(1 << 20);
    expect(b).toMatchObject({
      id: 'data',
      serial: 'data',
      format: 'qcow2',
      ephemeral: true,
      virtualSize: 4 << 20,
    });
  });

  it('missing, non-regular and unreadable images', async () => {
    expect(
      await refused([{ path: join(dir, 'nope.img') }], 'drives[0].path', 'IMAGE_NOT_FOUND'),
    ).toContain('nope.img');
    await refused([{ path: dir }], 'drives[0].path', 'IMAGE_NOT_REGULAR');
    await refused([{ path: '/dev/null' }], 'drives[0].path', 'IMAGE_NOT_REGULAR');
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await refused([{ path: fifo }], 'drives[0].path', 'IMAGE_NOT_REGULAR');
    const dangling = join(dir, 'dangling');
    symlinkSync(join(dir, 'gone'), dangling);
    await refused([{ path: dangling }], 'drives[0].path', 'IMAGE_NOT_FOUND');
    // Root reads anything: a file inside a directory it cannot search stands for "unreadable"
    // only for other users, so here an image in a missing directory is the closest case.
    mkdirSync(join(dir, 'sub'));
    await refused([{ path: join(dir, 'sub', 'x', 'y.img') }], 'drives[0].path', 'IMAGE_NOT_FOUND');
  });

  it('a given format that qemu-img does not read; a backing file; other formats', async () => {
    expect(
      await refused([{ path: raw, format: 'qcow2' }], 'drives[0].format', 'IMAGE_FORMAT'),
    ).toContain("'raw'");
    await refused([{ path: qcow, format: 'raw' }], 'drives[0].format', 'IMAGE_FORMAT');
    await refused([{ path: chained }], 'drives[0].path', 'IMAGE_BACKING');
    const vdi = join(dir, 'x.vdi');
    execFileSync('qemu-img', ['create', '-q', '-f', 'vdi', vdi, '1M']);
    await refused([{ path: vdi }], 'drives[0].path', 'IMAGE_FORMAT');
  });

  it('shape: ids, serials, options, mount paths, duplicates, mmio slots', async () => {
    await refused([{ path: raw, serial: 'a,b' }], 'drives[0].serial', 'DRIVE_SERIAL');
    await refused([{ path: raw, id: '0bad' }], 'drives[0].id', 'QEMU_ID');
    await refused([{ path: raw, id: 'x'.repeat(21) }], 'drives[0].serial', 'DRIVE_SERIAL');
    await refused([{ path: raw }, { path: qcow, id: 'drive0' }], 'drives[1].id', 'DUPLICATE_ID');
    await refused(
      [
        { path: raw, serial: 's' },
        { path: qcow, serial: 's' },
      ],
      'drives[1].serial',
      'DUPLICATE_ID',
    );
    await refused(
      [{ path: raw, readOnly: true, ephemeral: true }],
      'drives[0].ephemeral',
      'DRIVE_OPTION',
    );
    await refused([{ path: raw, cache: 'fast' }], 'drives[0].cache', 'DRIVE_OPTION');
    await refused([{ path: raw, aio: 'native' }], 'drives[0].aio', 'DRIVE_OPTION');
    await refused([{ path: raw, mount: 'data' }], 'drives[0].mount', 'GUEST_PATH');
    await refused([{ path: raw, mount: '/a b' }], 'drives[0].mount', 'GUEST_PATH');
    await refused([{ path: raw, mount: '/a/../b' }], 'drives[0].mount', 'GUEST_PATH');
    await refused([{ path: raw, size: 1 }], 'drives[0].size', 'UNKNOWN_FIELD');
    await refused([{ path: '' }], 'drives[0].path', 'REQUIRED');
    await refused([{ path: raw }, { path: raw, id: 'again' }], 'drives[1].path', 'DUPLICATE_IMAGE');
    // Two read-only uses of one image are fine.
    await checkDriveSpecs(
      [
        { path: raw, readOnly: true },
        { path: raw, id: 'b', ephemeral: true },
      ],
      q35,
    );
    const microvm = { template: resolveTemplate('microvm'), nics: 2 };
    const seven = Array.from({ length: 7 }, (_, i) => ({
      path: qcow,
      id: `d${i}`,
      readOnly: true,
    }));
    expect(await refused(seven, 'drives', 'TOO_MANY_DEVICES', microvm)).toContain(
      '2 NICs + 7 drives',
    );
    await checkDriveSpecs(seven.slice(1), microvm);
  });
});
