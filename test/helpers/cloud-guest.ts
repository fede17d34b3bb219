// The cloud-init guest for e2e tests: the image scripts/guest/cloud-image.sh builds (or finds in
// its cache); launch gives it the NoCloud seed (docs/guest-network.md).
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

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
