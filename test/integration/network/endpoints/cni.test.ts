// CNI as a real peer: Debian's containernetworking-plugins `bridge` plugin (run by hand, as a
// container runtime would: CNI_COMMAND=ADD, config on stdin) prepares a `vml-` netns; scan must
// find its veth with exactly the address and routes CNI reports; attach + detach with every
// interworking model must leave the netns as CNI made it (`ip -json` link/addr/route, `tc -json`
// qdisc/filter); CNI DEL must then succeed. The plugin creates its bridge and the veth's host
// end in the HOST netns (the one exception to "only inside vml- netns"): the bridge has a unique
// vml name and both are removed in finally, which also checks `ip -j link` for leftovers.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closeFd } from '../../../../native/index.js';
import { attachEndpoint } from '../../../../network/endpoints/attach.js';
import { scanNetns } from '../../../../network/endpoints/scan.js';
import type { VethEndpoint } from '../../../../network/endpoints/types.js';
import { INTERWORKING_MODELS } from '../../../../network/endpoints/types.js';
import { ip, ipJson, netnsConfig as snapshot, uniqueNetnsName } from '../../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../../helpers/prereq.js';

const CNI_PATH = '/usr/lib/cni';
const FORWARD = '/proc/sys/net/ipv4/ip_forward';

interface CniResult {
  interfaces: { name: string; mac: string; sandbox?: string }[];
  ips: { interface?: number; address: string; gateway?: string }[];
  routes?: { dst: string; gw?: string }[];
}

function cniMissing(): string | undefined {
  for (const plugin of ['bridge', 'host-local']) {
    if (!existsSync(join(CNI_PATH, plugin))) {
      return `needs ${CNI_PATH}/${plugin} (Debian package containernetworking-plugins)`;
    }
  }
  return undefined;
}

// Runs the bridge plugin as a runtime would; the plugin's error JSON (stdout) is in the message.
function cni(command: 'ADD' | 'DEL', ns: string, config: object): CniResult | undefined {
  try {
    const out = execFileSync(join(CNI_PATH, 'bridge'), [], {
      input: JSON.stringify(config),
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: command,
        CNI_CONTAINERID: ns,
        CNI_NETNS: `/run/netns/${ns}`,
        CNI_IFNAME: 'eth0',
        CNI_PATH,
      },
    });
    return command === 'ADD' ? (JSON.parse(out) as CniResult) : undefined;
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout ?? '';
    throw new Error(`CNI ${command} failed: ${(error as Error).message} ${stdout}`);
  }
}

// A private /24 no host route touches yet.
function freeSubnet(): string {
  const routes = ipJson<{ dst: string }[]>('route', 'show').map((r) => r.dst);
  for (let i = 0; i < 50; i++) {
    const third = 1 + (randomBytes(1)[0]! % 250);
    const subnet = `10.213.${third}.0/24`;
    if (!routes.some((d) => d.startsWith(`10.213.${third}.`) || d === '10.213.0.0/16'))
      return subnet;
  }
  throw new Error('no free 10.213.x.0/24 on this host');
}

const hostLinks = (): { ifname: string; master?: string }[] => ipJson('link', 'show');

describe.runIf(prerequisite('CNI real peer', rootNetnsMissing() ?? cniMissing()))(
  'CNI bridge plugin as a real peer',
  () => {
    it('scan finds what CNI made; attach/detach leave it as CNI made it; DEL succeeds', async () => {
      const ns = uniqueNetnsName('cni');
      const bridge = `vml${randomBytes(5).toString('hex')}`;
      const dataDir = mkdtempSync(join(tmpdir(), 'vml-cni-ipam-'));
      const subnet = freeSubnet();
      const prefix = subnet.slice(0, subnet.lastIndexOf('.'));
      const config = {
        cniVersion: '1.0.0',
        name: `vml-${bridge}`,
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: false,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet }]],
          routes: [{ dst: '0.0.0.0/0' }, { dst: '10.99.0.0/16', gw: `${prefix}.1` }],
          dataDir,
        },
      };
      const before = new Set(hostLinks().map((l) => l.ifname));
      const forwardBefore = readFileSync(FORWARD, 'utf8');
      let hostVeth: string | undefined;
      let added = false;
      ip('netns', 'add', ns);
      try {
        const result = cni('ADD', ns, config)!;
        added = true;
        hostVeth = result.interfaces.find(
          (i) => i.sandbox === undefined && i.name !== bridge,
        )?.name;
        const eth0 = result.interfaces.find((i) => i.name === 'eth0' && i.sandbox !== undefined)!;
        const gateway = result.ips[0]!.gateway;
        console.info(`CNI ADD result: ${JSON.stringify(result)}`);

        const scanned = await scanNetns(ns);
        console.info(`scan: ${JSON.stringify(scanned.endpoints)}`);
        expect(scanned.endpoints).toEqual([
          {
            kind: 'veth',
            name: 'eth0',
            interworking: 'tcfilter',
            mac: eth0.mac,
            mtu: 1500,
            addresses: result.ips.map((i) => i.address),
            routes: (result.routes ?? []).map((r) => ({
              dst: r.dst === '0.0.0.0/0' ? 'default' : r.dst,
              gateway: r.gw ?? gateway,
            })),
          },
        ]);
        const veth = scanned.endpoints[0] as VethEndpoint;

        const asCniMadeIt = snapshot(ns);
        // Each model is compared with the state just before its own attach (so one model's
        // leftover does not blame the next), and the end state with what CNI left.
        for (const interworking of INTERWORKING_MODELS) {
          const beforeAttach = snapshot(ns);
          const attached = await attachEndpoint(
            { ...veth, interworking },
            { netns: ns, nicId: `cni-${interworking}` },
          );
          const nic = attached.hostNic;
          const fds = nic.kind === 'tap' ? [...nic.tapFds, ...nic.vhostFds] : [];
          try {
            expect(nic.kind, interworking).toBe('tap');
            expect(snapshot(ns), `${interworking} changed nothing`).not.toEqual(beforeAttach);
          } finally {
            await attached.detach();
            fds.forEach((fd) => closeFd(fd));
          }
          expect.soft(snapshot(ns), `netns after ${interworking} detach`).toEqual(beforeAttach);
        }
        expect.soft(snapshot(ns), 'netns after every model').toEqual(asCniMadeIt);
        expect((await scanNetns(ns)).endpoints).toEqual(scanned.endpoints);

        cni('DEL', ns, config);
        added = false;
        const left = ipJson<{ ifname: string }[]>('-n', ns, 'link', 'show').map((l) => l.ifname);
        expect(left).toEqual(['lo']);
      } finally {
        if (added) {
          try {
            cni('DEL', ns, config);
          } catch (error) {
            console.error(`cleanup: ${(error as Error).message}`);
          }
        }
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
        for (const name of [hostVeth, bridge]) {
          if (name !== undefined && hostLinks().some((l) => l.ifname === name)) {
            execFileSync('ip', ['link', 'del', name], { stdio: 'ignore' });
          }
        }
        if (readFileSync(FORWARD, 'utf8') !== forwardBefore) writeFileSync(FORWARD, forwardBefore);
        rmSync(dataDir, { recursive: true, force: true });
        const leftovers = hostLinks()
          .filter((l) => !before.has(l.ifname))
          // What this test's plugin call made: its bridge, the veth's host end, anything
          // enslaved to the bridge (links of other processes, e.g. a second suite, are not ours).
          .filter((l) => l.ifname === bridge || l.ifname === hostVeth || l.master === bridge)
          .map((l) => l.ifname);
        expect.soft(leftovers, 'host links left behind').toEqual([]);
      }
    });
  },
);
