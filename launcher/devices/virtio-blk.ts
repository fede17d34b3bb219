// The virtio-blk guest disk, on whichever transport the machine template uses.
//
// QEMU facts (hw/block/virtio-blk.c, `-device virtio-blk-pci,help`): serial is at most 20 bytes
// (VIRTIO_BLK_ID_BYTES; the guest shows it in /sys/block/vdX/serial); write-cache=on|off is
// the device half of -drive cache=; a read-only node makes a read-only disk.
import { ValidationError } from '../../core/index.js';
import { validateQemuId } from '../opts.js';
import { frontendDevice } from './frontend-device.js';
import type { QemuDevice, Transport } from './types.js';
import { checkPciPlacement } from './types.js';

/** QEMU vocabulary per transport: one row each, no branches elsewhere. */
export const VIRTIO_BLK_BY_TRANSPORT = Object.freeze({
  pci: Object.freeze({ driver: 'virtio-blk-pci', hotplug: true }),
  mmio: Object.freeze({ driver: 'virtio-blk-device', hotplug: false }),
} as const satisfies Record<Transport, { driver: string; hotplug: boolean }>);

/** What a serial may hold: the guest init matches on it and splits its arguments on ','. */
export const DRIVE_SERIAL_RE = /^[A-Za-z0-9._-]{1,20}$/;

export interface VirtioBlkSpec {
  id: string;
  /** Node name of the top block node. */
  drive: string;
  transport: Transport;
  serial?: string | undefined;
  writeCache?: boolean | undefined;
  bus?: string | undefined;
  addr?: string | undefined;
  path?: string;
}

// A serial the guest can match on, else a ValidationError naming the field.
export function validateDriveSerial(serial: unknown, path: string): string {
  if (typeof serial !== 'string' || !DRIVE_SERIAL_RE.test(serial)) {
    throw new ValidationError(
      path,
      serial,
      'a drive serial is 1-20 of [A-Za-z0-9._-]',
      'DRIVE_SERIAL',
    );
  }
  return serial;
}

// The virtio-blk device as one object; the driver name comes from the transport table.
export function virtioBlk(spec: VirtioBlkSpec): QemuDevice {
  const path = spec.path ?? 'device';
  const row = VIRTIO_BLK_BY_TRANSPORT[spec.transport];
  return frontendDevice({
    id: spec.id,
    kind: 'virtio-blk',
    path,
    row,
    transport: spec.transport,
    check() {
      validateQemuId(spec.id, `${path}.id`);
      validateQemuId(spec.drive, `${path}.drive`);
      if (spec.serial !== undefined) validateDriveSerial(spec.serial, `${path}.serial`);
      checkPciPlacement(spec, spec.transport, path);
    },
    props: () => ({
      id: spec.id,
      drive: spec.drive,
      serial: spec.serial,
      'write-cache': spec.writeCache,
      bus: spec.bus,
      addr: spec.addr,
    }),
  });
}
