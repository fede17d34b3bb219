// The QMP half of an attach: pass the NIC's fds with getfd under names unique to this
// operation, then run each QEMU object's commands (chardev-add, netdev_add, device_add) in
// order, registering every inverse on the attach's undo stack before or as the step runs.
//
// QEMU 7.2 facts (checked here, see DESIGN.md / launcher/qmp): netdev_add fd=<name> CONSUMES a
// getfd'd fd (a later closefd fails with "not found"); so closefd is only owed for fds that no
// successful netdev_add took. Removal commands treat "not found" as already done, and none is
// sent on a dead monitor (RELIABILITY.md T7).
import { randomBytes } from 'node:crypto';
import type { UndoStack } from '../../network/undo.js';
import type { FdRef, QemuDevice, QmpCommandSpec } from '../devices/types.js';
import { QmpCommandError } from '../qmp/index.js';
import {
  CLEANUP_CALL_TIMEOUT,
  isNotFound,
  monitorAlive,
  removeQuietly,
  type HotplugContext,
} from './context.js';

/** One fd to pass: ours, the name QEMU will know it by, and its role ('tap0', 'vhost1'). */
export interface NamedFd {
  fd: number;
  name: string;
  role: string;
}

// getfd names unique per operation, so a retried or concurrent attach never reuses one.
export function fdNamer(nicId: string): {
  fds: NamedFd[];
  fdRef: (fd: number, role: string) => FdRef;
} {
  const op = randomBytes(4).toString('hex');
  const fds: NamedFd[] = [];
  return {
    fds,
    fdRef(fd, role) {
      const name = `vml_${nicId}_${op}_${role}`;
      fds.push({ fd, name, role });
      return { kind: 'named', name };
    },
  };
}

/** What the QMP phase reports to its caller, step by step. */
export interface PlugProgress {
  /** Set before each step: the error of a failure is named after it. */
  step: string;
  deviceAdded: boolean;
}

// Sends the fds and the objects' commands; on failure the caller unwinds `undo`.
/** @throws the QMP error of the failing step (progress.step names it). */
export async function plugOverQmp(
  ctx: HotplugContext,
  fds: readonly NamedFd[],
  devices: readonly QemuDevice[],
  undo: UndoStack,
  progress: PlugProgress,
  callTimeout: () => number,
): Promise<void> {
  let consumed = false;
  for (const { fd, name, role } of fds) {
    progress.step = `getfd ${role}`;
    // Registered first: a getfd that timed out may still have been stored by QEMU.
    undo.push(`closefd ${name}`, () =>
      consumed ? undefined : removeQuietly(ctx, 'closefd', { fdname: name }),
    );
    await ctx.qmp.getfd({ fdname: name, fd }, { timeout: callTimeout() });
  }
  for (const device of devices) {
    for (const command of device.toQmp()) {
      progress.step = command.execute;
      if (command.execute === 'device_add') {
        // A device_add cut short (timeout, abort, lost reply) may still have added the device:
        // then rollback must unplug it before the backend goes. A refusal added nothing.
        let maybeAdded = false;
        undo.push(`device_del ${device.id} (if a cut-short device_add added it)`, () =>
          maybeAdded ? unplugIfPresent(ctx, device.id) : undefined,
        );
        try {
          // At least a second: a device_add given the last milliseconds of the deadline would
          // almost surely time out after QEMU acted on it.
          const timeout = Math.max(MIN_DEVICE_ADD_MS, callTimeout());
          await ctx.qmp.execute('device_add', command.arguments, { timeout });
        } catch (error) {
          maybeAdded = !(error instanceof QmpCommandError);
          throw error;
        }
        progress.deviceAdded = true;
        continue;
      }
      pushRemoval(ctx, undo, device);
      await ctx.qmp.execute(command.execute, command.arguments, { timeout: callTimeout() });
      if (command.execute === 'netdev_add') consumed = true;
    }
  }
}

/** The least time a device_add gets, whatever is left of the attach deadline. */
export const MIN_DEVICE_ADD_MS = 1000;
/** How long a rollback waits for the guest to release a device a cut-short device_add added. */
export const ROLLBACK_DELETE_MS = 10_000;

// device_del and wait for DEVICE_DELETED; "not found" means device_add never added it.
async function unplugIfPresent(ctx: HotplugContext, id: string): Promise<void> {
  if (!monitorAlive(ctx)) return;
  const deleted = ctx.qmp.expectEvent(
    'DEVICE_DELETED',
    (e: { data?: Record<string, unknown> }) => e.data?.device === id,
    { timeout: ROLLBACK_DELETE_MS },
  );
  try {
    await ctx.qmp.deviceDel({ id }, { timeout: CLEANUP_CALL_TIMEOUT });
  } catch (error) {
    deleted.cancel();
    if (isNotFound(error)) return;
    throw error;
  }
  await deleted;
}

// The inverse of a backend (netdev_del, chardev-remove), registered before it is created.
function pushRemoval(ctx: HotplugContext, undo: UndoStack, device: QemuDevice): void {
  const removals: QmpCommandSpec[] = device.toQmpRemove();
  for (const removal of removals.reverse()) {
    undo.push(`${removal.execute} ${device.id}`, () =>
      removeQuietly(ctx, removal.execute, removal.arguments),
    );
  }
}
