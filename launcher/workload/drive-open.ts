// The 'drives' step of launch(): vmlaunch opens every image itself (QEMU gets the fds in
// fdsets, so a QEMU under runAs needs no access to the path) and makes the qcow2 overlay of
// each ephemeral drive in the VM's run directory. Everything it made is undone on failure.
import { closeSync, constants, fstatSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { closeAll } from '../../native/index.js';
import { ValidationError } from '../../core/index.js';
import type { DriveConfig } from '../devices/blockdev-drive.js';
import { runQemuImg } from './drive-image.js';
import type { CheckedDrive } from './drive-spec.js';

/** The opened drives: configs for the command builder and the fds (ours) they hold. */
export interface OpenedDrives {
  drives: DriveConfig[];
  fds: number[];
  /** Overlay files made (in the run dir). */
  overlays: string[];
}

// Opens `file` read-only or read-write (O_CLOEXEC comes from libuv; O_NONBLOCK so a FIFO put
// there since the check cannot hang us), and refuses it unless it is the regular file checked.
function openImage(d: CheckedDrive, file: string, write: boolean, same: boolean): number {
  const flags = (write ? constants.O_RDWR : constants.O_RDONLY) | constants.O_NONBLOCK;
  const fd = openSync(file, flags);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new ValidationError(
        `drives.${d.id}.path`,
        file,
        'the image is not a regular file',
        'IMAGE_NOT_REGULAR',
      );
    }
    if (same && (st.dev !== d.dev || st.ino !== d.ino)) {
      throw new ValidationError(
        `drives.${d.id}.path`,
        file,
        'the image was replaced since it was checked',
        'IMAGE_CHANGED',
      );
    }
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

// Opens every drive's image (and makes ephemeral overlays) in order; on failure closes what it
// opened and removes the overlays it made before rethrowing.
/**
 * Opens the images of checked drives.
 * @throws ValidationError (IMAGE_NOT_REGULAR, IMAGE_CHANGED), ImageInfoError (qemu-img create), or
 *   the open(2) error.
 */
export async function openDrives(
  checked: readonly CheckedDrive[],
  runDir: string,
): Promise<OpenedDrives> {
  const out: OpenedDrives = { drives: [], fds: [], overlays: [] };
  try {
    for (const d of checked) {
      const common = {
        id: d.id,
        serial: d.serial,
        ...(d.cache ? { cache: d.cache } : {}),
        ...(d.aio ? { aio: d.aio } : {}),
        ...(d.discard ? { discard: d.discard } : {}),
      };
      const image = openImage(d, d.path, !d.readOnly && !d.ephemeral, true);
      out.fds.push(image);
      if (!d.ephemeral) {
        out.drives.push({
          ...common,
          fd: image,
          format: d.format,
          ...(d.readOnly ? { readOnly: true } : {}),
        });
        continue;
      }
      // No backing name in the header: the blockdev graph names the base node explicitly.
      const overlay = join(runDir, `${d.id}.qcow2`);
      out.overlays.push(overlay);
      await runQemuImg(['create', '-q', '-f', 'qcow2', overlay, String(d.virtualSize)]);
      const fd = openImage(d, overlay, true, false);
      out.fds.push(fd);
      out.drives.push({ ...common, fd, format: 'qcow2', backing: { fd: image, format: d.format } });
    }
    return out;
  } catch (error) {
    closeAll(out.fds);
    removeOverlays(out.overlays);
    throw error;
  }
}

// Removes overlay files (idempotent; the run dir's removal would take them too).
export function removeOverlays(files: readonly string[]): void {
  for (const file of files) rmSync(file, { force: true });
}
