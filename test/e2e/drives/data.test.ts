// Data drives on the default guest (q35): a writable drive whose image path has a comma and a
// space and is given relative to the cwd, a read-only drive and an ephemeral drive, all mounted
// by the guest's init from their serials. QEMU's argv never names an image (fds in fdsets).
import { existsSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prerequisite } from '../../helpers/prereq.js';
import {
  drivesMissing,
  guestDisk,
  makeExt4,
  readExt4,
  sha256,
  tempDir,
  withDriveVm,
} from './fixture.js';

describe.runIf(prerequisite('drives', drivesMissing()))('cold-plugged data drives', () => {
  it('rw: the host reads what the guest wrote; ro: EROFS; ephemeral: base untouched', async () => {
    const dir = tempDir('data');
    try {
      const rw = makeExt4(join(dir, 'my data, v1.img'));
      const ro = makeExt4(join(dir, 'ro.img'), { 'given.txt': 'from the host\n' });
      const eph = makeExt4(join(dir, 'eph.img'), { 'base.txt': 'base\n' });
      const sums = { ro: sha256(ro), eph: sha256(eph) };
      await withDriveVm(
        {
          drives: [
            { path: relative(process.cwd(), rw), id: 'rw', mount: '/mnt/rw' },
            { path: ro, id: 'ro', serial: 'ro-serial', readOnly: true, mount: '/mnt/ro' },
            { path: eph, id: 'eph', ephemeral: true, mount: '/mnt/eph', cache: 'unsafe' },
          ],
          beforeReady(vm) {
            for (const image of [rw, ro, eph])
              expect(vm.command.argv.join(' ')).not.toContain(image);
            expect(existsSync(join(vm.runDir!, 'eph.qcow2'))).toBe(true);
          },
        },
        async (vm) => {
          // Each drive is the guest disk with its serial, mounted where asked.
          const mounts = (await vm.guest.exec('cat /proc/mounts')).output;
          for (const [serial, where] of [
            ['rw', '/mnt/rw'],
            ['ro-serial', '/mnt/ro'],
            ['eph', '/mnt/eph'],
          ] as const) {
            expect(mounts).toContain(`/dev/${await guestDisk(vm, serial)} ${where} ext4`);
          }
          await vm.guest.check('echo written-in-the-guest > /mnt/rw/hello && sync');

          const roDisk = await guestDisk(vm, 'ro-serial');
          expect((await vm.guest.exec(`cat /sys/block/${roDisk}/ro`)).output.trim()).toBe('1');
          expect((await vm.guest.exec('cat /mnt/ro/given.txt')).output).toContain('from the host');
          const touch = await vm.guest.exec('touch /mnt/ro/x');
          expect(touch.status).not.toBe(0);
          expect(touch.output).toContain('Read-only file system');
          // Not only the mount: the disk itself refuses to become writable.
          expect((await vm.guest.exec('mount -o remount,rw /mnt/ro')).status).not.toBe(0);

          await vm.guest.check('echo eph-write > /mnt/eph/new && sync');
          expect((await vm.guest.exec('cat /mnt/eph/new /mnt/eph/base.txt')).output).toBe(
            'eph-write\nbase\n',
          );
        },
      );
      expect(readExt4(rw, '/hello')).toBe('written-in-the-guest\n');
      expect(sha256(ro)).toBe(sums.ro);
      expect(sha256(eph)).toBe(sums.eph);
      expect(readExt4(eph, '/new')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
