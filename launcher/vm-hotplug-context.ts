// The hot-plug view of a launched VM, built once by its constructor: its root ports,
// placement rules and guest hooks, as attach/detach need them.
import { closeAll } from '../native/index.js';
import type { AcceleratorChoice } from './accel.js';
import type { BuiltCommand } from './command.js';
import type { SerialConsole } from './console.js';
import type { GuestShell } from './guest-shell.js';
import type { HotplugContext } from './hotplug/context.js';
import { defaultGuestHooks } from './hotplug/guest.js';
import { HotplugRegistry } from './hotplug/registry.js';
import type { Logger } from './log.js';
import type { QemuProcess } from './process.js';
import type { QmpClient } from './qmp/index.js';

/** The parts of a Vm its hot-plug context reads. */
export interface HotplugVmView {
  readonly id: string;
  readonly runDir: string | undefined;
  readonly process: QemuProcess;
  readonly qmp: QmpClient;
  readonly console: SerialConsole;
  readonly guest: GuestShell;
  readonly command: BuiltCommand;
  readonly accel: AcceleratorChoice;
  readonly logger: Logger;
}

// The hot-plug view of this VM: its root ports, placement rules and guest hooks.
export function vmHotplugContext(
  vm: HotplugVmView,
  attach: HotplugContext['attachEndpoint'],
  qemuUid: number | undefined,
): HotplugContext {
  const { command } = vm;
  const coldIds = command.devices
    .filter((d) => ['virtio-net', 'vfio-pci', 'virtio-blk'].includes(d.kind))
    .map((d) => d.id.replace(/^nic-/, ''));
  const guest = defaultGuestHooks(command.argv, vm.console, vm.guest, vm.guest.isReady);
  return {
    qmp: vm.qmp,
    registry: new HotplugRegistry(command.hotplugBuses, new Set(coldIds)),
    transport: command.template.transport,
    sharedMemory: command.devices.some((d) => d.kind === 'memory-backend'),
    accel: vm.accel.accel,
    owner: vm.id,
    ...(qemuUid !== undefined ? { qemuUid } : {}),
    romfile: command.template.nicRomfile,
    machine: command.template.name,
    ...(guest ? { guest } : {}),
    // QEMU alive (not the VM's state): while it stops, an unplug still waits for QEMU.
    running: () => vm.process.running,
    attachEndpoint: attach,
    closeFds: closeAll,
    template: command.template,
    ...(vm.runDir !== undefined ? { runDir: vm.runDir } : {}),
    logger: vm.logger,
  };
}
