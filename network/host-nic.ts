// What an attached endpoint hands to the launcher: everything QEMU needs to back one guest NIC.
// The caller owns every fd in it and closes them (after passing them to QEMU).

/** Whether vhost-net backs a tap NIC, and if not, why not (it is never turned off silently). */
export interface VhostState {
  enabled: boolean;
  reason?: string;
}

/** A NIC backed by tap or macvtap queue fds (tap netdev). */
export interface TapHostNic {
  kind: 'tap';
  /** Unique id of this NIC within a VM; QEMU ids derive from it. */
  id: string;
  /** Guest MAC address. */
  mac: string;
  mtu: number;
  /** One fd per queue, in queue order. */
  tapFds: number[];
  /** One /dev/vhost-net fd per queue when vhost.enabled, else empty. */
  vhostFds: number[];
  vhost: VhostState;
  /** Host-side interface the fds belong to (tap or macvtap name), for logs and checks. */
  ifname: string;
  /** Path of the netns the interface lives in; undefined for the caller's netns. */
  netns?: string;
}

/** A NIC served by a vhost-user backend over a unix socket. */
export interface VhostUserHostNic {
  kind: 'vhost-user';
  id: string;
  mac: string;
  mtu?: number;
  queues: number;
  socketPath: string;
  /** 'client': QEMU connects to the backend's socket; 'server': QEMU listens on it. */
  mode: 'client' | 'server';
}

/** A physical PCI function passed through with VFIO. */
export interface VfioHostNic {
  kind: 'vfio';
  id: string;
  /** Full PCI address, e.g. 0000:01:00.0. */
  pciAddress: string;
}

/** Every kind of host-side NIC the launcher turns into QEMU devices. */
export type HostNic = TapHostNic | VhostUserHostNic | VfioHostNic;

/** Queue count of a NIC (1 for VFIO). */
export function queueCount(nic: HostNic): number {
  switch (nic.kind) {
    case 'tap':
      return nic.tapFds.length;
    case 'vhost-user':
      return nic.queues;
    case 'vfio':
      return 1;
  }
}

// The launcher passes these to QEMU (at launch, or with getfd at hot-plug) and closes its own.
/** The fds a HostNic carries: tap queue fds then vhost-net fds; none for vhost-user or VFIO. */
export function hostNicFds(nic: HostNic): number[] {
  return nic.kind === 'tap' ? [...nic.tapFds, ...nic.vhostFds] : [];
}
