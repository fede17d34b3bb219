// vmlaunch/native: the addon's fd primitives — netns, netlink sockets, tap/macvtap/vhost-net
// fds, SCM_RIGHTS, detached closes — for callers who hand fds to a QEMU of their own.
// Mount and device-node syscalls stay internal. docs/api.md.

export {
  errnoName,
  netnsCreate,
  netnsCreateAnonymous,
  netlinkOpen,
  tapOpen,
  macvtapOpen,
  vhostNetOpen,
  sendFds,
  pidfdOpen,
  pidfdSignal,
  pidfdExited,
  recvFds,
  recvNow,
  socketpair,
  closeFd,
  closeAll,
  closeDetached,
  detachedInFlight,
  detachedFailures,
  sendDetached,
  type TapOpenOptions,
} from '../native/index.js';
export type { NetlinkOpenOptions } from '../native/binding-types.js';
export { NativeError } from '../native/errors.js';
export { VmlaunchError } from '../core/index.js';
