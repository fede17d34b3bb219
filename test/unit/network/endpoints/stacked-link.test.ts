// macvlan and ipvlan endpoints: parsed, persisted, classified by scan, and decoded from the
// kernel's link message (ipvlan cannot be created on every kernel, so its netlink side is
// checked here on an encoded RTM_NEWLINK). The real netns side is in
// test/integration/network/endpoints/macvlan.test.ts.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import { parseEndpoint, parseEndpoints } from '../../../../network/endpoints/parse.js';
import type { ScanInput } from '../../../../network/endpoints/scan-classify.js';
import { classifyLinks } from '../../../../network/endpoints/scan-classify.js';
import type { ScannedLink } from '../../../../network/endpoints/scan-links.js';
import { decodeScannedLink } from '../../../../network/endpoints/scan-links.js';
import type { Endpoint } from '../../../../network/endpoints/types.js';
import { ENDPOINT_KINDS } from '../../../../network/endpoints/types.js';
import {
  encodeAttr,
  nestAttr,
  stringAttr,
  u32Attr,
} from '../../../../network/netlink/attributes.js';
import {
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_MTU,
  RTM_NEWLINK,
} from '../../../../network/netlink/constants.js';
import {
  decodeMessages,
  encodeIfInfoMsg,
  encodeMessage,
} from '../../../../network/netlink/message.js';
import { parseNetnsRecord, serializeNetnsRecord } from '../../../../network/persistence.js';
import {
  scannedAddr as addr,
  scannedLink,
  scannedRoute as route,
} from '../../../helpers/scan-samples.js';

const KINDS = ['macvlan', 'ipvlan'] as const;

// The error `fn` throws (the test fails when it throws none).
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe.each(KINDS)('a %s endpoint', (kind) => {
  const full = {
    kind,
    name: 'net1',
    mac: '0A:58:0A:01:00:02',
    mtu: 1450,
    queues: 2,
    addresses: ['10.1.0.2/24', 'fd00::2/64'],
    routes: [
      { dst: 'default', gateway: '10.1.0.1' },
      { dst: '10.2.0.0/16', mtu: 1400 },
    ],
  };

  it('is an endpoint kind and parses with every field (MAC lower-cased)', () => {
    expect(ENDPOINT_KINDS).toContain(kind);
    expect(parseEndpoint(full)).toEqual({ ...full, mac: '0a:58:0a:01:00:02' });
    expect(parseEndpoint({ kind, name: 'net1' })).toEqual({ kind, name: 'net1' });
  });

  it.each([
    [{ kind, name: 'net1', interworking: 'tcfilter' }, 'endpoint.interworking', 'UNKNOWN_FIELD'],
    [{ kind }, 'endpoint.name', 'VALIDATION'],
    [{ kind, name: 'a/b' }, 'endpoint.name', 'VALIDATION'],
    [{ kind, name: 'net1', addresses: '10.0.0.1/24' }, 'endpoint.addresses', 'TYPE'],
    [{ kind, name: 'net1', addresses: ['10.0.0.1/99'] }, 'endpoint.addresses[0]', undefined],
    [{ kind, name: 'net1', routes: [{ dst: 'x' }] }, 'endpoint.routes[0].dst', undefined],
    [{ kind, name: 'net1', queues: 0 }, 'endpoint.queues', 'QUEUES'],
  ])('refuses %j naming %s', (input, path, code) => {
    const error = thrown(() => parseEndpoint(input));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ path });
    if (code !== undefined) expect(error).toMatchObject({ code });
  });

  it('is the same host link as a veth of the same name (duplicates refused)', () => {
    const error = thrown(() =>
      parseEndpoints([
        { kind, name: 'net1' },
        { kind: 'veth', name: 'net1', interworking: 'tcfilter' },
      ]),
    );
    expect(error).toMatchObject({ path: 'endpoints[1]', code: 'DUPLICATE' });
  });

  it('round-trips through a netns record', () => {
    const record = {
      version: 1 as const,
      path: '/run/netns/vml-x',
      createdByUs: false,
      endpoints: [parseEndpoint(full)],
    };
    expect(parseNetnsRecord(serializeNetnsRecord(record))).toEqual(record);
    const smuggled = { ...record, endpoints: [{ kind, name: 'net1', fds: [3] }] };
    expect(() => serializeNetnsRecord(smuggled as never)).toThrow(/record\.endpoints\[0\]\.fds/);
  });
});

// A scanned link with defaults (CNI-style MACs); tests override what matters.
const link = (index: number, name: string, extra: Partial<ScannedLink>): ScannedLink =>
  scannedLink(index, name, extra, '0a:58:00:00:00');

describe('scan classification of macvlan and ipvlan links', () => {
  // What the CNI plugins leave in a netns: the link (its parent is in another netns, so
  // IFLA_LINK names an index there), a /24 with its kernel prefix route, a default route.
  const input: ScanInput = {
    links: [
      link(1, 'lo', { loopback: true, mac: '00:00:00:00:00:00', mtu: 65536 }),
      link(2, 'net1', { kind: 'macvlan', parentIndex: 9, macvlanMode: 'bridge', mtu: 1450 }),
      link(3, 'net2', { kind: 'ipvlan', parentIndex: 9 }),
      link(4, 'idle', { kind: 'macvlan', parentIndex: 9 }),
      link(5, 'vl0', { kind: 'vlan', parentIndex: 9 }),
    ],
    addresses: [
      addr(2, '10.1.0.2/24'),
      addr(2, 'fe80::858:aff:fe01:2/64', 'link'),
      addr(3, '10.3.0.2/24'),
      addr(4, 'fe80::4/64', 'link'),
      addr(5, '10.5.0.2/24'),
    ],
    routes: [
      route(2, '10.1.0.0/24', { protocol: 2, scope: 'link' }),
      route(2, 'default', { gateway: '10.1.0.1' }),
      route(3, '10.3.0.0/24', { protocol: 2, scope: 'link' }),
      route(3, '10.30.0.0/16', { gateway: '10.3.0.1', mtu: 1400 }),
    ],
    pciOf: () => undefined,
  };

  it('turns each into its endpoint with addresses and routes, and skips the rest saying why', () => {
    const { endpoints, skipped } = classifyLinks(input);
    const expected: Endpoint[] = [
      {
        kind: 'macvlan',
        name: 'net1',
        mac: '0a:58:00:00:00:02',
        mtu: 1450,
        addresses: ['10.1.0.2/24'],
        routes: [{ dst: 'default', gateway: '10.1.0.1' }],
      },
      {
        kind: 'ipvlan',
        name: 'net2',
        mac: '0a:58:00:00:00:03',
        mtu: 1500,
        addresses: ['10.3.0.2/24'],
        routes: [{ dst: '10.30.0.0/16', gateway: '10.3.0.1', mtu: 1400 }],
      },
    ];
    expect(endpoints).toEqual(expected);
    expect(skipped).toEqual([
      { name: 'lo', reason: 'loopback' },
      { name: 'idle', reason: 'no addresses' },
      { name: 'vl0', reason: "link kind 'vlan' is not an endpoint kind" },
    ]);
    endpoints.forEach((e, i) => expect(parseEndpoint(e, `endpoints[${i}]`)).toEqual(e));
  });

  it('ignores the interworking option (the tcfilter model is the only one for these kinds)', () => {
    const { endpoints } = classifyLinks(input, { interworking: 'macvtap' });
    expect(endpoints.map((e) => ('interworking' in e ? e.interworking : e.kind))).toEqual([
      'macvlan',
      'ipvlan',
    ]);
  });
});

describe.each(KINDS)('the kernel message of a %s link', (kind) => {
  it('decodes to a scanned link of that kind, its parent from IFLA_LINK', () => {
    const [message] = decodeMessages(
      encodeMessage(RTM_NEWLINK, 0, 1, [
        encodeIfInfoMsg({ index: 4, flags: 0x1003 }),
        stringAttr(IFLA_IFNAME, 'net1'),
        u32Attr(IFLA_MTU, 1450),
        encodeAttr(IFLA_ADDRESS, Buffer.from('0a580a010002', 'hex')),
        u32Attr(IFLA_LINK, 2),
        nestAttr(IFLA_LINKINFO, [stringAttr(IFLA_INFO_KIND, kind, false)]),
      ]),
    );
    const scanned = decodeScannedLink(message!);
    expect(scanned).toMatchObject({
      index: 4,
      name: 'net1',
      kind,
      mtu: 1450,
      mac: '0a:58:0a:01:00:02',
      parentIndex: 2,
      peerIndex: undefined,
      tunType: undefined,
      loopback: false,
    });
    const { endpoints } = classifyLinks({
      links: [scanned],
      addresses: [addr(4, '10.1.0.2/24')],
      routes: [],
      pciOf: () => undefined,
    });
    expect(endpoints).toEqual([
      {
        kind,
        name: 'net1',
        mac: '0a:58:0a:01:00:02',
        mtu: 1450,
        addresses: ['10.1.0.2/24'],
        routes: [],
      },
    ]);
  });
});
