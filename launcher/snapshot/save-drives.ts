// The drives of a snapshot: which hot-plugged drives can be saved (a restore cold-plugs each on
// its root port from its image), and the manifest's drive records — the launch's drives and the
// hot-plugged ones, each with its image's identity (docs/snapshots.md).
import { statSync } from 'node:fs';
import { UnsupportedError } from '../../core/index.js';
import type { HotpluggedDrive } from '../hotplug/types.js';
import type { QmpClient } from '../qmp/index.js';
import type { DriveSpec } from '../workload/drive-spec.js';
import type { ManifestDevice, ManifestDrive } from './manifest.js';

// Refused before the VM is stopped: a hot-plugged drive whose writes live in an overlay the
// VM's end deletes (ephemeral), whose unplug is under way, or whose image is gone.
/** @throws UnsupportedError naming the drive and why it could not come back. */
export function checkHotpluggedDrives(
  drives: readonly HotpluggedDrive[],
  unplugging: readonly string[],
): void {
  for (const drive of drives) {
    const what = `cannot snapshot hot-plugged drive ${drive.id}`;
    if (drive.spec.ephemeral) {
      throw new UnsupportedError(
        `${what}: it is ephemeral, its writes are in an overlay removed with the VM, so a restore could not give the guest back its disk; detach it first`,
      );
    }
    if (unplugging.includes(drive.id)) {
      throw new UnsupportedError(
        `${what}: its unplug is under way; wait for vm.detach() to finish`,
      );
    }
    const st = statSync(drive.spec.path, { throwIfNoEntry: false });
    if (!st?.isFile()) {
      throw new UnsupportedError(
        `${what}: its image ${drive.spec.path} is ${st ? 'no longer a regular file' : 'gone'}, so a restore could not open it`,
      );
    }
  }
}

// A launch-time ephemeral drive comes back with a fresh, empty overlay: right only while the
// guest has written nothing to it (a rw mount writes its superblock), else the restored guest's
// idea of its disk and the disk differ. Checked with the VM stopped (QEMU's write counters).
/** @throws UnsupportedError naming the first ephemeral drive the guest wrote to. */
export async function checkEphemeralUnwritten(
  qmp: QmpClient,
  launched: readonly DriveSpec[],
): Promise<void> {
  const ephemeral = launched
    .map((spec, i) => ({ spec, id: spec.id ?? `drive${i}` }))
    .filter(({ spec }) => spec.ephemeral === true);
  if (ephemeral.length === 0) return;
  type Stats = { qdev?: string; stats: { wr_operations: number } };
  const all = await qmp.execute<Stats[]>('query-blockstats', undefined, { timeout: 5000 });
  for (const { id } of ephemeral) {
    const entry = all.find((s) => s.qdev?.startsWith(`/machine/peripheral/${id}/`));
    if (entry === undefined || entry.stats.wr_operations > 0) {
      throw new UnsupportedError(
        `cannot snapshot ephemeral drive ${id}: ${entry ? `the guest has written to it (${entry.stats.wr_operations} writes), and` : 'QEMU reports no statistics for it, and'} a restore gives it a fresh, empty overlay; use a writable image, or save before the guest writes to it`,
      );
    }
  }
}

// The image's identity now: restore refuses a file that is not this one any more.
function identityOf(path: string): ManifestDrive['identity'] {
  const st = statSync(path);
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

// The manifest's drives (launch's first, in order; a drive restored onto a root port only
// while it is hot-plugged) and the devices of the hot-plugged ones.
export function manifestDrives(
  launched: readonly DriveSpec[],
  hotplugged: readonly HotpluggedDrive[],
  restoredBuses: Readonly<Record<string, string>>,
): { drives: ManifestDrive[]; devices: ManifestDevice[] } {
  const drives: ManifestDrive[] = launched
    .map((spec, i) => ({ spec, id: spec.id ?? `drive${i}` }))
    .filter(({ id }) => restoredBuses[id] === undefined)
    .map(({ spec, id }) => ({ spec, id, identity: identityOf(spec.path), hotplugged: false }));
  const devices: ManifestDevice[] = [];
  for (const drive of hotplugged) {
    devices.push({ id: drive.id, kind: 'virtio-blk', bus: drive.bus, hotplugged: true });
    drives.push({
      spec: drive.spec,
      id: drive.id,
      identity: identityOf(drive.spec.path),
      hotplugged: true,
      bus: drive.bus,
    });
  }
  return { drives, devices };
}
