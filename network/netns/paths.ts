// Where network namespaces are found: a name under iproute2's NETNS_RUN_DIR, so that
// `ip netns list` and `ip -n NAME` see ours and we see theirs, or an absolute path.
import { isAbsolute, join } from 'node:path';
import { ValidationError } from '../../core/index.js';
import { validateNetnsName } from '../validate.js';

/** iproute2's NETNS_RUN_DIR (include/namespace.h). */
export const NETNS_RUN_DIR = '/run/netns';

// One place maps a name to its bind-mount file, after validation (no '/', no '..').
/**
 * The path of the named netns `name` (/run/netns/NAME); it need not exist.
 * @throws {ValidationError} at `field` when `name` is not a valid netns name.
 */
export function netnsPath(name: string, field = 'netns'): string {
  return join(NETNS_RUN_DIR, validateNetnsName(name, field));
}

// Every netns argument (a name or '/proc/PID/ns/net') becomes a file here and nowhere else, so
// 'a/b' or '../x' never resolve against the working directory.
/**
 * The file of the netns `nameOrPath`: /run/netns/NAME for a name, an absolute path as given.
 * It need not exist (openNetns says whether it does).
 * @throws {ValidationError} at `field` for anything else: a bad name, a relative path, a NUL.
 */
export function resolveNetns(nameOrPath: string, field = 'netns'): string {
  if (typeof nameOrPath !== 'string' || !isAbsolute(nameOrPath))
    return netnsPath(nameOrPath, field);
  if (nameOrPath.includes('\0'))
    throw new ValidationError(field, nameOrPath, 'a netns path has no NUL byte');
  return nameOrPath;
}
