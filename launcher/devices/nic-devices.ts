// Turns a HostNic (what network/ attached) into the QEMU objects that give the guest that NIC:
// tap netdev + virtio-net, chardev + vhost-user netdev + virtio-net, or vfio-pci.
// The same objects serve cold plug (fds inherited) and hot plug (fds passed with getfd): the
// caller decides by the `fdRef` function it passes.
import type { HostNic } from '../../network/host-nic.js';
import { validateQemuId } from '../opts.js';
import type { Accel } from './machine-args.js';
import { socketChardev } from './chardev.js';
import { tapNetdev } from './tap-netdev.js';
import type { FdRef, QemuDevice, Transport } from './types.js';
import { vfioPci } from './vfio-pci.js';
import { vhostUserNetdev } from './vhost-user-netdev.js';
import type { RomfilePolicy } from './virtio-net.js';
import { virtioNet } from './virtio-net.js';

/** How one NIC is placed: everything that is not in the HostNic itself. */
export interface NicContext {
  transport: Transport;
  /** Guest RAM is in a shared backend (required by vhost-user). */
  sharedMemory: boolean;
  /**
   * Maps one of our fds to how QEMU will see it. Cold plug: reserve a child fd (3+i).
   * Hot plug: the name it will be sent under with getfd. `role` is e.g. 'tap0', 'vhost1'.
   */
  fdRef: (parentFd: number, role: string) => FdRef;
  romfile?: RomfilePolicy;
  /** The accelerator: under TCG vhost-user NICs go without MSI-X (see virtio-net.ts). */
  accel?: Accel;
  /** PCI bus for the device (a root port id when hot-plugging on q35). */
  bus?: string | undefined;
  addr?: string | undefined;
  /** Config path for errors, e.g. 'nics[0]'. */
  path?: string;
}

/** QEMU ids derived from a NIC id: one naming rule, used by cold and hot plug alike. */
export function nicQemuIds(nicId: string) {
  return { device: `nic-${nicId}`, netdev: `netdev-${nicId}`, chardev: `chr-${nicId}` };
}

// One HostNic -> its QEMU objects in creation order (QMP removal goes in reverse).
export function nicDevices(nic: HostNic, ctx: NicContext): QemuDevice[] {
  const path = ctx.path ?? 'nic';
  validateQemuId(`nic-${nic.id}`, `${path}.id`);
  const ids = nicQemuIds(nic.id);
  const placement = { bus: ctx.bus, addr: ctx.addr };
  switch (nic.kind) {
    case 'tap': {
      const netdev = tapNetdev({
        id: ids.netdev,
        tapFds: nic.tapFds.map((fd, i) => ctx.fdRef(fd, `tap${i}`)),
        vhostFds: nic.vhost.enabled ? nic.vhostFds.map((fd, i) => ctx.fdRef(fd, `vhost${i}`)) : [],
        vhost: nic.vhost.enabled,
        path,
      });
      return [netdev, guestNic(nic.mac, nic.mtu, netdev.queues)];
    }
    case 'vhost-user': {
      const where = { errPath: path, pathField: `${path}.socketPath` };
      // A client reconnects every second if the backend restarts (char-socket reconnect=).
      const chardev =
        nic.mode === 'server'
          ? socketChardev({ id: ids.chardev, path: nic.socketPath, server: true, ...where })
          : socketChardev({
              id: ids.chardev,
              path: nic.socketPath,
              server: false,
              reconnect: 1,
              ...where,
            });
      const netdev = vhostUserNetdev({
        id: ids.netdev,
        chardev: ids.chardev,
        queues: nic.queues,
        sharedMemory: ctx.sharedMemory,
        path,
      });
      return [chardev, netdev, guestNic(nic.mac, nic.mtu, nic.queues, ctx.accel !== 'tcg')];
    }
    case 'vfio':
      return [
        vfioPci({
          id: ids.device,
          host: nic.pciAddress,
          transport: ctx.transport,
          ...placement,
          path,
        }),
      ];
  }

  // The guest-facing virtio-net shared by the tap and vhost-user cases.
  function guestNic(mac: string, mtu: number | undefined, queues: number, msix = true): QemuDevice {
    return virtioNet({
      msix,
      id: ids.device,
      netdev: ids.netdev,
      mac,
      transport: ctx.transport,
      queues,
      mtu,
      romfile: ctx.romfile,
      ...placement,
      path,
    });
  }
}
