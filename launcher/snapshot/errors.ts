// The errors of snapshot and restore: a save that failed at a named step (its partial files
// removed, the VM resumed if it was running), and a restore refused before anything started.
import { RolledBackError, ValidationError, VmlaunchError } from '../../core/index.js';

/**
 * vm.snapshot() failed at `step` ('stop', 'open-state', 'migrate', 'manifest'...); the partial
 * state file and manifest are removed and a VM that was running is running again. `code` is
 * the cause's when it is a VmlaunchError (TIMEOUT, ABORTED...), else SNAPSHOT_FAILED.
 */
export class SnapshotError extends RolledBackError {
  constructor(step: string, cause: unknown, rollbackErrors: Error[] = []) {
    const code = cause instanceof VmlaunchError ? cause.code : 'SNAPSHOT_FAILED';
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`snapshot failed at ${step}: ${reason}`, code, step, { cause, rollbackErrors });
  }
}

/**
 * restore() refused a snapshot before anything was started: this host or the options do not
 * match the manifest. `code` says what: QEMU_VERSION, MACHINE, MEMORY, CPUS, DEVICE_SET,
 * DRIVE_MISSING, DRIVE_CHANGED, STATE_FILE, NIC_UNKNOWN, NIC_MAC, NIC_KIND, NIC_UNBOUND.
 */
export class RestoreMismatchError extends ValidationError {}
