// The link facts scan needs beyond what LinkApi.list() decodes, from the same RTM_GETLINK dump:
// whether a 'tun' link is a tap or an L3 tun (IFLA_TUN_TYPE inside IFLA_INFO_DATA,
// drivers/net/tun.c tun_fill_info), and the device behind a NIC (IFLA_PARENT_DEV_NAME and
// IFLA_PARENT_DEV_BUS_NAME, Linux 5.15+). The parent comes from rtnetlink rather than from
// /sys/class/net because sysfs shows the links of the netns that mounted it, not of the netns
// being scanned.
import { attrMap, readString, readU8 } from '../netlink/attributes.js';
import {
  IFINFOMSG_LEN,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  RTM_GETLINK,
  RTM_NEWLINK,
} from '../netlink/constants.js';
import type { NetlinkClient } from '../netlink/index.js';
import type { Link } from '../netlink/index.js';
import { decodeLink } from '../netlink/link-parse.js';
import type { NetlinkMessage } from '../netlink/message.js';
import { encodeIfInfoMsg } from '../netlink/message.js';

/** if_link.h: IFLA_PARENT_DEV_NAME, IFLA_PARENT_DEV_BUS_NAME (enum IFLA_*). */
export const IFLA_PARENT_DEV_NAME = 56;
export const IFLA_PARENT_DEV_BUS_NAME = 57;
/** if_link.h, enum IFLA_TUN_*: IFLA_TUN_TYPE is a u8 holding IFF_TUN or IFF_TAP. */
export const IFLA_TUN_TYPE = 3;
/** if_tun.h. */
export const IFF_TUN = 0x1;
export const IFF_TAP = 0x2;
/** if.h: IFF_LOOPBACK. */
export const IFF_LOOPBACK = 0x8;

/** A link as scan sees it. */
export interface ScannedLink extends Link {
  /** For kind 'tun': 'tap' (L2) or 'tun' (L3). */
  tunType: 'tap' | 'tun' | undefined;
  /** The device behind a NIC, e.g. { bus: 'pci', name: '0000:01:00.0' } or virtio. */
  parent: { bus: string; name: string } | undefined;
  loopback: boolean;
}

// Decodes one RTM_NEWLINK with the extra attributes scan needs.
export function decodeScannedLink(message: NetlinkMessage): ScannedLink {
  const link = decodeLink(message);
  const attrs = attrMap(message.payload, IFINFOMSG_LEN);
  const info = attrs.has(IFLA_LINKINFO) ? attrMap(attrs.get(IFLA_LINKINFO)!) : undefined;
  const kind = readString(info?.get(IFLA_INFO_KIND));
  const data = info?.has(IFLA_INFO_DATA) ? attrMap(info.get(IFLA_INFO_DATA)!) : undefined;
  const tunFlag = kind === 'tun' ? readU8(data?.get(IFLA_TUN_TYPE)) : undefined;
  const bus = readString(attrs.get(IFLA_PARENT_DEV_BUS_NAME));
  const name = readString(attrs.get(IFLA_PARENT_DEV_NAME));
  return {
    ...link,
    tunType: tunFlag === IFF_TAP ? 'tap' : tunFlag === IFF_TUN ? 'tun' : undefined,
    parent: bus !== undefined && name !== undefined ? { bus, name } : undefined,
    loopback: (link.flags & IFF_LOOPBACK) !== 0,
  };
}

// One dump gives every link with the attributes scan classifies by.
/**
 * Lists the links of the client's netns with tun type and parent device.
 * @throws {NetlinkError} when the dump fails.
 */
export async function listScannedLinks(client: NetlinkClient): Promise<ScannedLink[]> {
  const parts = await client.socket.dump(RTM_GETLINK, [encodeIfInfoMsg()], 'link list');
  return parts.filter((m) => m.type === RTM_NEWLINK).map(decodeScannedLink);
}
