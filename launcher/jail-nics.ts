// NICs QEMU's jail cannot serve, refused up front (launch) or before any host change (hot-plug),
// each with the reason it cannot be done by fd in QEMU 7.2 (docs/confinement.md):
// - vhost-user: vmlaunch could connect (or listen) and pass the socket as `-chardev socket,fd=N`
//   (char-socket.c accepts a connected or listening fd), but the vhost-user netdev then refuses
//   it: net/vhost-user.c requires QEMU_CHAR_FEATURE_FD_PASS, which char-socket.c sets only for an
//   address of type unix (a path), never for type fd ("chardev ... does not support FD passing",
//   seen with QEMU 7.2). By path, a backend's socket (root's, mode 0755 by umask, in a 0700
//   directory) is one the jail's own uid may not connect to, nor create in server mode.
// - VFIO: vfio-pci has no fd= for the device in 7.2; QEMU opens /dev/vfio/N and the device's
//   sysfs directory by path.
import { ValidationError } from '../core/index.js';
import type { HostNic } from '../network/host-nic.js';
import type { Endpoint } from '../network/endpoints/types.js';

const VHOST_USER =
  "QEMU 7.2's vhost-user netdev needs its socket by path (a passed fd lacks the fd-passing " +
  'feature it requires), and a path is closed to the jail';
const VFIO =
  "QEMU 7.2's vfio-pci takes no fd: it opens /dev/vfio/N and the device in sysfs by path, " +
  'which the jail does not expose';

// The one error for both: which NIC, why, and what to do.
function refuse(field: string, what: string, why: string): never {
  throw new ValidationError(field, what, `${why}: pass confine: false`, 'JAIL_NIC');
}

/** @throws ValidationError JAIL_NIC for a vhost-user or physical (VFIO) endpoint. */
export function checkJailEndpoint(endpoint: Endpoint, field: string): void {
  if (endpoint.kind === 'vhost-user') refuse(field, endpoint.socketPath, VHOST_USER);
  if (endpoint.kind === 'physical') refuse(field, endpoint.pciAddress, VFIO);
}

/** @throws ValidationError JAIL_NIC for a vhost-user or VFIO HostNic. */
export function checkJailHostNic(nic: HostNic, field: string): void {
  if (nic.kind === 'vhost-user') refuse(field, nic.socketPath, VHOST_USER);
  if (nic.kind === 'vfio') refuse(field, nic.pciAddress, VFIO);
}
