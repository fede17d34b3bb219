// The guest-facing half of a virtio device (virtio-net, virtio-blk, vhost-user-fs): one row of
// a transport table names the driver and says whether it hot-plugs; the device's own checks
// and its one table of properties give both serialisations (-device and device_add).
import { UnsupportedError, ValidationError } from '../../core/index.js';
import { formatOpts } from '../opts.js';
import type { QemuDevice, QmpCommandSpec } from './types.js';

/** A transport table row: QEMU's driver name and whether it can be hot-plugged. */
export interface FrontendRow {
  driver: string;
  hotplug: boolean;
}

/** What a frontend device object is made of. */
export interface FrontendSpec {
  id: string;
  kind: string;
  /** Field path for errors ('nics[0]', 'drives[1]'). */
  path: string;
  /** The row of the transport in use; undefined for an unknown transport. */
  row: FrontendRow | undefined;
  transport: unknown;
  /** The device's own checks (ids, ranges, placement), run after the transport's. */
  check: () => void;
  /** Its properties; undefined values are left out of both forms. */
  props: () => Record<string, string | number | boolean | undefined>;
}

// The row, or a ValidationError naming the transport field.
function requireRow(spec: FrontendSpec): FrontendRow {
  if (spec.row === undefined) {
    throw new ValidationError(
      `${spec.path}.transport`,
      spec.transport,
      "expected 'pci' or 'mmio'",
      'TRANSPORT',
    );
  }
  return spec.row;
}

// One device object from its row, checks and properties.
export function frontendDevice(spec: FrontendSpec): QemuDevice {
  const validate = (): void => {
    requireRow(spec);
    spec.check();
  };
  return {
    id: spec.id,
    kind: spec.kind,
    validate,
    toArgs() {
      validate();
      const row = requireRow(spec);
      return ['-device', formatOpts(spec.props(), { positional: row.driver, path: spec.path })];
    },
    toQmp(): QmpCommandSpec[] {
      validate();
      const row = requireRow(spec);
      if (!row.hotplug) {
        throw new UnsupportedError(
          `${spec.path}: ${row.driver} sits on virtio-mmio, which has no hot-plug (QEMU docs/system/i386/microvm.rst)`,
        );
      }
      const args: Record<string, unknown> = { driver: row.driver };
      for (const [key, value] of Object.entries(spec.props()))
        if (value !== undefined) args[key] = value;
      return [{ execute: 'device_add', arguments: args }];
    },
    toQmpRemove() {
      return [{ execute: 'device_del', arguments: { id: spec.id } }];
    },
  };
}
