// A fake sysfs PCI tree in a temp dir, with a small fake kernel in front of it.
// What is real: files, directories and symlinks laid out as in /sys (bus/pci/devices/<addr> ->
// ../../../devices/pci0000:00/<addr>, its vendor/device/driver_override files, its driver and
// iommu_group symlinks, bus/pci/drivers/<name>/{bind,unbind}, bus/pci/drivers_probe, and
// bus/virtio/devices/virtioN below a PCI function), read with the real fs calls.
// What is faked: the kernel's reaction to writes. Every write is recorded (path relative to the
// root, value) in order, then the fake plays the kernel: `unbind` removes the driver symlink
// (ENODEV if that driver is not bound), `driver_override` stores the value ('\n' -> '(null)'),
// `drivers_probe` binds an unbound device to its override (if that driver exists) or else to
// its native driver. It does not model IOMMU groups beyond the symlink, async probe (except
// `probeDelayReads`), driver refcounts, or a VFIO user holding the device.
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { SysfsIo } from '../../network/endpoints/sysfs-pci.js';
import { realSysfsIo } from '../../network/endpoints/sysfs-pci.js';

/** One fake PCI function. */
export interface FakePciDevice {
  address: string;
  vendor: string;
  device: string;
  /** Bound now (and the driver a plain drivers_probe binds); undefined: unbound. */
  driver?: string;
  /** The driver drivers_probe binds when no override is set (default: `driver`). */
  nativeDriver?: string;
  /** IOMMU group number; null: no iommu_group link. Default '7'. */
  iommuGroup?: string | null;
  driverOverride?: string;
  /** virtio children (e.g. 'virtio2') registered on the virtio bus. */
  virtio?: string[];
}

/** How the fake kernel misbehaves, for failure tests. */
export interface FakeKernelFaults {
  /** Throw this error instead of performing the next write whose relative path ends with the
   *  key (once: the entry is removed when it fires). */
  failWrite?: Record<string, NodeJS.ErrnoException>;
  /** Drivers whose probe fails silently (drivers_probe succeeds, nothing binds). */
  probeFails?: string[];
  /** A probe binds only after this many driver-link reads (async probe). */
  probeDelayReads?: number;
  /** Called after each recorded write (e.g. to abort a signal mid-attach). */
  afterWrite?: (path: string, value: string) => void;
}

/** The fake tree and its recorder. */
export interface FakeSysfs {
  root: string;
  io: SysfsIo;
  /** Every write in order: [path relative to root, value]. */
  writes: [string, string][];
  faults: FakeKernelFaults;
  driverOf(address: string): string | undefined;
  overrideOf(address: string): string;
  cleanup(): void;
}

/** Lays out a fake sysfs with `devices` and driver directories `drivers`. */
export function createFakeSysfs(devices: FakePciDevice[], drivers: string[]): FakeSysfs {
  const root = mkdtempSync(join(tmpdir(), 'vml-sysfs-'));
  const dev = (a: string): string => join(root, 'devices/pci0000:00', a);
  const driversDir = join(root, 'bus/pci/drivers');
  mkdirSync(join(root, 'bus/pci/devices'), { recursive: true });
  mkdirSync(join(root, 'bus/virtio/devices'), { recursive: true });
  writeFileSync(join(root, 'bus/pci/drivers_probe'), '');
  for (const d of drivers) {
    mkdirSync(join(driversDir, d), { recursive: true });
    for (const f of ['bind', 'unbind', 'new_id']) writeFileSync(join(driversDir, d, f), '');
  }
  const native = new Map<string, string | undefined>();
  for (const d of devices) {
    mkdirSync(dev(d.address), { recursive: true });
    symlinkSync(
      `../../../devices/pci0000:00/${d.address}`,
      join(root, 'bus/pci/devices', d.address),
    );
    writeFileSync(join(dev(d.address), 'vendor'), `0x${d.vendor}\n`);
    writeFileSync(join(dev(d.address), 'device'), `0x${d.device}\n`);
    writeFileSync(join(dev(d.address), 'driver_override'), `${d.driverOverride ?? '(null)'}\n`);
    if (d.driver !== undefined) bind(d.address, d.driver);
    const group = d.iommuGroup === undefined ? '7' : d.iommuGroup;
    if (group !== null) {
      mkdirSync(join(root, 'kernel/iommu_groups', group), { recursive: true });
      symlinkSync(`../../../kernel/iommu_groups/${group}`, join(dev(d.address), 'iommu_group'));
    }
    for (const v of d.virtio ?? []) {
      mkdirSync(join(dev(d.address), v));
      symlinkSync(
        `../../../devices/pci0000:00/${d.address}/${v}`,
        join(root, 'bus/virtio/devices', v),
      );
    }
    native.set(d.address, d.nativeDriver ?? d.driver);
  }

  function bind(address: string, driver: string): void {
    symlinkSync(`../../../bus/pci/drivers/${driver}`, join(dev(address), 'driver'));
  }
  function driverOf(address: string): string | undefined {
    return realSysfsIo
      .readlink(join(dev(address), 'driver'))
      ?.split('/')
      .pop();
  }
  function overrideOf(address: string): string {
    return readFileSync(join(dev(address), 'driver_override'), 'utf8').trim();
  }

  const faults: FakeKernelFaults = {};
  const writes: [string, string][] = [];
  let pendingBind: { address: string; driver: string; reads: number } | undefined;

  // drivers_probe: bind an unbound device to its override, or else to its native driver.
  function probe(address: string): void {
    if (driverOf(address) !== undefined) return;
    const override = overrideOf(address);
    const driver = override === '(null)' ? native.get(address) : override;
    if (driver === undefined || !realSysfsIo.exists(join(driversDir, driver))) return;
    if (faults.probeFails?.includes(driver)) return;
    if (faults.probeDelayReads) pendingBind = { address, driver, reads: faults.probeDelayReads };
    else bind(address, driver);
  }

  function kernelWrite(path: string, value: string): void {
    const rel = relative(root, path);
    writes.push([rel, value]);
    const fault = Object.entries(faults.failWrite ?? {}).find(([k]) => rel.endsWith(k));
    if (fault) {
      delete faults.failWrite![fault[0]];
      throw fault[1];
    }
    const address = value.trim();
    const unbind = /^bus\/pci\/drivers\/([^/]+)\/unbind$/.exec(rel);
    if (unbind) {
      if (driverOf(address) !== unbind[1]) throw errno('ENODEV', rel);
      unlinkSync(join(dev(address), 'driver'));
    } else if (rel === 'bus/pci/drivers_probe') {
      probe(address);
    } else if (rel.endsWith('/driver_override')) {
      writeFileSync(path, `${value.trim() === '' ? '(null)' : value.trim()}\n`);
    } else {
      writeFileSync(path, value);
    }
    faults.afterWrite?.(rel, value);
  }

  const io: SysfsIo = {
    ...realSysfsIo,
    write: kernelWrite,
    readlink(path) {
      if (pendingBind && path === join(root, 'bus/pci/devices', pendingBind.address, 'driver')) {
        if (--pendingBind.reads <= 0) {
          bind(pendingBind.address, pendingBind.driver);
          pendingBind = undefined;
        }
      }
      return realSysfsIo.readlink(path);
    },
  };
  return {
    root,
    io,
    writes,
    faults,
    driverOf,
    overrideOf,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** An errno-style error as the kernel's write(2) would give. */
export function errno(code: string, path: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: write ${path}`);
  error.code = code;
  return error;
}

/** The real directory of a fake PCI function (bus/pci/devices/<addr> links to it). */
export function fakeDevicePath(root: string, address: string): string {
  return join(root, 'devices/pci0000:00', address);
}
