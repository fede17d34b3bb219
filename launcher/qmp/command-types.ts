// Argument and result shapes of the typed commands (qapi/*.json of QEMU 7.2). Fixed-shape
// arguments use camelCase and are renamed to QEMU's spelling in client.ts; open-ended ones
// (netdev_add, device_add, chardev-add) take QEMU's own property names, as devices/ emits them.

/** RunState of query-status; with `-S` and no `cont`, QEMU 7.2 reports 'prelaunch'. */
export type RunState =
  | 'debug'
  | 'inmigrate'
  | 'internal-error'
  | 'io-error'
  | 'paused'
  | 'postmigrate'
  | 'prelaunch'
  | 'finish-migrate'
  | 'restore-vm'
  | 'running'
  | 'save-vm'
  | 'shutdown'
  | 'suspended'
  | 'watchdog'
  | 'guest-panicked'
  | 'colo';

/** Result of query-status. */
export interface StatusInfo {
  running: boolean;
  status: RunState;
  /** Present up to QEMU 8.0 (deprecated). */
  singlestep?: boolean;
}

/** Arguments of getfd: the fd is attached to the command, `fdname` names it in QEMU. */
export interface GetfdArgs {
  fdname: string;
  fd: number;
}

/** Arguments of add-fd; QEMU picks a set id when `fdsetId` is omitted. */
export interface AddFdArgs {
  fd: number;
  fdsetId?: number;
  opaque?: string;
}

/** Result of add-fd: the set and QEMU's own fd number of the copy. */
export interface AddFdResult {
  fdsetId: number;
  fd: number;
}

/** Arguments of remove-fd: the whole set, or one fd of it. */
export interface RemoveFdArgs {
  fdsetId: number;
  fd?: number;
}

/** One set of query-fdsets. */
export interface FdsetInfo {
  fdsetId: number;
  fds: Array<{ fd: number; opaque?: string }>;
}

/** netdev_add: `type` and `id` plus the backend's own properties (e.g. fd, fds, vhost). */
export interface NetdevAddArgs {
  type: string;
  id: string;
  [property: string]: unknown;
}

/** device_add: `driver` and `id` plus the device's own properties (e.g. netdev, mac, bus). */
export interface DeviceAddArgs {
  driver: string;
  id?: string;
  [property: string]: unknown;
}

/** chardev-add: `id` and a ChardevBackend (`{ type: 'socket', data: {...} }`). */
export interface ChardevAddArgs {
  id: string;
  backend: { type: string; data: Record<string, unknown> };
}

/** Result of chardev-add; `pty` is set for pty backends. */
export interface ChardevReturn {
  pty?: string;
}

/** One entry of qom-list. */
export interface ObjectPropertyInfo {
  name: string;
  type: string;
  description?: string;
  'default-value'?: unknown;
}

/** One bus of query-pci (devices kept loose: the tree is deep and rarely needed whole). */
export interface PciInfo {
  bus: number;
  devices: Array<
    { bus: number; slot: number; function: number; qdev_id: string } & Record<string, unknown>
  >;
}

/** Arguments of human-monitor-command. */
export interface HumanMonitorArgs {
  commandLine: string;
  cpuIndex?: number;
}
