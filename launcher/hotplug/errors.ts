// Typed errors of hot-plug: which step failed (and what rollback could not undo), no free slot,
// and a guest that refused an unplug. All are VmlaunchErrors with a stable `code`.
import { reasonOf, RolledBackError, VmlaunchError } from '../../core/errors.js';
import { ConsoleClosedError } from '../console.js';
import { QmpDisconnectedError } from '../qmp/index.js';

// Whether `error` means QEMU (or its monitor/console) went away under the operation.
export function isInterruption(error: unknown): boolean {
  if (error instanceof QmpDisconnectedError || error instanceof ConsoleClosedError) return true;
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== error && isInterruption(cause);
}

/**
 * An attach or detach failed at `step` (e.g. 'getfd tap1', 'netdev_add', 'device_add').
 * `cause` is the first error; `rollbackErrors` name whatever rollback could not undo.
 * `interrupted` is true when QEMU died (or its monitor closed) during the operation; the
 * code is then HOTPLUG_INTERRUPTED. `aborted` is true when the caller's AbortSignal ended it
 * (`step` is where the abort was noticed); the code is then ABORTED, as for every abort (a
 * launch's, a QMP call's), else HOTPLUG_FAILED.
 */
export class HotplugError extends RolledBackError {
  readonly nicId: string;
  readonly interrupted: boolean;
  readonly aborted: boolean;

  constructor(
    nicId: string,
    step: string,
    cause: unknown,
    rollbackErrors: Error[] = [],
    interrupted = isInterruption(cause),
    aborted = false,
  ) {
    const how = interrupted
      ? ' (QEMU went away during the operation)'
      : aborted
        ? ' (aborted by the caller)'
        : '';
    super(
      `hot-plug of ${nicId} failed at ${step}${how}: ${reasonOf(cause)}`,
      interrupted ? 'HOTPLUG_INTERRUPTED' : aborted ? 'ABORTED' : 'HOTPLUG_FAILED',
      step,
      { cause, rollbackErrors },
    );
    this.nicId = nicId;
    this.interrupted = interrupted;
    this.aborted = aborted;
  }
}

/** Every hot-plug root port of the VM holds a device (or one waiting to be unplugged). */
export class NoFreeSlotError extends VmlaunchError {
  /** The VM's hot-plug buses and which NIC holds each. */
  readonly occupied: Record<string, string>;

  constructor(occupied: Record<string, string>, machine: string) {
    const buses = Object.keys(occupied);
    const detail =
      buses.length === 0
        ? `the ${machine} machine has no hot-plug root ports (use q35, or raise templateOverrides.hotplugRootPorts)`
        : `all ${buses.length} root ports are taken (${buses.map((b) => `${b}: ${occupied[b]}`).join(', ')}); ` +
          'detach a NIC or launch with more templateOverrides.hotplugRootPorts';
    super(`no free hot-plug slot: ${detail}`, 'HOTPLUG_NO_FREE_SLOT');
    this.occupied = occupied;
  }
}

/** The guest refused to release a device (DEVICE_UNPLUG_GUEST_ERROR); it stays attached. */
export class UnplugRejectedError extends VmlaunchError {
  readonly nicId: string;
  readonly device: string;

  constructor(nicId: string, device: string) {
    super(
      `the guest refused to unplug NIC ${nicId} (DEVICE_UNPLUG_GUEST_ERROR for ${device}); ` +
        'the device is still attached and nothing was removed on the host',
      'HOTPLUG_UNPLUG_REJECTED',
    );
    this.nicId = nicId;
    this.device = device;
  }
}

/** The operation does not apply: unknown NIC id, id in use, or the VM is not running. */
export class HotplugStateError extends VmlaunchError {
  constructor(message: string, code = 'HOTPLUG_STATE') {
    super(message, code);
  }
}
