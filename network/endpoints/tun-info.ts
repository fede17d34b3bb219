// What the kernel says about an existing tun/tap (IFLA_INFO_DATA of kind "tun",
// drivers/net/tun.c tun_fill_info, since Linux 4.15): its type, whether it is persistent and
// multi-queue, and how many queues are attached. LinkApi does not decode these; this does.
import { attrMap, readU32, readU8 } from '../netlink/attributes.js';
import {
  IFINFOMSG_LEN,
  IFLA_INFO_DATA,
  IFLA_LINKINFO,
  RTM_GETLINK,
  RTM_NEWLINK,
} from '../netlink/constants.js';
import type { NetlinkClient } from '../netlink/index.js';
import { decodeLink } from '../netlink/link-parse.js';
import type { Link } from '../netlink/index.js';
import { linkRefBody, noLinkSent } from '../netlink/link-requests.js';

/** IFLA_TUN_* (include/uapi/linux/if_link.h). */
const IFLA_TUN_TYPE = 3;
const IFLA_TUN_PERSIST = 6;
const IFLA_TUN_MULTI_QUEUE = 7;
const IFLA_TUN_NUM_QUEUES = 8;
/** IFF_TAP (if_tun.h). */
const IFF_TAP = 0x0002;

/** A tun/tap link with its tun attributes. */
export interface TunLink extends Link {
  tun:
    { tap: boolean; persistent: boolean; multiQueue: boolean; attachedQueues: number } | undefined;
}

// Preflight checks on an existing tap need its multi_queue flag before TUNSETIFF says EINVAL.
/**
 * Reads link `name` with its tun attributes (undefined `tun` for other kinds).
 * @throws {NetlinkError} ENODEV when there is no such link.
 */
export async function readTunLink(nl: NetlinkClient, name: string): Promise<TunLink> {
  const parts = await nl.socket.request(RTM_GETLINK, 0, linkRefBody(name), `link get ${name}`);
  const message = parts.find((m) => m.type === RTM_NEWLINK);
  if (message === undefined) throw noLinkSent(name);
  const link = decodeLink(message);
  if (link.kind !== 'tun') return { ...link, tun: undefined };
  const attrs = attrMap(message.payload, IFINFOMSG_LEN);
  const info = attrs.get(IFLA_LINKINFO);
  const data = info === undefined ? undefined : attrMap(info).get(IFLA_INFO_DATA);
  const tun = data === undefined ? new Map<number, Buffer>() : attrMap(data);
  return {
    ...link,
    tun: {
      tap: readU8(tun.get(IFLA_TUN_TYPE)) === IFF_TAP,
      persistent: readU8(tun.get(IFLA_TUN_PERSIST)) === 1,
      multiQueue: readU8(tun.get(IFLA_TUN_MULTI_QUEUE)) === 1,
      attachedQueues: readU32(tun.get(IFLA_TUN_NUM_QUEUES)) ?? 0,
    },
  };
}
