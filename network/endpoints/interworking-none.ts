// The none model: only a tap, next to the veth but not joined to it. Whoever chose it wires the
// tap (routing, nftables...) themselves; the guest still defaults to the veth's MAC and MTU.
import type { TapHostNic } from '../host-nic.js';
import type { Link } from '../netlink/index.js';
import type { AttachRun } from './attach-run.js';
import { createTap, vethTapNic } from './host-tap.js';
import type { VethEndpoint } from './types.js';

// No interworking: a tap for the guest, nothing else touched.
/**
 * Creates the tap of the none model and returns the HostNic.
 * @throws {StepError} 'open tap', 'set tap alias', 'set tap mtu', 'set tap up', 'open vhost-net'.
 */
export async function attachNone(
  run: AttachRun,
  endpoint: VethEndpoint,
  veth: Link,
): Promise<TapHostNic> {
  const queues = endpoint.queues ?? 1;
  const mtu = endpoint.mtu ?? veth.mtu;
  const tap = await createTap(run, queues, mtu);
  return vethTapNic(run, endpoint, veth, tap, queues, mtu);
}
