// NICs that were hot-plugged before a snapshot come back cold-plugged on their root ports;
// here they join the restored VM's hot-plug registry, so vm.detach(id) removes them like any
// hot-plugged NIC: device_del, then netdev_del, the host side and the root port's release.
import { UndoStack } from '../../core/index.js';
import type { AttachedEndpoint } from '../../network/endpoints/attach-types.js';
import type { QemuDevice } from '../devices/types.js';
import { nicQemuIds } from '../devices/nic-devices.js';
import { removeQuietly, type HotplugContext } from '../hotplug/context.js';
import type { HotpluggedNic } from '../hotplug/types.js';

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
