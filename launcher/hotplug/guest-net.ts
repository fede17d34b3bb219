// The guest-side network of a hot-plugged NIC (docs/guest-network.md): the same network-config
// entry a seed would carry, and, with the default guest's console harness, applying it before
// attach resolves (and undoing it before device_del) through the init's VMLAUNCH_NET_OP mode,
// fed the vmlaunch-net lines of that entry.
import type { AttachedEndpoint } from '../../network/endpoints/attach-types.js';
import { GuestCommandError } from '../guest-shell.js';
import { guestNetworkConfig, type GuestDns, type NetworkConfigV2 } from '../seed/network-config.js';
import { guestNicOf } from '../seed/seed-drive.js';
import { vmlaunchNetLines } from '../seed/seed-files.js';
import type { HotplugGuest } from './context.js';

// The document of one hot-plugged NIC, or undefined when its endpoint carries no addresses.
export function hotplugNetworkConfig(
  attached: AttachedEndpoint,
  id: string,
  dns: GuestDns | undefined,
): NetworkConfigV2 | undefined {
  const doc = guestNetworkConfig([{ ...guestNicOf(attached), id }], dns ? { dns } : {});
  return Object.keys(doc.ethernets).length === 0 ? undefined : doc;
}

// One shell line: the lines (checked characters only, each single-quoted) piped into the init.
export function guestNetCommand(op: 'apply' | 'remove', doc: NetworkConfigV2): string {
  const lines = vmlaunchNetLines(doc)
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const line of lines) {
    // Everything in them was validated (MACs, prefixes, numbers, domain names).
    if (!/^[A-Za-z0-9:./_ -]+$/.test(line))
      throw new Error(`unexpected vmlaunch-net line: ${line}`);
  }
  const quoted = lines.map((l) => `'${l}'`).join(' ');
  return `printf '%s\\n' ${quoted} | VMLAUNCH_NET_OP=${op} /init`;
}

// Runs `op` in the guest; a non-zero status is a GuestCommandError carrying the guest's words.
export async function runGuestNet(
  exec: NonNullable<HotplugGuest['exec']>,
  op: 'apply' | 'remove',
  doc: NetworkConfigV2,
  options: { timeout: number; signal?: AbortSignal },
): Promise<void> {
  const command = guestNetCommand(op, doc);
  const result = await exec(command, {
    timeout: options.timeout,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (result.status !== 0) throw new GuestCommandError(command, result);
}
