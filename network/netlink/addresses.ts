// IP addresses over rtnetlink (RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR, ifaddrmsg + IFA_*,
// include/uapi/linux/if_addr.h). For IPv4, IFA_LOCAL is the interface's own address and
// IFA_ADDRESS the peer/prefix address (equal unless point-to-point); IPv6 uses IFA_ADDRESS
// alone, and an IFA_LOCAL there would mean "IFA_ADDRESS is the peer" (net/ipv6/addrconf.c).
import type { Prefix } from '../validate.js';
import { ValidationError } from '../../core/index.js';
import { parsePrefix } from '../validate.js';
import { attrMap, encodeAttr, readString, readU32 } from './attributes.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_F_NODAD,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  IFADDRMSG_LEN,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
} from './constants.js';
import { bytesToIp, ipToBytes } from './ip-bytes.js';
import type { LinkRef } from './link-requests.js';
import type { LinkApi } from './links.js';
import type { NetlinkMessage } from './message.js';
import { decodeIfAddrMsg, encodeIfAddrMsg, malformed } from './message.js';
import type { NetlinkSocket } from './socket.js';

/** Scope names as `ip` prints them (rtnetlink.h, enum rt_scope_t). */
export const SCOPE_NAMES: Readonly<Record<number, string>> = {
  0: 'global',
  200: 'site',
  253: 'link',
  254: 'host',
  255: 'nowhere',
};

/** An address assigned to a link. */
export interface Address {
  index: number;
  family: 4 | 6;
  address: string;
  prefixLen: number;
  scope: string;
  /** IFA_F_* flags (IFA_FLAGS when present, else the u8 in ifaddrmsg). */
  flags: number;
  label: string | undefined;
  /** The other end of a point-to-point address, when it differs from `address`. */
  peer: string | undefined;
  broadcast: string | undefined;
}

/** Options of an address add. */
export interface AddressAddOptions {
  /** IFA_F_NODAD: skip IPv6 duplicate address detection (usable at once, not 'tentative'). */
  noDad?: boolean;
  /** IPv4 broadcast address (IFA_BROADCAST), as `ip addr add ... broadcast B` sets it. */
  broadcast?: string;
}

// RTM_NEWADDR / RTM_DELADDR body for one prefix on one ifindex.
export function addressBody(index: number, p: Prefix, flags = 0, broadcast?: string): Buffer[] {
  const family = p.family === 4 ? AF_INET : AF_INET6;
  const bytes = ipToBytes(p.address);
  const head = encodeIfAddrMsg({ family, prefixLen: p.prefixLen, flags, index });
  if (p.family === 6) return [head, encodeAttr(IFA_ADDRESS, bytes)];
  const body = [head, encodeAttr(IFA_LOCAL, bytes), encodeAttr(IFA_ADDRESS, bytes)];
  if (broadcast !== undefined) body.push(encodeAttr(IFA_BROADCAST, ipToBytes(broadcast)));
  return body;
}

// Decodes one RTM_NEWADDR message.
export function decodeAddress(m: NetlinkMessage): Address {
  const h = decodeIfAddrMsg(m.payload);
  const a = attrMap(m.payload, IFADDRMSG_LEN);
  const local = a.get(IFA_LOCAL);
  const addr = a.get(IFA_ADDRESS);
  const own = local ?? addr;
  if (own === undefined) throw malformed('RTM_NEWADDR', 'neither IFA_LOCAL nor IFA_ADDRESS');
  const mine = bytesToIp(own);
  const other = addr && local ? bytesToIp(addr) : undefined;
  const bcast = a.get(IFA_BROADCAST);
  return {
    index: h.index,
    family: h.family === AF_INET ? 4 : 6,
    address: mine,
    prefixLen: h.prefixLen,
    scope: SCOPE_NAMES[h.scope] ?? String(h.scope),
    flags: readU32(a.get(IFA_FLAGS)) ?? h.flags,
    label: readString(a.get(IFA_LABEL)),
    peer: other !== undefined && other !== mine ? other : undefined,
    broadcast: bcast ? bytesToIp(bcast) : undefined,
  };
}

/** Address operations on one netlink socket. */
export class AddressApi {
  constructor(
    private readonly socket: NetlinkSocket,
    private readonly links: LinkApi,
  ) {}

  /**
   * Lists addresses, of every link or of one.
   * @throws {NetlinkError} ENODEV for a missing link; a failed dump.
   */
  async list(link?: LinkRef): Promise<Address[]> {
    const index = link === undefined ? undefined : await this.links.index(link);
    const parts = await this.socket.dump(
      RTM_GETADDR,
      [encodeIfAddrMsg({ family: AF_UNSPEC })],
      'addr list',
    );
    return parts
      .filter((m) => m.type === RTM_NEWADDR && m.payload.length >= IFADDRMSG_LEN)
      .map(decodeAddress)
      .filter((a) => index === undefined || a.index === index);
  }

  /**
   * Adds `cidr` ('10.0.0.1/24', 'fd00::1/64'; bare = host prefix) to a link.
   * @throws {ValidationError} a malformed address or link name, before any syscall.
   * @throws {NetlinkError} e.g. `addr add 10.0.0.1/24 dev X: EEXIST`, ENODEV.
   */
  async add(link: LinkRef, cidr: string, options: AddressAddOptions = {}): Promise<void> {
    const p = parsePrefix(cidr, 'address');
    const flags = options.noDad ? IFA_F_NODAD : 0;
    let broadcast: string | undefined;
    if (options.broadcast !== undefined) {
      const b = parsePrefix(options.broadcast, 'broadcast');
      if (b.family !== 4 || p.family !== 4 || b.prefixLen !== 32) {
        throw new ValidationError(
          'broadcast',
          options.broadcast,
          'a broadcast is one IPv4 address, for an IPv4 prefix',
        );
      }
      broadcast = b.address;
    }
    await this.modify(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, link, p, flags, 'add', broadcast);
  }

  /**
   * Removes `cidr` from a link.
   * @throws {ValidationError} a malformed address or link name.
   * @throws {NetlinkError} e.g. EADDRNOTAVAIL when it is not there.
   */
  async delete(link: LinkRef, cidr: string): Promise<void> {
    const p = parsePrefix(cidr, 'address');
    await this.modify(RTM_DELADDR, 0, link, p, 0, 'del');
  }

  // Resolves the link, then sends the add or delete.
  private async modify(
    type: number,
    nlFlags: number,
    link: LinkRef,
    p: Prefix,
    ifaFlags: number,
    verb: string,
    broadcast?: string,
  ): Promise<void> {
    const op = `addr ${verb} ${p.address}/${p.prefixLen} dev ${link}`;
    const index = await this.links.index(link, op);
    await this.socket.request(type, nlFlags, addressBody(index, p, ifaFlags, broadcast), op);
  }
}
