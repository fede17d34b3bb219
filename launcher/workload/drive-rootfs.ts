// Locates (building on first use) the default guest's ext4 root filesystem image that
// scripts/guest/rootfs.sh makes from Debian packages and caches under <cache>/rootfs/<key>/.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { VmlaunchError } from '../../core/index.js';
import { findGuestBuildScript } from '../guest-image.js';
import { forwardLines } from '../script-lines.js';

/** The cached root filesystem image (raw ext4; treat it as read-only). */
export interface RootfsImage {
  key: string;
  dir: string;
  image: string;
  manifest: string;
  cached: boolean;
}

// Tests and `root=/dev/vda` demos need a bootable root drive; the script knows how to make it.
/**
 * Builds the rootfs image if needed and returns where it is.
 * @throws VmlaunchError (code ROOTFS_BUILD) when the script fails, with its stderr tail.
 */
export function locateRootfsImage(
  options: {
    /** Path of rootfs.sh (default: found next to this package). */
    script?: string;
    env?: NodeJS.ProcessEnv;
    timeout?: number;
    /** Each line the script logs (its stderr) as it comes; nothing is printed otherwise. */
    onLog?: (line: string) => void;
  } = {},
): Promise<RootfsImage> {
  const script = options.script ?? join(dirname(findGuestBuildScript()), 'rootfs.sh');
  return new Promise((resolve, reject) => {
    const child = execFile(
      'bash',
      [script],
      { env: options.env ?? process.env, timeout: options.timeout ?? 600_000 },
      (error, stdout, stderr) => {
        try {
          if (error) throw new Error(error.message, { cause: error });
          const value = JSON.parse(stdout.trim().split('\n').pop() ?? '') as RootfsImage;
          if (typeof value.image !== 'string') throw new Error('no image in its output');
          resolve(value);
        } catch (cause) {
          const tail = stderr.trim().split('\n').slice(-15).join('\n');
          reject(new VmlaunchError(`${script} failed:\n${tail}`, 'ROOTFS_BUILD', { cause }));
        }
      },
    );
    if (options.onLog) forwardLines(child.stderr, options.onLog);
  });
}
