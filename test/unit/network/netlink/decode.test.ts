// Decoding kernel replies into Link, Address, Route and RedirectFilter objects.
import { describe, expect, it } from 'vitest';
import {
  encodeAttr,
  nestAttr,
  stringAttr,
  u32Attr,
  u8Attr,
} from '../../../../network/netlink/attributes.js';
import {
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_MACVLAN_MODE,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_OPERSTATE,
  IFA_ADDRESS,
  IFA_LOCAL,
  RTA_DST,
  RTA_METRICS,
  RTA_OIF,
  RTAX_MTU,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTM_NEWTFILTER,
  TCA_KIND,
  TCA_OPTIONS,
} from '../../../../network/netlink/constants.js';
import { decodeAddress } from '../../../../network/netlink/addresses.js';
import { decodeLink } from '../../../../network/netlink/link-parse.js';
import {
  decodeMessages,
  encodeIfAddrMsg,
  encodeIfInfoMsg,
  encodeMessage,
  encodeRtMsg,
  encodeTcMsg,
} from '../../../../network/netlink/message.js';
import { decodeRoute } from '../../../../network/netlink/routes.js';
import {
  decodeRedirectFilter,
  redirectFilterBody,
} from '../../../../network/netlink/tc-requests.js';

// Wraps parts as one kernel message and decodes it back.
const msg = (type: number, parts: Buffer[]) => decodeMessages(encodeMessage(type, 0, 1, parts))[0]!;

describe('decodeLink', () => {
  it('reads a macvtap: kind, mode, parent, master, MAC, MTU, flags, operstate', () => {
    const m = msg(RTM_NEWLINK, [
      encodeIfInfoMsg({ index: 7, flags: 0x10043 }),
      stringAttr(IFLA_IFNAME, 'mvt0'),
      u32Attr(IFLA_MTU, 1400),
      encodeAttr(IFLA_ADDRESS, Buffer.from('525400123456', 'hex')),
      u32Attr(IFLA_LINK, 3),
      u32Attr(IFLA_MASTER, 9),
      u8Attr(IFLA_OPERSTATE, 6),
      nestAttr(IFLA_LINKINFO, [
        stringAttr(IFLA_INFO_KIND, 'macvtap', false),
        nestAttr(IFLA_INFO_DATA, [u32Attr(IFLA_MACVLAN_MODE, 8)]),
      ]),
    ]);
    expect(decodeLink(m)).toMatchObject({
      index: 7,
      name: 'mvt0',
      kind: 'macvtap',
      macvlanMode: 'passthru',
      mtu: 1400,
      mac: '52:54:00:12:34:56',
      parentIndex: 3,
      peerIndex: undefined,
      masterIndex: 9,
      up: true,
      lowerUp: true,
      operstate: 'up',
    });
  });

  it('reads a veth: IFLA_LINK is the peer, not a parent', () => {
    const m = msg(RTM_NEWLINK, [
      encodeIfInfoMsg({ index: 2 }),
      stringAttr(IFLA_IFNAME, 'va'),
      u32Attr(IFLA_LINK, 5),
      nestAttr(IFLA_LINKINFO, [stringAttr(IFLA_INFO_KIND, 'veth', false)]),
    ]);
    expect(decodeLink(m)).toMatchObject({ kind: 'veth', peerIndex: 5, parentIndex: undefined });
  });
});

describe('decodeAddress', () => {
  it('takes IFA_LOCAL as the address and reports a differing IFA_ADDRESS as the peer', () => {
    const m = msg(RTM_NEWADDR, [
      encodeIfAddrMsg({ family: 2, prefixLen: 32, index: 4 }),
      encodeAttr(IFA_ADDRESS, Buffer.from([10, 0, 0, 2])),
      encodeAttr(IFA_LOCAL, Buffer.from([10, 0, 0, 1])),
    ]);
    expect(decodeAddress(m)).toMatchObject({ address: '10.0.0.1', peer: '10.0.0.2', family: 4 });
  });

  it('takes IFA_ADDRESS alone for IPv6', () => {
    const m = msg(RTM_NEWADDR, [
      encodeIfAddrMsg({ family: 10, prefixLen: 64, scope: 253, index: 4 }),
      encodeAttr(IFA_ADDRESS, Buffer.from('fe800000000000000000000000000001', 'hex')),
    ]);
    expect(decodeAddress(m)).toMatchObject({
      address: 'fe80::1',
      prefixLen: 64,
      scope: 'link',
      peer: undefined,
    });
  });
});

describe('decodeRoute', () => {
  it('reads dst/len, oif and the MTU metric', () => {
    const m = msg(RTM_NEWROUTE, [
      encodeRtMsg({ family: 2, dstLen: 16, table: 254, protocol: 3, type: 1 }),
      encodeAttr(RTA_DST, Buffer.from([10, 9, 0, 0])),
      u32Attr(RTA_OIF, 2),
      nestAttr(RTA_METRICS, [u32Attr(RTAX_MTU, 1300)]),
    ]);
    expect(decodeRoute(m)).toMatchObject({
      dst: '10.9.0.0/16',
      oifIndex: 2,
      mtu: 1300,
      table: 254,
    });
  });
});

describe('decodeRedirectFilter', () => {
  it('reads back the redirect we encode: pref, protocol all, match-all, target', () => {
    const [head, ...rest] = redirectFilterBody(3, 5);
    const withHandle = encodeTcMsg({
      index: 3,
      parent: 0xffff0000,
      handle: 0x80000800,
      info: head!.readUInt32LE(16) | (49152 << 16),
    });
    const f = decodeRedirectFilter(msg(RTM_NEWTFILTER, [withHandle, ...rest]));
    expect(f).toEqual({
      index: 3,
      parent: 0xffff0000,
      pref: 49152,
      protocol: 3,
      handle: 0x80000800,
      matchAll: true,
      action: 'egress-redirect',
      targetIndex: 5,
    });
  });

  it('ignores u32 entries without actions (the hash-table nodes of a dump)', () => {
    const m = msg(RTM_NEWTFILTER, [
      encodeTcMsg({ index: 3 }),
      stringAttr(TCA_KIND, 'u32'),
      nestAttr(TCA_OPTIONS, []),
    ]);
    expect(decodeRedirectFilter(m)).toBeUndefined();
  });
});
