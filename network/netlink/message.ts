// Netlink messages: struct nlmsghdr (16 bytes: u32 len, u16 type, u16 flags, u32 seq, u32 pid)
// and the rtnetlink family headers that follow it (include/uapi/linux/rtnetlink.h). Pure
// functions over Buffers, host byte order (little-endian on the machines we support).
import { NetlinkError } from '../errors.js';
import { align4, attrMap, readString, readU32 } from './attributes.js';
import {
  IFADDRMSG_LEN,
  IFINFOMSG_LEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  RTMSG_LEN,
  TCMSG_LEN,
} from './constants.js';

/** A decoded netlink message; `payload` is everything after the nlmsghdr. */
export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

// Frames one request: nlmsghdr followed by the (already aligned) body parts.
export function encodeMessage(type: number, flags: number, seq: number, parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const out = Buffer.alloc(NLMSG_HDRLEN + align4(body.length));
  out.writeUInt32LE(NLMSG_HDRLEN + body.length, 0);
  out.writeUInt16LE(type, 4);
  out.writeUInt16LE(flags, 6);
  out.writeUInt32LE(seq >>> 0, 8);
  out.writeUInt32LE(0, 12);
  body.copy(out, NLMSG_HDRLEN);
  return out;
}

// Splits a datagram into messages (several per read in a dump); stops at a malformed header.
export function decodeMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= buf.length) {
    const length = buf.readUInt32LE(offset);
    if (length < NLMSG_HDRLEN || offset + length > buf.length) break;
    out.push({
      type: buf.readUInt16LE(offset + 4),
      flags: buf.readUInt16LE(offset + 6),
      seq: buf.readUInt32LE(offset + 8),
      pid: buf.readUInt32LE(offset + 12),
      payload: buf.subarray(offset + NLMSG_HDRLEN, offset + length),
    });
    offset += align4(length);
  }
  return out;
}

/** NLMSG_ERROR / NLMSG_DONE contents: errno (positive, 0 = ACK) and the extended ack. */
export interface ErrorPayload {
  errno: number;
  kernelMessage: string | undefined;
  /** NLMSGERR_ATTR_OFFS: byte offset of the offending attribute in our request. */
  badAttrOffset: number | undefined;
}

// Decodes struct nlmsgerr (s32 error, then the request's header, whole or capped) and the
// extended-ack TLVs that follow it when the kernel set NLM_F_ACK_TLVS (netlink.h).
export function decodeError(message: NetlinkMessage): ErrorPayload {
  const p = message.payload;
  const errno = p.length >= 4 ? -p.readInt32LE(0) : 0;
  let kernelMessage: string | undefined;
  let badAttrOffset: number | undefined;
  if ((message.flags & NLM_F_ACK_TLVS) !== 0 && p.length >= 4 + NLMSG_HDRLEN) {
    const echoed = (message.flags & NLM_F_CAPPED) !== 0 ? NLMSG_HDRLEN : p.readUInt32LE(4);
    // An echoed length past the payload leaves no room for TLVs.
    if (4 + align4(echoed) <= p.length) {
      const tlvs = attrMap(p, 4 + align4(echoed));
      kernelMessage = readString(tlvs.get(NLMSGERR_ATTR_MSG)) || undefined;
      badAttrOffset = readU32(tlvs.get(NLMSGERR_ATTR_OFFS));
    }
  }
  return { errno, kernelMessage, badAttrOffset };
}

// Decodes NLMSG_DONE: an s32 (0 or -errno) and, with NLM_F_ACK_TLVS, extended-ack TLVs.
export function decodeDone(message: NetlinkMessage): ErrorPayload {
  const p = message.payload;
  const errno = p.length >= 4 ? -p.readInt32LE(0) : 0;
  let kernelMessage: string | undefined;
  if ((message.flags & NLM_F_ACK_TLVS) !== 0 && p.length > 4) {
    kernelMessage = readString(attrMap(p, 4).get(NLMSGERR_ATTR_MSG)) || undefined;
  }
  return { errno, kernelMessage, badAttrOffset: undefined };
}

/** EPROTO: a message from the kernel that cannot be what it claims to be. */
const EPROTO = 71;

// A family header needs its full size; anything shorter is a malformed message, not a crash.
function requireHeader(p: Buffer, size: number, header: string): void {
  if (p.length < size) {
    throw new NetlinkError(
      `decode ${header}`,
      EPROTO,
      'EPROTO',
      `payload of ${p.length} bytes, ${header} needs ${size}`,
    );
  }
}

// A message that lacks what its type requires (e.g. an address without its address).
export function malformed(what: string, detail: string): NetlinkError {
  return new NetlinkError(`decode ${what}`, EPROTO, 'EPROTO', detail);
}

/** struct ifinfomsg: family, type (ARPHRD_*), index, flags, change mask. */
export interface IfInfoMsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}

// Encodes struct ifinfomsg (16 bytes).
export function encodeIfInfoMsg(m: Partial<IfInfoMsg> = {}): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(m.family ?? 0, 0);
  b.writeUInt16LE(m.type ?? 0, 2);
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt32LE((m.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((m.change ?? 0) >>> 0, 12);
  return b;
}

// Decodes struct ifinfomsg from the start of a payload.
export function decodeIfInfoMsg(p: Buffer): IfInfoMsg {
  requireHeader(p, IFINFOMSG_LEN, 'ifinfomsg');
  return {
    family: p.readUInt8(0),
    type: p.readUInt16LE(2),
    index: p.readInt32LE(4),
    flags: p.readUInt32LE(8),
    change: p.readUInt32LE(12),
  };
}

/** struct ifaddrmsg: family, prefix length, flags (u8), scope, ifindex. */
export interface IfAddrMsg {
  family: number;
  prefixLen: number;
  flags: number;
  scope: number;
  index: number;
}

// Encodes struct ifaddrmsg (8 bytes).
export function encodeIfAddrMsg(m: Partial<IfAddrMsg> = {}): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(m.family ?? 0, 0);
  b.writeUInt8(m.prefixLen ?? 0, 1);
  b.writeUInt8(m.flags ?? 0, 2);
  b.writeUInt8(m.scope ?? 0, 3);
  b.writeUInt32LE(m.index ?? 0, 4);
  return b;
}

// Decodes struct ifaddrmsg.
export function decodeIfAddrMsg(p: Buffer): IfAddrMsg {
  requireHeader(p, IFADDRMSG_LEN, 'ifaddrmsg');
  return {
    family: p.readUInt8(0),
    prefixLen: p.readUInt8(1),
    flags: p.readUInt8(2),
    scope: p.readUInt8(3),
    index: p.readUInt32LE(4),
  };
}

/** struct rtmsg: family, dst/src prefix lengths, tos, table, protocol, scope, type, flags. */
export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

const RTMSG_FIELDS = ['family', 'dstLen', 'srcLen', 'tos', 'table', 'protocol', 'scope', 'type'];

// Encodes struct rtmsg (12 bytes: eight u8 then u32 flags).
export function encodeRtMsg(m: Partial<RtMsg> = {}): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  RTMSG_FIELDS.forEach((k, i) => b.writeUInt8(m[k as keyof RtMsg] ?? 0, i));
  b.writeUInt32LE(m.flags ?? 0, 8);
  return b;
}

// Decodes struct rtmsg.
export function decodeRtMsg(p: Buffer): RtMsg {
  requireHeader(p, RTMSG_LEN, 'rtmsg');
  const m = { flags: p.readUInt32LE(8) } as RtMsg;
  RTMSG_FIELDS.forEach((k, i) => (m[k as keyof RtMsg] = p.readUInt8(i)));
  return m;
}

/** struct tcmsg: family, ifindex, handle, parent, info (filters: prio << 16 | be16 protocol). */
export interface TcMsg {
  family: number;
  index: number;
  handle: number;
  parent: number;
  info: number;
}

// Encodes struct tcmsg (20 bytes).
export function encodeTcMsg(m: Partial<TcMsg> = {}): Buffer {
  const b = Buffer.alloc(TCMSG_LEN);
  b.writeUInt8(m.family ?? 0, 0);
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt32LE((m.handle ?? 0) >>> 0, 8);
  b.writeUInt32LE((m.parent ?? 0) >>> 0, 12);
  b.writeUInt32LE((m.info ?? 0) >>> 0, 16);
  return b;
}

// Decodes struct tcmsg.
export function decodeTcMsg(p: Buffer): TcMsg {
  requireHeader(p, TCMSG_LEN, 'tcmsg');
  return {
    family: p.readUInt8(0),
    index: p.readInt32LE(4),
    handle: p.readUInt32LE(8),
    parent: p.readUInt32LE(12),
    info: p.readUInt32LE(16),
  };
}
