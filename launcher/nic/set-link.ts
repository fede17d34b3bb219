// Link down/up of a running NIC through QMP set_link on its guest-facing device: QEMU drops the
// virtio-net link status (the guest sees carrier go) and its netdev peer with it.
import type { CallOptions, QmpClient } from '../qmp/index.js';
import { HotplugStateError } from '../hotplug/errors.js';
import type { FoundNic } from './find-nic.js';

// One set_link; a passed-through NIC has no QEMU link to set.
/** @throws HotplugStateError NIC_NO_LINK_CONTROL for a VFIO NIC; QMP errors as they come. */
export async function setNicLink(
  qmp: Pick<QmpClient, 'execute'>,
  nic: FoundNic,
  up: boolean,
  options?: CallOptions,
): Promise<void> {
  if (nic.backend === 'vfio') {
    throw new HotplugStateError(
      `NIC ${nic.id} is a VFIO pass-through: QEMU cannot set its link (the device's own driver does)`,
      'NIC_NO_LINK_CONTROL',
    );
  }
  await qmp.execute('set_link', { name: nic.deviceId, up }, options);
}
