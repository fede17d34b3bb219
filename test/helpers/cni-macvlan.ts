// The CNI macvlan plugin (Debian's containernetworking-plugins) run by hand, as a runtime would,
// entirely inside vml- netns of the test: `parent` holds the macvlan's master (veth up0) whose
// peer gw0 carries the gateway address, and the plugin (which needs its master in its own
// netns) runs inside `parent` with `ip netns exec`, configuring net1 in `sandbox`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ip, ipJson } from './netns.js';

/** Where Debian's containernetworking-plugins puts the plugins. */
export const CNI_PATH = '/usr/lib/cni';

/** The subnet and gateway the plugin's host-local IPAM hands out (netns are private). */
export const MACVLAN_SUBNET = '10.214.7.0/24';
export const MACVLAN_GATEWAY = '10.214.7.1';

/** What the plugin's ADD prints (the fields the tests read). */
export interface CniResult {
  interfaces: { name: string; mac: string; sandbox?: string }[];
  ips: { address: string; gateway?: string }[];
}

/** Why the macvlan plugin cannot run here, or undefined. */
export function cniMacvlanMissing(): string | undefined {
  for (const plugin of ['macvlan', 'host-local']) {
    if (!existsSync(join(CNI_PATH, plugin))) {
      return `needs ${CNI_PATH}/${plugin} (Debian package containernetworking-plugins)`;
    }
  }
  return undefined;
}

/** One plugin network between two existing netns; `remove` DELs (if added) and frees IPAM. */
export interface MacvlanNet {
  result: CniResult;
  /** CNI DEL; throws the plugin's error. */
  del(): void;
  /** DEL unless done, then remove the IPAM dir; never throws (logs instead). */
  remove(): void;
}

// Runs CNI `plugin` inside `parent` (as a runtime would in its own netns) for the container
// netns `sandbox` and interface `ifname`, config on stdin; the plugin's error JSON is in the message.
export function runCniPlugin(
  plugin: string,
  command: 'ADD' | 'DEL',
  parent: string,
  sandbox: string,
  config: object,
  ifname = 'net1',
): string {
  try {
    return execFileSync('ip', ['netns', 'exec', parent, join(CNI_PATH, plugin)], {
      input: JSON.stringify(config),
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: command,
        CNI_CONTAINERID: sandbox,
        CNI_NETNS: `/run/netns/${sandbox}`,
        CNI_IFNAME: ifname,
        CNI_PATH,
      },
    });
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout ?? '';
    throw new Error(`CNI ${plugin} ${command} failed: ${(error as Error).message} ${stdout}`);
  }
}

const run = (command: 'ADD' | 'DEL', parent: string, sandbox: string, config: object): string =>
  runCniPlugin('macvlan', command, parent, sandbox, config);

/**
 * Makes the master (up0) and the gateway (gw0) in `parent`, then CNI ADD of a bridge-mode
 * macvlan net1 in `sandbox` with an address in MACVLAN_SUBNET and a default route.
 */
export function addMacvlanNet(parent: string, sandbox: string): MacvlanNet {
  ip('-n', parent, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'gw0');
  ip('-n', parent, 'addr', 'add', `${MACVLAN_GATEWAY}/24`, 'dev', 'gw0');
  for (const l of ['lo', 'up0', 'gw0']) ip('-n', parent, 'link', 'set', l, 'up');
  const dataDir = mkdtempSync(join(tmpdir(), 'vml-cni-ipam-'));
  const config = {
    cniVersion: '1.0.0',
    name: `vml-macvlan-${sandbox}`,
    type: 'macvlan',
    master: 'up0',
    mode: 'bridge',
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: MACVLAN_SUBNET, gateway: MACVLAN_GATEWAY }]],
      routes: [{ dst: '0.0.0.0/0' }],
      dataDir,
    },
  };
  let added = false;
  let result: CniResult;
  try {
    result = JSON.parse(run('ADD', parent, sandbox, config)) as CniResult;
    added = true;
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const del = (): void => {
    run('DEL', parent, sandbox, config);
    added = false;
  };
  return {
    result,
    del,
    remove: () => {
      if (added) {
        try {
          del();
        } catch (error) {
          console.error(`cleanup: ${(error as Error).message}`);
        }
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// Waits until no address in `ns` is tentative (IPv6 DAD), so later snapshots compare stable
// state rather than the kernel finishing DAD on the link CNI just brought up.
export async function dadSettled(ns: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const links = ipJson<{ addr_info?: unknown[] }[]>('-n', ns, 'addr', 'show', 'tentative');
    if (links.every((l) => (l.addr_info ?? []).length === 0)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`addresses in ${ns} still tentative after 10 s`);
}
