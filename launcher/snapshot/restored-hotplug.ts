// NICs and drives that were hot-plugged before a snapshot come back cold-plugged on their root
// ports; here they join the restored VM's hot-plug registry, so vm.detach(id) removes them like
// any hot-plugged device: device_del, then the backend (netdev_del, or blockdev-del and
// remove-fd), a NIC's host side, and the root port's release.
import { UndoStack } from '../../core/index.js';
import type { AttachedEndpoint } from '../../network/endpoints/attach-types.js';
import { driveFdsets, driveQemuIds, type DriveConfig } from '../devices/blockdev-drive.js';
import type { QemuDevice } from '../devices/types.js';
import { nicQemuIds } from '../devices/nic-devices.js';
import { removeQuietly, type HotplugContext } from '../hotplug/context.js';
import type { HotpluggedDrive, HotpluggedNic } from '../hotplug/types.js';
import type { DriveSpec } from '../workload/drive-spec.js';

// Registers each restored hot-plugged NIC (id -> root port in `buses`) with its endpoint.
export function adoptRestoredNics(
  ctx: HotplugContext,
  buses: Readonly<Record<string, string>>,
  endpoints: readonly AttachedEndpoint[],
  devices: readonly QemuDevice[],
): void {
  for (const [id, bus] of Object.entries(buses)) {
    const attached = endpoints.find((e) => e.hostNic.id === id);
    const ids = nicQemuIds(id);
    const cleanup = new UndoStack();
    cleanup.push(`release ${bus}`, () => ctx.registry.releaseSlot(bus));
    if (attached) cleanup.push(`detach ${id}`, () => attached.detach());
    const netdev = devices.find((d) => d.id === ids.netdev);
    for (const removal of netdev ? netdev.toQmpRemove().reverse() : []) {
      cleanup.push(`${removal.execute} ${ids.netdev}`, () =>
        removeQuietly(ctx, removal.execute, removal.arguments),
      );
    }
    const mac = attached && 'mac' in attached.hostNic ? attached.hostNic.mac : '';
    const nic: HotpluggedNic = {
      id,
      mac,
      bus,
      ...(attached ? { attached } : {}),
      timings: { host: 0, qmp: 0 },
    };
    ctx.registry.adopt({ nic, deviceId: ids.device, state: 'attached', cleanup }, bus);
  }
}

/** Where a restored hot-plugged drive sits: its spec, its root port and its command-line fdsets. */
export interface RestoredDrive {
  spec: DriveSpec & { id: string };
  bus: string;
  /** The fdsets (-add-fd set=) holding its image: removed with it, as a hot-plugged one's. */
  fdsets: readonly number[];
}

// Registers each restored hot-plugged drive, so vm.detach(id) removes it like a hot-plugged
// one: device_del, then blockdev-del of its nodes, remove-fd of its fdsets, the port released.
export function adoptRestoredDrives(
  ctx: HotplugContext,
  drives: readonly RestoredDrive[],
  devices: readonly QemuDevice[],
): void {
  for (const { spec, bus, fdsets } of drives) {
    const ids = driveQemuIds(spec.id);
    const cleanup = new UndoStack();
    cleanup.push(`release ${bus}`, () => ctx.registry.releaseSlot(bus));
    for (const fdset of fdsets) {
      cleanup.push(`remove-fd ${fdset}`, () =>
        removeQuietly(ctx, 'remove-fd', { 'fdset-id': fdset }),
      );
    }
    // Block nodes in creation order, so that unwinding removes the top node first.
    const nodeIds = new Set([ids.baseFile, ids.base, ids.file, ids.format]);
    for (const node of devices.filter((d) => nodeIds.has(d.id))) {
      for (const removal of node.toQmpRemove().reverse()) {
        cleanup.push(`${removal.execute} ${node.id}`, () =>
          removeQuietly(ctx, removal.execute, removal.arguments),
        );
      }
    }
    const drive: HotpluggedDrive = {
      kind: 'drive',
      id: spec.id,
      serial: spec.serial ?? spec.id,
      bus,
      spec,
      timings: { host: 0, qmp: 0 },
    };
    ctx.registry.adopt({ nic: drive, deviceId: ids.device, state: 'attached', cleanup }, bus);
  }
}

// The restored drives of a launch: those `buses` places on a root port, with the fdsets the
// command line gave their images (the one numbering rule, driveFdsets).
export function restoredDrives(
  buses: Readonly<Record<string, string>>,
  specs: readonly DriveSpec[],
  configs: readonly DriveConfig[],
): RestoredDrive[] {
  const sets = driveFdsets(configs);
  return Object.entries(buses).flatMap(([id, bus]) => {
    const spec = specs.find((s) => s.id === id);
    if (!spec) return [];
    const fdsets = sets.filter((s) => s.driveId === id).map((s) => s.set);
    return [{ spec: { ...spec, id }, bus, fdsets }];
  });
}
