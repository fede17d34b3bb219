// The CNI bridge plugin (Debian's containernetworking-plugins) run by hand, as a runtime would,
// entirely inside vml- netns of the test: the plugin runs in `parent` (`ip netns exec`), so its
// bridge (the gateway, isGateway) and the veth's bridge end live there, and configures eth0 in
// `sandbox` with host-local IPAM; DNS from the config comes back in the result, and a runtime
// writes it where processes of the sandbox read it (/etc/netns/SANDBOX/resolv.conf).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CNI_PATH = '/usr/lib/cni';

/** What the plugin's ADD prints (the fields the tests read). */
export interface CniBridgeResult {
  interfaces: { name: string; mac: string; sandbox?: string }[];
  ips: { address: string; gateway?: string }[];
  routes?: { dst: string; gw?: string }[];
  dns?: { nameservers?: string[]; search?: string[] };
}

/** Why the bridge plugin cannot run here, or undefined. */
export function cniBridgeMissing(): string | undefined {
  for (const plugin of ['bridge', 'host-local']) {
    if (!existsSync(join(CNI_PATH, plugin))) {
      return `needs ${CNI_PATH}/${plugin} (Debian package containernetworking-plugins)`;
    }
  }
  return undefined;
}

/** What the network looks like: netns are private, so fixed values do not collide. */
export interface CniBridgeSpec {
  subnet: string;
  gateway: string;
  mtu: number;
  /** Extra routes besides the default one (through the gateway). */
  routes: string[];
  nameservers: string[];
  search: string[];
}

/** One plugin network; `remove` DELs (if added), frees IPAM and the resolv.conf; never throws. */
export interface CniBridgeNet {
  result: CniBridgeResult;
  remove(): void;
}

// Runs the plugin inside `parent`, config on stdin; the plugin's error JSON is in the message.
function run(command: 'ADD' | 'DEL', parent: string, sandbox: string, config: object): string {
  try {
    return execFileSync('ip', ['netns', 'exec', parent, join(CNI_PATH, 'bridge')], {
      input: JSON.stringify(config),
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: command,
        CNI_CONTAINERID: sandbox,
        CNI_NETNS: `/run/netns/${sandbox}`,
        CNI_IFNAME: 'eth0',
        CNI_PATH,
      },
    });
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout ?? '';
    throw new Error(`CNI ${command} failed: ${(error as Error).message} ${stdout}`);
  }
}

/** CNI ADD of a bridge network (bridge br0 in `parent`, eth0 in `sandbox`), as `spec` says. */
export function addBridgeNet(parent: string, sandbox: string, spec: CniBridgeSpec): CniBridgeNet {
  const dataDir = mkdtempSync(join(tmpdir(), 'vml-cni-ipam-'));
  const etcDir = join('/etc/netns', sandbox);
  const config = {
    cniVersion: '1.0.0',
    name: `vml-bridge-${sandbox}`,
    type: 'bridge',
    bridge: 'br0',
    isGateway: true,
    ipMasq: false,
    mtu: spec.mtu,
    dns: { nameservers: spec.nameservers, search: spec.search },
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: spec.subnet, gateway: spec.gateway }]],
      routes: [{ dst: '0.0.0.0/0' }, ...spec.routes.map((dst) => ({ dst }))],
      dataDir,
    },
  };
  let added = false;
  const remove = (): void => {
    if (added) {
      try {
        run('DEL', parent, sandbox, config);
      } catch (error) {
        console.error(`cleanup: ${(error as Error).message}`);
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(etcDir, { recursive: true, force: true });
  };
  try {
    const result = JSON.parse(run('ADD', parent, sandbox, config)) as CniBridgeResult;
    added = true;
    // What a runtime does with the result's DNS: the sandbox's resolv.conf.
    mkdirSync(etcDir, { recursive: true });
    const dns = result.dns ?? {};
    writeFileSync(
      join(etcDir, 'resolv.conf'),
      [
        ...(dns.nameservers ?? []).map((n) => `nameserver ${n}`),
        ...(dns.search?.length ? [`search ${dns.search.join(' ')}`] : []),
        '',
      ].join('\n'),
    );
    return { result, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
