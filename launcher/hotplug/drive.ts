// The drive half of vm.attach({ drive }): the host side (check the spec, open the image,
// make an ephemeral overlay) and the guest's view (/sys/block/vd*/serial). The plug and unplug
// themselves are the NIC machinery's (attach.ts, qmp-plug.ts, detach.ts): fds go over with
// add-fd into fdsets of their own instead of getfd, the objects are blockdev-add/device_add.
import { ValidationError } from '../../network/errors.js';
import type { UndoStack } from '../../network/undo.js';
import type { DriveConfig } from '../devices/blockdev-drive.js';
import { AbortError, TimeoutError } from '../errors.js';
import { checkDriveSpecs, type DriveSpec } from '../workload/drive-spec.js';
import { openDrives, removeOverlays } from '../workload/drive-open.js';
import type { HotplugContext, HotplugGuest } from './context.js';
import { HotplugStateError } from './errors.js';

/** A drive ready to plug: its config (fds ours until QEMU holds copies), and what it is. */
export interface HotDrive {
  config: DriveConfig;
  fds: number[];
  path: string;
  serial: string;
}

// Checks the spec as launch() does and opens the image; the undo removes an overlay made.
/**
 * Prepares `spec` (id already claimed) for hot plug.
 * @throws ValidationError for bad input (a `mount` too: the init mounts at boot only); HotplugStateError for an ephemeral drive in a VM
 *   without a run directory.
 */
export async function prepareHotDrive(
  ctx: HotplugContext,
  spec: DriveSpec,
  id: string,
  undo: UndoStack,
): Promise<HotDrive> {
  if (spec.mount !== undefined) {
    throw new ValidationError(
      'drive.mount',
      spec.mount,
      'the default guest mounts drives at boot only; mount a hot-plugged one from the guest',
      'DRIVE_OPTION',
    );
  }
  const [checked] = await checkDriveSpecs([{ ...spec, id }], {
    template: { transport: ctx.transport, name: ctx.machine },
    nics: 0,
  });
  if (checked!.ephemeral && ctx.runDir === undefined) {
    throw new HotplugStateError(
      'an ephemeral drive needs the VM run directory (launch() makes one)',
    );
  }
  const opened = await openDrives([checked!], ctx.runDir ?? '/nonexistent');
  undo.push('remove drive overlay', () => removeOverlays(opened.overlays));
  return {
    config: opened.drives[0]!,
    fds: opened.fds,
    path: checked!.path,
    serial: checked!.serial,
  };
}

// Polls the guest until a virtio disk with `serial` exists (or is gone): its name, e.g. vdb.
/** @throws TimeoutError naming the serial and the deadline; AbortError; guest/console errors. */
export async function waitForGuestDisk(
  exec: NonNullable<HotplugGuest['exec']>,
  serial: string,
  present: boolean,
  options: { timeout: number; signal?: AbortSignal; interval?: number },
): Promise<string | undefined> {
  const started = Date.now();
  const script =
    'for f in /sys/block/vd*/serial; do ' +
    `[ "$(cat $f 2>/dev/null)" = "${serial}" ] && [ -b /dev/$(basename $(dirname $f)) ] && ` +
    'basename $(dirname $f); done; true';
  for (;;) {
    if (options.signal?.aborted) throw new AbortError('aborted while waiting for the guest disk');
    const left = options.timeout - (Date.now() - started);
    if (left <= 0) {
      const what = present ? 'appear' : 'disappear';
      throw new TimeoutError(
        `the guest did not show a disk with serial ${serial} ${what} within ${options.timeout} ms`,
      );
    }
    const { output } = await exec(script, {
      timeout: Math.max(left, 1000),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const disk = output.trim().split(/\s+/)[0];
    if (present && disk) return disk;
    if (!present && !disk) return undefined;
    await new Promise((resolve) => setTimeout(resolve, options.interval ?? 50));
  }
}
