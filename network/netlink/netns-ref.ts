// Naming another network namespace in a request: a netns name (/run/netns/NAME) or an absolute
// path (/proc/PID/ns/net), opened just long enough to pass its fd as IFLA_NET_NS_FD.
import { closeSync, constants, fstatSync, openSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { ValidationError } from '../../core/index.js';
import { validateNetnsName } from '../validate.js';

/** Where `ip netns add` binds named namespaces (iproute2's NETNS_RUN_DIR). */
export const NETNS_RUN_DIR = '/run/netns';

// Turns a netns name or absolute path into a path, validating a name first.
export function netnsPath(netns: string, path = 'netns'): string {
  if (typeof netns === 'string' && isAbsolute(netns)) return netns;
  return `${NETNS_RUN_DIR}/${validateNetnsName(netns, path)}`;
}

// Opens a netns read-only for IFLA_NET_NS_FD; a missing one is a ValidationError naming it.
export function openNetns(netns: string, path = 'netns'): number {
  const file = netnsPath(netns, path);
  let fd: number;
  try {
    // Non-blocking: a FIFO planted at the path must not hold the JS thread in open().
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ValidationError(path, netns, `cannot open network namespace ${file} (${code})`);
  }
  // Only an nsfs file (same device as our own netns file) can name a namespace.
  let isNsfs = false;
  try {
    isNsfs = fstatSync(fd).dev === statSync('/proc/self/ns/net').dev;
  } catch {
    // Reported below.
  }
  if (!isNsfs) {
    closeSync(fd);
    throw new ValidationError(path, netns, `${file} is not a network namespace (EINVAL)`);
  }
  return fd;
}

// Runs `fn` with an open netns fd and closes it afterwards, whatever happens.
export async function withNetnsFd<T>(
  netns: string,
  path: string,
  fn: (fd: number) => Promise<T>,
): Promise<T> {
  const fd = openNetns(netns, path);
  try {
    return await fn(fd);
  } finally {
    closeSync(fd);
  }
}
