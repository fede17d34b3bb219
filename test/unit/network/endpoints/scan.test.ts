// scan's pure rules (classifyLinks), resolv.conf parsing and lookup, and the PCI device behind
// a link on a fake sysfs tree. The real netns side is in test/integration/.../scan.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEndpoint } from '../../../../network/endpoints/parse.js';
import {
  parseResolvConf,
  readNetnsDns,
  resolvConfCandidates,
} from '../../../../network/endpoints/dns.js';
import type { PciLookup, ScanInput } from '../../../../network/endpoints/scan-classify.js';
import { classifyLinks } from '../../../../network/endpoints/scan-classify.js';
import { pciAddressOfDevice, readPciIdentity } from '../../../../network/endpoints/sysfs-pci.js';
import type { FakeSysfs } from '../../../helpers/fake-sysfs.js';
import { createFakeSysfs } from '../../../helpers/fake-sysfs.js';
import {
  scannedAddr as addr,
  scannedLink as link,
  scannedRoute as route,
} from '../../../helpers/scan-samples.js';

const noPci = (): undefined => undefined;

describe('classifyLinks', () => {
  const links = [
    link(1, 'lo', { loopback: true, kind: undefined, mac: '00:00:00:00:00:00', mtu: 65536 }),
    link(2, 'eth0', { kind: 'veth', mtu: 1450 }),
    link(3, 'tap0', { kind: 'tun', tunType: 'tap' }),
    link(4, 'tun0', { kind: 'tun', tunType: 'tun' }),
    link(5, 'mvt0', { kind: 'macvtap', parentIndex: 2 }),
    link(6, 'br0', { kind: 'bridge' }),
    link(7, 'ens1', { parent: { bus: 'pci', name: '0000:01:00.0' } }),
    link(8, 'idle', { kind: 'veth' }),
    link(9, 'dummy', {}),
  ];
  const addresses = [
    addr(1, '127.0.0.1/8', 'host'),
    addr(2, '10.1.0.2/24'),
    addr(2, 'fd00:1::2/64'),
    addr(2, 'fe80::1/64', 'link'),
    ...[3, 4, 5, 6, 7, 9].map((i) => addr(i, `10.9.${i}.1/24`)),
    addr(8, 'fe80::8/64', 'link'),
  ];
  const routes = [
    route(2, '10.1.0.0/24', { protocol: 2, scope: 'link' }),
    route(2, 'fe80::/64', { protocol: 2 }),
    route(2, 'default', { gateway: '10.1.0.1' }),
    route(2, 'default', { gateway: 'fd00:1::1', family: 6 }),
    route(2, '10.50.0.0/16', { gateway: '10.1.0.1', mtu: 1400 }),
    route(2, 'default', { family: 6, protocol: 4 }),
    route(3, '10.77.0.0/16'),
  ];
  const pci: PciLookup = { pciAddress: '0000:01:00.0', vendorDevice: '8086:10fb', driver: 'ixgbe' };
  const input: ScanInput = {
    links,
    addresses,
    routes,
    pciOf: (l) => (l.parent?.name === '0000:01:00.0' ? pci : undefined),
  };

  it('classifies every kind and says why the rest were skipped', () => {
    const { endpoints, skipped } = classifyLinks(input);
    expect(endpoints).toEqual([
      {
        kind: 'veth',
        name: 'eth0',
        interworking: 'tcfilter',
        mac: '02:00:00:00:00:02',
        mtu: 1450,
        addresses: ['10.1.0.2/24', 'fd00:1::2/64'],
        routes: [
          { dst: 'default', gateway: '10.1.0.1' },
          { dst: 'default', gateway: 'fd00:1::1' },
          { dst: '10.50.0.0/16', gateway: '10.1.0.1', mtu: 1400 },
          { dst: '::/0' },
        ],
      },
      { kind: 'tap', name: 'tap0', mac: '02:00:00:00:00:03', mtu: 1500 },
      { kind: 'macvtap', name: 'mvt0', mac: '02:00:00:00:00:05', mtu: 1500 },
      { kind: 'physical', pciAddress: '0000:01:00.0', vendorDevice: '8086:10fb', driver: 'ixgbe' },
    ]);
    expect(skipped).toEqual([
      { name: 'lo', reason: 'loopback' },
      { name: 'tun0', reason: 'a tun device (L3), not a tap' },
      { name: 'br0', reason: "link kind 'bridge' is not an endpoint kind" },
      { name: 'idle', reason: 'no addresses' },
      { name: 'dummy', reason: 'no link kind and no PCI device behind it' },
    ]);
    endpoints.forEach((e, i) => expect(parseEndpoint(e, `endpoints[${i}]`)).toEqual(e));
  });

  it('uses the interworking model the caller chose, globally or per link', () => {
    const one = classifyLinks(input, { interworking: 'macvtap' }).endpoints[0];
    expect(one).toMatchObject({ interworking: 'macvtap' });
    const per = classifyLinks(input, { interworking: { eth0: 'bridged' } }).endpoints[0];
    expect(per).toMatchObject({ interworking: 'bridged' });
  });

  it('turns mapped links into vhost-user endpoints, even without addresses', () => {
    const { endpoints } = classifyLinks(input, {
      vhostUserSockets: {
        idle: { socketPath: '/run/vml/idle.sock', mode: 'client' },
        eth0: { socketPath: '/run/vml/eth0.sock', mode: 'server' },
      },
    });
    expect(endpoints.filter((e) => e.kind === 'vhost-user')).toEqual([
      {
        kind: 'vhost-user',
        socketPath: '/run/vml/eth0.sock',
        mode: 'server',
        mac: '02:00:00:00:00:02',
        mtu: 1450,
      },
      {
        kind: 'vhost-user',
        socketPath: '/run/vml/idle.sock',
        mode: 'client',
        mac: '02:00:00:00:00:08',
        mtu: 1500,
      },
    ]);
  });

  it('refuses a mapping naming no link, or with a bad path or mode', () => {
    const bad = (m: Record<string, unknown>) => () =>
      classifyLinks(input, { vhostUserSockets: m as never });
    expect(bad({ nope: { socketPath: '/x.sock', mode: 'client' } })).toThrow(
      /options.vhostUserSockets.nope: no link/,
    );
    expect(bad({ eth0: { socketPath: 'x.sock', mode: 'client' } })).toThrow(/must be absolute/);
    expect(bad({ eth0: { socketPath: '/x.sock', mode: 'both' } })).toThrow(/\.mode/);
  });

  it('gives an empty result for a netns with only lo', () => {
    const only = { ...input, links: [links[0]!], pciOf: noPci };
    expect(classifyLinks(only)).toEqual({
      endpoints: [],
      skipped: [{ name: 'lo', reason: 'loopback' }],
    });
  });
});

describe('DNS of a netns', () => {
  let etc: string | undefined;
  afterEach(() => etc && rmSync(etc, { recursive: true, force: true }));

  it('parses nameservers, search (last of search/domain wins), options and comments', () => {
    const text = [
      '# generated',
      'nameserver 10.0.0.53',
      'domain old.example',
      'search a.example b.example ; trailing comment',
      'nameserver fd00::53',
      'options ndots:2 timeout:1',
      'options rotate',
      'sortlist 10.0.0.0/8',
    ].join('\n');
    expect(parseResolvConf(text)).toEqual({
      nameservers: ['10.0.0.53', 'fd00::53'],
      search: ['a.example', 'b.example'],
      options: ['ndots:2', 'timeout:1', 'rotate'],
    });
  });

  it('prefers /etc/netns/NAME/resolv.conf, as ip netns exec binds it', async () => {
    etc = mkdtempSync(join(tmpdir(), 'vml-etc-'));
    writeFileSync(join(etc, 'resolv.conf'), 'nameserver 1.1.1.1\n');
    mkdirSync(join(etc, 'netns', 'vml-a'), { recursive: true });
    writeFileSync(join(etc, 'netns', 'vml-a', 'resolv.conf'), 'nameserver 10.0.0.1\nsearch x\n');
    expect(await readNetnsDns('vml-a', { etcRoot: etc })).toEqual({
      nameservers: ['10.0.0.1'],
      search: ['x'],
      options: [],
    });
    expect((await readNetnsDns('/run/netns/vml-a', { etcRoot: etc })).nameservers).toEqual([
      '10.0.0.1',
    ]);
    expect((await readNetnsDns('vml-b', { etcRoot: etc })).nameservers).toEqual(['1.1.1.1']);
    expect((await readNetnsDns('/proc/1/ns/net', { etcRoot: etc })).nameservers).toEqual([
      '1.1.1.1',
    ]);
    expect((await readNetnsDns(undefined, { etcRoot: etc })).nameservers).toEqual(['1.1.1.1']);
    rmSync(join(etc, 'resolv.conf'));
    expect(await readNetnsDns('vml-b', { etcRoot: etc })).toEqual({
      nameservers: [],
      search: [],
      options: [],
    });
  });

  it('refuses a netns name that could escape /etc/netns', () => {
    expect(() => resolvConfCandidates('../x')).toThrow(/netns/);
  });
});

describe('the PCI device behind a link, on a fake sysfs', () => {
  let fake: FakeSysfs | undefined;
  afterEach(() => fake?.cleanup());

  it('finds a PCI parent directly and a virtio parent through its PCI function', () => {
    fake = createFakeSysfs(
      [
        { address: '0000:01:00.0', vendor: '8086', device: '10fb', driver: 'ixgbe' },
        {
          address: '0000:00:03.0',
          vendor: '1af4',
          device: '1000',
          driver: 'virtio-pci',
          virtio: ['virtio2'],
        },
      ],
      ['ixgbe', 'virtio-pci'],
    );
    const { io, root } = fake;
    expect(pciAddressOfDevice(io, root, 'pci', '0000:01:00.0')).toBe('0000:01:00.0');
    expect(pciAddressOfDevice(io, root, 'virtio', 'virtio2')).toBe('0000:00:03.0');
    expect(pciAddressOfDevice(io, root, 'pci', '0000:09:00.0')).toBeUndefined();
    expect(pciAddressOfDevice(io, root, 'virtio', 'virtio9')).toBeUndefined();
    expect(pciAddressOfDevice(io, root, 'virtio', '..')).toBeUndefined();
    expect(pciAddressOfDevice(io, root, '../..', 'x')).toBeUndefined();
    expect(readPciIdentity(io, root, '0000:00:03.0')).toEqual({
      vendorDevice: '1af4:1000',
      driver: 'virtio-pci',
      driverOverride: undefined,
      iommuGroup: '7',
    });
    expect(fake.writes).toEqual([]);
  });
});
