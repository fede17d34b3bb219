// Golden bytes: requests captured with strace from iproute2 6.1 (`ip`, `tc`) on this kernel,
// seq replaced by 7. Our encoders must produce the same bytes for the same request.
import { describe, expect, it } from 'vitest';
import {
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  RTM_DELTFILTER,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWQDISC,
  RTM_NEWROUTE,
  RTM_NEWTFILTER,
} from '../../../../network/netlink/constants.js';
import { encodeMessage } from '../../../../network/netlink/message.js';
import { bridgeBody, vethBody } from '../../../../network/netlink/link-requests.js';
import { addressBody } from '../../../../network/netlink/addresses.js';
import { checkRoute, routeAddBody } from '../../../../network/netlink/routes.js';
import {
  deleteFilterBody,
  ingressQdiscBody,
  redirectFilterBody,
} from '../../../../network/netlink/tc-requests.js';

const NEW = NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE;

// Frames a body the way our socket does, with seq 7.
function hex(type: number, flags: number, body: Buffer[]): string {
  return encodeMessage(type, flags, 7, body).toString('hex');
}

describe('request encoding matches iproute2 byte for byte', () => {
  it('tc filter add dev (3) parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev (5)', () => {
    expect(hex(RTM_NEWTFILTER, NEW, redirectFilterBody(3, 5))).toBe(
      '8c0000002c00050607000000000000000000000003000000000000000000ffff000300000800010075333200' +
        '6000020038000700340001000b0001006d69727265640000240002802000020000000000000000000400' +
        '0000000000000000000001000000050000002400050001000100000000000000000000000000000000000000' +
        '00000000000000000000',
    );
  });

  it('tc qdisc add dev (3) ingress', () => {
    expect(hex(RTM_NEWQDISC, NEW, ingressQdiscBody(3))).toBe(
      '3000000024000506070000000000000000000000030000000000fffff1ffffff000000000c000100696e677265737300',
    );
  });

  it('tc filter del dev (3) parent ffff: pref 49152', () => {
    expect(hex(RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK, deleteFilterBody(3, 49152))).toBe(
      '240000002d00050007000000000000000000000003000000000000000000ffff000000c0',
    );
  });

  it('ip link add va mtu 1400 type veth peer name vb netns (fd 4)', () => {
    const body = vethBody({ name: 'va', mtu: 1400 }, { name: 'vb', netnsFd: 4 });
    expect(hex(RTM_NEWLINK, NEW, body)).toBe(
      '6400000010000506070000000000000000000000000000000000000000000000080004007805000007000300' +
        '7661000034001200080001007665746828000200240001000000000000000000000000000000000008001c00' +
        '040000000700030076620000',
    );
  });

  it('ip link add br0 type bridge mcast_snooping 0', () => {
    expect(hex(RTM_NEWLINK, NEW, bridgeBody({ name: 'br0' }, false))).toBe(
      '440000001000050607000000000000000000000000000000000000000000000008000300627230001c001200' +
        '0a00010062726964676500000c0002000500170000000000',
    );
  });

  it('ip addr add 10.1.2.3/24 dev (2): IFA_LOCAL then IFA_ADDRESS', () => {
    const body = addressBody(2, { address: '10.1.2.3', prefixLen: 24, family: 4 });
    expect(hex(RTM_NEWADDR, NEW, body)).toBe(
      '280000001400050607000000000000000218000002000000080002000a010203080001000a010203',
    );
  });

  it('ip route add 10.9.0.0/16 via 10.1.2.1 dev (2) mtu 1300', () => {
    const r = checkRoute({ dst: '10.9.0.0/16', gateway: '10.1.2.1', mtu: 1300 });
    expect(hex(RTM_NEWROUTE, NEW, routeAddBody(r, 2))).toBe(
      '4000000018000506070000000000000002100000fe03000100000000080001000a090000080005000a010201' +
        '08000400020000000c0008000800020014050000',
    );
  });
});

describe('request encoding where we differ from iproute2 on purpose', () => {
  it('an IPv6 address carries IFA_ADDRESS only (an IFA_LOCAL would make IFA_ADDRESS a peer)', () => {
    const body = Buffer.concat(addressBody(2, { address: 'fd00::1', prefixLen: 64, family: 6 }));
    expect(body.toString('hex')).toBe(
      '0a40000002000000' + '14000100' + 'fd000000000000000000000000000001',
    );
  });

  it('a default route has no RTA_DST and a device-only route has link scope', () => {
    const r = checkRoute({ dst: 'default', family: 6 });
    const body = Buffer.concat(routeAddBody(r, 9));
    // rtmsg: AF_INET6, dst_len 0, main table, boot, scope link (253), unicast; then RTA_OIF 9.
    expect(body.toString('hex')).toBe('0a000000fe03fd010000000008000400' + '09000000');
  });
});
