// IFLA_STATS64 decoding: the counters land in their fields, past 2^32 too, and a link without
// the attribute has no stats.
import { describe, expect, it } from 'vitest';
import { encodeAttr, stringAttr } from '../../../../network/netlink/attributes.js';
import { IFLA_IFNAME, IFLA_STATS64, RTM_NEWLINK } from '../../../../network/netlink/constants.js';
import { decodeLink } from '../../../../network/netlink/link-parse.js';
import {
  decodeMessages,
  encodeIfInfoMsg,
  encodeMessage,
} from '../../../../network/netlink/message.js';

const link = (parts: Buffer[]) =>
  decodeLink(
    decodeMessages(
      encodeMessage(RTM_NEWLINK, 0, 1, [encodeIfInfoMsg({ index: 4, flags: 0 }), ...parts]),
    )[0]!,
  );

describe('IFLA_STATS64', () => {
  it('decodes the ten leading u64 counters in struct order', () => {
    const raw = Buffer.alloc(8 * 24); // the kernel sends the whole struct; the rest is ignored
    [11, 12, 5_000_000_000, 14, 15, 16, 17, 18, 19, 20].forEach((v, i) =>
      raw.writeBigUInt64LE(BigInt(v), i * 8),
    );
    const decoded = link([stringAttr(IFLA_IFNAME, 'tap0'), encodeAttr(IFLA_STATS64, raw)]);
    expect(decoded.stats).toEqual({
      rxPackets: 11,
      txPackets: 12,
      rxBytes: 5_000_000_000,
      txBytes: 14,
      rxErrors: 15,
      txErrors: 16,
      rxDropped: 17,
      txDropped: 18,
      multicast: 19,
      collisions: 20,
    });
  });

  it('a link without IFLA_STATS64 has no stats', () => {
    expect(link([stringAttr(IFLA_IFNAME, 'tap0')]).stats).toBeUndefined();
  });
});
