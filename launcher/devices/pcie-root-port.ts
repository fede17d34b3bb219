// A PCIe root port: an empty slot, created at start, that a device can be hot-plugged into.
//
// QEMU facts (hw/pci-bridge/pcie_root_port.c, docs/pcie.txt): each port needs a unique
// (chassis, slot) pair; q35's pcie.0 root complex itself takes no hot-plugged devices, so the
// ports must exist from boot and cannot themselves be hot-plugged.
import { UnsupportedError } from '../../core/index.js';
import { formatOpts, validateQemuId } from '../opts.js';
import type { QemuDevice } from './types.js';
import { checkInt } from './types.js';

export interface PcieRootPortSpec {
  id: string;
  /** 1..255, unique per port (we give each port its own chassis). */
  chassis: number;
  slot?: number;
  /** The root bus, 'pcie.0' on q35 and microvm,pcie=on. */
  bus: string;
  path?: string;
}

// A pcie-root-port as one object; toQmp refuses (see header).
export function pcieRootPort(spec: PcieRootPortSpec): QemuDevice {
  const path = spec.path ?? 'rootPort';
  const validate = (): void => {
    validateQemuId(spec.id, `${path}.id`);
    validateQemuId(spec.bus, `${path}.bus`);
    checkInt(spec.chassis, `${path}.chassis`, 1, 255);
    if (spec.slot !== undefined) checkInt(spec.slot, `${path}.slot`, 0, 65535);
  };
  return {
    id: spec.id,
    kind: 'pcie-root-port',
    validate,
    toArgs() {
      validate();
      const opts = { id: spec.id, chassis: spec.chassis, slot: spec.slot, bus: spec.bus };
      return ['-device', formatOpts(opts, { positional: 'pcie-root-port', path })];
    },
    toQmp() {
      throw new UnsupportedError(
        `${path}: a pcie-root-port is created at start; the root bus takes no hot-plugged devices`,
      );
    },
    toQmpRemove() {
      throw new UnsupportedError(`${path}: a pcie-root-port cannot be unplugged`);
    },
  };
}
