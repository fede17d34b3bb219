// The launcher's public face: QEMU options, devices, templates, command builder, process, QMP
// client, VM lifecycle, accelerator probe, guest console harness.
export * from './opts.js';
export * from './command.js';
export * from './vm-config.js';
export * from './shell-quote.js';
export * from './devices/types.js';
export * from './devices/nic-devices.js';
export * from './devices/tap-netdev.js';
export * from './devices/virtio-net.js';
export * from './devices/chardev.js';
export * from './devices/vhost-user-netdev.js';
export * from './devices/vfio-pci.js';
export * from './devices/pcie-root-port.js';
export * from './devices/memory-backend.js';
export * from './devices/vhost-user-fs.js';
export * from './devices/serial-console.js';
export * from './devices/qmp-monitor.js';
export * from './devices/machine-args.js';
export * from './devices/blockdev.js';
export * from './devices/blockdev-drive.js';
export * from './devices/virtio-blk.js';
export * from './workload/drive-spec.js';
export * from './workload/drive-image.js';
export * from './workload/drive-rootfs.js';
export { driveCmdline, explainDriveFailure } from './workload/drive-errors.js';
export * from '../qemu-templates/index.js';
export * from './errors.js';
export * from './log.js';
export * from './process.js';
export * from './console.js';
export * from './socket-channel.js';
export * from './guest-shell.js';
export * from './guest-image.js';
export * from './marker-stream.js';
export * from './run-script.js';
export * from './run-in-vm.js';
export * from './accel.js';
export * from './cache-dir.js';
export * from './launch.js';
export * from './sandbox.js';
export * from './sandbox-probe.js';
export * from './run-as.js';
export * from './run-as-access.js';
export { prepareConfinement, accelForIdentity, type Confinement } from './confinement.js';
export * from './vm.js';
export * from './workload/share-spec.js';
export { RunningShare, type ShareState, type ShareSet } from './workload/shares.js';
export {
  ShareError,
  VIRTIOFSD_PATH,
  virtiofsdArgv,
  type VirtiofsdOptions,
} from './workload/virtiofsd.js';
export * from './qmp/index.js';
export * from './tcg-clock.js';
export * from './host-report.js';
export * from './hotplug/index.js';
export { callVm, controlCalls, listVmNames, type ControlCallOptions } from './control/client.js';
export { ControlError, RemoteOperationError } from './control/errors.js';
export type * from './control/protocol.js';
export { startControlServer, type ControlServer } from './control/server.js';
export { claimRuntimeDir, releaseRuntimeDir, defaultRuntimeRoot } from './control/runtime-dir.js';
