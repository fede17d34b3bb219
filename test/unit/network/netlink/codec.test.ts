// Attribute and message encoding/decoding: alignment, nesting, family headers, extended acks,
// and wire addresses.
import { describe, expect, it } from 'vitest';
import {
  align4,
  attrMap,
  decodeAttrs,
  encodeAttr,
  nestAttr,
  readString,
  stringAttr,
  u32Attr,
  u8Attr,
} from '../../../../network/netlink/attributes.js';
import {
  NLA_F_NESTED,
  NLM_F_ACK_TLVS,
  NLMSG_ERROR,
} from '../../../../network/netlink/constants.js';
import { bytesToIp, ipToBytes } from '../../../../network/netlink/ip-bytes.js';
import {
  decodeError,
  decodeIfInfoMsg,
  decodeMessages,
  decodeRtMsg,
  decodeTcMsg,
  encodeIfInfoMsg,
  encodeMessage,
  encodeRtMsg,
  encodeTcMsg,
} from '../../../../network/netlink/message.js';

describe('attributes', () => {
  it('pads payloads to 4 bytes but records the unpadded length', () => {
    expect(u8Attr(23, 0).toString('hex')).toBe('0500170000000000');
    expect(stringAttr(3, 'br0').toString('hex')).toBe('0800030062723000');
    expect(stringAttr(1, 'veth', false).toString('hex')).toBe('0800010076657468');
    expect(u32Attr(4, 1400).toString('hex')).toBe('0800040078050000');
    expect([0, 1, 4, 5, 7, 8].map(align4)).toEqual([0, 4, 4, 8, 8, 8]);
  });

  it('sets NLA_F_NESTED only when asked, and decoding strips the flag', () => {
    const flagged = nestAttr(2, [u32Attr(1, 5)], true);
    expect(flagged.readUInt16LE(2)).toBe(2 | NLA_F_NESTED);
    expect(nestAttr(2, [u32Attr(1, 5)]).readUInt16LE(2)).toBe(2);
    const [outer] = decodeAttrs(flagged);
    expect(outer).toMatchObject({ type: 2, nested: true });
    expect(attrMap(outer!.data).get(1)!.readUInt32LE(0)).toBe(5);
  });

  it('walks consecutive attributes and stops at a truncated one', () => {
    const buf = Buffer.concat([
      u8Attr(1, 7),
      stringAttr(2, 'abcde'),
      encodeAttr(3, Buffer.alloc(4)),
    ]);
    expect(decodeAttrs(buf).map((a) => [a.type, a.data.length])).toEqual([
      [1, 1],
      [2, 6],
      [3, 4],
    ]);
    expect(readString(attrMap(buf).get(2))).toBe('abcde');
    const truncated = buf.subarray(0, buf.length - 2);
    expect(decodeAttrs(truncated).map((a) => a.type)).toEqual([1, 2]);
  });
});

describe('messages', () => {
  it('frames a header with total length, type, flags, seq and pid 0', () => {
    const m = encodeMessage(16, 0x605, 0x01020304, [Buffer.from([1, 2, 3])]);
    expect(m.subarray(0, 16).toString('hex')).toBe('130000001000050604030201' + '00000000');
    expect(m.length).toBe(20);
  });

  it('splits a datagram holding several messages', () => {
    const a = encodeMessage(16, 2, 5, [Buffer.alloc(5)]);
    const b = encodeMessage(3, 2, 5, [Buffer.alloc(4)]);
    const msgs = decodeMessages(Buffer.concat([a, b]));
    expect(msgs.map((m) => [m.type, m.seq, m.payload.length])).toEqual([
      [16, 5, 5],
      [3, 5, 4],
    ]);
  });

  it('round-trips ifinfomsg, rtmsg and tcmsg', () => {
    const ifi = { family: 0, type: 1, index: 7, flags: 0x1003, change: 1 };
    expect(decodeIfInfoMsg(encodeIfInfoMsg(ifi))).toEqual(ifi);
    const rt = {
      family: 10,
      dstLen: 64,
      srcLen: 0,
      tos: 0,
      table: 254,
      protocol: 3,
      scope: 253,
      type: 1,
      flags: 0x200,
    };
    expect(decodeRtMsg(encodeRtMsg(rt))).toEqual(rt);
    const tc = { family: 0, index: 3, handle: 0x80000800, parent: 0xffff0000, info: 0xc0000300 };
    expect(decodeTcMsg(encodeTcMsg(tc))).toEqual(tc);
  });

  it('reads an uncapped NLMSG_ERROR: skips the whole echoed request to reach the TLVs', () => {
    const request = encodeMessage(16, 5, 9, [Buffer.alloc(10)]);
    const err = Buffer.alloc(4);
    err.writeInt32LE(-22, 0);
    const tlvs = [stringAttr(1, 'bad attr'), u32Attr(2, 32)];
    const m = encodeMessage(NLMSG_ERROR, NLM_F_ACK_TLVS, 9, [err, request, ...tlvs]);
    const [decoded] = decodeMessages(m);
    expect(decodeError(decoded!)).toEqual({
      errno: 22,
      kernelMessage: 'bad attr',
      badAttrOffset: 32,
    });
  });
});

describe('wire addresses', () => {
  it.each([
    ['10.1.2.3', '0a010203'],
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['fe80::1', 'fe800000000000000000000000000001'],
    ['2001:db8::', '20010db8000000000000000000000000'],
    ['1:0:0:1::1', '00010000000000010000000000000001'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
  ])('%s <-> %s', (text, hex) => {
    expect(ipToBytes(text).toString('hex')).toBe(hex);
    if (!text.includes('.') || !text.includes(':')) {
      expect(bytesToIp(Buffer.from(hex, 'hex'))).toBe(text);
    }
  });

  it('writes IPv6 in RFC 5952 form: the longest zero run is compressed, single zeros are not', () => {
    expect(bytesToIp(Buffer.from('20010db8000000010000000000000001', 'hex'))).toBe(
      '2001:db8:0:1::1',
    );
    expect(bytesToIp(Buffer.from('20010db8000100020003000400050006', 'hex'))).toBe(
      '2001:db8:1:2:3:4:5:6',
    );
  });
});
