// Where named network namespaces live: iproute2's NETNS_RUN_DIR, so that `ip netns list` and
// `ip -n NAME` see ours and we see theirs.
import { join } from 'node:path';
import { validateNetnsName } from '../validate.js';

/** iproute2's NETNS_RUN_DIR (include/namespace.h). */
export const NETNS_RUN_DIR = '/run/netns';

// One place maps a name to its bind-mount file, after validation (no '/', no '..').
/**
 * The path of the named netns `name` (/run/netns/NAME); it need not exist.
 * @throws {ValidationError} when `name` is not a valid netns name.
 */
export function netnsPath(name: string): string {
  return join(NETNS_RUN_DIR, validateNetnsName(name));
}
