// Which NIC of a running VM an id names, cold- or hot-plugged, and its QEMU ids: the one lookup
// behind live NIC control (link state, counters), so every control refuses the same ids.
import { nicQemuIds } from '../devices/nic-devices.js';
import type { QemuDevice } from '../devices/types.js';
import { HotplugStateError } from '../hotplug/errors.js';
import type { HotplugRegistry } from '../hotplug/registry.js';
import type { HostNic } from '../../network/host-nic.js';

/** A NIC found by id: how it was plugged, what backs it, and its QEMU device id. */
export interface FoundNic {
  id: string;
  plug: 'cold' | 'hot';
  /** 'vfio': a passed-through function, which QEMU has no link or filter control over. */
  backend: 'virtio-net' | 'vfio';
  /** The guest-facing device (what set_link and query-rx-filter name). */
  deviceId: string;
  /** The host side, when vmlaunch attached it (tap name and netns for counters). */
  hostNic?: HostNic;
}

// Looks `id` up among the cold-plugged devices and the attached hot-plugged NICs.
/** @throws HotplugStateError NIC_UNKNOWN (no such NIC, a drive, or one being unplugged). */
export function findNic(
  id: string,
  devices: readonly QemuDevice[],
  coldHostNics: readonly HostNic[],
  registry: HotplugRegistry,
): FoundNic {
  const deviceId = nicQemuIds(id).device;
  const cold = devices.find(
    (d) => d.id === deviceId && (d.kind === 'virtio-net' || d.kind === 'vfio-pci'),
  );
  if (cold !== undefined) {
    const hostNic = coldHostNics.find((n) => n.id === id);
    return {
      id,
      plug: 'cold',
      backend: cold.kind === 'vfio-pci' ? 'vfio' : 'virtio-net',
      deviceId,
      ...(hostNic !== undefined ? { hostNic } : {}),
    };
  }
  const record = registry.get(id);
  if (record !== undefined && !('kind' in record.nic) && record.state === 'attached') {
    const hostNic = record.nic.attached?.hostNic;
    return {
      id,
      plug: 'hot',
      // vfio NICs carry no MAC of their own (see hotplug/attach.ts).
      backend: record.nic.mac === '' ? 'vfio' : 'virtio-net',
      deviceId: record.deviceId,
      ...(hostNic !== undefined ? { hostNic: { ...hostNic, id } } : {}),
    };
  }
  const known = [
    ...devices.filter((d) => d.kind === 'virtio-net' || d.kind === 'vfio-pci').map((d) => d.id),
    ...registry
      .list()
      .filter((r) => !('kind' in r.nic) && r.state === 'attached')
      .map((r) => r.deviceId),
  ].map((d) => d.replace(/^nic-/, ''));
  const list = known.length === 0 ? 'it has none' : `its NICs: ${known.join(', ')}`;
  throw new HotplugStateError(`the VM has no NIC with id ${id} (${list})`, 'NIC_UNKNOWN');
}
