// Decoding RTM_NEWLINK messages (struct ifinfomsg + IFLA_* attributes, include/uapi/linux/
// if_link.h) into plain Link objects.
import { bytesToMac } from '../validate.js';
import { attrMap, readS32, readString, readU32, readU8 } from './attributes.js';
import {
  IFF_LOWER_UP,
  IFF_UP,
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_BR_MCAST_SNOOPING,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_STATS64,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINK_NETNSID,
  IFLA_LINKINFO,
  IFLA_MACVLAN_MODE,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_TXQLEN,
  IFLA_OPERSTATE,
  MACVLAN_MODE_BRIDGE,
  MACVLAN_MODE_PASSTHRU,
  MACVLAN_MODE_PRIVATE,
  MACVLAN_MODE_VEPA,
  OPERSTATES,
} from './constants.js';
import { decodeStats64, type LinkStats } from './link-stats.js';
import type { NetlinkMessage } from './message.js';
import { decodeIfInfoMsg } from './message.js';

/** macvlan / macvtap modes (if_link.h, enum macvlan_mode), by name. */
export const MACVLAN_MODES = {
  private: MACVLAN_MODE_PRIVATE,
  vepa: MACVLAN_MODE_VEPA,
  bridge: MACVLAN_MODE_BRIDGE,
  passthru: MACVLAN_MODE_PASSTHRU,
} as const;

/** A macvlan / macvtap mode name. */
export type MacvlanMode = keyof typeof MACVLAN_MODES;

/** A network interface as the kernel reports it. */
export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND ('veth', 'bridge', 'macvtap'...); undefined for lo and physical NICs. */
  kind: string | undefined;
  /** IFLA_INFO_SLAVE_KIND when enslaved ('bridge' for a bridge port). */
  slaveKind: string | undefined;
  mtu: number;
  /** Transmit queue length (txqueuelen). */
  txqlen: number;
  /** Hardware address; undefined for links without one (not 6 bytes are shown as-is). */
  mac: string | undefined;
  /** Raw IFF_* flags. */
  flags: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFF_LOWER_UP). */
  lowerUp: boolean;
  /** RFC 2863 operstate ('up', 'down', 'lowerlayerdown', 'unknown'...). */
  operstate: string;
  /** IFLA_MASTER: the bridge (or bond) this link is enslaved to. */
  masterIndex: number | undefined;
  /** IFLA_LINK for stacked links (macvlan/macvtap parent); undefined for veth. */
  parentIndex: number | undefined;
  /** For a veth, the peer's ifindex (IFLA_LINK), in the netns of `linkNetnsId` if set. */
  peerIndex: number | undefined;
  /** IFLA_LINK_NETNSID: the peer/parent lives in another netns (its id in ours). */
  linkNetnsId: number | undefined;
  /** IFLA_IFALIAS. */
  alias: string | undefined;
  /** macvlan/macvtap mode from IFLA_INFO_DATA. */
  macvlanMode: MacvlanMode | undefined;
  /** bridge multicast snooping from IFLA_INFO_DATA. */
  mcastSnooping: boolean | undefined;
  /** The link's counters (IFLA_STATS64), from the link's own point of view. */
  stats?: LinkStats;
}

// Maps a kernel macvlan mode number back to its name.
function macvlanModeName(mode: number | undefined): MacvlanMode | undefined {
  const hit = Object.entries(MACVLAN_MODES).find(([, v]) => v === mode);
  return hit?.[0] as MacvlanMode | undefined;
}

// Decodes one RTM_NEWLINK message.
export function decodeLink(message: NetlinkMessage): Link {
  const p = message.payload;
  const info = decodeIfInfoMsg(p);
  const attrs = attrMap(p, IFINFOMSG_LEN);
  const linkInfo = attrs.has(IFLA_LINKINFO) ? attrMap(attrs.get(IFLA_LINKINFO)!) : undefined;
  const kind = readString(linkInfo?.get(IFLA_INFO_KIND));
  const data = linkInfo?.has(IFLA_INFO_DATA) ? attrMap(linkInfo.get(IFLA_INFO_DATA)!) : undefined;
  const mac = attrs.get(IFLA_ADDRESS);
  const link = readU32(attrs.get(IFLA_LINK));
  const operstate = readU8(attrs.get(IFLA_OPERSTATE)) ?? 0;
  const isMacvlan = kind === 'macvlan' || kind === 'macvtap';
  const snooping = kind === 'bridge' ? readU8(data?.get(IFLA_BR_MCAST_SNOOPING)) : undefined;
  return {
    index: info.index,
    name: readString(attrs.get(IFLA_IFNAME)) ?? '',
    kind,
    slaveKind: readString(linkInfo?.get(IFLA_INFO_SLAVE_KIND)),
    mtu: readU32(attrs.get(IFLA_MTU)) ?? 0,
    txqlen: readU32(attrs.get(IFLA_TXQLEN)) ?? 0,
    mac: mac !== undefined && mac.length > 0 ? bytesToMac(mac) : undefined,
    flags: info.flags,
    up: (info.flags & IFF_UP) !== 0,
    lowerUp: (info.flags & IFF_LOWER_UP) !== 0,
    operstate: OPERSTATES[operstate] ?? `unknown(${operstate})`,
    masterIndex: readU32(attrs.get(IFLA_MASTER)) || undefined,
    parentIndex: kind === 'veth' ? undefined : link,
    peerIndex: kind === 'veth' ? link : undefined,
    linkNetnsId: readS32(attrs.get(IFLA_LINK_NETNSID)),
    alias: readString(attrs.get(IFLA_IFALIAS)),
    macvlanMode: isMacvlan ? macvlanModeName(readU32(data?.get(IFLA_MACVLAN_MODE))) : undefined,
    mcastSnooping: snooping === undefined ? undefined : snooping !== 0,
    ...(attrs.has(IFLA_STATS64) ? { stats: decodeStats64(attrs.get(IFLA_STATS64)!) } : {}),
  };
}
