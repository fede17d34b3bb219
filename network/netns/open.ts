// Opening a netns as an fd: what setns(2), QEMU helpers and the addon's callers hold on to.
import { closeSync, constants, fstatSync, openSync, statSync } from 'node:fs';
import { NetnsError, errorCode } from './errors.js';
import { netnsPath } from './paths.js';

// An absolute path is taken as is ('/proc/123/ns/net', '/proc/self/fd/7'); anything else must
// be a valid name, so 'a/b' or '../x' never resolve against the working directory.
function resolveNetns(nameOrPath: string): string {
  return nameOrPath.startsWith('/') ? nameOrPath : netnsPath(nameOrPath);
}

// Callers need a handle on a netns that stays valid even if its name is deleted meanwhile.
/**
 * Opens the netns named `nameOrPath` (or at that absolute path) read-only, close-on-exec; returns the fd.
 * The caller closes it (closeFd or fs.closeSync).
 * @throws {ValidationError} when given a name that is not a valid netns name.
 * @throws {NetnsError} code 'ENOENT' when it does not exist, 'EINVAL' when the file is not a
 *   network namespace, or the errno name of the failed open.
 */
export function openNetns(nameOrPath: string): number {
  const path = resolveNetns(nameOrPath);
  let fd: number;
  try {
    // Non-blocking: a FIFO planted at the path must not hold the JS thread in open().
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = errorCode(error) ?? 'UNKNOWN';
    const reason = code === 'ENOENT' ? 'no such netns' : `open failed: ${String(error)}`;
    throw new NetnsError('open', nameOrPath, path, code, reason, { cause: error });
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
