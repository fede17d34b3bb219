// Acceptance of a real cloud-init guest (issue 13): the CNI bridge plugin prepares a vml- netns
// (address, default route and one more route through the gateway, MTU, DNS), scanNetns reads it,
// and the cloud-init guest (scripts/guest/cloud-image.sh: systemd, cloud-init, netplan) boots on
// that endpoint with the NoCloud seed launch derives from it (docs/guest-network.md). Inside
// the guest, the NIC with the endpoint's MAC has the addresses, MTU and routes the netns has,
// resolved uses the netns's nameservers and search domains, the hostname is the seed's, and
// it pings the gateway. Slow under TCG: its own CI step
// (scripts/test.sh; docs/cloud-init-guest.md).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { launch } from '../../../launcher/launch.js';
import type { Vm, VmExit } from '../../../launcher/vm.js';
import { parseResolvConf } from '../../../network/endpoints/dns.js';
import { scanNetns } from '../../../network/endpoints/scan.js';
import type { VethEndpoint } from '../../../network/endpoints/types.js';
import { addBridgeNet, cniBridgeMissing, type CniBridgeSpec } from '../../helpers/cni-bridge.js';
import { cloudGuest, cloudGuestMissing } from '../../helpers/cloud-guest.js';
import { qemuMissing } from '../../helpers/guest.js';
import { ip, ipJson, uniqueNetnsName } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';

const SPEC: CniBridgeSpec = {
  subnet: '10.215.3.0/24',
  gateway: '10.215.3.1',
  mtu: 1400,
  routes: ['10.99.0.0/16'],
  nameservers: ['10.215.3.53', '10.215.3.54'],
  search: ['vml.example', 'corp.vml.example'],
};
const HOSTNAME = 'vml-cloud-guest';

interface IpAddr {
  ifname: string;
  address: string;
  mtu: number;
  addr_info: { family: string; local: string; prefixlen: number; scope: string }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  metrics?: { mtu?: number }[];
}

// What is compared of a route: destination, gateway, device and MTU (not protocol: CNI adds
// routes as 'boot', networkd as 'static').
// The device is named by role (the guest may name its NIC otherwise than the netns does).
const routeView = (r: IpRoute, nic: string): string =>
  [
    r.dst,
    r.gateway ?? '-',
    r.dev === nic ? 'NIC' : r.dev,
    r.metrics?.find((m) => m.mtu)?.mtu ?? '-',
  ].join(' ');
const routeViews = (routes: IpRoute[], nic: string): string[] =>
  routes.map((r) => routeView(r, nic)).sort();
const inet = (link: IpAddr): string[] =>
  link.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);

async function guestJson<T>(vm: Vm, command: string): Promise<T> {
  return JSON.parse(await vm.guest.check(command)) as T;
}

describe.runIf(
  prerequisite(
    'cloud-init guest',
    rootNetnsMissing() ?? qemuMissing() ?? cniBridgeMissing() ?? cloudGuestMissing(),
  ),
)('a cloud-init guest takes the identity the CNI bridge plugin gave a netns', () => {
  it('addresses, routes, MTU and DNS in the guest equal the netns; it pings the gateway', async () => {
    let t = Date.now();
    const guest = await cloudGuest();
    console.info(`cloud guest ${guest.key} (cached: ${guest.cached}) in ${Date.now() - t} ms`);

    const parent = uniqueNetnsName('cip');
    const sandbox = uniqueNetnsName('cis');
    let net: ReturnType<typeof addBridgeNet> | undefined;
    let vm: Vm | undefined;
    let exit: VmExit | undefined;
    ip('netns', 'add', parent);
    try {
      ip('netns', 'add', sandbox);
      ip('-n', parent, 'link', 'set', 'lo', 'up');
      net = addBridgeNet(parent, sandbox, SPEC);
      const netnsEth0 = ipJson<IpAddr[]>('-n', sandbox, 'addr', 'show', 'dev', 'eth0')[0]!;
      const netnsRoutes = ipJson<IpRoute[]>('-n', sandbox, '-4', 'route', 'show', 'table', 'main');
      // The plugin did what the spec asks, so the comparisons below compare something.
      expect(netnsEth0.mtu).toBe(SPEC.mtu);
      expect(routeViews(netnsRoutes, 'eth0')).toEqual(
        [
          `default ${SPEC.gateway} NIC -`,
          `10.99.0.0/16 ${SPEC.gateway} NIC -`,
          `${SPEC.subnet} - NIC -`,
        ].sort(),
      );

      const scanned = await scanNetns(sandbox);
      expect(scanned.endpoints).toHaveLength(1);
      const veth = scanned.endpoints[0] as VethEndpoint;
      expect(scanned.dns).toMatchObject({ nameservers: SPEC.nameservers, search: SPEC.search });

      t = Date.now();
      vm = await launch({
        kernel: guest.kernel,
        initrd: guest.initrd,
        cmdline: ['root=/dev/vda'],
        memoryMiB: 1024,
        drives: [{ path: guest.image, id: 'root', ephemeral: true }],
        endpoints: [{ endpoint: veth, netns: sandbox }],
        // The seed drive is launch's own (on because the endpoint carries addresses).
        guestNetwork: { dns: scanned.dns, hostname: HOSTNAME },
      });
      // systemd + cloud-init's four stages under TCG on a shared host: minutes, not hours.
      await vm.guest.waitReady({ timeout: 600_000 }).catch((error: unknown) => {
        throw new Error(`no ready marker; console tail:\n${vm!.console.tail(4000)}`, {
          cause: error,
        });
      });
      const readyMs = Date.now() - t;
      const online = await vm.guest.check(
        'systemctl show -P ActiveEnterTimestampMonotonic network-online.target',
      );
      console.info(
        `launch to ready marker ${readyMs} ms; guest boot to network-online ${Math.round(Number(online) / 1000)} ms`,
      );

      const status = await vm.guest.check('cloud-init status --long');
      expect(status).toMatch(/status: done/);
      expect(status).toMatch(/DataSourceNoCloud \[seed=\/dev\/vd/);
      expect((await vm.guest.check('hostname')).trim()).toBe(HOSTNAME);

      // The guest's NIC is the one with the endpoint's MAC (the seed matches by MAC).
      const guestLinks = await guestJson<IpAddr[]>(vm, 'ip -j addr show');
      const guestEth0 = guestLinks.find((l) => l.address === netnsEth0.address);
      if (guestEth0 === undefined) throw new Error(`no guest NIC with MAC ${netnsEth0.address}`);
      expect(guestEth0.mtu).toBe(netnsEth0.mtu);
      expect(inet(guestEth0)).toEqual(inet(netnsEth0));
      expect(inet(guestEth0)).toEqual(veth.addresses);

      const guestRoutes = await guestJson<IpRoute[]>(vm, 'ip -j -4 route show table main');
      expect(routeViews(guestRoutes, guestEth0.ifname)).toEqual(routeViews(netnsRoutes, 'eth0'));

      // resolved's upstream view (/etc/resolv.conf is its stub, which keeps the search list).
      const upstream = parseResolvConf(
        await vm.guest.check('cat /run/systemd/resolve/resolv.conf'),
      );
      expect(upstream.nameservers).toEqual(SPEC.nameservers);
      expect(upstream.search).toEqual(SPEC.search);
      expect(parseResolvConf(await vm.guest.check('cat /etc/resolv.conf')).search).toEqual(
        SPEC.search,
      );

      expect(await vm.guest.check(`ping -c 3 -W 5 ${SPEC.gateway}`, { timeout: 60_000 })).toMatch(
        /3 packets transmitted, 3 received/,
      );
    } finally {
      // systemd powers off on the ACPI button (logind), slowly under TCG.
      exit = await vm?.shutdown({ timeout: 180_000 });
      if (exit) console.info(`shutdown: ${JSON.stringify(exit)}`);
      net?.remove();
      for (const ns of [sandbox, parent]) {
        try {
          execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
        } catch {
          // never added (an earlier step failed)
        }
      }
    }
    expect(exit?.unexpected).toBe(false);
    expect(vm?.leftovers).toEqual([]);
  }, 1_800_000);
});
