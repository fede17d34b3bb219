// Opening a netns as an fd: what setns(2), IFLA_NET_NS_FD, QEMU helpers and the addon's callers
// hold on to. The one opener: a missing netns is always a NetnsNotFoundError.
import { closeSync, constants, fstatSync, openSync, statSync } from 'node:fs';
import { NetnsError, errorCode } from './errors.js';
import { NetnsNotFoundError } from './not-found.js';
import { resolveNetns } from './paths.js';

// Callers need a handle on a netns that stays valid even if its name is deleted meanwhile.
/**
 * Opens the netns named `nameOrPath` (or at that absolute path) read-only, close-on-exec; returns
 * the fd. The caller closes it (closeFd or fs.closeSync). `field` names the argument in errors.
 * @throws {ValidationError} when given a name that is not a valid netns name (or a relative path).
 * @throws {NetnsNotFoundError} code 'NETNS_NOT_FOUND' when it does not exist.
 * @throws {NetnsError} code 'EINVAL' when the file is not a network namespace, or the errno name
 *   of the failed open.
 */
export function openNetns(nameOrPath: string, field = 'netns'): number {
  const path = resolveNetns(nameOrPath, field);
  let fd: number;
  try {
    // Non-blocking: a FIFO planted at the path must not hold the JS thread in open().
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = errorCode(error) ?? 'UNKNOWN';
    if (code === 'ENOENT') throw new NetnsNotFoundError(field, nameOrPath, path, { cause: error });
    throw new NetnsError('open', nameOrPath, path, code, `open failed: ${String(error)}`, {
      cause: error,
    });
  }
  // A netns file is an nsfs inode (its own or bind-mounted under /run/netns); setns(2) later
  // rejects an nsfs file of another namespace type with EINVAL.
  let isNsfs = false;
  try {
    isNsfs = fstatSync(fd).dev === statSync('/proc/self/ns/net').dev;
  } catch {
    // Reported as not a netns below.
  }
  if (!isNsfs) {
    closeSync(fd);
    throw new NetnsError('open', nameOrPath, path, 'EINVAL', 'not a network namespace');
  }
  return fd;
}

// A request that names another netns (IFLA_NET_NS_FD) needs its fd only while it runs.
/**
 * Runs `fn` with an open fd of the netns `nameOrPath` and closes the fd afterwards, whatever
 * happens. Throws what openNetns throws, before `fn` runs.
 */
export async function withNetnsFd<T>(
  nameOrPath: string,
  field: string,
  fn: (fd: number) => T | Promise<T>,
): Promise<T> {
  const fd = openNetns(nameOrPath, field);
  try {
    return await fn(fd);
  } finally {
    closeSync(fd);
  }
}
