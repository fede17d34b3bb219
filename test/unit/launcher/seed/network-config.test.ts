// guestNetworkConfig and the seed's files: the v2 document a scanned endpoint gives, the
// checks on what a caller writes, and the line file the default guest reads.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import { guestNetworkConfig } from '../../../../launcher/seed/network-config.js';
import { seedFiles, vmlaunchNetLines } from '../../../../launcher/seed/seed-files.js';

const ptp = {
  id: 'net0',
  mac: '52:54:00:AA:BB:01',
  mtu: 1400,
  addresses: ['10.215.3.2/24'],
  routes: [{ dst: 'default', gateway: '10.215.3.1' }, { dst: '10.215.3.1/32' }],
};

describe('guestNetworkConfig', () => {
  it('matches by MAC and orders the on-link route first; DNS goes on the first NIC', () => {
    const doc = guestNetworkConfig([ptp, { id: 'net1', mac: '52:54:00:aa:bb:02' }], {
      dns: { nameservers: ['10.215.3.1'], search: ['ptp.test'] },
    });
    expect(doc).toEqual({
      version: 2,
      ethernets: {
        net0: {
          match: { macaddress: '52:54:00:aa:bb:01' },
          addresses: ['10.215.3.2/24'],
          mtu: 1400,
          routes: [
            { to: '10.215.3.1/32', scope: 'link' },
            { to: 'default', via: '10.215.3.1' },
          ],
          nameservers: { addresses: ['10.215.3.1'], search: ['ptp.test'] },
        },
      },
    });
  });

  it('is deterministic: the same input gives the same text', () => {
    const a = JSON.stringify(guestNetworkConfig([ptp]));
    expect(JSON.stringify(guestNetworkConfig([structuredClone(ptp)]))).toBe(a);
  });

  it('refuses what the guest could not apply, naming the field', () => {
    const bad: [object, string][] = [
      [{ addresses: ['10.0.0.2/24'] }, 'nics[0].mac'],
      [{ ...ptp, addresses: ['10.0.0.300/24'] }, 'nics[0].addresses[0]'],
      [{ ...ptp, routes: [{ dst: 'default', gateway: 'gw' }] }, 'nics[0].routes[0].gateway'],
      [{ ...ptp, mtu: 20 }, 'nics[0].mtu'],
      [{ ...ptp, id: 'a b' }, 'nics[0].id'],
    ];
    for (const [nic, path] of bad) {
      expect(() => guestNetworkConfig([nic]), path).toThrow(ValidationError);
      expect(() => guestNetworkConfig([nic]), path).toThrow(path);
    }
    expect(() => guestNetworkConfig([ptp, ptp])).toThrow(/unique/);
    expect(() => guestNetworkConfig([ptp, { ...ptp, id: 'other' }])).toThrow(/MAC/);
    expect(() =>
      guestNetworkConfig([ptp], { dns: { nameservers: ['1.1.1.1'], search: ['a b'] } }),
    ).toThrow('dns.search[0]');
  });
});

describe('seed files', () => {
  const doc = guestNetworkConfig([ptp], { dns: { nameservers: ['10.215.3.1'], search: [] } });

  it('writes meta-data, network-config (JSON, so YAML), user-data and vmlaunch-net', () => {
    const files = seedFiles(doc, { instanceId: 'vmlaunch-1', hostname: 'vm1' });
    expect(files.map(([name]) => name)).toEqual([
      'meta-data',
      'network-config',
      'user-data',
      'vmlaunch-net',
    ]);
    const byName = Object.fromEntries(files);
    expect(JSON.parse(byName['meta-data']!)).toEqual({
      'instance-id': 'vmlaunch-1',
      'local-hostname': 'vm1',
    });
    expect(JSON.parse(byName['network-config']!)).toEqual(doc);
    expect(byName['user-data']).toMatch(/^#cloud-config\n/);
    const withUser = seedFiles(doc, { instanceId: 'i', hostname: 'h', userData: '#!/bin/sh\n' });
    expect(Object.fromEntries(withUser)['user-data']).toBe('#!/bin/sh\n');
  });

  it('the line file has one record per line, "-" for what is absent', () => {
    expect(vmlaunchNetLines(doc)).toBe(
      [
        '# vmlaunch-net 1',
        'nic 52:54:00:aa:bb:01 1400',
        'addr 52:54:00:aa:bb:01 10.215.3.2/24',
        'route 52:54:00:aa:bb:01 10.215.3.1/32 - - -',
        'route 52:54:00:aa:bb:01 default 10.215.3.1 - -',
        'nameserver 10.215.3.1',
        '',
      ].join('\n'),
    );
  });

  it('refuses a host name or instance id the guest could not take', () => {
    expect(() => seedFiles(doc, { instanceId: 'i', hostname: 'bad_name' })).toThrow('hostname');
    expect(() => seedFiles(doc, { instanceId: 'has space', hostname: 'h' })).toThrow('instanceId');
  });
});
