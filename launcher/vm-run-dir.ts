// The VM's private run directory, `<runtime root>/.vm/<vm id>/` (mode 0700, ours): where the
// files that live and die with one VM go (overlays of ephemeral drives, virtiofsd sockets).
// A VM name cannot start with '.', so `.vm` never meets a CLI VM's control dir.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkDirSafe, defaultRuntimeRoot } from './control/runtime-dir.js';

/** A VM's private run directory and how to remove it again. */
export interface VmRunDir {
  path: string;
  /** Removes the directory and everything in it (idempotent). */
  remove(): void;
}

// Made before anything is put in it; a symlinked or shared dir on the way is refused.
/**
 * Creates the run directory of VM `vmId`.
 * @throws ControlError (UNSAFE_RUNTIME_DIR) when the runtime root or `.vm` is not safe.
 */
export function createVmRunDir(vmId: string, root = defaultRuntimeRoot()): VmRunDir {
  const uid = process.getuid?.() ?? 0;
  mkdirSync(root, { recursive: true, mode: 0o755 });
  checkDirSafe(root, { uid, allowRootOwner: true });
  const parent = join(root, '.vm');
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  checkDirSafe(parent, { uid, private: true });
  const path = join(parent, vmId);
  mkdirSync(path, { mode: 0o700 });
  checkDirSafe(path, { uid, private: true });
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
