// The default guest's init reports what it could not mount, before its ready marker, and
// carries on: a root= that does not exist keeps it in the initramfs, a drive without a
// filesystem is named with the reason.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUEST_READY_MARKER } from '../../../launcher/guest-shell.js';
import { prerequisite } from '../../helpers/prereq.js';
import { drivesMissing, tempDir, withDriveVm } from './fixture.js';

describe.runIf(prerequisite('drives', drivesMissing()))('guest init drive errors', () => {
  it('prints root and drive mount failures before the ready marker', async () => {
    const dir = tempDir('init');
    try {
      const blank = join(dir, 'blank.img');
      writeFileSync(blank, Buffer.alloc(1 << 20));
      await withDriveVm(
        {
          cmdline: ['root=/dev/vdz'],
          drives: [{ path: blank, id: 'blank', mount: '/blank' }],
        },
        async (vm) => {
          const text = vm.console.tail(1_000_000);
          const ready = text.indexOf(GUEST_READY_MARKER);
          const rootFail = text.indexOf(
            'vmlaunch-guest: mount root /dev/vdz failed: no such block device',
          );
          const driveFail = text.indexOf('vmlaunch-guest: mount drive blank on /blank failed:');
          expect(rootFail).toBeGreaterThanOrEqual(0);
          expect(driveFail).toBeGreaterThanOrEqual(0);
          expect(rootFail).toBeLessThan(ready);
          expect(driveFail).toBeLessThan(ready);
          expect(text).toContain('stage=initramfs');
          // Still a working guest: the disk is there, only not mounted.
          expect(await vm.guest.check('cat /sys/block/vda/serial')).toBe('blank');
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
