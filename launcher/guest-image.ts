// Locates (building on first use) the project's default guest: the Debian cloud kernel and the
// busybox initramfs that scripts/guest/build.sh makes and caches under <cache>/guest/<key>/.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AbortError, VmlaunchError } from '../core/index.js';
import { trustedCacheDir } from './cache-dir.js';
import { forwardLines } from './script-lines.js';

/** The cached default guest, as reported by scripts/guest/build.sh --json. */
export interface GuestImage {
  /** Cache key: hash of the build script, init and the Debian package versions. */
  key: string;
  dir: string;
  kernel: string;
  initrd: string;
  manifest: string;
  /** True when the build script found it already built. */
  cached: boolean;
}

/** Options of locateGuestImage. */
export interface GuestImageOptions {
  /** Path of build.sh (default: found next to this package). */
  script?: string;
  /** Environment for the script (default: process.env); VMLAUNCH_CACHE picks the cache root. */
  env?: NodeJS.ProcessEnv;
  /** Deadline in ms for a build (default 10 minutes; a cache hit only checks package versions). */
  timeout?: number;
  signal?: AbortSignal;
  /** Each line the script logs (its stderr) as it comes, e.g. for a progress display; a first
   *  build takes a while. Nothing is printed otherwise. */
  onLog?: (line: string) => void;
}

/** Kernel arguments the default guest needs for the console harness (GuestShell). */
export const GUEST_HARNESS_APPEND = 'console=ttyS0 vmlaunch.console=harness';

// The script ships in the package ("files": scripts); look upward from this module for it,
// so the same code works from the sources (tsx) and from dist/.
export function findGuestBuildScript(
  from: string = dirname(fileURLToPath(import.meta.url)),
): string {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'scripts', 'guest', 'build.sh');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new VmlaunchError(
        `cannot find scripts/guest/build.sh above ${from}; pass options.script`,
        'GUEST_SCRIPT_MISSING',
      );
    }
    dir = parent;
  }
}

// Tests and the demo need a bootable guest; the script is the one place that knows how.
/**
 * Builds the default guest if needed and returns where it is.
 * @throws VmlaunchError (code GUEST_BUILD) when the script fails, with its stderr tail.
 * @throws CacheDirError when the cache directory the script would use is not private to us.
 */
export function locateGuestImage(options: GuestImageOptions = {}): Promise<GuestImage> {
  const script = options.script ?? findGuestBuildScript();
  return new Promise((resolve, reject) => {
    options.signal?.throwIfAborted();
    // The script builds into the cache and we boot what it leaves there: same rule for both.
    trustedCacheDir(options.env ?? process.env);
    // Aborting kills the script and rejects once it has exited and been reaped (execFile's own
    // signal option calls back at once, leaving the child and its pipes behind for a while).
    const onAbort = (): void => void child.kill('SIGTERM');
    const child = execFile(
      'bash',
      [script, '--json'],
      {
        env: options.env ?? process.env,
        timeout: options.timeout ?? 600_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        options.signal?.removeEventListener('abort', onAbort);
        if (options.signal?.aborted) {
          reject(new AbortError(`building the guest with ${script} was aborted`, { cause: error }));
          return;
        }
        if (error) {
          const tail = stderr.trim().split('\n').slice(-15).join('\n');
          reject(
            new VmlaunchError(`building the guest with ${script} failed:\n${tail}`, 'GUEST_BUILD', {
              cause: error,
            }),
          );
          return;
        }
        try {
          resolve(parseGuestImage(stdout));
        } catch (cause) {
          reject(
            new VmlaunchError(
              `unexpected output from ${script}: ${stdout.slice(-300)}`,
              'GUEST_BUILD',
              {
                cause,
              },
            ),
          );
        }
      },
    );
    if (options.onLog) forwardLines(child.stderr, options.onLog);
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// The script's contract: its last stdout line is one JSON object.
export function parseGuestImage(stdout: string): GuestImage {
  const last = stdout.trim().split('\n').pop() ?? '';
  const value = JSON.parse(last) as Partial<GuestImage>;
  for (const field of ['key', 'dir', 'kernel', 'initrd', 'manifest'] as const) {
    if (typeof value[field] !== 'string') throw new Error(`field ${field} missing`);
  }
  return { ...(value as GuestImage), cached: value.cached === true };
}
