// Where vmlaunch keeps what is costly to redo (guest images, the accelerator verdict).
import { homedir } from 'node:os';
import { join } from 'node:path';

// $VMLAUNCH_CACHE, else $XDG_CACHE_HOME/vmlaunch, else ~/.cache/vmlaunch.
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VMLAUNCH_CACHE) return env.VMLAUNCH_CACHE;
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vmlaunch');
}
