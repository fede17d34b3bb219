import { describe, expect, it } from 'vitest';
import { NetlinkError } from '../../../../network/errors.js';
import { decodeAddress } from '../../../../network/netlink/addresses.js';
import { align4, encodeAttr } from '../../../../network/netlink/attributes.js';
import { decodeLink } from '../../../../network/netlink/link-parse.js';
import { decodeError, type NetlinkMessage } from '../../../../network/netlink/message.js';
import { decodeRoute } from '../../../../network/netlink/routes.js';
import { decodeQdisc, decodeRedirectFilter } from '../../../../network/netlink/tc-requests.js';

// Each case was found by the netlink fuzz suite (test/unit/fuzz/netlink.fuzz.test.ts): the
// decoder threw a RangeError or TypeError instead of a value or a typed error.
const message = (payload: Buffer, flags = 0): NetlinkMessage => ({
  type: 0,
  flags,
  seq: 1,
  pid: 0,
  payload,
});

describe('decoding malformed netlink messages', () => {
  it('aligns lengths past 2^31 without overflowing to a negative number', () => {
    expect(align4(0xfffffffd)).toBe(0x100000000);
  });

  it('decodeError ignores an echoed request length beyond the payload (no TLVs)', () => {
    const p = Buffer.alloc(4 + 16 + 8);
    p.writeInt32LE(-17, 0);
    p.writeUInt32LE(0xfe26dc30, 4); // the echoed nlmsghdr's length: garbage
    expect(decodeError(message(p, 0x200))).toEqual({
      errno: 17,
      kernelMessage: undefined,
      badAttrOffset: undefined,
    });
  });

  it('a family header cut short is a NetlinkError EPROTO, for every decoder', () => {
    const short = message(Buffer.from([2, 0, 1]));
    for (const decode of [
      decodeLink,
      decodeAddress,
      decodeRoute,
      decodeQdisc,
      decodeRedirectFilter,
    ]) {
      expect(() => decode(short)).toThrow(NetlinkError);
      expect(() => decode(short)).toThrow(expect.objectContaining({ code: 'EPROTO' }));
    }
  });

  it('an RTM_NEWADDR without IFA_LOCAL or IFA_ADDRESS is a NetlinkError EPROTO', () => {
    const p = Buffer.concat([
      Buffer.alloc(8),
      encodeAttr(3 /* IFA_LABEL */, Buffer.from('eth0\0')),
    ]);
    expect(() => decodeAddress(message(p))).toThrow(expect.objectContaining({ code: 'EPROTO' }));
  });
});
