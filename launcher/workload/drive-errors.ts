// What the guest and the user see of drives beyond the devices: the kernel arguments that make
// the default guest mount them, and QEMU's image-lock refusal turned into an error that names
// the image (QEMU only knows /dev/fdset/N).
import { LaunchError } from '../errors.js';
import { driveFdsets, type DriveConfig } from '../devices/blockdev-drive.js';
import type { CheckedDrive } from './drive-spec.js';

// `vmlaunch.drive=SERIAL,GUESTPATH[,ro]` for every drive with a mount (the init's contract).
export function driveCmdline(drives: readonly CheckedDrive[]): string[] {
  return drives
    .filter((d) => d.mount !== undefined)
    .map((d) => `vmlaunch.drive=${d.serial},${d.mount!}${d.readOnly ? ',ro' : ''}`);
}

/** QEMU 7.2 (block/file-posix.c raw_check_lock_bytes) on a conflicting OFD lock. */
const LOCK_RE =
  /Failed to get (shared )?"([a-z ]+)" lock\s*\n?\s*Is another process using the image \[\/dev\/fdset\/(\d+)\]/;

// A launch that QEMU refused because an image is locked by another process becomes a
// LaunchError coded IMAGE_LOCKED naming the drive and its image; anything else is returned as is.
export function explainDriveFailure(
  error: LaunchError,
  drives: readonly DriveConfig[],
  checked: readonly CheckedDrive[],
): LaunchError {
  const match = LOCK_RE.exec(error.stderrTail);
  if (!match) return error;
  const set = driveFdsets(drives).find((s) => s.set === Number(match[3]));
  const drive = checked.find((d) => d.id === set?.driveId);
  if (!drive) return error;
  const what = match[1] ? `a shared "${match[2]}" lock` : `the "${match[2]}" lock`;
  const explained = new LaunchError(
    `drive ${drive.id}: the image ${drive.path} is in use by another process (QEMU could not get ${what}; ` +
      'another VM has it open for writing, or holds it while this drive would write)',
    {
      argv: error.argv,
      step: error.step,
      stderrTail: error.stderrTail,
      code: 'IMAGE_LOCKED',
      ...(error.exit ? { exit: error.exit } : {}),
    },
    { cause: error },
  );
  explained.rollbackErrors.push(...error.rollbackErrors);
  return explained;
}
