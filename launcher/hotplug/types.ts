// The hot-plug contract: what vm.attach() takes and returns, and what vm.detach() reports.
import type { AttachedEndpoint } from '../../network/endpoints/attach-types.js';
import type { NicRate } from '../../network/endpoints/rate-limit.js';
import type { Endpoint } from '../../network/endpoints/types.js';
import type { HostNic } from '../../network/host-nic.js';
import type { GuestDns, NetworkConfigV2 } from '../seed/network-config.js';
import type { DriveSpec } from '../workload/drive-spec.js';

/** What to hot-plug: an endpoint vmlaunch attaches (host side) first, or a ready HostNic. */
export type HotplugSource = { endpoint: Endpoint; netns?: string } | { nic: HostNic };

/** Options of vm.attach(). */
export interface AttachOptions {
  /** NIC id, unique in the VM; default hp0, hp1, ... */
  id?: string;
  /** Overall deadline in ms (default 30 s). */
  timeout?: number;
  /**
   * Aborting ends the attach at its next await point: whatever was done is undone (a device
   * QEMU may already hold goes through detach, which can leave it a pending unplug), and it
   * rejects with a HotplugError coded ABORTED naming the step. No effect once resolved.
   */
  signal?: AbortSignal;
  /** Wait until the guest kernel has bound the device (default true when the VM has a guest shell). */
  waitForGuest?: boolean;
  /** Rate limits per direction, set on the host side before QEMU sees the NIC (an endpoint
   *  source only; docs/nic-control.md). */
  rate?: NicRate;
  /**
   * Apply the NIC's guest network (its endpoint's addresses, routes, MTU) in the default guest
   * through its console harness before attach resolves, and undo it at detach (default true
   * when attach waits for the guest and the endpoint carries addresses; docs/guest-network.md).
   */
  configureGuest?: boolean;
  /** Resolver entries added to the guest with this NIC (removed again at detach). */
  dns?: GuestDns;
}

/** Milliseconds spent in each phase of an attach. */
export interface AttachTimings {
  host: number;
  qmp: number;
  guest?: number;
  /** Applying the NIC's guest network (configureGuest). */
  configure?: number;
}

/** A NIC hot-plugged into a running VM. */
export interface HotpluggedNic {
  id: string;
  mac: string;
  /** The root port (q35) it sits on. */
  bus: string;
  /** The host side, when vmlaunch attached it (detached again by vm.detach). */
  attached?: AttachedEndpoint;
  /** The guest's name for the NIC (e.g. eth1), when attach waited for the guest to see it. */
  guestIfname?: string;
  /** The NIC's guest-side network (when its endpoint carries addresses), and whether vmlaunch
   *  applied it in the guest (configureGuest). */
  guestNetwork?: { config: NetworkConfigV2; applied: boolean };
  timings: AttachTimings;
}

/** A drive hot-plugged into a running VM. */
export interface HotpluggedDrive {
  kind: 'drive';
  id: string;
  /** virtio-blk serial: the guest shows it in /sys/block/vdX/serial. */
  serial: string;
  /** The root port it sits on. */
  bus: string;
  /** The drive as plugged: the spec given, with its id, serial, absolute path and format in
   *  force (what a snapshot records to put it back). */
  spec: DriveSpec;
  /** The guest's name for the disk (e.g. vdb), when attach waited for the guest to see it. */
  guestDevice?: string;
  timings: AttachTimings;
}

/** Anything hot-plugged: a NIC or a drive. */
export type Hotplugged = HotpluggedNic | HotpluggedDrive;

/** Options of vm.detach(). */
export interface DetachOptions {
  /** How long to wait for DEVICE_DELETED (default 10 s; native PCIe unplug takes seconds). */
  timeout?: number;
  /**
   * Aborting stops the wait. Before QEMU accepted device_del it rejects with a HotplugError
   * coded ABORTED and the NIC is as it was; after, the result is 'pending' (the guest
   * may still release the device; the host side goes only then, or at VM exit).
   */
  signal?: AbortSignal;
}

/** What a detach did. `pending`: the guest has not released the device by the deadline. */
export type DetachResult =
  | { status: 'removed'; id: string; ms: number }
  | {
      status: 'pending';
      id: string;
      ms: number;
      /** What state VM and host are in, and how to finish (a late DEVICE_DELETED completes it). */
      explanation: string;
      /** Resolves when the late DEVICE_DELETED (or VM exit) finally completes the removal. */
      completion: Promise<void>;
    };
