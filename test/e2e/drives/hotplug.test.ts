// Drive hot-plug on the real QEMU and the default guest (q35): the disk appears in the guest as
// /dev/vdX with its serial and the image's bytes, is gone after unplug, and 100 attach/detach
// cycles leave QEMU's fd count, fdsets and block nodes as they were. Rollback and bad input
// change nothing; an ephemeral drive's overlay goes with the drive, the base untouched.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../core/index.js';
import { launch } from '../../../launcher/launch.js';
import type { Vm } from '../../../launcher/vm.js';
import { waitForGuestDisk } from '../../../launcher/hotplug/guest-disk.js';
import { defaultGuest, HARNESS_CMDLINE, qemuMissing } from '../../helpers/guest.js';
import { prerequisite } from '../../helpers/prereq.js';
import { driveSoakReportLines, qemuDriveSide, runDriveSoak } from '../../helpers/soak-drives.js';

const CYCLES = 100;

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe.runIf(prerequisite('drive hot-plug', qemuMissing()))('drive hot-plug (q35)', () => {
  let dir = '';
  let image = '';
  let marker = '';
  let vm: Vm | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vml-hpdrive-'));
    image = join(dir, 'disk,with comma.raw');
    marker = `vmlaunch-hotplug-${randomBytes(4).toString('hex')}`;
    const bytes = Buffer.alloc(4 * 1024 * 1024);
    bytes.write(marker, 0);
    writeFileSync(image, bytes);
    const guest = await defaultGuest();
    vm = await launch({
      kernel: guest.kernel,
      initrd: guest.initrd,
      cmdline: HARNESS_CMDLINE,
      memoryMiB: 256,
    });
    await vm.guest.waitReady({ timeout: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await vm?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the disk in the guest with its serial and bytes, and takes it away again', async () => {
    const before = await qemuDriveSide(vm!);
    const drive = await vm!.attach({ drive: { path: image, serial: 'hp-disk-1', readOnly: true } });
    expect(drive).toMatchObject({ kind: 'drive', serial: 'hp-disk-1', bus: 'rp0' });
    expect(drive.guestDevice).toMatch(/^vd[a-z]$/);
    const dev = `/dev/${drive.guestDevice}`;
    expect((await vm!.guest.check(`cat /sys/block/${drive.guestDevice}/serial`)).trim()).toBe(
      'hp-disk-1',
    );
    expect(await vm!.guest.check(`head -c ${marker.length} ${dev}`)).toBe(marker);
    // Read-only: the guest's writes are refused.
    const write = await vm!.guest.exec(`echo x | dd of=${dev} conv=notrunc 2>&1`);
    expect(write.status).not.toBe(0);
    expect(vm!.hotpluggedDrives.map((d) => d.id)).toEqual([drive.id]);
    const during = await qemuDriveSide(vm!);
    expect(during.fdsets).toHaveLength(before.fdsets.length + 1);
    expect(during.nodes).toEqual([...before.nodes, `${drive.id}-file`, `${drive.id}-fmt`].sort());

    const result = await vm!.detach(drive.id, { timeout: 15_000 });
    expect(result.status).toBe('removed');
    expect(
      await waitForGuestDisk((c, o) => vm!.guest.exec(c, o), 'hp-disk-1', false, {
        timeout: 10_000,
      }),
    ).toBeUndefined();
    expect(await qemuDriveSide(vm!)).toEqual(before);
    expect(vm!.hotpluggedDrives).toEqual([]);
  }, 120_000);

  it('refuses a bad image before anything changes', async () => {
    const before = await qemuDriveSide(vm!);
    const missing = await vm!
      .attach({ drive: { path: join(dir, 'missing.raw') } })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ValidationError);
    const badFormat = await vm!
      .attach({ drive: { path: image, format: 'qcow2' } })
      .catch((e: unknown) => e);
    expect(badFormat).toMatchObject({ code: 'IMAGE_FORMAT' });
    // A serial too long for virtio-blk (20 bytes) fails in the device checks.
    const badSerial = await vm!
      .attach({ drive: { path: image, serial: 's'.repeat(21), readOnly: true } })
      .catch((e: unknown) => e);
    expect(badSerial).toMatchObject({ code: 'DRIVE_SERIAL' });
    // The init mounts at boot only: a mount point for a hot-plugged drive is refused.
    const mount = await vm!
      .attach({ drive: { path: image, readOnly: true, mount: '/data' } })
      .catch((e: unknown) => e);
    expect(mount).toMatchObject({ code: 'DRIVE_OPTION', path: 'drive.mount' });
    expect(await qemuDriveSide(vm!)).toEqual(before);
    expect(vm!.hotpluggedDrives).toEqual([]);
  }, 60_000);

  it('rolls back every QMP step when QEMU refuses the image (locked by the first attach)', async () => {
    const before = await qemuDriveSide(vm!);
    const first = await vm!.attach({ drive: { path: image, serial: 'hp-rw-1' } });
    const holding = await qemuDriveSide(vm!);
    const error = await vm!
      .attach({ drive: { path: image, serial: 'hp-rw-2' } })
      .catch((e: unknown) => e);
    // QEMU takes the write lock when the device claims the node: device_add is refused.
    expect(error).toMatchObject({ code: 'HOTPLUG_FAILED', step: 'device_add' });
    expect((error as Error).message).toMatch(/lock/i);
    expect(await qemuDriveSide(vm!)).toEqual(holding);
    expect(vm!.hotpluggedDrives.map((d) => d.id)).toEqual([first.id]);
    expect((await vm!.detach(first.id, { timeout: 15_000 })).status).toBe('removed');
    expect(await qemuDriveSide(vm!)).toEqual(before);
  }, 60_000);

  it('keeps an ephemeral drive writable in the guest, the base untouched, its overlay removed', async () => {
    const base = sha(image);
    const before = await qemuDriveSide(vm!);
    const drive = await vm!.attach({ drive: { path: image, ephemeral: true, serial: 'hp-eph' } });
    const dev = `/dev/${drive.guestDevice}`;
    await vm!.guest.check(`printf overwritten | dd of=${dev} conv=notrunc,fsync 2>/dev/null`);
    expect(await vm!.guest.check(`head -c 11 ${dev}`)).toBe('overwritten');
    expect(readdirSync(vm!.runDir!)).toContain(`${drive.id}.qcow2`);
    expect((await vm!.detach(drive.id, { timeout: 15_000 })).status).toBe('removed');
    expect(readdirSync(vm!.runDir!)).not.toContain(`${drive.id}.qcow2`);
    expect(sha(image)).toBe(base);
    expect(await qemuDriveSide(vm!)).toEqual(before);
  }, 60_000);

  it(`${CYCLES} attach/detach cycles leave QEMU's fds, fdsets and block nodes as before`, async () => {
    const report = await runDriveSoak({ vm: vm!, image, cycles: CYCLES, checkEvery: 25 });
    expect(report.cycle).toHaveLength(CYCLES);
    for (const line of driveSoakReportLines(report)) console.log(line);
  }, 600_000);
});
