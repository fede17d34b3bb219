// Which netns an attach worked in, by identity: the nsfs file's device and inode, taken when
// attach opened it. A name or path can lead to another netns by detach time (/proc/<pid>/ns/net
// of a reused pid, a bind mount replaced, a name deleted and made again); detach opens the path
// once, checks the identity of what it opened, and works through that very fd, so it undoes
// nothing in a netns it did not attach in.
import { closeSync, fstatSync, statSync } from 'node:fs';
import { VmlaunchError } from '../../core/index.js';
import { isNetnsNotFound } from '../netns/not-found.js';
import { openNetns } from '../netns/open.js';
import { resolveNetns } from '../netns/paths.js';

/** A netns by identity: st_dev and st_ino of its nsfs file. */
export interface NetnsIdentity {
  dev: number;
  ino: number;
}

/** The netns at a name or path is no longer the one attach worked in: nothing was undone. */
export class NetnsChangedError extends VmlaunchError {
  constructor(
    readonly netns: string,
    readonly expected: NetnsIdentity,
    readonly found: NetnsIdentity,
  ) {
    super(
      `${netns} now leads to another network namespace (inode ${found.ino}, not ${expected.ino} ` +
        'where this endpoint was attached); nothing was undone there',
      'NETNS_CHANGED',
    );
  }
}

// Taken right after attach opened its netlink client there; undefined when there is no such
// file (test seams that fake the netns).
/** The identity of the netns at `netns` (a name or an absolute path), or undefined if none. */
export function netnsIdentity(netns: string): NetnsIdentity | undefined {
  try {
    const st = statSync(resolveNetns(netns));
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/** An open fd on the attach's netns and a path that names exactly it; close() when done. */
export interface PinnedNetns {
  path: string;
  close(): void;
}

// Detach's way in: one open, one fstat, then only the fd (through /proc/self/fd) is used.
/**
 * Opens `netns` and checks that it is still `expected`; null when nothing is there any more
 * (the netns is gone, and everything attach made in it with it).
 * @throws {NetnsChangedError} when it is another netns now.
 */
export function pinNetns(netns: string, expected: NetnsIdentity): PinnedNetns | null {
  let fd: number;
  try {
    fd = openNetns(netns);
  } catch (error) {
    if (isNetnsNotFound(error)) return null;
    throw error;
  }
  const st = fstatSync(fd);
  if (st.dev !== expected.dev || st.ino !== expected.ino) {
    closeSync(fd);
    throw new NetnsChangedError(netns, expected, { dev: st.dev, ino: st.ino });
  }
  return { path: `/proc/self/fd/${fd}`, close: () => closeSync(fd) };
}
