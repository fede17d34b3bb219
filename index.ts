// vmlaunch's root entry: what a script needs to launch a VM, run a command in it, hot-plug
// NICs and drives, scan a netns, shut down, and tell the errors apart. Power users reach the
// layers below through the subpaths vmlaunch/qmp, vmlaunch/network and vmlaunch/native
// (entries/); nothing else is exported (docs/api.md says what is where and why).

// Launch, and the VM it returns (its type only: a Vm is made by launch, never by hand).
export { launch, type LaunchOptions, type EndpointSpec } from './launcher/launch.js';
export type { Vm, VmState, VmExit, ShutdownOptions, ShutdownRung } from './launcher/vm.js';
export type { ExitInfo } from './launcher/errors.js';
// Snapshots: vm.snapshot() saves a VM, restore() brings it (or clones of it) back, rewired.
export { restore } from './launcher/snapshot/restore.js';
export type { RestoreOptions, RestoreNic } from './launcher/snapshot/restore-options.js';
export type { SnapshotOptions, SnapshotResult, SnapshotThen } from './launcher/snapshot/save.js';
export type { SnapshotProgress } from './launcher/snapshot/migrate-wait.js';
export type {
  SnapshotManifest,
  ManifestDevice,
  ManifestDrive,
  ManifestNic,
  ManifestQemu,
} from './launcher/snapshot/manifest.js';
// One call that boots, runs a command with its argv intact, and always stops the VM.
export { runInVm, type RunInVmOptions, type RunResult } from './launcher/run-in-vm.js';
// The default guest (kernel + initrd with the console harness), built on first use.
export {
  locateGuestImage,
  GUEST_HARNESS_APPEND,
  type GuestImage,
  type GuestImageOptions,
} from './launcher/guest-image.js';
// Reading what a CNI left in a netns, to launch a VM onto it.
export {
  scanNetns,
  type ScanOptions,
  type ScanResult,
  type SkippedLink,
  type VhostUserMapping,
  type DnsSettings,
} from './network/endpoints/scan.js';
// The guest's network configuration from its endpoints: the document of the seed drive, also
// without a drive (docs/guest-network.md).
export {
  guestNetworkConfig,
  type GuestNic,
  type GuestDns,
  type NetworkConfigV2,
  type NetworkConfigEthernet,
  type NetworkConfigRoute,
} from './launcher/seed/network-config.js';
export type { GuestNetworkOptions } from './launcher/seed/seed-drive.js';

// Plain data a caller writes: endpoints, drives, shares, machine and confinement choices.
export type {
  Endpoint,
  EndpointRoute,
  Interworking,
  IpvlanEndpoint,
  MacvlanEndpoint,
  MacvtapEndpoint,
  PhysicalEndpoint,
  TapEndpoint,
  VethEndpoint,
  VhostUserEndpoint,
} from './network/endpoints/types.js';
export type {
  HostNic,
  TapHostNic,
  VfioHostNic,
  VhostState,
  VhostUserHostNic,
} from './network/host-nic.js';
export type { DriveSpec } from './launcher/workload/drive-spec.js';
// An ext4 root drive built from Debian packages on first use (docs/drives.md).
export { locateRootfsImage, type RootfsImage } from './launcher/workload/drive-rootfs.js';
export type {
  DriveAio,
  DriveCache,
  DriveDiscard,
  ImageFormat,
} from './launcher/devices/blockdev.js';
export type { ShareSpec } from './launcher/workload/share-spec.js';
export type { TemplateName, TemplateOverrides } from './qemu-templates/index.js';
export type { Accel } from './launcher/devices/machine-args.js';
export type { Accelerator, AcceleratorChoice } from './launcher/accel.js';
export type { SandboxOption, SandboxPolicy, SandboxSetting } from './launcher/sandbox.js';
export type { RunAs } from './launcher/run-as.js';
export type { ConfineOption, JailOptions } from './launcher/jail.js';
export type { IdRange } from './launcher/jail-ids.js';
export type { Logger } from './launcher/log.js';

// Hot-plug through vm.attach / vm.detach.
export type {
  AttachOptions,
  AttachTimings,
  DetachOptions,
  DetachResult,
  HotplugSource,
  Hotplugged,
  HotpluggedDrive,
  HotpluggedNic,
} from './launcher/hotplug/types.js';

// The parts a Vm hands out (types only): its guest shell, console, process, command.
export type {
  GuestShell,
  GuestResult,
  GuestExecOptions,
  GuestStreamOptions,
} from './launcher/guest-shell.js';
export type { SerialConsole, ConsoleMatch, WaitForOptions } from './launcher/console.js';
export type { QemuProcess } from './launcher/process.js';
export type { NicStats, NicCounters } from './launcher/nic/nic-stats.js';
export type { NicRate, NicRateChange, RateLimit } from './network/endpoints/rate-limit.js';
export type { BuiltCommand } from './launcher/command.js';
export type { AttachedEndpoint } from './network/endpoints/attach-types.js';
export type { RunningShare, ShareState } from './launcher/workload/shares.js';

// The errors a caller catches; each has a stable `code` (docs/api.md lists them).
export {
  VmlaunchError,
  ValidationError,
  UnsupportedError,
  TimeoutError,
  AbortError,
  RolledBackError,
  StepError,
} from './core/index.js';
export { NativeError } from './native/errors.js';
export { NetlinkError } from './network/errors.js';
export { NetnsError } from './network/netns/errors.js';
export { NetnsNotFoundError } from './network/netns/not-found.js';
export { LaunchError } from './launcher/errors.js';
export { SandboxUnsupportedError } from './launcher/sandbox.js';
export { ConsoleClosedError } from './launcher/console.js';
export { GuestCommandError } from './launcher/guest-shell.js';
export { GuestMountError } from './launcher/run-in-vm.js';
export { ShareError } from './launcher/workload/virtiofsd.js';
export { ImageInfoError } from './launcher/workload/drive-image.js';
export { SnapshotError, RestoreMismatchError } from './launcher/snapshot/errors.js';
export { MigrationFailedError } from './launcher/snapshot/migrate-wait.js';
export {
  HotplugError,
  HotplugStateError,
  NoFreeSlotError,
  UnplugRejectedError,
} from './launcher/hotplug/errors.js';
