// Netlink attributes (struct nlattr, include/uapi/linux/netlink.h): a 4-byte header (u16 length
// including the header, u16 type with NLA_F_NESTED / NLA_F_NET_BYTEORDER flags) followed by the
// payload, padded to NLA_ALIGNTO = 4 bytes. Nested attributes carry attributes as their payload.
import { NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK } from './constants.js';

/** Rounds a length up to the 4-byte netlink alignment (NLA_ALIGN / NLMSG_ALIGN). */
export function align4(length: number): number {
  // Arithmetic, not `& ~3`: a length read off the wire may exceed 2^31, where bit ops go negative.
  return length + ((4 - (length % 4)) % 4);
}

// Builds one attribute: header, payload, zero padding to 4 bytes.
export function encodeAttr(type: number, payload: Buffer): Buffer {
  const length = NLA_HDRLEN + payload.length;
  if (length > 0xffff) throw new RangeError(`netlink attribute ${type} too long (${length} bytes)`);
  const out = Buffer.alloc(align4(length));
  out.writeUInt16LE(length, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, NLA_HDRLEN);
  return out;
}

// A u8 attribute (flags such as IFLA_BR_MCAST_SNOOPING).
export function u8Attr(type: number, value: number): Buffer {
  return encodeAttr(type, Buffer.from([value & 0xff]));
}

// A host-order u32 attribute (MTU, ifindex, mode...).
export function u32Attr(type: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0, 0);
  return encodeAttr(type, b);
}

// A string attribute, NUL-terminated by default (NLA_STRING accepts it with or without the
// NUL, NLA_NUL_STRING needs it); iproute2 leaves it off only for IFLA_INFO_KIND.
export function stringAttr(type: number, value: string, nul = true): Buffer {
  const text = Buffer.from(value, 'utf8');
  return encodeAttr(type, nul ? Buffer.concat([text, Buffer.alloc(1)]) : text);
}

// A container attribute; `flagNested` sets NLA_F_NESTED (iproute2 sets it only where the
// kernel's policy is NLA_NESTED, and so do we, since strict policies reject it elsewhere).
export function nestAttr(type: number, children: Buffer[], flagNested = false): Buffer {
  return encodeAttr(flagNested ? type | NLA_F_NESTED : type, Buffer.concat(children));
}

/** One decoded attribute: its type without flag bits, whether it was flagged nested, its payload. */
export interface Attr {
  type: number;
  nested: boolean;
  data: Buffer;
}

// Walks the attributes in buf[start, end); stops at a truncated or malformed header.
export function decodeAttrs(buf: Buffer, start = 0, end = buf.length): Attr[] {
  const attrs: Attr[] = [];
  let offset = start;
  while (offset + NLA_HDRLEN <= end) {
    const length = buf.readUInt16LE(offset);
    const rawType = buf.readUInt16LE(offset + 2);
    if (length < NLA_HDRLEN || offset + length > end) break;
    attrs.push({
      type: rawType & NLA_TYPE_MASK,
      nested: (rawType & NLA_F_NESTED) !== 0,
      data: buf.subarray(offset + NLA_HDRLEN, offset + length),
    });
    offset += align4(length);
  }
  return attrs;
}

// Indexes attributes by type (the last one wins, as in the kernel's nla_parse).
export function attrMap(buf: Buffer, start = 0, end = buf.length): Map<number, Buffer> {
  const map = new Map<number, Buffer>();
  for (const a of decodeAttrs(buf, start, end)) map.set(a.type, a.data);
  return map;
}

// Reads a u32 payload, or undefined when absent or too short.
export function readU32(data: Buffer | undefined): number | undefined {
  return data !== undefined && data.length >= 4 ? data.readUInt32LE(0) : undefined;
}

// Reads an s32 payload (IFLA_LINK_NETNSID may be negative).
export function readS32(data: Buffer | undefined): number | undefined {
  return data !== undefined && data.length >= 4 ? data.readInt32LE(0) : undefined;
}

// Reads a u8 payload.
export function readU8(data: Buffer | undefined): number | undefined {
  return data !== undefined && data.length >= 1 ? data.readUInt8(0) : undefined;
}

// Reads a string payload up to its first NUL.
export function readString(data: Buffer | undefined): string | undefined {
  if (data === undefined) return undefined;
  const nul = data.indexOf(0);
  return data.toString('utf8', 0, nul === -1 ? data.length : nul);
}
