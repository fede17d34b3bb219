// Fd passing proves itself: QEMU as nobody boots from a root-owned image (0600, in a 0700
// directory) that nobody cannot open, and writes to it through the fd vmlaunch opened.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { locateRootfsImage } from '../../../launcher/workload/drive-rootfs.js';
import { defaultGuest } from '../../helpers/guest.js';
import { prerequisite } from '../../helpers/prereq.js';
import { drivesMissing, readExt4, tempDir, withDriveVm } from './fixture.js';

describe.runIf(prerequisite('drives', drivesMissing()))('drives under runAs', () => {
  it('QEMU as nobody boots from a root-only image and writes to it', async () => {
    const dir = tempDir('runas');
    try {
      // The guest kernel and initrd must be readable by nobody (QEMU opens those by path).
      chmodSync(dir, 0o755);
      const guest = await defaultGuest();
      copyFileSync(guest.kernel, join(dir, 'vmlinuz'));
      copyFileSync(guest.initrd, join(dir, 'initrd.img'));
      const secret = join(dir, 'secret');
      mkdirSync(secret, { mode: 0o700 });
      const image = join(secret, 'root.img');
      copyFileSync((await locateRootfsImage()).image, image);
      chmodSync(image, 0o600);
      // nobody cannot open it by path.
      expect(() =>
        execFileSync(
          'setpriv',
          ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', image],
          {
            stdio: 'ignore',
          },
        ),
      ).toThrow();

      await withDriveVm(
        {
          kernel: join(dir, 'vmlinuz'),
          initrd: join(dir, 'initrd.img'),
          runAs: { user: 'nobody' },
          cmdline: ['root=/dev/vda'],
          drives: [{ path: image, id: 'root' }],
          beforeReady(vm) {
            const status = readFileSync(`/proc/${vm.process.pid}/status`, 'utf8');
            expect(status).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
          },
        },
        async (vm) => {
          expect(await vm.guest.check('cat /proc/mounts')).toMatch(/^\/dev\/vda \/ ext4 rw/m);
          await vm.guest.check('echo by-nobodys-qemu > /proof && sync');
        },
      );
      expect(readExt4(image, '/proof')).toBe('by-nobodys-qemu\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
