// scanNetns against real namespaces: a veth to a second netns (v4 + v6 addresses, a default
// route each, a route with an MTU), a tap, an L3 tun, a macvtap on the veth, an address-less
// veth, and a resolv.conf under /etc/netns/<name>/. `ip -json` is the oracle for MACs, MTUs
// and what exists; the netns, /etc/netns/<name> and our fds are as before afterwards.
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/index.js';
import { parseEndpoint } from '../../../../network/endpoints/parse.js';
import { scanNetns } from '../../../../network/endpoints/scan.js';
import { openFds } from '../../../helpers/leaks.js';
import { ip, ipJson, withTestNetns } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';

interface IpLink {
  ifname: string;
  address?: string;
  mtu: number;
  parentbus?: string;
  parentdev?: string;
}

const macOf = (ns: string, name: string): string =>
  ipJson<IpLink[]>('-n', ns, 'link', 'show', name)[0]!.address!;

// Creates /etc/netns/<ns>/resolv.conf; the returned function removes exactly what it made.
function netnsResolvConf(ns: string, text: string): () => void {
  const top = '/etc/netns';
  const madeTop = !existsSync(top);
  mkdirSync(`${top}/${ns}`, { recursive: true });
  writeFileSync(`${top}/${ns}/resolv.conf`, text);
  return () => {
    rmSync(`${top}/${ns}`, { recursive: true, force: true });
    if (madeTop) {
      try {
        rmdirSync(top);
      } catch {
        // another test's netns dir is in there now: not ours to remove
      }
    }
  };
}

// Plumbs the scan fixture into `ns`, with the veth's peer in `peer`.
function plumb(ns: string, peer: string): void {
  const n = (...args: string[]) => ip('-n', ns, ...args);
  n('link', 'add', 'eth0', 'mtu', '1450', 'type', 'veth', 'peer', 'name', 'p0', 'netns', peer);
  n('addr', 'add', '10.1.0.2/24', 'dev', 'eth0');
  n('addr', 'add', 'fd00:1::2/64', 'dev', 'eth0', 'nodad');
  n('link', 'set', 'eth0', 'up');
  ip('-n', peer, 'link', 'set', 'p0', 'up');
  n('route', 'add', 'default', 'via', '10.1.0.1', 'dev', 'eth0');
  n('route', 'add', '10.50.0.0/16', 'via', '10.1.0.1', 'dev', 'eth0', 'mtu', '1400');
  n('-6', 'route', 'add', 'default', 'via', 'fd00:1::1', 'dev', 'eth0');
  n('tuntap', 'add', 'dev', 'tap0', 'mode', 'tap');
  n('addr', 'add', '10.2.0.1/24', 'dev', 'tap0');
  n('tuntap', 'add', 'dev', 'tun0', 'mode', 'tun');
  n('addr', 'add', '10.4.0.1/24', 'dev', 'tun0');
  n('link', 'add', 'link', 'eth0', 'name', 'mvt0', 'type', 'macvtap', 'mode', 'bridge');
  n('addr', 'add', '10.3.0.1/24', 'dev', 'mvt0');
  n('link', 'add', 'bare0', 'type', 'veth', 'peer', 'name', 'bare1');
  n('link', 'set', 'bare0', 'up');
}

describe.runIf(prerequisite('scan integration', rootNetnsMissing()))(
  'scanNetns (real netns)',
  () => {
    it('finds veth, tap, macvtap with addresses, routes, MTU, MAC and the netns DNS', async () => {
      await withTestNetns('scanpeer', async (peer) => {
        await withTestNetns('scan', async (ns) => {
          plumb(ns, peer);
          const removeDns = netnsResolvConf(ns, 'nameserver 10.1.0.53\nsearch vml.test\n');
          try {
            const fdsBefore = [...openFds().keys()].sort();
            const links = ipJson<IpLink[]>('-n', ns, 'link', 'show');
            const result = await scanNetns(ns);
            expect(result.endpoints).toEqual([
              {
                kind: 'veth',
                name: 'eth0',
                interworking: 'tcfilter',
                mac: macOf(ns, 'eth0'),
                mtu: 1450,
                addresses: ['10.1.0.2/24', 'fd00:1::2/64'],
                routes: [
                  { dst: 'default', gateway: '10.1.0.1' },
                  { dst: '10.50.0.0/16', gateway: '10.1.0.1', mtu: 1400 },
                  { dst: 'default', gateway: 'fd00:1::1' },
                ],
              },
              { kind: 'tap', name: 'tap0', mac: macOf(ns, 'tap0'), mtu: 1500 },
              { kind: 'macvtap', name: 'mvt0', mac: macOf(ns, 'mvt0'), mtu: 1450 },
            ]);
            expect(result.skipped).toEqual([
              { name: 'lo', reason: 'loopback' },
              { name: 'tun0', reason: 'a tun device (L3), not a tap' },
              { name: 'bare1', reason: 'no addresses' },
              { name: 'bare0', reason: 'no addresses' },
            ]);
            expect(result.endpoints.length + result.skipped.length).toBe(links.length);
            expect(result.dns).toEqual({
              nameservers: ['10.1.0.53'],
              search: ['vml.test'],
              options: [],
            });
            result.endpoints.forEach((e, i) => expect(parseEndpoint(e, `[${i}]`)).toEqual(e));
            expect([...openFds().keys()].sort()).toEqual(fdsBefore);
          } finally {
            removeDns();
          }
          const again = await scanNetns(ns, {
            interworking: 'macvtap',
            vhostUserSockets: { bare0: { socketPath: '/run/vml-x/bare0.sock', mode: 'client' } },
          });
          expect(again.endpoints[0]).toMatchObject({ kind: 'veth', interworking: 'macvtap' });
          expect(again.endpoints).toContainEqual({
            kind: 'vhost-user',
            socketPath: '/run/vml-x/bare0.sock',
            mode: 'client',
            mac: macOf(ns, 'bare0'),
            mtu: 1500,
          });
          // Without /etc/netns/<ns>/resolv.conf, the host's /etc/resolv.conf applies.
          expect(again.dns).toEqual(await scanNetns(undefined).then((r) => r.dns));
        });
      });
    });

    it('refuses a missing netns and a mapping naming no link, leaking no fd', async () => {
      const fdsBefore = [...openFds().keys()].sort();
      await expect(scanNetns('vml-scan-missing-0')).rejects.toThrow(ValidationError);
      await withTestNetns('scanmap', async (ns) => {
        await expect(
          scanNetns(ns, { vhostUserSockets: { eth9: { socketPath: '/x.sock', mode: 'client' } } }),
        ).rejects.toMatchObject({ code: 'NO_LINK' });
        const empty = await scanNetns(ns);
        expect(empty.endpoints).toEqual([]);
      });
      expect([...openFds().keys()].sort()).toEqual(fdsBefore);
    });

    // Read-only look at our own netns: a NIC whose parent device is (behind) a PCI function is a
    // physical endpoint; `ip -d -j link` (parentbus/parentdev) and sysfs are the oracle.
    it('classifies host NICs behind PCI as physical (read-only)', async () => {
      const { endpoints } = await scanNetns(undefined);
      const addressed = new Set(
        ipJson<{ ifname: string; addr_info: { scope: string }[] }[]>('addr', 'show')
          .filter((l) => l.addr_info.some((a) => a.scope === 'global'))
          .map((l) => l.ifname),
      );
      const expected = ipJson<IpLink[]>('-d', 'link', 'show')
        .filter((l) => l.parentbus !== undefined && addressed.has(l.ifname))
        .map((l) => pciBehind(`/sys/bus/${l.parentbus}/devices/${l.parentdev}`))
        .filter((a): a is string => a !== undefined);
      const found = endpoints.flatMap((e) => (e.kind === 'physical' ? [e] : []));
      expect(found.map((e) => e.pciAddress).sort()).toEqual(expected.sort());
      for (const e of found) {
        const dir = `/sys/bus/pci/devices/${e.pciAddress}`;
        const id = ['vendor', 'device'].map((f) =>
          readFileSync(`${dir}/${f}`, 'utf8').trim().slice(2),
        );
        expect(e.vendorDevice).toBe(id.join(':'));
        expect(e.driver).toBe(basename(readlinkSync(`${dir}/driver`)));
      }
    });
  },
);

// The nearest PCI function at or above a sysfs device path.
function pciBehind(path: string): string | undefined {
  return realpathSync(path)
    .split('/')
    .reverse()
    .find((part) => /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(part));
}
