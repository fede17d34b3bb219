// The tap netdev: a guest NIC backend fed by tap/macvtap queue fds, optionally with vhost-net.
//
// QEMU 7.2 facts (net/tap.c net_init_tap, checked against qemu-system-x86_64 7.2):
// - one queue: fd=N (+ vhostfd=M); several: fds=a:b (+ vhostfds=c:d), ':'-separated;
// - queues= is refused next to fd= or fds= ("queues= ... are invalid with fds="): the queue
//   count is the number of fds, so we never emit queues=;
// - with vhostfds= the count must equal the fds count ("The number of fds passed does not
//   match the number of vhostfds passed"); we check it first.
// QMP netdev_add takes the same fields typed (qapi/net.json NetdevTapOptions): vhost is a bool.
import { ValidationError } from '../../core/index.js';
import { formatOpts, validateQemuId } from '../opts.js';
import type { FdRef, QemuDevice, QmpCommandSpec } from './types.js';
import { formatFdParam } from './types.js';

/** QEMU's MAX_TAP_QUEUES (net/tap.c). */
export const MAX_TAP_QUEUES = 1024;

/** What a tap netdev needs. */
export interface TapNetdevSpec {
  /** netdev id (a QEMU id). */
  id: string;
  /** One tap/macvtap fd per queue, in queue order. */
  tapFds: readonly FdRef[];
  /** One /dev/vhost-net fd per queue when vhost is on; empty otherwise. */
  vhostFds: readonly FdRef[];
  vhost: boolean;
  /** Config path used in error messages, e.g. 'nics[0]'. */
  path?: string;
}

// The tap netdev as one object: validate(), toArgs() for cold plug, toQmp() for hot plug.
export function tapNetdev(spec: TapNetdevSpec): QemuDevice & { readonly queues: number } {
  const path = spec.path ?? 'netdev';

  const validate = (): void => {
    validateQemuId(spec.id, `${path}.id`);
    const n = spec.tapFds.length;
    if (n < 1 || n > MAX_TAP_QUEUES) {
      throw new ValidationError(
        `${path}.tapFds`,
        n,
        `a tap netdev needs 1 to ${MAX_TAP_QUEUES} tap fds (one per queue)`,
        'FD_COUNT',
      );
    }
    if (spec.vhost && spec.vhostFds.length !== n) {
      throw new ValidationError(
        `${path}.vhostFds`,
        spec.vhostFds.length,
        `vhost needs one vhost-net fd per queue (${n} tap fds)`,
        'FD_COUNT_MISMATCH',
      );
    }
    if (!spec.vhost && spec.vhostFds.length !== 0) {
      throw new ValidationError(
        `${path}.vhostFds`,
        spec.vhostFds.length,
        'vhost fds given while vhost is off',
        'FD_COUNT_MISMATCH',
      );
    }
    fdFields();
  };

  // fd=/vhostfd= for one queue, fds=/vhostfds= for several (see the header).
  const fdFields = (): Record<string, string | undefined> => {
    const taps = spec.tapFds.map((r, i) => formatFdParam(r, `${path}.tapFds[${i}]`));
    const vhosts = spec.vhostFds.map((r, i) => formatFdParam(r, `${path}.vhostFds[${i}]`));
    const one = taps.length === 1;
    return {
      [one ? 'fd' : 'fds']: taps.join(':'),
      [one ? 'vhostfd' : 'vhostfds']: vhosts.length > 0 ? vhosts.join(':') : undefined,
    };
  };

  return {
    id: spec.id,
    kind: 'tap-netdev',
    queues: spec.tapFds.length,
    validate,
    toArgs() {
      validate();
      const fds = fdFields();
      const [fdKey, vhostKey] = Object.keys(fds) as [string, string];
      const opts = {
        id: spec.id,
        [fdKey]: fds[fdKey],
        vhost: spec.vhost,
        [vhostKey]: fds[vhostKey],
      };
      return ['-netdev', formatOpts(opts, { positional: 'tap', path })];
    },
    toQmp(): QmpCommandSpec[] {
      validate();
      const args: Record<string, unknown> = { type: 'tap', id: spec.id, vhost: spec.vhost };
      for (const [key, value] of Object.entries(fdFields())) {
        if (value !== undefined) args[key] = value;
      }
      return [{ execute: 'netdev_add', arguments: args }];
    },
    toQmpRemove() {
      return [{ execute: 'netdev_del', arguments: { id: spec.id } }];
    },
  };
}
