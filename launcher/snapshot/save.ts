// vm.snapshot(): stop the VM, save its state into a file vmlaunch opens itself and hands QEMU
// by fd (getfd + migrate to fd:NAME; QEMU 7.2 has no file: URI), wait for the save with
// progress and a deadline, write the manifest beside it, and leave the VM paused, running or
// shut down. Named steps with undo: a failed save removes its partial files and resumes a VM
// that was running (docs/snapshots.md).
import {
  closeSync,
  constants,
  fsyncSync,
  lstatSync,
  openSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename } from 'node:path';
import { StepRunner, UnsupportedError, ValidationError } from '../../core/index.js';
import type { AttachedEndpoint } from '../../network/endpoints/attach-types.js';
import type { AcceleratorChoice } from '../accel.js';
import type { BuiltCommand } from '../command.js';
import type { HotpluggedDrive, HotpluggedNic } from '../hotplug/types.js';
import type { LaunchOptions } from '../launch-options.js';
import type { Logger } from '../log.js';
import type { QmpClient } from '../qmp/index.js';
import { driveQemuIds } from '../devices/blockdev-drive.js';
import { nicQemuIds } from '../devices/nic-devices.js';
import { SnapshotError } from './errors.js';
import {
  manifestPath,
  MANIFEST_VERSION,
  type ManifestDevice,
  type ManifestNic,
  type SnapshotManifest,
} from './manifest.js';
import {
  allocatedBytes,
  copySparse,
  memoryImagePath,
  ramSource,
  setIgnoreShared,
} from './memory-image.js';
import { waitForMigration, type SnapshotProgress } from './migrate-wait.js';
import { checkEphemeralUnwritten, checkHotpluggedDrives, manifestDrives } from './save-drives.js';

/** What the VM is left as once its state is saved. */
export type SnapshotThen = 'pause' | 'resume' | 'shutdown';

/** Options of vm.snapshot(). */
export interface SnapshotOptions {
  /** 'resume' (default): running again; 'pause': stopped; 'shutdown': QEMU ended. */
  then?: SnapshotThen;
  /** Aborting ends the save: its files are removed and a running VM resumes. */
  signal?: AbortSignal;
  /** Deadline of the save in ms (default 120 s). */
  timeoutMs?: number;
  /** Called with QEMU's progress as the save runs. */
  onProgress?: (progress: SnapshotProgress) => void;
  /**
   * Guest RAM in shared memory (sharedMemory: true, or a restored VM) goes to a sparse RAM
   * image `<path>.ram` beside a state file of the devices alone (default true; false puts the
   * RAM into the state file like any other VM's). Restores from an image are much faster.
   */
  memoryImage?: boolean;
}

/** A saved snapshot. */
export interface SnapshotResult {
  /** The state file. */
  path: string;
  /** The manifest beside it (`<path>.json`). */
  manifestPath: string;
  /** Size of the state file in bytes. */
  bytes: number;
  /** From `stop` to the save's completion (the RAM image written), in ms. */
  saveMs: number;
  /** The RAM image (`<path>.ram`) and the bytes it occupies on disk (it is sparse). */
  memoryImage?: { path: string; allocatedBytes: number };
  manifest: SnapshotManifest;
}

/** The parts of a running VM a snapshot reads (the Vm hands them over). */
export interface SnapshotSubject {
  qmp: QmpClient;
  /** QEMU's pid (its RAM fd is read through /proc/PID/fd). */
  pid: number;
  command: BuiltCommand;
  accel: AcceleratorChoice;
  /** The options the VM was launched (or restored) with. */
  source: LaunchOptions;
  /** NICs restored onto the root port they were hot-plugged on: still hot-plugged ones. */
  nicBuses?: Record<string, string>;
  /** Drives restored onto the root port they were hot-plugged on, likewise. */
  driveBuses?: Record<string, string>;
  endpoints: readonly AttachedEndpoint[];
  hotplugged: readonly HotpluggedNic[];
  hotpluggedDrives: readonly HotpluggedDrive[];
  /** Ids of hot-plugged devices whose unplug is under way (detaching or pending). */
  unplugging?: readonly string[];
  running: boolean;
  shutdown(): Promise<unknown>;
  logger: Logger;
}

// Device kinds QEMU 7.2 cannot migrate with our plumbing: refused before the VM is stopped.
const UNMIGRATABLE: Record<string, string> = {
  'vfio-pci': 'a VFIO device has no migratable state in QEMU 7.2',
  'vhost-user-fs': 'virtiofs (vhost-user-fs) is not migratable in QEMU 7.2',
  'vhost-user-netdev': 'vhost-user NICs need the backend to take part in a migration',
};

const FD_NAME = 'vmlaunch-snapshot-out';

/**
 * Saves the VM's state to `path` (created, never overwritten) and the manifest beside it.
 * @throws ValidationError (the file exists...), UnsupportedError (a device that cannot be
 *   saved), SnapshotError naming the failed step with everything undone.
 */
export async function saveSnapshot(
  vm: SnapshotSubject,
  path: string,
  options: SnapshotOptions = {},
): Promise<SnapshotResult> {
  const logger = vm.logger.child({ op: 'snapshot' });
  checkSubject(vm, path);
  const memoryBackend = vm.command.devices.find((d) => d.kind === 'memory-backend');
  const image = memoryBackend && options.memoryImage !== false ? memoryImagePath(path) : undefined;
  if (image !== undefined && lstatSync(image, { throwIfNoEntry: false })) {
    throw new ValidationError('path', image, 'the RAM image file exists; refused to overwrite it');
  }
  const runner = new StepRunner({
    signal: options.signal,
    fail: (step, cause, rollbackErrors) => new SnapshotError(step, cause, rollbackErrors),
  });
  const timeoutMs = options.timeoutMs ?? 120_000;
  const version = await runner.step('query', () => queryQemu(vm.qmp));
  const wasRunning = await runner.step('stop', async () => {
    const status = await vm.qmp.queryStatus({ timeout: 5000 });
    if (status.running) {
      await vm.qmp.stop({ timeout: 5000 });
      runner.push('resume the VM', () => vm.qmp.cont({ timeout: 5000 }));
    }
    return status.running;
  });
  await runner.step('ephemeral-drives', () =>
    checkEphemeralUnwritten(vm.qmp, vm.source.drives ?? []),
  );
  const started = performance.now();
  await runner.step('open-state', async () => {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const fd = openSync(path, flags, 0o600);
    runner.push('remove the state file', () => unlinkSync(path));
    try {
      // QEMU takes its own copy; ours is closed at once either way.
      await vm.qmp.getfd({ fdname: FD_NAME, fd }, { timeout: 5000 });
    } finally {
      closeSync(fd);
    }
  });
  if (image !== undefined) {
    await runner.step('ignore-shared', async () => {
      await setIgnoreShared(vm.qmp, true);
      runner.push('stop ignoring shared RAM', () => setIgnoreShared(vm.qmp, false));
    });
  }
  await runner.step('migrate', async () => {
    // migrate consumes the named fd; until it has, closefd releases it (a no-op error after).
    runner.push('release the fd', () =>
      vm.qmp.closefd({ fdname: FD_NAME }, { timeout: 5000 }).catch(() => undefined),
    );
    await vm.qmp.execute('migrate', { uri: `fd:${FD_NAME}` }, { timeout: 5000 });
    runner.push('cancel the save', () =>
      vm.qmp.execute('migrate_cancel', undefined, { timeout: 5000 }).then(() => undefined),
    );
    await waitForMigration(vm.qmp, {
      timeoutMs,
      signal: options.signal,
      onProgress: options.onProgress,
      what: 'the save',
    });
  });
  if (image !== undefined) {
    await runner.step('memory-image', async () => {
      const from = await ramSource(vm.qmp, vm.pid, memoryBackend!.id);
      writeExclusive(image, ''); // created here (0600, never over a file); cp fills it
      runner.push('remove the RAM image', () => unlinkSync(image));
      await copySparse(from, image);
      fsyncFile(image);
      await setIgnoreShared(vm.qmp, false);
    });
  }
  const saveMs = performance.now() - started;
  const manifest = await runner.step('manifest', () => {
    const bytes = statSync(path).size;
    fsyncFile(path);
    const memory =
      image !== undefined ? { file: basename(image), bytes: statSync(image).size } : undefined;
    const m = buildManifest(vm, path, bytes, version, memory);
    writeExclusive(manifestPath(path), `${JSON.stringify(m, null, 2)}\n`);
    runner.push('remove the manifest', () => unlinkSync(manifestPath(path)));
    return m;
  });
  await runner.step('then', async () => {
    const then = options.then ?? 'resume';
    if (then === 'resume') await vm.qmp.cont({ timeout: 5000 });
    if (then === 'shutdown') await vm.shutdown();
  });
  runner.transfer(); // the files are the caller's now; nothing is undone any more
  logger.info({ path, bytes: manifest.state.bytes, saveMs, wasRunning }, 'snapshot saved');
  return {
    path,
    manifestPath: manifestPath(path),
    bytes: manifest.state.bytes,
    saveMs,
    ...(image ? { memoryImage: { path: image, allocatedBytes: allocatedBytes(image) } } : {}),
    manifest,
  };
}

// Refusals that need nothing stopped: a VM not running, a device QEMU cannot save.
function checkSubject(vm: SnapshotSubject, path: string): void {
  if (!vm.running) throw new UnsupportedError('cannot snapshot: the VM is not running');
  for (const device of vm.command.devices) {
    const why = UNMIGRATABLE[device.kind];
    if (why) throw new UnsupportedError(`cannot snapshot device ${device.id}: ${why}`);
  }
  if (vm.source.nics?.length) {
    throw new UnsupportedError(
      'cannot snapshot a VM launched with caller-made HostNics (options.nics): restore could not attach them again',
    );
  }
  checkHotpluggedDrives(vm.hotpluggedDrives, vm.unplugging ?? []);
  if (path.length === 0) throw new ValidationError('path', path, 'a file path is required');
}

async function queryQemu(qmp: QmpClient): Promise<{ version: string; package: string }> {
  type Version = { qemu: { major: number; minor: number; micro: number }; package: string };
  const v = await qmp.execute<Version>('query-version', undefined, { timeout: 5000 });
  return { version: `${v.qemu.major}.${v.qemu.minor}.${v.qemu.micro}`, package: v.package.trim() };
}

function fsyncFile(path: string): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

// Writes a new file (never through a symlink, never over an existing one), 0600, synced.
function writeExclusive(path: string, text: string): void {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const fd = openSync(path, flags, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

// The manifest of `vm` as it is now (stopped), with its state file of `bytes` bytes.
export function buildManifest(
  vm: SnapshotSubject,
  path: string,
  bytes: number,
  qemu: { version: string; package: string },
  memory?: { file: string; bytes: number },
): SnapshotManifest {
  const { source, command } = vm;
  const options: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(command.template.machineOptions)) {
    if (v !== undefined) options[k] = v;
  }
  // NICs restored onto a root port are in vm.hotplugged while attached (and gone once
  // detached): they are recorded by the hot-plugged loop below, not as cold ones.
  const restoredIds = new Set(
    Object.keys(vm.nicBuses ?? {}).flatMap((id) => Object.values(nicQemuIds(id))),
  );
  for (const id of Object.keys(vm.driveBuses ?? {})) {
    for (const qemuId of Object.values(driveQemuIds(id))) restoredIds.add(qemuId);
  }
  const restoredNics = new Set(Object.keys(vm.nicBuses ?? {}));
  const devices: ManifestDevice[] = command.devices
    .filter((d) => !restoredIds.has(d.id))
    .map((d) => ({ id: d.id, kind: d.kind, hotplugged: false }));
  const nics: ManifestNic[] = [];
  (source.endpoints ?? []).forEach((spec, i) => {
    const attached = vm.endpoints[i]!;
    const mac = 'mac' in attached.hostNic ? attached.hostNic.mac : '';
    const id = spec.id ?? `net${i}`;
    if (restoredNics.has(id)) return;
    nics.push({
      id,
      mac,
      endpoint: attached.endpoint,
      ...(spec.netns !== undefined ? { netns: spec.netns } : {}),
      hotplugged: false,
    });
  });
  for (const nic of vm.hotplugged) {
    const ids = nicQemuIds(nic.id);
    // A restored one keeps the netns it was restored into.
    const netns = (source.endpoints ?? []).find((e) => e.id === nic.id)?.netns;
    devices.push({ id: ids.device, kind: 'virtio-net', bus: nic.bus, hotplugged: true });
    nics.push({
      id: nic.id,
      mac: nic.mac,
      ...(nic.attached ? { endpoint: nic.attached.endpoint } : {}),
      ...(netns !== undefined ? { netns } : {}),
      ...(netns === undefined && nic.attached?.hostNic.kind === 'tap' && nic.attached.hostNic.netns
        ? { netns: nic.attached.hostNic.netns }
        : {}),
      hotplugged: true,
      bus: nic.bus,
    });
  }
  // Drives restored onto a root port likewise: recorded as hot-plugged while there.
  const hot = manifestDrives(source.drives ?? [], vm.hotpluggedDrives, vm.driveBuses ?? {});
  devices.push(...hot.devices);
  const drives = hot.drives;
  return {
    format: 'vmlaunch-snapshot',
    version: MANIFEST_VERSION,
    createdAt: new Date().toISOString(),
    state: { file: basename(path), bytes, ...(memory ? { memory } : {}) },
    qemu: { binary: command.argv[0]!, ...qemu },
    machine: {
      template: source.template ?? 'q35',
      ...(source.templateOverrides ? { overrides: source.templateOverrides } : {}),
      type: command.template.machineType,
      options,
    },
    accel: vm.accel.accel,
    ...(source.cpu !== undefined ? { cpu: source.cpu } : {}),
    cpus: source.cpus ?? 1,
    memoryMiB: source.memoryMiB ?? 512,
    sharedMemory: command.devices.some((d) => d.kind === 'memory-backend'),
    boot: {
      kernel: source.kernel,
      ...(source.initrd !== undefined ? { initrd: source.initrd } : {}),
      cmdline: [...(source.cmdline ?? [])],
    },
    devices,
    nics,
    drives,
  };
}
