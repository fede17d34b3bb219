// sysfs is written as root, so where a write lands must be sysfs itself: sysfsRoot is checked
// once (absolute, a real directory, not a symlink) and every write is checked to resolve to a
// file under it whose last component is not a symlink. Intermediate symlinks are sysfs's own
// layout (bus/pci/devices/<addr> -> ../../../devices/...), so they are resolved, not refused.
import { lstatSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ValidationError, VmlaunchError } from '../../core/index.js';
import type { SysfsIo } from './sysfs-pci.js';

/** A sysfs write that would land outside sysfsRoot or go through a symlink was refused. */
export class SysfsPathError extends VmlaunchError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`sysfs write to ${path} refused: ${reason}`, 'SYSFS_PATH');
  }
}

// The root comes from the caller (AttachContext.sysfsRoot): refused unless plainly a directory.
/**
 * Checks a sysfs root.
 * @throws {ValidationError} path 'sysfsRoot', code SYSFS_ROOT: relative, missing, a symlink or
 *   not a directory.
 */
export function validateSysfsRoot(root: string): string {
  const bad = (why: string): never => {
    throw new ValidationError('sysfsRoot', root, why, 'SYSFS_ROOT');
  };
  if (typeof root !== 'string' || !isAbsolute(root)) bad('an absolute path');
  const st = lstatSync(root, { throwIfNoEntry: false });
  if (st === undefined) bad('does not exist');
  if (st!.isSymbolicLink()) bad('is a symbolic link; give the real directory');
  if (!st!.isDirectory()) bad('is not a directory');
  return root;
}

// Every write goes through this; reads are left as they are (they change nothing).
/** `io` whose writes are refused unless they resolve under `root` through no final symlink. */
export function guardSysfsWrites(io: SysfsIo, root: string): SysfsIo {
  let realRoot: string | undefined;
  return {
    ...io,
    write(path, value) {
      realRoot ??= io.realpath(root);
      const parent = io.realpath(dirname(path));
      if (parent !== realRoot && !parent.startsWith(`${realRoot}/`)) {
        throw new SysfsPathError(path, `it resolves to ${parent}, outside ${realRoot}`);
      }
      const resolved = io.realpath(path);
      if (resolved !== join(parent, basename(path))) {
        throw new SysfsPathError(path, `its last component is a symbolic link (to ${resolved})`);
      }
      io.write(path, value);
    },
  };
}
