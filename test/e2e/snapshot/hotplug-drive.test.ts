// A drive hot-plugged before a snapshot, end to end on the real QEMU and the default guest
// (q35, TCG): the guest writes a marker to it, the VM is saved and shut down, the restore puts
// the drive back on its root port, the guest reads the marker from the disk itself (caches
// dropped), and vm.detach() unplugs it and leaves nothing in QEMU. Refused cases leave nothing:
// a save with a hot-plugged ephemeral drive changes neither the VM nor the disk, and restores
// of a snapshot whose hot-plugged image is gone or changed leave no fd, child or run dir.
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '../../../core/index.js';
import { waitForGuestDisk } from '../../../launcher/hotplug/guest-disk.js';
import { launch } from '../../../launcher/launch.js';
import { RestoreMismatchError } from '../../../launcher/snapshot/errors.js';
import { restore } from '../../../launcher/snapshot/restore.js';
import type { Vm } from '../../../launcher/vm.js';
import { defaultGuest, HARNESS_CMDLINE, qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';
import { qemuDriveSide } from '../../helpers/soak-drives.js';
import { privateRuntimeRoot, runDirs } from './run-dirs.js';

privateRuntimeRoot('snapdrive');

// The guest reads the disk itself, not its page cache.
async function readMarker(vm: Vm, dev: string, length: number): Promise<string> {
  return vm.guest.check(`sync; echo 3 > /proc/sys/vm/drop_caches; head -c ${length} /dev/${dev}`);
}

describe.runIf(prerequisite('snapshot of hot-plugged drives', qemuMissing()))(
  'snapshots with hot-plugged drives',
  () => {
    it('a drive hot-plugged and written before the save is read back after the restore, then detaches', async () => {
      const guest = await defaultGuest();
      const dir = mkdtempSync(join(tmpdir(), 'vml-snapdrive-e2e-'));
      const vms: Vm[] = [];
      try {
        const image = join(dir, 'hot.raw');
        writeFileSync(image, Buffer.alloc(4 * 1024 * 1024));
        const scratch = join(dir, 'scratch.raw');
        writeFileSync(scratch, Buffer.alloc(1024 * 1024));
        const marker = `vmlaunch-snapdrive-${randomBytes(4).toString('hex')}`;
        const vm = await launch({
          kernel: guest.kernel,
          initrd: guest.initrd,
          cmdline: HARNESS_CMDLINE,
          accel: 'tcg',
          memoryMiB: 256,
        });
        vms.push(vm);
        await vm.guest.waitReady({ timeout: 120_000 });
        const hot = await vm.attach(
          { drive: { path: image, id: 'hd0', serial: 'hd-snap' } },
          { timeout: 120_000 },
        );
        const dev = hot.guestDevice!;
        expect(dev).toMatch(/^vd[a-z]$/);
        await vm.guest.check(`printf ${marker} | dd of=/dev/${dev} conv=notrunc,fsync 2>/dev/null`);

        // --- refused: a hot-plugged ephemeral drive; nothing changes ------------------
        const eph = await vm.attach(
          { drive: { path: scratch, id: 'eph0', ephemeral: true } },
          { timeout: 120_000 },
        );
        const refusedPath = join(dir, 'refused.state');
        const qemuBefore = await qemuDriveSide(vm);
        const refused = await vm.snapshot(refusedPath).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(UnsupportedError);
        expect((refused as Error).message).toMatch(/eph0: it is ephemeral/);
        expect(existsSync(refusedPath)).toBe(false);
        expect(existsSync(`${refusedPath}.json`)).toBe(false);
        expect(vm.state).toBe('running');
        expect((await vm.qmp.queryStatus({ timeout: 5000 })).running).toBe(true);
        expect(vm.hotpluggedDrives.map((d) => d.id)).toEqual(['hd0', 'eph0']);
        expect(await qemuDriveSide(vm)).toEqual(qemuBefore);
        expect(await readMarker(vm, dev, marker.length)).toBe(marker);
        expect((await vm.detach(eph.id, { timeout: 120_000 })).status).toBe('removed');

        // --- saved with the hot-plugged drive -----------------------------------------
        const state = join(dir, 'vm.state');
        const saved = await vm.snapshot(state, { then: 'shutdown', timeoutMs: 300_000 });
        expect(saved.manifest.version).toBe(2);
        expect(saved.manifest.drives).toMatchObject([
          {
            id: 'hd0',
            spec: { path: image, id: 'hd0', serial: 'hd-snap', format: 'raw' },
            hotplugged: true,
            bus: hot.bus,
          },
        ]);
        expect(saved.manifest.devices).toContainEqual({
          id: 'hd0',
          kind: 'virtio-blk',
          bus: hot.bus,
          hotplugged: true,
        });
        expect(vm.state).toBe('exited');
        expect(vm.leftovers).toEqual([]);
        // The marker is in the image itself (an oracle independent of the guest).
        expect(readFileSync(image).subarray(0, marker.length).toString()).toBe(marker);

        // --- refused restores: the hot-plugged image gone or changed; nothing left ----
        await expectRestoreRefusals(dir, state);

        // --- restored: the drive is back on its port, the guest reads the marker -------
        const restored = await restore(state, { timeoutMs: 300_000 });
        vms.push(restored);
        const device = restored.command.argv.find(
          (w) => w.startsWith('virtio-blk-pci,') && w.includes('id=hd0'),
        );
        expect(device).toContain(`bus=${hot.bus}`);
        expect(restored.command.hotplugBuses).not.toContain(hot.bus);
        expect(restored.hotpluggedDrives.map((d) => [d.id, d.bus, d.serial])).toEqual([
          ['hd0', hot.bus, 'hd-snap'],
        ]);
        expect(await readMarker(restored, dev, marker.length)).toBe(marker);
        expect((await restored.guest.check(`cat /sys/block/${dev}/serial`)).trim()).toBe('hd-snap');

        // --- detached from the restored VM: gone from the guest and from QEMU ----------
        const result = await restored.detach('hd0', { timeout: 120_000 });
        expect(result.status).toBe('removed');
        expect(
          await waitForGuestDisk((c, o) => restored.guest.exec(c, o), 'hd-snap', false, {
            timeout: 30_000,
          }),
        ).toBeUndefined();
        expect(restored.hotpluggedDrives).toEqual([]);
        const side = await qemuDriveSide(restored);
        expect(side.nodes.filter((n) => n.startsWith('hd0'))).toEqual([]);
        expect(side.fdsets).toEqual([]);
        // Its port is offered to hot plug again, and a new save records no drive.
        const again = await restored.snapshot(join(dir, 'again.state'), { then: 'shutdown' });
        expect(again.manifest.drives).toEqual([]);
        expect(again.manifest.devices.some((d) => d.id.startsWith('hd0'))).toBe(false);
        expect(restored.leftovers).toEqual([]);
      } finally {
        await Promise.all(vms.map((v) => v.kill()));
        rmSync(dir, { recursive: true, force: true });
      }
    }, 900_000);
  },
);

// Restores of edited copies of the snapshot (the state file hard-linked): each refused with
// its code before anything starts, leaving our fds, children and run dirs as they were.
async function expectRestoreRefusals(dir: string, state: string): Promise<void> {
  const manifest = JSON.parse(readFileSync(`${state}.json`, 'utf8')) as {
    drives: Array<{ spec: { path: string }; identity: { mtimeMs: number } }>;
  };
  let n = 0;
  const edited = (edit: (m: typeof manifest) => void): string => {
    const copy = join(dir, `edited${n++}.state`);
    linkSync(state, copy);
    const m = structuredClone(manifest);
    edit(m);
    writeFileSync(`${copy}.json`, JSON.stringify(m));
    return copy;
  };
  const cases: Array<[string, string, string]> = [
    ['image gone', edited((m) => (m.drives[0]!.spec.path += '.gone')), 'DRIVE_MISSING'],
    ['image changed', edited((m) => (m.drives[0]!.identity.mtimeMs -= 5000)), 'DRIVE_CHANGED'],
  ];
  for (const [what, path, code] of cases) {
    const before = takeSnapshot({ netns: [], netnsFilter: () => false });
    const dirsBefore = runDirs();
    const error = await restore(path).then(
      async (vm) => {
        await vm.kill();
        return new Error(`${what}: restore succeeded`);
      },
      (e: unknown) => e,
    );
    expect(error, what).toBeInstanceOf(RestoreMismatchError);
    expect(error, what).toMatchObject({ code });
    expect(
      diffSnapshots(before, takeSnapshot({ netns: [], netnsFilter: () => false })),
      what,
    ).toEqual([]);
    expect(
      runDirs().filter((d) => !dirsBefore.includes(d)),
      what,
    ).toEqual([]);
  }
}
