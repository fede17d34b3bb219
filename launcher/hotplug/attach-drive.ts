// vm.attach({ drive }): the drive checked as at launch (image, format, options), a free root
// port, the image opened by us (and an ephemeral overlay made in the run directory), its fds
// put into fdsets of their own with add-fd, then blockdev-add and device_add — as the named
// steps of plug-run.ts, with the same pipeline, registry, rollback and detach as a NIC. Once
// device_add succeeded, removing the drive is detach's job: device_del, DEVICE_DELETED, then
// blockdev-del, remove-fd, the overlay.
import { ValidationError, type Step } from '../../core/index.js';
import { driveDevices, driveQemuIds, type DriveConfig } from '../devices/blockdev-drive.js';
import { openDrives, removeOverlays } from '../workload/drive-open.js';
import { checkDriveSpecs, type CheckedDrive, type DriveSpec } from '../workload/drive-spec.js';
import type { HotplugContext } from './context.js';
import { HotplugStateError } from './errors.js';
import { waitForGuestDisk } from './guest-disk.js';
import { newPlugRun, runAttach, waitGuestReadyStep, type PlugRun } from './plug-run.js';
import type { FdsetFd } from './qmp-plug.js';
import type { AttachOptions, HotpluggedDrive } from './types.js';

/** A drive attach in progress: the checked drive, and the image once opened. */
interface DriveRun extends PlugRun<HotpluggedDrive> {
  readonly drive: CheckedDrive & { id: string; serial: string };
  readonly runDir: string;
  opened?: { config: DriveConfig; fds: FdsetFd[]; sets: { image: number; base: number } };
}

// The image (and its backing file) opened by us, an ephemeral overlay made in the run dir.
const openImage: Step<DriveRun> = {
  name: 'open-image',
  async run(run) {
    const { hp, id } = run;
    const t = performance.now();
    const opened = await openDrives([run.drive], run.runDir);
    run.ours = opened.fds;
    run.steps.push('remove overlay', () => removeOverlays(opened.overlays));
    const config = opened.drives[0]!;
    const sets = { image: hp.registry.nextFdset(), base: hp.registry.nextFdset() };
    const fds: FdsetFd[] = [{ fd: config.fd, fdset: sets.image, role: `${id}:image` }];
    if (config.backing) fds.push({ fd: config.backing.fd, fdset: sets.base, role: `${id}:base` });
    run.opened = { config, fds, sets };
    run.timings.host = Math.round(performance.now() - t);
  },
};

// The drive's QEMU objects (block nodes, device) on the reserved port, validated first.
const devices: Step<DriveRun> = {
  name: 'devices',
  run(run) {
    const { hp, id, bus } = run;
    const { config, fds, sets } = run.opened!;
    const objects = driveDevices(config, {
      transport: hp.transport,
      fdRef: (_fd, role) => ({ kind: 'fdset', fdset: sets[role] }),
      bus,
      path: `attach(${id})`,
    });
    for (const device of objects) device.validate();
    const item: HotpluggedDrive = {
      kind: 'drive',
      id,
      serial: run.drive.serial,
      bus,
      spec: pluggedSpec(run.drive),
      timings: run.timings,
    };
    run.job = { item, deviceId: driveQemuIds(id).device, fds, devices: objects };
  },
};

// The spec in force: what was given, with the id, serial, absolute path and format decided.
function pluggedSpec(d: DriveRun['drive']): DriveSpec {
  return {
    path: d.path,
    id: d.id,
    format: d.format,
    ...(d.readOnly ? { readOnly: true } : {}),
    ...(d.ephemeral ? { ephemeral: true } : {}),
    serial: d.serial,
    ...(d.cache ? { cache: d.cache } : {}),
    ...(d.aio ? { aio: d.aio } : {}),
    ...(d.discard ? { discard: d.discard } : {}),
  };
}

// The guest kernel shows the disk (its device name is reported).
const guestSeesDrive: Step<DriveRun> = {
  name: 'guest-sees-drive',
  async run(run) {
    const guest = run.hp.guest!;
    const item = run.job!.item;
    const t = performance.now();
    const name = await waitForGuestDisk((c, o) => guest.exec!(c, o), item.serial, true, {
      timeout: run.deadline.left(),
      signal: run.deadline.signal,
    });
    run.timings.guest = Math.round(performance.now() - t);
    if (name) item.guestDevice = name;
  },
};

// Hot-plugs one drive into a running VM.
/**
 * Attaches the drive `spec` to the VM behind `ctx` (PCIe machines: q35, microvm-pcie).
 * @throws ValidationError for a bad spec or image (nothing done); HotplugStateError (VM not
 *   running, id taken, no run directory); HotplugError naming the failed step, with everything
 *   rolled back; NoFreeSlotError as its cause when every root port is taken.
 */
export async function attachDrive(
  ctx: HotplugContext,
  spec: DriveSpec,
  options: AttachOptions = {},
): Promise<HotpluggedDrive> {
  if (ctx.registry.vmEnded || !ctx.running() || ctx.qmp.state !== 'ready') {
    throw new HotplugStateError('cannot attach: the VM is not running', 'HOTPLUG_VM_STOPPED');
  }
  const { template, runDir } = ctx;
  if (template === undefined || runDir === undefined) {
    throw new HotplugStateError('this VM was not launched with a run directory for drives');
  }
  if (options.waitForGuest === true && ctx.guest?.exec === undefined) {
    throw new HotplugStateError(
      'waitForGuest needs a guest shell (the default guest booted with vmlaunch.console=harness)',
    );
  }
  if (spec.mount !== undefined) {
    throw new ValidationError(
      'drive.mount',
      spec.mount,
      "the default guest's init mounts drives at boot only; mount a hot-plugged disk from the guest",
      'DRIVE_OPTION',
    );
  }
  const wanted = options.id ?? spec.id;
  // Checked before anything is taken: a bad image is a ValidationError and changes nothing.
  const [checked] = await checkDriveSpecs([{ ...spec, id: wanted ?? 'hpdrive' }], {
    template,
    nics: 0,
  });
  const id = ctx.registry.claimId(wanted);
  const drive = { ...checked!, id, serial: spec.serial ?? id };
  const run: DriveRun = Object.assign(newPlugRun<HotpluggedDrive>(ctx, id, options, []), {
    drive,
    runDir,
  });
  const waits = ctx.guest?.exec !== undefined && (options.waitForGuest ?? true);
  const plugged = await runAttach<HotpluggedDrive, DriveRun>(
    run,
    [waitGuestReadyStep, openImage, devices],
    () => (waits ? [guestSeesDrive] : []),
  );
  ctx.logger?.debug({ drive: id, bus: plugged.bus, timings: plugged.timings }, 'drive hot-plugged');
  return plugged;
}
