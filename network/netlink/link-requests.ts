// Request bodies for RTM_NEWLINK / RTM_SETLINK / RTM_DELLINK / RTM_GETLINK: an ifinfomsg and
// IFLA_* attributes (include/uapi/linux/if_link.h). Pure: validated input in, Buffers out.
import { VmlaunchError } from '../../core/index.js';
import { macToBytes } from '../validate.js';
import { encodeAttr, nestAttr, stringAttr, u32Attr, u8Attr } from './attributes.js';
import {
  IFLA_ADDRESS,
  IFLA_BR_MCAST_SNOOPING,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_MACVLAN_MODE,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  VETH_INFO_PEER,
} from './constants.js';
import type { IfInfoMsg } from './message.js';
import { encodeIfInfoMsg } from './message.js';

/** A link named by its interface name or its ifindex. */
export type LinkRef = string | number;

// Addresses an existing link: by ifindex in the ifinfomsg, or by IFLA_IFNAME (the kernel looks
// a name up when ifi_index is 0, see rtnl_dev_get() in net/core/rtnetlink.c).
export function linkRefBody(
  ref: LinkRef,
  ifi: Partial<IfInfoMsg> = {},
  attrs: Buffer[] = [],
): Buffer[] {
  if (typeof ref === 'number') return [encodeIfInfoMsg({ ...ifi, index: ref }), ...attrs];
  return [encodeIfInfoMsg(ifi), stringAttr(IFLA_IFNAME, ref), ...attrs];
}

// A get that the kernel answered without an RTM_NEWLINK breaks rtnetlink's contract: say so
// with a code rather than decode nothing.
/** The error for an RTM_GETLINK answered without a link (code NETLINK_NO_LINK). */
export function noLinkSent(ref: LinkRef): VmlaunchError {
  return new VmlaunchError(`link get ${ref}: the kernel sent no link`, 'NETLINK_NO_LINK');
}

/** Common attributes of a new link. */
export interface NewLinkFields {
  name: string;
  mtu?: number | undefined;
  mac?: string | undefined;
  /** IFLA_LINK: the lower device of a macvlan/macvtap. */
  parentIndex?: number | undefined;
  /** IFLA_NET_NS_FD: create the link directly in that netns. */
  netnsFd?: number | undefined;
}

// The per-link attributes in iproute2's order: MTU, name, address, parent, netns.
function linkFields(f: NewLinkFields): Buffer[] {
  const out: Buffer[] = [];
  if (f.mtu !== undefined) out.push(u32Attr(IFLA_MTU, f.mtu));
  out.push(stringAttr(IFLA_IFNAME, f.name));
  if (f.mac !== undefined) out.push(encodeAttr(IFLA_ADDRESS, macToBytes(f.mac)));
  if (f.parentIndex !== undefined) out.push(u32Attr(IFLA_LINK, f.parentIndex));
  if (f.netnsFd !== undefined) out.push(u32Attr(IFLA_NET_NS_FD, f.netnsFd));
  return out;
}

// RTM_NEWLINK body for a link of `kind` with optional IFLA_INFO_DATA.
export function newLinkBody(kind: string, fields: NewLinkFields, infoData?: Buffer[]): Buffer[] {
  // IFLA_INFO_KIND without NUL, as iproute2 sends it (policy NLA_STRING, rtnetlink.c).
  const info = [stringAttr(IFLA_INFO_KIND, kind, false)];
  if (infoData !== undefined) info.push(nestAttr(IFLA_INFO_DATA, infoData));
  return [encodeIfInfoMsg(), ...linkFields(fields), nestAttr(IFLA_LINKINFO, info)];
}

// RTM_NEWLINK body for a veth pair; the peer (VETH_INFO_PEER: an ifinfomsg then attributes,
// drivers/net/veth.c veth_newlink) may be created directly in another netns.
export function vethBody(local: NewLinkFields, peer: NewLinkFields): Buffer[] {
  const peerBody = Buffer.concat([encodeIfInfoMsg(), ...peerFields(peer)]);
  return newLinkBody('veth', local, [encodeAttr(VETH_INFO_PEER, peerBody)]);
}

// The peer's attributes in iproute2's order (netns before name).
function peerFields(f: NewLinkFields): Buffer[] {
  const out: Buffer[] = [];
  if (f.netnsFd !== undefined) out.push(u32Attr(IFLA_NET_NS_FD, f.netnsFd));
  out.push(stringAttr(IFLA_IFNAME, f.name));
  if (f.mtu !== undefined) out.push(u32Attr(IFLA_MTU, f.mtu));
  if (f.mac !== undefined) out.push(encodeAttr(IFLA_ADDRESS, macToBytes(f.mac)));
  return out;
}

// RTM_NEWLINK body for a bridge; IFLA_BR_MCAST_SNOOPING is a u8 (net/bridge/br_netlink.c).
export function bridgeBody(fields: NewLinkFields, mcastSnooping?: boolean): Buffer[] {
  const data =
    mcastSnooping === undefined
      ? undefined
      : [u8Attr(IFLA_BR_MCAST_SNOOPING, mcastSnooping ? 1 : 0)];
  return newLinkBody('bridge', fields, data);
}

// RTM_NEWLINK body for a macvlan or macvtap on `fields.parentIndex` with a u32 mode.
export function macvlanBody(
  kind: 'macvlan' | 'macvtap',
  fields: NewLinkFields,
  mode: number,
): Buffer[] {
  return newLinkBody(kind, fields, [u32Attr(IFLA_MACVLAN_MODE, mode)]);
}
