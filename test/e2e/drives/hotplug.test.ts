// Drive hot-plug on q35 through the NIC machinery (vm.attach({ drive }) / vm.detach): the disk
// appears in the guest as /dev/vdX with its serial and is readable, is gone after unplug; a
// failure inside QMP (blockdev-add refused) rolls back; 100 cycles leave QEMU's fd count, its
// fdsets and its block nodes as they were.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HotplugError } from '../../../launcher/hotplug/errors.js';
import { waitForGuestDisk } from '../../../launcher/hotplug/drive.js';
import type { Vm } from '../../../launcher/vm.js';
import { prerequisite } from '../../helpers/prereq.js';
import { drivesMissing, makeExt4, readExt4, sha256, tempDir, withDriveVm } from './fixture.js';

const CYCLES = Number(process.env.VMLAUNCH_DRIVE_CYCLES ?? 100);

// What QEMU holds: its open fds, its fdsets and its named block nodes.
async function qemuState(vm: Vm) {
  const nodes = await vm.qmp.execute<Array<{ 'node-name': string }>>('query-named-block-nodes', {
    flat: true,
  });
  return {
    fds: readdirSync(`/proc/${vm.pid}/fd`).length,
    fdsets: await vm.qmp.queryFdsets(),
    nodes: nodes.map((n) => n['node-name']).sort(),
  };
}

const exec = (vm: Vm) => (cmd: string) => vm.guest.exec(cmd);

describe.runIf(prerequisite('drives', drivesMissing()))('drive hot-plug (q35)', () => {
  it(`appears with its serial, is readable, goes; rollback; ${CYCLES} cycles leave nothing`, async () => {
    const dir = tempDir('hotplug');
    try {
      const raw = join(dir, 'raw, disk.img');
      const header = 'hello-from-the-host';
      writeFileSync(
        raw,
        Buffer.concat([Buffer.from(header), Buffer.alloc((1 << 20) - header.length)]),
      );
      const eph = makeExt4(join(dir, 'eph.img'), { 'base.txt': 'base\n' });
      const ephSum = sha256(eph);
      const rw = join(dir, 'rw.img');
      writeFileSync(rw, Buffer.alloc(1 << 20));
      await withDriveVm({}, async (vm) => {
        const before = await qemuState(vm);

        // One cycle, checked from inside.
        const d = await vm.attach({
          drive: { path: raw, id: 'hd', serial: 'hotdisk', readOnly: true },
        });
        expect(d).toMatchObject({ id: 'hd', bus: 'rp0', drive: { serial: 'hotdisk' } });
        const disk = d.drive!.guestDisk!;
        expect(disk).toMatch(/^vd[a-z]$/);
        expect(await vm.guest.check(`cat /sys/block/${disk}/serial`)).toBe('hotdisk');
        expect(await vm.guest.check(`head -c ${header.length} /dev/${disk}`)).toBe(header);
        expect(await vm.guest.check(`cat /sys/block/${disk}/ro`)).toBe('1\n');
        expect((await qemuState(vm)).nodes).toEqual(['hd-file', 'hd-fmt']);
        expect(await vm.detach('hd')).toMatchObject({ status: 'removed' });
        expect(
          await waitForGuestDisk(exec(vm), 'hotdisk', false, { timeout: 5000 }),
        ).toBeUndefined();
        expect(await qemuState(vm)).toEqual(before);

        // Ephemeral: writes visible in the guest, the overlay goes at unplug, the base untouched.
        const e = await vm.attach({ drive: { path: eph, id: 'eph', ephemeral: true } });
        const edisk = e.drive!.guestDisk!;
        await vm.guest.check(
          `mkdir -p /e && mount -t ext4 /dev/${edisk} /e && echo w > /e/new && cat /e/base.txt /e/new && umount /e`,
        );
        expect(readdirSync(vm.runDir!)).toEqual(['eph.qcow2']);
        expect(await vm.detach('eph')).toMatchObject({ status: 'removed' });
        expect(readdirSync(vm.runDir!)).toEqual([]);
        expect(sha256(eph)).toBe(ephSum);
        expect(await qemuState(vm)).toEqual(before);

        // device_add refused: the image is already held for writing (by drive w1 here, through
        // another open file description), so QEMU cannot take the write lock. Everything made
        // before (add-fd, blockdev-add x2) is rolled back; the slot is free again.
        const w1 = await vm.attach({ drive: { path: rw, id: 'w1' } });
        const before2 = await qemuState(vm);
        const failed = await vm
          .attach({ drive: { path: rw, id: 'w2' } })
          .catch((error: unknown) => error);
        expect(failed).toBeInstanceOf(HotplugError);
        expect(failed).toMatchObject({ step: 'device_add', rollbackErrors: [] });
        expect(String((failed as Error).cause)).toMatch(/Failed to get "write" lock/);
        expect(vm.hotplugged.map((h) => h.id)).toEqual(['w1']);
        expect(await qemuState(vm)).toEqual(before2);
        expect(w1.bus).toBe('rp0');
        expect(await vm.detach('w1')).toMatchObject({ status: 'removed' });
        expect(await qemuState(vm)).toEqual(before);

        const t0 = performance.now();
        for (let i = 0; i < CYCLES; i++) {
          const c = await vm.attach({ drive: { path: raw, id: 'cyc', readOnly: true } });
          expect(c.bus).toBe('rp0');
          expect(await vm.detach('cyc')).toMatchObject({ status: 'removed' });
        }
        const perCycle = (performance.now() - t0) / Math.max(1, CYCLES);
        console.log(
          `drive hot-plug: ${CYCLES} cycles, ${perCycle.toFixed(0)} ms per attach+detach`,
        );
        expect(await waitForGuestDisk(exec(vm), 'cyc', false, { timeout: 5000 })).toBeUndefined();
        expect(await qemuState(vm)).toEqual(before);
      });
      expect(readExt4(eph, '/new')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
