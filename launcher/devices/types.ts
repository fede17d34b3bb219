// The device model shared by cold plug (argv) and hot plug (QMP): one object per QEMU
// device/backend, serialised both ways, and the fd references that make that possible.
import { ValidationError } from '../../core/index.js';
import { validateQemuId } from '../opts.js';

/** How the guest's NICs and other virtio devices attach: PCI(e) or virtio-mmio. */
export type Transport = 'pci' | 'mmio';

/**
 * A file descriptor as QEMU will see it.
 * - inherited: cold plug; the command builder hands our fd to the child at `childFd` (3, 4...).
 * - named: hot plug; the fd was sent earlier with QMP `getfd` under `name`.
 * - fdset: hot plug via `add-fd`; usable only where QEMU opens a path (`/dev/fdset/N`).
 */
export type FdRef =
  | { kind: 'inherited'; childFd: number }
  | { kind: 'named'; name: string }
  | { kind: 'fdset'; fdset: number };

/** One QMP command, built as an object (never a string). */
export interface QmpCommandSpec {
  execute: string;
  arguments: Record<string, unknown>;
}

/** A piece of the command line that is not a device (kernel, memory, accel...). */
export interface ArgGroup {
  /** Throws a ValidationError naming the field path. */
  validate(): void;
  toArgs(): string[];
}

/** A QEMU device or backend: one object, two serialisations. */
export interface QemuDevice extends ArgGroup {
  /** The QEMU id of the object (device, netdev, chardev...). */
  readonly id: string;
  /** What it is, e.g. 'tap-netdev', 'virtio-net'. */
  readonly kind: string;
  /** QMP commands that hot-plug it, in order. Throws UnsupportedError if it cannot be. */
  toQmp(): QmpCommandSpec[];
  /** QMP commands that remove it again (device_del, netdev_del...). */
  toQmpRemove(): QmpCommandSpec[];
}

/** tap fds and socket fds go through monitor_fd_param(): a number or a getfd name, no fdset. */
const FD_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

// Renders an fd reference where QEMU expects an fd (tap fd=/fds=, chardev socket fd=).
// QEMU (monitor/misc.c monitor_fd_param) reads a leading digit as an fd number, anything else
// as a getfd name; fdsets are only understood by qemu_open() on paths, so they are refused.
export function formatFdParam(ref: FdRef, path: string): string {
  switch (ref.kind) {
    case 'inherited':
      if (!Number.isInteger(ref.childFd) || ref.childFd < 3) {
        throw new ValidationError(
          path,
          ref.childFd,
          'an inherited fd is an integer >= 3',
          'FD_REF',
        );
      }
      return String(ref.childFd);
    case 'named':
      // ':' separates fds in fds=/vhostfds=; a leading digit would be read as a number.
      if (!FD_NAME_RE.test(ref.name)) {
        throw new ValidationError(
          path,
          ref.name,
          "a getfd name starts with a letter or '_' and holds no ':' or ','",
          'FD_REF',
        );
      }
      return ref.name;
    case 'fdset':
      throw new ValidationError(
        path,
        `/dev/fdset/${ref.fdset}`,
        'this option takes an fd number or a getfd name; fdsets only work where QEMU opens a path',
        'FD_REF_KIND',
      );
  }
}

// Renders an fd reference where QEMU opens a path (qemu_open understands /dev/fdset/N).
export function formatFdPath(ref: FdRef, path: string): string {
  if (ref.kind === 'fdset') {
    if (!Number.isInteger(ref.fdset) || ref.fdset < 0) {
      throw new ValidationError(path, ref.fdset, 'an fdset id is an integer >= 0', 'FD_REF');
    }
    return `/dev/fdset/${ref.fdset}`;
  }
  if (ref.kind === 'inherited') return `/dev/fd/${formatFdParam(ref, path)}`;
  throw new ValidationError(
    path,
    ref.name,
    'a path option needs an fdset, not a getfd name',
    'FD_REF_KIND',
  );
}

// A positive integer within bounds, else a ValidationError naming the field.
export function checkInt(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(path, value, `expected an integer from ${min} to ${max}`, 'RANGE');
  }
  return value;
}

/** A PCI slot[.function] as QEMU's addr= takes it: '0x3', '03', '3.0', '0x1f.7'. */
const PCI_ADDR_RE = /^(0x)?[0-9a-fA-F]{1,2}(\.[0-7])?$/;

// bus/addr only exist on PCI; a bad addr is caught here rather than by QEMU at start.
export function checkPciPlacement(
  placement: { bus?: string | undefined; addr?: string | undefined },
  transport: Transport,
  path: string,
): void {
  if (transport !== 'pci' && (placement.bus !== undefined || placement.addr !== undefined)) {
    throw new ValidationError(
      `${path}.bus`,
      placement.bus ?? placement.addr,
      'bus/addr apply to the PCI transport only',
      'TRANSPORT',
    );
  }
  if (placement.bus !== undefined) validateQemuId(placement.bus, `${path}.bus`);
  if (placement.addr !== undefined && !PCI_ADDR_RE.test(placement.addr)) {
    throw new ValidationError(
      `${path}.addr`,
      placement.addr,
      "expected a PCI slot like '0x3' or '3.0'",
      'PCI_ADDR',
    );
  }
}
