// The contract every endpoint kind's attach implements: prepare the host side inside a netns,
// hand back a HostNic, and an exact inverse that leaves the netns as it was before attach.
import type { HostNic } from '../host-nic.js';
import type { NetlinkClient } from '../netlink/index.js';
import type { NicRate, NicRateChange } from './rate-limit.js';
import type { Endpoint } from './types.js';

/** Whether to back tap NICs with vhost-net: 'auto' uses it when /dev/vhost-net exists. */
export type VhostNetPolicy = 'auto' | 'off' | 'require';

/** Where and how to attach. */
export interface AttachContext {
  /** Netns name (under /run/netns) or path; undefined for the caller's netns. */
  netns?: string;
  /** Unique id of the guest NIC within its VM (QEMU ids derive from it). */
  nicId: string;
  /**
   * Distinguishes VMs whose NICs share a netns (NIC ids repeat across VMs: net0, hp0...); it
   * goes into the names of the links attach creates. launch() and hot-plug pass the VM's id.
   */
  owner?: string;
  /**
   * The crash journal's directory (default defaultJournalDir(): /run/vmlaunch/.journal as
   * root); false: none. Models that change a link they do not own write an entry there first.
   */
  journal?: string | false;
  /** Rate limits per direction, set as the last step (tap-backed NICs; docs/nic-control.md). */
  rate?: NicRate;
  /** An open netlink client in that netns; attach opens (and closes) its own when absent. */
  netlink?: NetlinkClient;
  vhostNet?: VhostNetPolicy;
  /** The uid QEMU will run as (launch's runAs); default ours. A vhost-user backend socket
   *  QEMU connects to must belong to root or to this uid. */
  qemuUid?: number;
  /** Root of sysfs (default /sys), so VFIO plumbing is testable on a fake tree. */
  sysfsRoot?: string;
  signal?: AbortSignal;
}

/** An attached endpoint: what QEMU needs, and how to take the host side down again. */
export interface AttachedEndpoint {
  endpoint: Endpoint;
  /** fds in here belong to the caller, who closes them (after passing them to QEMU). */
  hostNic: HostNic;
  /**
   * Undoes every host-side change attach made, in reverse; safe to call after QEMU (and so the
   * tap) is gone; a second call does nothing. Does not close the HostNic's fds.
   */
  detach(): Promise<void>;
  /**
   * Present for tap-backed NICs: changes the rate limits live (see NicRateChange) and returns
   * those in force; refused after detach. Detach removes whatever limits are in force then.
   */
  setRate?(change: NicRateChange): Promise<NicRate>;
}

/** The signature of one kind's attach function. */
export type AttachFn<E extends Endpoint> = (
  endpoint: E,
  ctx: AttachContext,
) => Promise<AttachedEndpoint>;
