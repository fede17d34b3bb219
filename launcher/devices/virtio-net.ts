// The virtio-net guest NIC, on whichever transport the machine template uses.
//
// QEMU facts (hw/net/virtio-net.c, hw/virtio/virtio-net-pci.c; `-device virtio-net-pci,help`):
// - multi-queue needs mq=on; over PCI each queue pair takes 2 MSI-X vectors, plus one for the
//   control queue and one for config changes: vectors = 2*queues + 2 (docs/system/devices/net.rst,
//   "multiqueue"). virtio-net-device (mmio) has no vectors property.
// - at most (VIRTIO_QUEUE_MAX 1024 - 1 control queue) / 2 = 511 queue pairs.
// - host_mtu advertises VIRTIO_NET_F_MTU to the guest (uint16).
// - vectors=0 (legacy INTx, no MSI-X): QEMU 7.2 under TCG segfaults in vhost_net_start ->
//   msix_set_vector_notifiers when a vhost-user virtio-net-pci starts with MSI-X (reproduced with
//   a hand-written command line; microvm, without PCI, works). So vhost-user NICs under TCG go
//   without MSI-X.
// - romfile='' skips the PXE option ROM (we boot -kernel directly; it only costs memory/time).
import { validateMac, validateMtu } from '../../network/validate.js';
import { validateQemuId } from '../opts.js';
import type { QemuDevice, Transport } from './types.js';
import { frontendDevice } from './frontend-device.js';
import { checkInt, checkPciPlacement } from './types.js';

/** QEMU vocabulary per transport: one row each, no branches elsewhere. */
export const VIRTIO_NET_BY_TRANSPORT = Object.freeze({
  pci: Object.freeze({ driver: 'virtio-net-pci', msix: true, romfile: true, hotplug: true }),
  mmio: Object.freeze({ driver: 'virtio-net-device', msix: false, romfile: false, hotplug: false }),
} as const satisfies Record<
  Transport,
  { driver: string; msix: boolean; romfile: boolean; hotplug: boolean }
>);

export const VIRTIO_NET_MAX_QUEUES = 511;

/** 'none': no option ROM (romfile=''); 'default': QEMU's; any other string: that file. */
export type RomfilePolicy = 'none' | 'default' | { path: string };

export interface VirtioNetSpec {
  /** device id. */
  id: string;
  /** id of the netdev backing it. */
  netdev: string;
  mac: string;
  transport: Transport;
  /** Queue pairs; mq/vectors are set when > 1. */
  queues: number;
  mtu?: number | undefined;
  bus?: string | undefined;
  addr?: string | undefined;
  romfile?: RomfilePolicy | undefined;
  /** false: no MSI-X (vectors=0, legacy interrupts); PCI only. Default: MSI-X. */
  msix?: boolean | undefined;
  path?: string;
}

// What romfile= gets under a policy: undefined leaves QEMU's default in place.
function romfileValue(policy: RomfilePolicy | undefined): string | undefined {
  if (policy === undefined || policy === 'default') return undefined;
  return policy === 'none' ? '' : policy.path;
}

// The virtio-net device as one object; the driver name comes from the transport table.
export function virtioNet(spec: VirtioNetSpec): QemuDevice {
  const path = spec.path ?? 'device';
  const row = VIRTIO_NET_BY_TRANSPORT[spec.transport];

  // Typed property values; the argv and QMP forms are both rendered from this one table.
  const props = (): Record<string, string | number | boolean | undefined> => {
    const mq = spec.queues > 1;
    return {
      id: spec.id,
      netdev: spec.netdev,
      mac: spec.mac.toLowerCase(),
      mq: mq ? true : undefined,
      vectors: !row.msix
        ? undefined
        : spec.msix === false
          ? 0
          : mq
            ? 2 * spec.queues + 2
            : undefined,
      host_mtu: spec.mtu,
      bus: spec.bus,
      addr: spec.addr,
      romfile: row.romfile ? romfileValue(spec.romfile) : undefined,
    };
  };

  return frontendDevice({
    id: spec.id,
    kind: 'virtio-net',
    path,
    row,
    transport: spec.transport,
    check() {
      validateQemuId(spec.id, `${path}.id`);
      validateQemuId(spec.netdev, `${path}.netdev`);
      validateMac(spec.mac, `${path}.mac`);
      checkInt(spec.queues, `${path}.queues`, 1, VIRTIO_NET_MAX_QUEUES);
      if (spec.mtu !== undefined) validateMtu(spec.mtu, `${path}.mtu`);
      checkPciPlacement(spec, spec.transport, path);
    },
    props,
  });
}
