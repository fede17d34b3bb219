// Per-NIC counters of a running VM: the host side's link counters (IFLA_STATS64 of the tap or
// macvtap, read with our netlink client) turned into the guest's direction, plus QEMU's
// query-rx-filter for the guest-facing device (its MAC and receive filter tables).
import { openNetlink, type Link, type NetlinkClient } from '../../network/netlink/index.js';
import type { CallOptions, QmpClient } from '../qmp/index.js';
import { HotplugStateError } from '../hotplug/errors.js';
import type { FoundNic } from './find-nic.js';

/** Host-side counters of one NIC, in the guest's direction (rx: what the guest received). */
export interface NicCounters {
  /** The host link they were read from (tap or macvtap). */
  ifname: string;
  rxBytes: number;
  rxPackets: number;
  rxDropped: number;
  rxErrors: number;
  txBytes: number;
  txPackets: number;
  txDropped: number;
  txErrors: number;
}

/** A NIC's counters and receive filter. */
export interface NicStats {
  id: string;
  /** Absent when vmlaunch holds no host link for the NIC (vhost-user: its backend counts). */
  host?: NicCounters;
  /** QEMU's query-rx-filter entry for the NIC's device (RxFilterInfo, as QEMU returns it). */
  rxFilter: Record<string, unknown>;
}

// A tap transmits what the guest receives; a macvtap counts as the guest does (its fd side is
// the macvlan's upper end: what it receives goes to the guest, what the guest sends it transmits).
export function guestCounters(link: Link): NicCounters {
  const s = link.stats;
  if (s === undefined) {
    throw new HotplugStateError(`link ${link.name} reports no counters`, 'NIC_NO_COUNTERS');
  }
  const same = link.kind === 'macvtap';
  const [rx, tx] = same
    ? [
        [s.rxBytes, s.rxPackets, s.rxDropped, s.rxErrors],
        [s.txBytes, s.txPackets, s.txDropped, s.txErrors],
      ]
    : [
        [s.txBytes, s.txPackets, s.txDropped, s.txErrors],
        [s.rxBytes, s.rxPackets, s.rxDropped, s.rxErrors],
      ];
  return {
    ifname: link.name,
    rxBytes: rx[0]!,
    rxPackets: rx[1]!,
    rxDropped: rx[2]!,
    rxErrors: rx[3]!,
    txBytes: tx[0]!,
    txPackets: tx[1]!,
    txDropped: tx[2]!,
    txErrors: tx[3]!,
  };
}

// Reads both views of one NIC; `open` is the netlink opener (a seam for unit tests).
/** @throws HotplugStateError NIC_NO_COUNTERS for a VFIO NIC; netlink and QMP errors as they come. */
export async function readNicStats(
  qmp: Pick<QmpClient, 'execute'>,
  nic: FoundNic,
  options?: CallOptions,
  open: (netns?: string) => NetlinkClient = openNetlink,
): Promise<NicStats> {
  if (nic.backend === 'vfio') {
    throw new HotplugStateError(
      `NIC ${nic.id} is a VFIO pass-through: neither QEMU nor a host link sees its traffic`,
      'NIC_NO_COUNTERS',
    );
  }
  const filters = await qmp.execute<Array<Record<string, unknown>>>(
    'query-rx-filter',
    { name: nic.deviceId },
    options,
  );
  const stats: NicStats = { id: nic.id, rxFilter: filters[0] ?? {} };
  if (nic.hostNic?.kind === 'tap') {
    const netlink = open(nic.hostNic.netns);
    try {
      stats.host = guestCounters(await netlink.links.get(nic.hostNic.ifname));
    } finally {
      await netlink.close();
    }
  }
  return stats;
}
