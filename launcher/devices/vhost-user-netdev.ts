// The vhost-user netdev: the guest NIC's data path is served by another process over a unix
// socket (chardev), which must be able to map guest RAM.
//
// QEMU facts (qapi/net.json NetdevVhostUserOptions; docs/interop/vhost-user.rst): the backend
// maps guest memory from fds QEMU sends, so guest RAM must live in a shareable backend
// (memory-backend-memfd/-file with share=on, bound as the machine's memory-backend or a NUMA
// node); otherwise the backend cannot reach the rings and the NIC never passes traffic.
// queues is 1..MAX_QUEUE_NUM (1024, net/vhost-user.c).
import { ValidationError } from '../../core/index.js';
import { formatOpts, validateQemuId } from '../opts.js';
import type { QemuDevice, QmpCommandSpec } from './types.js';
import { checkInt } from './types.js';

export const VHOST_USER_MAX_QUEUES = 1024;

export interface VhostUserNetdevSpec {
  id: string;
  /** id of the socket chardev connected to the backend. */
  chardev: string;
  queues: number;
  /** Whether guest RAM is in a shared memory backend (VmConfig memory.shared). */
  sharedMemory: boolean;
  path?: string;
}

// The vhost-user netdev as one object; refuses to exist without shared guest memory.
export function vhostUserNetdev(spec: VhostUserNetdevSpec): QemuDevice {
  const path = spec.path ?? 'netdev';
  const validate = (): void => {
    validateQemuId(spec.id, `${path}.id`);
    validateQemuId(spec.chardev, `${path}.chardev`);
    checkInt(spec.queues, `${path}.queues`, 1, VHOST_USER_MAX_QUEUES);
    if (!spec.sharedMemory) {
      throw new ValidationError(
        'memory.shared',
        false,
        `${path} is vhost-user: guest RAM must be in a shared backend ` +
          '(memory-backend-memfd,share=on); set memory.shared to true',
        'VHOST_USER_NEEDS_SHARED_MEMORY',
      );
    }
  };
  return {
    id: spec.id,
    kind: 'vhost-user-netdev',
    validate,
    toArgs() {
      validate();
      const opts = { id: spec.id, chardev: spec.chardev, queues: spec.queues };
      return ['-netdev', formatOpts(opts, { positional: 'vhost-user', path })];
    },
    toQmp(): QmpCommandSpec[] {
      validate();
      const args = { type: 'vhost-user', id: spec.id, chardev: spec.chardev, queues: spec.queues };
      return [{ execute: 'netdev_add', arguments: args }];
    },
    toQmpRemove() {
      return [{ execute: 'netdev_del', arguments: { id: spec.id } }];
    },
  };
}
