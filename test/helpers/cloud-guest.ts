// The cloud-init guest for e2e tests: the image scripts/guest/cloud-image.sh builds (or finds in
// its cache), and a NoCloud seed made by hand from a scan result (network-config version 2,
// meta-data, user-data on a vfat drive labelled cidata, with dosfstools + mtools).
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DnsSettings } from '../../network/endpoints/dns.js';
import type { EndpointRoute } from '../../network/endpoints/types.js';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, '../../scripts/guest/cloud-image.sh');

/** What scripts/guest/cloud-image.sh reports (its last stdout line). */
export interface CloudImage {
  key: string;
  dir: string;
  /** The ext4 root (boot it ephemeral with root=/dev/vda). */
  image: string;
  /** The default guest's kernel and initramfs, whose init switch_roots into the image. */
  kernel: string;
  initrd: string;
  manifest: string;
  cached: boolean;
}

let image: Promise<CloudImage> | undefined;

/** The cached cloud-init guest, built on first use (minutes; a cache hit takes seconds). */
export function cloudGuest(): Promise<CloudImage> {
  image ??= run('bash', [SCRIPT, '--json'], { maxBuffer: 64 * 1024 * 1024, timeout: 1_200_000 })
    .then(({ stdout }) => JSON.parse(stdout.trim().split('\n').pop() ?? '') as CloudImage)
    .catch((error: unknown) => {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`${SCRIPT} failed: ${stderr.split('\n').slice(-15).join('\n')}`, {
        cause: error,
      });
    });
  return image;
}

/** Why the cloud-init guest cannot be built or seeded here, or undefined. */
export function cloudGuestMissing(): string | undefined {
  const tools: [string, string[], string][] = [
    ['mmdebstrap', ['--version'], 'mmdebstrap'],
    ['mkfs.vfat', ['--help'], 'dosfstools'],
    ['mcopy', ['-V'], 'mtools'],
    ['mkfs.ext4', ['-V'], 'e2fsprogs'],
  ];
  for (const [tool, args, pkg] of tools) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' });
    } catch (error) {
      // mkfs.vfat --help exits 1 but exists; only a missing binary counts.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return `needs ${tool} (Debian: ${pkg})`;
    }
  }
  return undefined;
}

/** One NIC of the seed: the scanned endpoint's identity. */
export interface SeedNic {
  name: string;
  mac: string;
  mtu: number;
  addresses: string[];
  routes: EndpointRoute[];
}

// netplan's route: `to: default` and `mtu` (cloud-init passes v2 to netplan unchanged).
function route(r: EndpointRoute): Record<string, unknown> {
  return {
    to: r.dst,
    ...(r.gateway !== undefined ? { via: r.gateway } : {}),
    ...(r.mtu !== undefined ? { mtu: r.mtu } : {}),
  };
}

/** The network-config (version 2) for `nics` and `dns`: JSON, which is YAML too. */
export function networkConfig(nics: SeedNic[], dns: DnsSettings): object {
  const ethernets: Record<string, unknown> = {};
  for (const nic of nics) {
    ethernets[nic.name] = {
      match: { macaddress: nic.mac },
      'set-name': nic.name,
      mtu: nic.mtu,
      addresses: nic.addresses,
      routes: nic.routes.map(route),
      nameservers: { addresses: dns.nameservers, search: dns.search },
    };
  }
  return { network: { version: 2, ethernets } };
}

/**
 * Writes a NoCloud seed image `file` (vfat, label cidata) with network-config, meta-data
 * (instance-id, local-hostname) and an empty user-data (cloud-init 22.4 requires the file).
 */
export function writeSeed(file: string, dir: string, network: object, hostname: string): void {
  const files = {
    'network-config': JSON.stringify(network, null, 2) + '\n',
    'meta-data': `instance-id: ${hostname}\nlocal-hostname: ${hostname}\n`,
    'user-data': '#cloud-config\n{}\n',
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  execFileSync('mkfs.vfat', ['-n', 'cidata', '-C', file, '1024'], { stdio: 'pipe' });
  execFileSync('mcopy', ['-i', file, ...Object.keys(files).map((n) => join(dir, n)), '::/'], {
    stdio: 'pipe',
  });
}
