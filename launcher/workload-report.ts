// The workload half of `vmlaunch doctor`: the host tools drives and shares need (qemu-img reads
// image formats and makes overlays; virtiofsd serves shared directories) and what a guest
// kernel offers them, read from the default guest's manifest (its kernel config, recorded at
// build time).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

/** One capability: available or not, why, and what vmlaunch does without it. */
export interface HostCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What vmlaunch does when this is missing. */
  fallback?: string;
}

/** Where Debian (qemu-system-common) and other distributions put the C/Rust virtiofsd. */
const VIRTIOFSD_PATHS = ['/usr/lib/qemu/virtiofsd', '/usr/libexec/virtiofsd', 'virtiofsd'];

// First line a tool prints for --version, or why it could not run.
async function toolVersion(binary: string): Promise<{ version: string } | { error: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(binary, ['--version'], { timeout: 5000 });
    return { version: (stdout || stderr).split('\n')[0]!.trim() };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { error: code === 'ENOENT' ? 'not found' : (error as Error).message.split('\n')[0]! };
  }
}

// qemu-img and virtiofsd, each with its version or what is missing.
export async function workloadToolChecks(): Promise<HostCheck[]> {
  const img = await toolVersion('qemu-img');
  let fsd: { path: string; version: string } | undefined;
  for (const path of VIRTIOFSD_PATHS) {
    const found = await toolVersion(path);
    if ('version' in found) {
      fsd = { path, version: found.version };
      break;
    }
  }
  return [
    'version' in img
      ? { name: 'qemu-img', ok: true, detail: img.version }
      : {
          name: 'qemu-img',
          ok: false,
          detail: `qemu-img: ${img.error} (Debian: qemu-utils)`,
          fallback: 'drives need an explicit format, and ephemeral drives are unavailable',
        },
    fsd
      ? { name: 'virtiofsd', ok: true, detail: `${fsd.version} (${fsd.path})` }
      : {
          name: 'virtiofsd',
          ok: false,
          detail: `not found at ${VIRTIOFSD_PATHS.join(', ')} (Debian: qemu-system-common)`,
          fallback: 'shared directories are unavailable; use a drive',
        },
  ];
}

/** Guest kernel options that decide which workload features a guest can use. */
const GUEST_FEATURES: { option: string; name: string; gives: string; without: string }[] = [
  { option: 'VIRTIO_BLK', name: 'guest virtio-blk', gives: 'drives', without: 'no drives' },
  {
    option: 'VIRTIO_FS',
    name: 'guest virtiofs',
    gives: 'shared directories',
    without: 'no shared directories; use a drive',
  },
  {
    option: 'EXT4_FS',
    name: 'guest ext4',
    gives: 'ext4 drives and root drives',
    without: 'no ext4',
  },
  {
    option: 'NET_9P',
    name: 'guest 9p',
    gives: '9p shares',
    without: 'vmlaunch shares directories with virtiofs, not 9p',
  },
  {
    option: 'IP_PNP',
    name: 'guest ip= autoconf',
    gives: 'the kernel ip= argument',
    without: "the default guest's init configures NICs (vmlaunch.ip=), not the kernel",
  },
  {
    option: 'VIRTIO_VSOCKETS',
    name: 'guest vsock',
    gives: 'virtio-vsock',
    without: 'no vsock in the guest',
  },
];

// Reads the kernel_config the guest builder recorded; one check per workload feature.
export function guestKernelChecks(manifestPath: string): HostCheck[] {
  let manifest: { kernel_release?: string; kernel_config?: Record<string, string> };
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as typeof manifest;
  } catch (error) {
    return [
      {
        name: 'guest kernel',
        ok: false,
        detail: `cannot read ${manifestPath}: ${(error as Error).message}`,
      },
    ];
  }
  const config = manifest.kernel_config;
  if (config === undefined) {
    return [
      {
        name: 'guest kernel',
        ok: false,
        detail: `${manifestPath} records no kernel config (built by an older guest builder)`,
      },
    ];
  }
  const release = manifest.kernel_release ?? 'unknown release';
  return GUEST_FEATURES.map(({ option, name, gives, without }) => {
    // virtiofs is a FUSE transport: without FUSE_FS the module cannot load.
    const fuse = option === 'VIRTIO_FS' ? (config.FUSE_FS ?? 'n') : 'y';
    const value = fuse === 'n' ? 'n' : (config[option] ?? 'n');
    const ok = value === 'y' || value === 'm';
    const how = value === 'y' ? 'built in' : value === 'm' ? 'a module' : 'not set';
    return {
      name,
      ok,
      detail: `${release}: CONFIG_${option} ${how}${ok ? ` (${gives})` : ''}`,
      ...(ok ? {} : { fallback: without }),
    };
  });
}
