// Rate limits of a running NIC: the host side vmlaunch attached for it changes its token
// buckets (network/endpoints/rate-limit.ts); QEMU is not involved.
import type { AttachedEndpoint } from '../../network/endpoints/attach-types.js';
import type { NicRate, NicRateChange } from '../../network/endpoints/rate-limit.js';
import { HotplugStateError } from '../hotplug/errors.js';
import type { FoundNic } from './find-nic.js';

// Only a tap- or macvtap-backed NIC whose host side vmlaunch made has links to shape.
/**
 * Applies `change` to the NIC's limits and returns those in force.
 * @throws HotplugStateError NIC_NO_RATE_CONTROL (VFIO, vhost-user, or a HostNic the caller
 *   attached); ValidationError, UnsupportedError, StepError from the host side.
 */
export async function setNicRate(
  nic: FoundNic,
  attached: AttachedEndpoint | undefined,
  change: NicRateChange,
): Promise<NicRate> {
  if (attached?.setRate === undefined) {
    const why =
      nic.backend === 'vfio'
        ? 'a VFIO pass-through'
        : attached === undefined
          ? 'backed by a host NIC the caller attached, not vmlaunch'
          : `backed by ${attached.hostNic.kind}`;
    throw new HotplugStateError(
      `NIC ${nic.id} has no host-side rate control: it is ${why} (docs/nic-control.md)`,
      'NIC_NO_RATE_CONTROL',
    );
  }
  return attached.setRate(change);
}
