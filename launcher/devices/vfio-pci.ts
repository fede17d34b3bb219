// A host PCI function passed through to the guest with VFIO (vfio-pci, host=DDDD:BB:DD.F).
import { ValidationError } from '../../core/index.js';
import { formatOpts, validateQemuId } from '../opts.js';
import type { QemuDevice, QmpCommandSpec, Transport } from './types.js';
import { checkPciPlacement } from './types.js';

/** A full PCI address: domain:bus:device.function. */
const PCI_HOST_RE = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-1][0-9a-fA-F]\.[0-7]$/;

export interface VfioPciSpec {
  id: string;
  /** Host PCI address, e.g. 0000:01:00.0. */
  host: string;
  /** vfio-pci is a PCI device: the machine must have a PCI transport. */
  transport: Transport;
  bus?: string | undefined;
  addr?: string | undefined;
  path?: string;
}

// vfio-pci as one object (argv -device or QMP device_add).
export function vfioPci(spec: VfioPciSpec): QemuDevice {
  const path = spec.path ?? 'device';
  const validate = (): void => {
    validateQemuId(spec.id, `${path}.id`);
    if (typeof spec.host !== 'string' || !PCI_HOST_RE.test(spec.host)) {
      throw new ValidationError(
        `${path}.pciAddress`,
        spec.host,
        'expected a PCI address like 0000:01:00.0',
        'PCI_HOST',
      );
    }
    if (spec.transport !== 'pci') {
      throw new ValidationError(
        `${path}.pciAddress`,
        spec.host,
        'VFIO passthrough needs a machine with PCI (q35, pc or microvm-pcie)',
        'TRANSPORT',
      );
    }
    checkPciPlacement(spec, spec.transport, path);
  };
  const props = () => ({
    id: spec.id,
    host: spec.host.toLowerCase(),
    bus: spec.bus,
    addr: spec.addr,
  });
  return {
    id: spec.id,
    kind: 'vfio-pci',
    validate,
    toArgs() {
      validate();
      return ['-device', formatOpts(props(), { positional: 'vfio-pci', path })];
    },
    toQmp(): QmpCommandSpec[] {
      validate();
      const args: Record<string, unknown> = { driver: 'vfio-pci' };
      for (const [key, value] of Object.entries(props()))
        if (value !== undefined) args[key] = value;
      return [{ execute: 'device_add', arguments: args }];
    },
    toQmpRemove() {
      return [{ execute: 'device_del', arguments: { id: spec.id } }];
    },
  };
}
