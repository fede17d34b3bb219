// The --drive and --share specs of `vmlaunch run`, parsed into the launcher's drive and share
// specs. A drive spec is QEMU-like: PATH[,format=raw|qcow2][,ro][,ephemeral][,serial=S]
// [,mount=GUESTPATH] with a comma in PATH written twice (",,"), as QEMU reads it.
import { resolve } from 'node:path';
import type { DriveSpec } from '../workload/drive-spec.js';
import type { ShareSpec } from '../workload/share-spec.js';
import { splitQemuList } from './qemu-list.js';
import { UsageError } from './usage.js';

/** Usage text of the two specs, for help and errors. */
export const DRIVE_SPEC_USAGE =
  '--drive PATH[,format=raw|qcow2][,ro][,ephemeral][,serial=S][,mount=GUESTPATH] (",," for a comma in PATH)';
export const SHARE_SPEC_USAGE = '--share HOSTDIR:GUESTPATH[,ro]';

// A guest path as the default guest's init can take it (absolute, no spaces or commas).
function guestPath(value: string, spec: string, usage: string): string {
  if (!/^\/[A-Za-z0-9._/+-]*$/.test(value))
    throw new UsageError(
      `"${value}" in "${spec}" is not a guest path (absolute, letters, digits and ._/+- only)`,
      usage,
    );
  return value;
}

// --drive SPEC -> a drive spec (the path made absolute against `cwd`).
/** @throws UsageError for an empty path, an unknown option or a bad value. */
export function parseDriveSpec(spec: string, cwd = process.cwd()): DriveSpec {
  const [path = '', ...options] = splitQemuList(spec);
  if (path === '') throw new UsageError(`--drive "${spec}" has no image path`, DRIVE_SPEC_USAGE);
  const drive: DriveSpec = { path: resolve(cwd, path) };
  for (const option of options) {
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    const value = eq < 0 ? undefined : option.slice(eq + 1);
    const bad = (why: string): UsageError =>
      new UsageError(`--drive "${spec}": ${why}`, DRIVE_SPEC_USAGE);
    switch (key) {
      case 'ro':
      case 'ephemeral':
        if (value !== undefined && value !== 'on') throw bad(`${key} takes no value`);
        if (key === 'ro') drive.readOnly = true;
        else drive.ephemeral = true;
        break;
      case 'format':
        if (value !== 'raw' && value !== 'qcow2') throw bad('format is raw or qcow2');
        drive.format = value;
        break;
      case 'serial':
        if (!value || !/^[A-Za-z0-9._-]{1,20}$/.test(value))
          throw bad('serial is 1 to 20 of A-Z a-z 0-9 . _ -');
        drive.serial = value;
        break;
      case 'mount':
        drive.mount = guestPath(value ?? '', spec, DRIVE_SPEC_USAGE);
        break;
      default:
        throw bad(`unknown option "${option}"`);
    }
  }
  return drive;
}

// --share HOSTDIR:GUESTPATH[,ro] -> a share spec. The guest path is after the last ':' (it
// cannot hold one), so a host directory may contain ':' and ','.
/** @throws UsageError for a missing part, a bad guest path or an unknown option. */
export function parseShareSpec(spec: string, cwd = process.cwd()): ShareSpec {
  const colon = spec.lastIndexOf(':');
  if (colon <= 0)
    throw new UsageError(`--share "${spec}" needs HOSTDIR:GUESTPATH`, SHARE_SPEC_USAGE);
  const [mount = '', ...options] = spec.slice(colon + 1).split(',');
  const share: ShareSpec = {
    hostPath: resolve(cwd, spec.slice(0, colon)),
    mount: guestPath(mount, spec, SHARE_SPEC_USAGE),
  };
  for (const option of options) {
    if (option !== 'ro')
      throw new UsageError(`--share "${spec}": unknown option "${option}"`, SHARE_SPEC_USAGE);
    share.readOnly = true;
  }
  return share;
}
