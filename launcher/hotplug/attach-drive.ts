// vm.attach({ drive }): the drive checked as at launch (image, format, options), a free root
// port, the image opened by us (and an ephemeral overlay made in the run directory), its fds
// put into fdsets of their own with add-fd, then blockdev-add and device_add — through the same
// pipeline, registry, rollback and detach as a NIC. Once device_add succeeded, removing the
// drive is detach's job: device_del, DEVICE_DELETED, then blockdev-del, remove-fd, the overlay.
import { UndoStack, ValidationError } from '../../core/index.js';
import { driveDevices, driveQemuIds } from '../devices/blockdev-drive.js';
import { openDrives, removeOverlays } from '../workload/drive-open.js';
import { checkDriveSpecs, type DriveSpec } from '../workload/drive-spec.js';
import { deadlineOf, unplugForRollback } from './attach.js';
import type { HotplugContext } from './context.js';
import { HotplugError, HotplugStateError } from './errors.js';
import { waitForGuestDisk } from './guest-disk.js';
import { plugAndRegister, type FdsetFd, type PlugProgress } from './qmp-plug.js';
import type { NicRecord } from './registry.js';
import type { AttachOptions, HotpluggedDrive } from './types.js';

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
  const serial = spec.serial ?? id;
  const drive = { ...checked!, id, serial };

  const deadline = deadlineOf(options);
  const undo = new UndoStack();
  const progress: PlugProgress = {
    step: 'reserve-slot',
    deviceAdded: false,
    deviceMaybeAdded: false,
  };
  const timings = { host: 0, qmp: 0 } as HotpluggedDrive['timings'];
  let ours: number[] = [];
  const closeOurs = (): void => {
    const fds = ours;
    ours = [];
    if (fds.length > 0) ctx.closeFds(fds);
  };
  let record: NicRecord | undefined;
  undo.push(`release id ${id}`, () => ctx.registry.releaseId(id));
  undo.push('close our fds', closeOurs);
  try {
    const bus = ctx.registry.reserveSlot(id, ctx.machine);
    undo.push(`release ${bus}`, () => ctx.registry.releaseSlot(bus));

    progress.step = 'wait-guest-ready';
    deadline.check(progress.step);
    if (ctx.guest) await ctx.guest.waitReady({ timeout: deadline.left(), signal: deadline.signal });
    deadline.check(progress.step);

    progress.step = 'open-image';
    let t = performance.now();
    const opened = await openDrives([drive], runDir);
    ours = opened.fds;
    undo.push('remove overlay', () => removeOverlays(opened.overlays));
    const config = opened.drives[0]!;
    const sets = { image: ctx.registry.nextFdset(), base: ctx.registry.nextFdset() };
    const passed: FdsetFd[] = [{ fd: config.fd, fdset: sets.image, role: `${id}:image` }];
    if (config.backing)
      passed.push({ fd: config.backing.fd, fdset: sets.base, role: `${id}:base` });
    timings.host = Math.round(performance.now() - t);
    deadline.check(progress.step);

    progress.step = 'devices';
    const devices = driveDevices(config, {
      transport: ctx.transport,
      fdRef: (_fd, role) => ({ kind: 'fdset', fdset: sets[role] }),
      bus,
      path: `attach(${id})`,
    });
    for (const device of devices) device.validate();
    const plugged: HotpluggedDrive = { kind: 'drive', id, serial, bus, timings };
    t = performance.now();
    await plugAndRegister(ctx, {
      item: plugged,
      deviceId: driveQemuIds(id).device,
      fds: passed,
      devices,
      undo,
      progress,
      callTimeout: deadline.left,
      signal: options.signal,
      closeOurs,
      onRecord: (added) => (record = added),
    });
    timings.qmp = Math.round(performance.now() - t);

    const guest = ctx.guest;
    if (guest?.exec && (options.waitForGuest ?? true)) {
      progress.step = 'guest-sees-drive';
      t = performance.now();
      const name = await waitForGuestDisk((c, o) => guest.exec!(c, o), serial, true, {
        timeout: deadline.left(),
        signal: deadline.signal,
      });
      timings.guest = Math.round(performance.now() - t);
      if (name) plugged.guestDevice = name;
    }
    ctx.logger?.debug({ drive: id, bus, timings }, 'drive hot-plugged');
    return plugged;
  } catch (error) {
    const aborted = options.signal?.aborted === true;
    const rollbackErrors = record ? await unplugForRollback(ctx, id) : await undo.unwind();
    throw new HotplugError(id, progress.step, error, rollbackErrors, undefined, aborted);
  }
}
