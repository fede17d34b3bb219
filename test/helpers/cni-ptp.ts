// The CNI ptp plugin (Debian's containernetworking-plugins) run by hand, as a runtime would,
// entirely inside vml- netns of the test: the plugin runs inside `parent` (its "host" side),
// makes a veth pair with eth0 in `sandbox`, gives the parent end the gateway address and
// leaves in `sandbox` a /24 address, an on-link route to the gateway and routes through it.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CNI_PATH, runCniPlugin, type CniResult } from './cni-macvlan.js';

/** The subnet and gateway the plugin's host-local IPAM hands out (netns are private). */
export const PTP_SUBNET = '10.215.3.0/24';
export const PTP_GATEWAY = '10.215.3.1';
/** The MTU the plugin sets on both ends. */
export const PTP_MTU = 1400;

/** Why the ptp plugin cannot run here, or undefined. */
export function cniPtpMissing(): string | undefined {
  for (const plugin of ['ptp', 'host-local']) {
    if (!existsSync(join(CNI_PATH, plugin))) {
      return `needs ${CNI_PATH}/${plugin} (Debian package containernetworking-plugins)`;
    }
  }
  return undefined;
}

/** One ptp network between two existing netns; `remove` DELs (if added) and frees IPAM. */
export interface PtpNet {
  result: CniResult;
  /** CNI DEL; throws the plugin's error. */
  del(): void;
  /** DEL unless done, then remove the IPAM dir; never throws (logs instead). */
  remove(): void;
}

/** CNI ADD of eth0 in `sandbox` with an address in PTP_SUBNET and a default route. */
export function addPtpNet(parent: string, sandbox: string): PtpNet {
  const dataDir = mkdtempSync(join(tmpdir(), 'vml-cni-ipam-'));
  const config = {
    cniVersion: '1.0.0',
    name: `vml-ptp-${sandbox}`,
    type: 'ptp',
    ipMasq: false,
    mtu: PTP_MTU,
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: PTP_SUBNET, gateway: PTP_GATEWAY }]],
      routes: [{ dst: '0.0.0.0/0' }],
      dataDir,
    },
  };
  const run = (command: 'ADD' | 'DEL'): string =>
    runCniPlugin('ptp', command, parent, sandbox, config, 'eth0');
  let added = false;
  let result: CniResult;
  try {
    result = JSON.parse(run('ADD')) as CniResult;
    added = true;
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const del = (): void => {
    run('DEL');
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
