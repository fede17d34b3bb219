// Reading PCI devices from sysfs (Documentation/ABI/testing/sysfs-bus-pci) under a configurable
// root, through an injectable I/O seam, so that scan and VFIO plumbing run on a fake tree in
// tests and on /sys for real. Only reads live here; the writes that rebind drivers are in
// vfio-sysfs.ts.
import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';

/** The default sysfs mount point. */
export const SYSFS_ROOT = '/sys';

/** Everything the PCI/VFIO code does to sysfs, so tests can record and play the kernel. */
export interface SysfsIo {
  read(path: string): string;
  /** One write(2) of `value` (sysfs attributes take a whole value per write). */
  write(path: string, value: string): void;
  /** The target of a symlink, or undefined when `path` does not exist. */
  readlink(path: string): string | undefined;
  exists(path: string): boolean;
  /** The canonical path with every symlink resolved. */
  realpath(path: string): string;
}

// Real sysfs access: plain synchronous file calls (sysfs attributes are tiny and never block
// on disk; a driver unbind may block in the kernel, which is the point of waiting for it).
/** SysfsIo over the real filesystem. */
export const realSysfsIo: SysfsIo = {
  read: (path) => readFileSync(path, 'utf8'),
  // No O_CREAT, no O_TRUNC (sysfs attributes exist and take one write), no following a symlink
  // (Node opens with O_CLOEXEC itself).
  write: (path, value) => {
    const fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
    try {
      writeSync(fd, value);
    } finally {
      closeSync(fd);
    }
  },
  readlink: (path) => {
    try {
      return readlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  },
  exists: (path) => existsSync(path),
  realpath: (path) => realpathSync(path),
};

/** The sysfs paths that matter for one PCI function. */
export interface PciPaths {
  /** <root>/bus/pci/devices/<addr> */
  device: string;
  driverLink: string;
  driverOverride: string;
  iommuGroup: string;
  /** <root>/bus/pci/drivers_probe */
  driversProbe: string;
  /** <root>/bus/pci/drivers */
  drivers: string;
}

// One place builds the paths, so the fake tree and the code agree on the layout.
/** Paths of PCI function `address` under sysfs `root`. */
export function pciPaths(root: string, address: string): PciPaths {
  const device = join(root, 'bus/pci/devices', address);
  return {
    device,
    driverLink: join(device, 'driver'),
    driverOverride: join(device, 'driver_override'),
    iommuGroup: join(device, 'iommu_group'),
    driversProbe: join(root, 'bus/pci/drivers_probe'),
    drivers: join(root, 'bus/pci/drivers'),
  };
}

/** What sysfs says about one PCI function. */
export interface PciIdentity {
  /** vendor:device in hex, e.g. '8086:10fb'. */
  vendorDevice: string;
  /** The bound driver's name, or undefined when no driver is bound. */
  driver: string | undefined;
  /** driver_override, undefined when unset ('(null)' in sysfs). */
  driverOverride: string | undefined;
  /** IOMMU group number, undefined when the device has none (IOMMU off). */
  iommuGroup: string | undefined;
}

// Reads '0x8086\n' as '8086'.
function hexId(io: SysfsIo, path: string): string {
  const text = io.read(path).trim().toLowerCase();
  const match = /^0x([0-9a-f]{4})$/.exec(text);
  if (!match) throw new Error(`${path}: expected a 16-bit hex id like 0x8086, got ${text}`);
  return match[1]!;
}

// Scan and VFIO attach both need the device's identity and current driver, read the same way.
/**
 * Reads vendor/device, driver, driver_override and IOMMU group of PCI function `address`.
 * @throws {Error} when the device or its vendor/device files are missing or malformed.
 */
export function readPciIdentity(io: SysfsIo, root: string, address: string): PciIdentity {
  const p = pciPaths(root, address);
  const vendorDevice = `${hexId(io, join(p.device, 'vendor'))}:${hexId(io, join(p.device, 'device'))}`;
  const driverTarget = io.readlink(p.driverLink);
  const groupTarget = io.readlink(p.iommuGroup);
  const override = io.exists(p.driverOverride) ? io.read(p.driverOverride).trim() : '';
  return {
    vendorDevice,
    driver: driverTarget === undefined ? undefined : basename(driverTarget),
    driverOverride: override === '' || override === '(null)' ? undefined : override,
    iommuGroup: groupTarget === undefined ? undefined : basename(groupTarget),
  };
}

const PCI_COMPONENT_RE = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

// The nearest PCI function up a sysfs device path (the path itself included).
/** The PCI address of the device at sysfs `path` or of its nearest PCI ancestor. */
export function nearestPciAddress(io: SysfsIo, root: string, path: string): string | undefined {
  if (!io.exists(path)) return undefined;
  for (const part of io.realpath(path).split('/').reverse()) {
    if (PCI_COMPONENT_RE.test(part) && io.exists(pciPaths(root, part).device)) return part;
  }
  return undefined;
}

// A NIC's parent device may be the PCI function itself ('pci' bus) or a child of it (a
// virtio-net's parent is 'virtioN' on the 'virtio' bus, below the virtio-pci function): the
// nearest PCI function up the device path is what VFIO would pass through.
/**
 * The PCI address behind a netdev's parent device (bus and name as rtnetlink reports them in
 * IFLA_PARENT_DEV_BUS_NAME / IFLA_PARENT_DEV_NAME), or undefined when it is not on PCI.
 */
export function pciAddressOfDevice(
  io: SysfsIo,
  root: string,
  bus: string,
  name: string,
): string | undefined {
  const safe = (s: string): boolean => /^[\w.:-]+$/.test(s) && !/^\.+$/.test(s);
  if (!safe(bus) || !safe(name)) return undefined;
  if (bus === 'pci') return io.exists(pciPaths(root, name).device) ? name : undefined;
  return nearestPciAddress(io, root, join(root, 'bus', bus, 'devices', name));
}
