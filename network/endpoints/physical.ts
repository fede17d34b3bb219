// The physical (VFIO) endpoint: a host PCI NIC handed to the guest whole. Attach reads the
// device's identity and host driver from sysfs and rebinds it to vfio-pci; detach gives it back
// to the host driver. The sysfs root and I/O are injectable, so this is tested on a fake tree.
//
// Ordering (docs/faults.md T26): while QEMU holds the device's VFIO fds, a write to vfio-pci's
// `unbind` blocks in the kernel (vfio-pci asks the user to release the device and waits), so
// the caller must call detach() only after QEMU has exited or hot-unplugged the device
// (DEVICE_DELETED) and closed its fds; on an attach that fails later in the launcher (e.g. at
// device_add), the same rule applies before detach.
import {
  StepError,
  StepRunner,
  UnsupportedError,
  ValidationError,
  type UndoStack,
} from '../../core/index.js';
import type { VfioHostNic } from '../host-nic.js';
import type { AttachContext, AttachedEndpoint, AttachFn } from './attach-types.js';
import { validatePciAddress } from './parse.js';
import type { PciIdentity, SysfsIo } from './sysfs-pci.js';
import { pciPaths, readPciIdentity, realSysfsIo, SYSFS_ROOT } from './sysfs-pci.js';
import type { BindTiming } from './vfio-sysfs.js';
import { bindToVfio, VFIO_PCI_DRIVER } from './vfio-sysfs.js';
import { guardSysfsWrites, validateSysfsRoot } from './sysfs-guard.js';
import type { PhysicalEndpoint } from './types.js';

/** Seams of the physical attach: sysfs I/O and how long a driver may take to bind. */
export interface PhysicalAttachOptions extends BindTiming {
  io?: SysfsIo;
}

// Preflight: everything that can be refused is refused before the first write.
function preflight(io: SysfsIo, root: string, endpoint: PhysicalEndpoint): PciIdentity {
  const address = validatePciAddress(endpoint.pciAddress, 'endpoint.pciAddress');
  const vfio = `${pciPaths(root, address).drivers}/${VFIO_PCI_DRIVER}`;
  if (!io.exists(vfio)) {
    throw new UnsupportedError(
      `VFIO is not available: ${vfio} does not exist (the vfio-pci driver is not loaded, ` +
        `or this kernel has no VFIO); cannot pass through ${address}`,
    );
  }
  if (!io.exists(pciPaths(root, address).device)) {
    throw new ValidationError(
      'endpoint.pciAddress',
      address,
      `no PCI device ${address} under ${root}/bus/pci/devices`,
      'PCI_DEVICE_MISSING',
    );
  }
  const id = readPciIdentity(io, root, address);
  if (endpoint.vendorDevice !== undefined && endpoint.vendorDevice !== id.vendorDevice) {
    throw new ValidationError(
      'endpoint.vendorDevice',
      endpoint.vendorDevice,
      `${address} is ${id.vendorDevice} in sysfs, not the device this endpoint describes`,
      'PCI_DEVICE_MISMATCH',
    );
  }
  if (id.iommuGroup === undefined) {
    throw new UnsupportedError(
      `${address} has no IOMMU group (IOMMU off or unsupported): vfio-pci cannot bind it`,
    );
  }
  if (id.driverOverride !== undefined && id.driverOverride !== VFIO_PCI_DRIVER) {
    throw new ValidationError(
      'endpoint.pciAddress',
      address,
      `driver_override is already '${id.driverOverride}': something else manages this device`,
      'PCI_DRIVER_OVERRIDE',
    );
  }
  return id;
}

// One detach that runs the stack once; later calls return the first call's promise.
function onceDetach(undo: UndoStack, address: string): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= undo.unwind().then((errors) => {
      if (errors.length > 0) throw new StepError(`detach ${address}`, errors[0], errors.slice(1));
    });
    return done;
  };
}

// Tests pass a fake sysfs; production uses attachPhysical below.
/** Builds the physical attach over the given sysfs I/O (default: the real filesystem). */
export function createPhysicalAttach(
  options: PhysicalAttachOptions = {},
): AttachFn<PhysicalEndpoint> {
  const given = options.io ?? realSysfsIo;
  return async (endpoint: PhysicalEndpoint, ctx: AttachContext): Promise<AttachedEndpoint> => {
    ctx.signal?.throwIfAborted();
    const root = validateSysfsRoot(ctx.sysfsRoot ?? SYSFS_ROOT);
    const io = guardSysfsWrites(given, root);
    const id = preflight(io, root, endpoint);
    const steps = new StepRunner({ signal: ctx.signal });
    // Already on vfio-pci (bound by the host's own configuration): nothing to do or undo.
    if (id.driver !== VFIO_PCI_DRIVER) {
      const overrideWasSet = id.driverOverride === VFIO_PCI_DRIVER;
      await bindToVfio(io, root, endpoint.pciAddress, id.driver, steps, options, overrideWasSet);
    }
    const hostNic: VfioHostNic = { kind: 'vfio', id: ctx.nicId, pciAddress: endpoint.pciAddress };
    const described: PhysicalEndpoint = {
      ...endpoint,
      vendorDevice: id.vendorDevice,
      ...(id.driver === undefined ? {} : { driver: id.driver }),
    };
    return {
      endpoint: described,
      hostNic,
      detach: onceDetach(steps.transfer(), endpoint.pciAddress),
    };
  };
}

// The physical endpoint kind's AttachFn over the real /sys (or ctx.sysfsRoot).
/**
 * Rebinds the PCI NIC to vfio-pci and returns a VfioHostNic; detach() gives it back to its host
 * driver and verifies that it is bound again. Call detach() only after QEMU has closed the
 * device's VFIO fds (T26).
 * @throws {UnsupportedError} when vfio-pci is absent or the device has no IOMMU group.
 * @throws {ValidationError} malformed or unknown PCI address, vendor:device mismatch, a foreign
 *   driver_override, a sysfsRoot that is relative, a symlink or not a directory (SYSFS_ROOT).
 * @throws {StepError} naming the sysfs write or check that failed, after rolling back (a
 *   write leading out of sysfsRoot or through a symlink is a SysfsPathError cause).
 */
export const attachPhysical: AttachFn<PhysicalEndpoint> = createPhysicalAttach();
