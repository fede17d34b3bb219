// Where vmlaunch keeps what is costly to redo (guest images, the accelerator verdict). What is in
// there is trusted (a kernel QEMU boots, a verdict that skips a probe), so the directory is used
// only when it is a real directory of our own that nobody else can write.
import { lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { VmlaunchError } from '../core/index.js';

// $VMLAUNCH_CACHE, else $XDG_CACHE_HOME/vmlaunch, else ~/.cache/vmlaunch.
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VMLAUNCH_CACHE) return env.VMLAUNCH_CACHE;
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vmlaunch');
}

/** The cache directory is not one vmlaunch can trust (a symlink, someone else's, writable). */
export class CacheDirError extends VmlaunchError {
  constructor(
    readonly dir: string,
    reason: string,
  ) {
    super(
      `cache directory ${dir} ${reason}; refused (set VMLAUNCH_CACHE to a private directory)`,
      'CACHE_DIR_UNSAFE',
    );
  }
}

// The cache directory, created 0700 when missing, after checking that only we can change it.
/**
 * cacheDir(env), checked: a real directory (not a symlink), owned by our euid, not group- or
 * other-writable. A missing one is created with mode 0700.
 * @throws CacheDirError (code CACHE_DIR_UNSAFE) naming the directory and what is wrong.
 */
export function trustedCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = cacheDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) throw new CacheDirError(dir, 'is a symbolic link');
  if (!st.isDirectory()) throw new CacheDirError(dir, 'is not a directory');
  const uid = process.geteuid?.() ?? 0;
  if (st.uid !== uid) throw new CacheDirError(dir, `belongs to uid ${st.uid}, not to us (${uid})`);
  if ((st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    throw new CacheDirError(dir, `is group- or other-writable (mode ${mode})`);
  }
  return dir;
}
