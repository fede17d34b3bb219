// The virtiofs guest device: a vhost-user-fs front end whose file system requests are served by
// a virtiofsd process over a socket chardev, which maps guest RAM.
//
// QEMU facts (hw/virtio/vhost-user-fs.c, `-device vhost-user-fs-pci,help`, QEMU 7.2):
// - tag is required, at most 36 bytes; chardev is required;
// - queue-size must be a power of 2 and at most VIRTQUEUE_MAX_SIZE (1024); 128 by default,
//   1024 is what virtiofs documentation uses;
// - num-request-queues >= 1 (the Linux driver uses one request queue: we leave the default);
// - like every vhost-user device, guest RAM must be in a shared backend (memfd, share=on).
// Checked with QEMU 7.2 under TCG and the default guest: vhost-user-fs-pci with MSI-X boots and serves
// files on q35 (unlike vhost-user virtio-net-pci, see virtio-net.ts), and device_add of
// vhost-user-fs-pci on a pcie-root-port hot-plugs a share the guest can mount; device_del ends
// with DEVICE_DELETED and virtiofsd exits by itself.
// Found with QEMU 7.2: vhost-user-fs-device on microvm (virtio-mmio) under TCG mounts, but the first
// request is never answered (virtiofsd's debug log shows the vhost-user handshake and never a
// queue start), so the guest blocks: refused under TCG. Not tried with KVM.
import { ValidationError } from '../../core/index.js';
import { validateQemuId } from '../opts.js';
import { socketChardev } from './chardev.js';
import type { FdRef, QemuDevice, Transport } from './types.js';
import { frontendDevice } from './frontend-device.js';
import { checkPciPlacement } from './types.js';
import type { Accel } from './machine-args.js';

/** QEMU vocabulary per transport: one row each, no branches elsewhere. */
export const VHOST_USER_FS_BY_TRANSPORT = Object.freeze({
  pci: Object.freeze({ driver: 'vhost-user-fs-pci', hotplug: true }),
  mmio: Object.freeze({ driver: 'vhost-user-fs-device', hotplug: false }),
} as const satisfies Record<Transport, { driver: string; hotplug: boolean }>);

/** Largest virtqueue (VIRTQUEUE_MAX_SIZE in QEMU). */
export const VHOST_USER_FS_MAX_QUEUE_SIZE = 1024;
/** Our default queue size: the maximum, as virtiofs' own docs use. */
export const VHOST_USER_FS_DEFAULT_QUEUE_SIZE = 1024;
const TAG_MAX_BYTES = 36;

export interface VhostUserFsSpec {
  id: string;
  /** id of the socket chardev connected to virtiofsd. */
  chardev: string;
  tag: string;
  transport: Transport;
  /** Whether guest RAM is in a shared memory backend (VmConfig memory.shared). */
  sharedMemory: boolean;
  /** The accelerator: virtio-mmio shares are refused under TCG (see above). */
  accel?: Accel;
  queueSize?: number;
  bus?: string;
  addr?: string;
  path?: string;
}

// The vhost-user-fs device as one object; refuses to exist without shared guest memory.
export function vhostUserFs(spec: VhostUserFsSpec): QemuDevice {
  const path = spec.path ?? 'device';
  const row = VHOST_USER_FS_BY_TRANSPORT[spec.transport];
  const queueSize = spec.queueSize ?? VHOST_USER_FS_DEFAULT_QUEUE_SIZE;
  return frontendDevice({
    id: spec.id,
    kind: 'vhost-user-fs',
    path,
    row,
    transport: spec.transport,
    check() {
      validateQemuId(spec.id, `${path}.id`);
      validateQemuId(spec.chardev, `${path}.chardev`);
      if (spec.tag.length === 0 || Buffer.byteLength(spec.tag) > TAG_MAX_BYTES) {
        throw new ValidationError(
          `${path}.tag`,
          spec.tag,
          `a virtiofs tag is 1 to ${TAG_MAX_BYTES} bytes`,
          'SHARE_TAG_LENGTH',
        );
      }
      const powerOfTwo =
        Number.isInteger(queueSize) && queueSize > 0 && (queueSize & (queueSize - 1)) === 0;
      if (!powerOfTwo || queueSize > VHOST_USER_FS_MAX_QUEUE_SIZE) {
        throw new ValidationError(
          `${path}.queueSize`,
          queueSize,
          `expected a power of 2 up to ${VHOST_USER_FS_MAX_QUEUE_SIZE}`,
          'RANGE',
        );
      }
      checkPciPlacement(spec, spec.transport, path);
      if (spec.transport === 'mmio' && spec.accel === 'tcg') throw mmioUnderTcg(path);
      if (!spec.sharedMemory) {
        throw new ValidationError(
          'memory.shared',
          false,
          `${path} is vhost-user-fs: guest RAM must be in a shared backend ` +
            '(memory-backend-memfd,share=on); set memory.shared to true',
          'VHOST_USER_NEEDS_SHARED_MEMORY',
        );
      }
    },
    // Typed property values; the argv and QMP forms are both rendered from this one table.
    props: () => ({
      id: spec.id,
      chardev: spec.chardev,
      tag: spec.tag,
      'queue-size': queueSize,
      bus: spec.bus,
      addr: spec.addr,
    }),
  });
}

// The refusal of a virtio-mmio share under TCG, shared with launch's early check.
export function mmioUnderTcg(path: string): ValidationError {
  return new ValidationError(
    path,
    'vhost-user-fs-device',
    'virtiofs shares on virtio-mmio (microvm) never get an answer under TCG with QEMU 7.2; ' +
      'use a PCI template (q35, the default) or KVM',
    'SHARE_MMIO_TCG',
  );
}

/** A share as the command builder sees it: ids, tag, and our fd connected to its virtiofsd. */
export interface VhostUserFsShare {
  /** Share id: the device is `fs-<id>`, its chardev `chr-fs-<id>`. */
  id: string;
  tag: string;
  /** Our connected socket to virtiofsd, inherited by QEMU (chardev socket,fd=N). */
  fd: number;
  queueSize?: number;
}

// The chardev + device pair of each share, in order (cold plug).
export function shareDevices(
  shares: readonly VhostUserFsShare[],
  ctx: {
    transport: Transport;
    sharedMemory: boolean;
    accel: Accel;
    fdRef: (fd: number) => FdRef;
  },
): QemuDevice[] {
  return shares.flatMap((share, i) => {
    const path = `shares[${i}]`;
    // Same ids as RunningShare.deviceId/chardevId.
    const chardev = `chr-fs-${share.id}`;
    return [
      socketChardev({ id: chardev, fd: ctx.fdRef(share.fd), errPath: `${path}.chardev` }),
      vhostUserFs({
        id: `fs-${share.id}`,
        chardev,
        tag: share.tag,
        transport: ctx.transport,
        sharedMemory: ctx.sharedMemory,
        accel: ctx.accel,
        ...(share.queueSize !== undefined ? { queueSize: share.queueSize } : {}),
        path,
      }),
    ];
  });
}
