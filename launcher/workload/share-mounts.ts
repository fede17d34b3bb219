// Read-only shares: virtiofsd 7.2 has no read-only option, so the directory it serves is a
// read-only bind mount of the share in the VM's run directory. The guest's writes then fail
// with EROFS on the host side even if the guest remounts its side read-write.
//
// Linux facts (mount(2)): a bind mount takes MS_RDONLY only by a second, remounting call
// (MS_REMOUNT|MS_BIND|MS_RDONLY); without MS_REC submounts are not carried over, so nothing
// below the share is left writable. virtiofsd's own namespace sandbox bind-mounts its source
// again, and a bind mount keeps the read-only flag of the mount it copies.
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { MountFlags, mount, umount } from '../../native/index.js';

const MS_RDONLY = 0x1;
const MS_REMOUNT = 0x20;

/** A read-only view of a directory and how to take it down. */
export interface ReadOnlyView {
  path: string;
  /** Lazily unmounts (MNT_DETACH: never EBUSY) and removes the mount point. */
  remove(): void;
}

// Binds `source` read-only at `<runDir>/ro-<index>`; the caller registers remove() as undo.
/** @throws NativeError when a mount call fails (nothing is left mounted then). */
export function readOnlyView(source: string, runDir: string, index: number): ReadOnlyView {
  const path = join(runDir, `ro-${index}`);
  mkdirSync(path, { mode: 0o700 });
  const remove = (): void => {
    try {
      umount(path, MountFlags.MNT_DETACH);
    } catch {
      // Not mounted (the first mount call failed): only the directory is left.
    }
    rmdirSync(path);
  };
  try {
    mount(source, path, null, MountFlags.MS_BIND);
    mount(null, path, null, MS_REMOUNT | MountFlags.MS_BIND | MS_RDONLY);
  } catch (error) {
    remove();
    throw error;
  }
  return { path, remove };
}
