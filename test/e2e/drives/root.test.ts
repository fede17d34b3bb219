// Boot from a drive on every template: the ext4 root image scripts/guest/rootfs.sh builds from
// Debian packages, as an ephemeral drive with root=/dev/vda. The initramfs's init switch_roots
// into it; the root's own /init (the same script, stage 'root') prints the ready marker.
import { describe, expect, it } from 'vitest';
import { locateRootfsImage } from '../../../launcher/workload/drive-rootfs.js';
import type { TemplateName } from '../../../qemu-templates/index.js';
import { prerequisite } from '../../helpers/prereq.js';
import { drivesMissing, sha256, withDriveVm } from './fixture.js';

const TEMPLATES: TemplateName[] = ['q35', 'pc', 'microvm', 'microvm-pcie'];

describe.runIf(prerequisite('drives', drivesMissing()))('boot from an ext4 root drive', () => {
  for (const template of TEMPLATES) {
    it(`${template}: root=/dev/vda is the rootfs image, writable, the image untouched`, async () => {
      const rootfs = await locateRootfsImage();
      const before = sha256(rootfs.image);
      await withDriveVm(
        {
          template,
          cmdline: ['root=/dev/vda'],
          drives: [{ path: rootfs.image, id: 'root', ephemeral: true }],
        },
        async (vm) => {
          expect(vm.console.tail(1_000_000)).toContain('stage=root');
          expect(await vm.guest.check('cat /etc/vmlaunch-rootfs')).toContain(`key=${rootfs.key}`);
          expect(await vm.guest.check('cat /proc/mounts')).toMatch(/^\/dev\/vda \/ ext4 rw/m);
          expect(await vm.guest.check('cat /sys/block/vda/serial')).toBe('root');
          expect(await vm.guest.check('echo in-root > /written && cat /written')).toBe('in-root\n');
        },
      );
      expect(sha256(rootfs.image)).toBe(before);
    }, 180_000);
  }
});
