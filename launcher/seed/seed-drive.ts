// The 'seed' step of launch(): when a NIC's endpoint carries addresses, the NoCloud seed
// (network-config, meta-data, user-data, vmlaunch-net) is built in the VM's run directory and
// given to the guest as a read-only virtio-blk drive through the same drive objects as the
// caller's drives. The image goes with the run dir; its own undo removes it earlier on failure.
import { openSync, rmSync, constants } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../../core/index.js';
import type { AttachedEndpoint } from '../../network/endpoints/attach-types.js';
import type { Endpoint } from '../../network/endpoints/types.js';
import type { DriveConfig } from '../devices/blockdev-drive.js';
import type { GuestDns, GuestNic, NetworkConfigV2 } from './network-config.js';
import { guestNetworkConfig } from './network-config.js';
import { seedFiles, validateSeedIdentity } from './seed-files.js';
import { buildSeedImage, SEED_LABEL } from './seed-image.js';

/** How launch configures the guest's network from its endpoints (docs/guest-network.md). */
export interface GuestNetworkOptions {
  /** false: no seed drive. Default: a seed whenever a NIC's endpoint carries addresses. */
  seed?: boolean;
  /** The resolver the guest gets (scanNetns's `dns`); default none. */
  dns?: GuestDns;
  /** The guest's host name (meta-data local-hostname); default vmlaunch-<vm id>. */
  hostname?: string;
  /** cloud-init's instance-id; default vmlaunch-<vm id>. */
  instanceId?: string;
  /** The seed's user-data, as given (e.g. '#cloud-config\n...'); default an empty cloud-config. */
  userData?: string;
}

/** The seed drive's id and serial (a caller's drive may not take them). */
export const SEED_DRIVE_ID = 'vmlaunch-seed';

// The kernel word that tells the default guest to wait for its seed (scripts/guest/init).
export function seedCmdline(): string {
  return `vmlaunch.seed=${SEED_LABEL}`;
}

// Endpoints that carry addresses (what scan fills in, or the caller writes).
function endpointAddresses(endpoint: Endpoint): Pick<GuestNic, 'addresses' | 'routes'> {
  switch (endpoint.kind) {
    case 'veth':
    case 'macvlan':
    case 'ipvlan':
      return {
        ...(endpoint.addresses ? { addresses: endpoint.addresses } : {}),
        ...(endpoint.routes ? { routes: endpoint.routes } : {}),
      };
    default:
      return {};
  }
}

// Whether the endpoints given to launch ask for a seed (known before anything is attached).
export function wantsSeed(
  endpoints: readonly { endpoint: Endpoint }[] | undefined,
  options: GuestNetworkOptions | undefined,
): boolean {
  if (options?.seed === false) return false;
  return (endpoints ?? []).some((e) => (endpointAddresses(e.endpoint).addresses ?? []).length > 0);
}

// One attached endpoint -> the guest NIC it becomes: the MAC QEMU gives it, its addresses.
export function guestNicOf(attached: AttachedEndpoint): GuestNic {
  const { hostNic, endpoint } = attached;
  const mac = hostNic.kind === 'vfio' ? undefined : hostNic.mac;
  const mtu = 'mtu' in endpoint && endpoint.mtu !== undefined ? endpoint.mtu : undefined;
  const nicMtu = hostNic.kind === 'vfio' ? undefined : hostNic.mtu;
  return {
    id: hostNic.id,
    ...(mac === undefined ? {} : { mac }),
    ...((mtu ?? nicMtu) !== undefined ? { mtu: (mtu ?? nicMtu)! } : {}),
    ...endpointAddresses(endpoint),
  };
}

// The checks that need no endpoint attached: identity fields, and drive ids left free.
export function checkGuestNetwork(
  options: GuestNetworkOptions | undefined,
  drives: readonly { id: string; serial: string }[],
): void {
  if (options === undefined) return;
  validateSeedIdentity(
    { instanceId: options.instanceId ?? 'vmlaunch-x', hostname: options.hostname ?? 'vmlaunch-x' },
    'guestNetwork',
  );
  for (const [i, d] of drives.entries()) {
    if (d.id === SEED_DRIVE_ID || d.serial === SEED_DRIVE_ID) {
      throw new ValidationError(
        `drives[${i}].id`,
        d.id,
        'the seed drive uses this name',
        'DUPLICATE_ID',
      );
    }
  }
}

/** A built seed: the drive for the command, the fd (the caller's to close), the document. */
export interface SeedDrive {
  drive: DriveConfig;
  fd: number;
  path: string;
  networkConfig: NetworkConfigV2;
  remove(): void;
}

// Builds the seed image in `runDir` and opens it read-only for QEMU.
/**
 * Builds the seed of a VM.
 * @throws ValidationError (a NIC's addresses, MAC, MTU or routes), SeedImageError (the tools).
 */
export async function buildSeedDrive(
  runDir: string,
  vmId: string,
  nics: readonly GuestNic[],
  options: GuestNetworkOptions = {},
): Promise<SeedDrive> {
  const networkConfig = guestNetworkConfig(nics, options.dns ? { dns: options.dns } : {});
  const files = seedFiles(networkConfig, {
    instanceId: options.instanceId ?? `vmlaunch-${vmId}`,
    hostname: options.hostname ?? `vmlaunch-${vmId}`,
    ...(options.userData === undefined ? {} : { userData: options.userData }),
  });
  const path = join(runDir, 'seed.img');
  await buildSeedImage(path, files);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (error) {
    rmSync(path, { force: true });
    throw error;
  }
  return {
    drive: { id: SEED_DRIVE_ID, fd, format: 'raw', readOnly: true, serial: SEED_DRIVE_ID },
    fd,
    path,
    networkConfig,
    remove: () => rmSync(path, { force: true }),
  };
}
