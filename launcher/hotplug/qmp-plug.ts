// The QMP half of an attach: pass the device's fds — a NIC's with getfd under names unique to
// this operation, a drive's with add-fd into fdsets of their own — then run each QEMU object's
// commands (chardev-add, netdev_add, blockdev-add, device_add) in order, registering every
// inverse on the attach's undo stack before or as the step runs.
//
// QEMU 7.2 facts (checked on real QEMU, see launcher/qmp): netdev_add fd=<name> CONSUMES a
// getfd'd fd (a later closefd fails with "not found"); so closefd is only owed for fds that no
// successful netdev_add took. Removal commands treat "not found" as already done, and none is
// sent on a dead monitor (docs/faults.md T7).
import { randomBytes } from 'node:crypto';
import type { UndoStack } from '../../core/index.js';
import type { FdRef, QemuDevice, QmpCommandSpec } from '../devices/types.js';
import { QmpCommandError } from '../qmp/index.js';
import { removeQuietly, type HotplugContext } from './context.js';
import type { NicRecord } from './registry.js';
import type { Hotplugged } from './types.js';

/** One fd to pass: ours, the name QEMU will know it by, and its role ('tap0', 'vhost1'). */
export interface NamedFd {
  fd: number;
  name: string;
  role: string;
}

/** One fd to put into an fdset (add-fd): where QEMU opens a path (/dev/fdset/N), e.g. images. */
export interface FdsetFd {
  fd: number;
  fdset: number;
  role: string;
}

/** The fds of one attach: getfd'd names, fdset members, or both. */
export type PassedFd = NamedFd | FdsetFd;

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
  /** device_add may have added the device although the attach failed: unplug before undo. */
  deviceMaybeAdded: boolean;
}

/** One command of the pipeline: its step name, its reply, and what its outcome tells undo. */
interface Sent {
  step: string;
  reply: Promise<unknown>;
  /** Told the outcome, and whether the attach as a whole failed. */
  settle?: (ok: boolean, error: unknown, attachFailed: boolean) => void;
}

// Sends the fds, then the objects' commands in one pipeline; on failure the caller unwinds
// `undo`. The commands go out without waiting for each other's replies (QEMU runs them in
// order), which saves a round trip per command; only the fds are awaited first (see below). Every inverse is
// registered before its command is sent, and every reply is awaited before deciding, so undo
// knows exactly what QEMU did even when a step in the middle failed. The caller's `signal`
// cuts the calls short (one not written yet is never sent; one written counts as maybe done,
// and its inverse runs), as a timeout does.
/** @throws the QMP error of the first failing step (progress.step names it). */
export async function plugOverQmp(
  ctx: HotplugContext,
  fds: readonly PassedFd[],
  devices: readonly QemuDevice[],
  undo: Pick<UndoStack, 'push'>,
  progress: PlugProgress,
  callTimeout: () => number,
  signal?: AbortSignal,
): Promise<void> {
  const cut = signal ? { signal } : {};
  let consumed = false;
  const sent: Sent[] = [];
  for (const passed of fds) {
    if ('fdset' in passed) {
      // The set goes with its last fd: QEMU frees a removed set once no open image uses it.
      const { fd, fdset, role } = passed;
      undo.push(`remove-fd ${fdset}`, () => removeQuietly(ctx, 'remove-fd', { 'fdset-id': fdset }));
      const reply = ctx.qmp.addFd(
        { fd, fdsetId: fdset, opaque: role },
        { timeout: callTimeout(), ...cut },
      );
      sent.push({ step: `add-fd ${role}`, reply });
      continue;
    }
    const { fd, name, role } = passed;
    // Registered first: a getfd that timed out may still have been stored by QEMU.
    undo.push(`closefd ${name}`, () =>
      consumed ? undefined : removeQuietly(ctx, 'closefd', { fdname: name }),
    );
    const reply = ctx.qmp.getfd({ fdname: name, fd }, { timeout: callTimeout(), ...cut });
    sent.push({ step: `getfd ${role}`, reply });
  }
  // With several fds the backend waits for every getfd: QEMU 7.2's netdev_add fds=a:b builds
  // queue a before it finds b missing and leaves that half-made netdev behind (netdev_del then
  // refuses it). A single missing fd makes netdev_add fail before it builds anything, so one
  // fd is pipelined with the rest.
  if (sent.length > 1) {
    const fdsPassed = await Promise.allSettled(sent.map((s) => s.reply));
    const missing = fdsPassed.findIndex((outcome) => outcome.status === 'rejected');
    if (missing >= 0) {
      progress.step = sent[missing]!.step;
      throw (fdsPassed[missing] as PromiseRejectedResult).reason;
    }
  }
  for (const device of devices) {
    for (const command of device.toQmp()) {
      if (command.execute === 'device_add') {
        // At least a second: a device_add given the last milliseconds of the deadline would
        // almost surely time out after QEMU acted on it.
        const timeout = Math.max(MIN_DEVICE_ADD_MS, callTimeout());
        const reply = ctx.qmp.execute('device_add', command.arguments, { timeout, ...cut });
        sent.push({
          step: 'device_add',
          reply,
          settle: (ok, error, attachFailed) => {
            progress.deviceAdded = ok;
            // Added though the attach failed, or cut short (timeout, abort, lost reply) after
            // QEMU may have acted: the caller must unplug it (device_del, DEVICE_DELETED) before
            // the backend and host side go. A refusal added nothing.
            progress.deviceMaybeAdded = ok ? attachFailed : !(error instanceof QmpCommandError);
          },
        });
        continue;
      }
      pushRemoval(ctx, undo, device);
      const reply = ctx.qmp.execute(command.execute, command.arguments, {
        timeout: callTimeout(),
        ...cut,
      });
      sent.push({
        step: command.execute,
        reply,
        settle: (ok) => {
          if (ok && command.execute === 'netdev_add') consumed = true;
        },
      });
    }
  }
  progress.step = sent[0]?.step ?? progress.step;
  const outcomes = await Promise.allSettled(sent.map((s) => s.reply));
  const at = outcomes.findIndex((outcome) => outcome.status === 'rejected');
  const failed =
    at < 0
      ? undefined
      : { step: sent[at]!.step, reason: (outcomes[at] as PromiseRejectedResult).reason as unknown };
  outcomes.forEach((outcome, i) => {
    const ok = outcome.status === 'fulfilled';
    const reason = outcome.status === 'rejected' ? (outcome.reason as unknown) : undefined;
    sent[i]!.settle?.(ok, reason, failed !== undefined);
  });
  if (failed !== undefined) {
    progress.step = failed.step;
    throw failed.reason;
  }
}

/** The least time a device_add gets, whatever is left of the attach deadline. */
export const MIN_DEVICE_ADD_MS = 1000;
// The inverse of a backend (netdev_del, chardev-remove), registered before it is created.
function pushRemoval(ctx: HotplugContext, undo: Pick<UndoStack, 'push'>, device: QemuDevice): void {
  const removals: QmpCommandSpec[] = device.toQmpRemove();
  for (const removal of removals.reverse()) {
    undo.push(`${removal.execute} ${device.id}`, () =>
      removeQuietly(ctx, removal.execute, removal.arguments),
    );
  }
}

/** What plugAndRegister needs: the device's objects, its fds and what it becomes once held. */
export interface PlugJob {
  item: Hotplugged;
  /** QEMU id of the guest-facing device (what device_del and DEVICE_DELETED name). */
  deviceId: string;
  fds: readonly PassedFd[];
  devices: readonly QemuDevice[];
  /** Where inverses go (an UndoStack or the attach's StepRunner); its stack becomes the record's cleanup. */
  undo: Pick<UndoStack, 'push' | 'transfer'>;
  progress: PlugProgress;
  callTimeout: () => number;
  signal?: AbortSignal | undefined;
  /** Closes our copies of the fds (QEMU holds its own once they are passed). */
  closeOurs: () => void;
  /** Told the record as soon as there is one (also when the plug then fails). */
  onRecord: (record: NicRecord) => void;
}

// Plugs over QMP (NICs and drives alike); once QEMU may hold the device it becomes a registry
// record whose cleanup is the undo stack so far: removing it is then detach's job.
/** @throws the QMP error of the first failing step (job.progress.step names it). */
export async function plugAndRegister(ctx: HotplugContext, job: PlugJob): Promise<NicRecord> {
  const register = (): NicRecord => {
    job.closeOurs();
    const added: NicRecord = {
      nic: job.item,
      deviceId: job.deviceId,
      state: 'attached',
      cleanup: job.undo.transfer(),
    };
    ctx.registry.add(added);
    job.onRecord(added);
    return added;
  };
  try {
    await plugOverQmp(
      ctx,
      job.fds,
      job.devices,
      job.undo,
      job.progress,
      job.callTimeout,
      job.signal,
    );
  } catch (error) {
    if (job.progress.deviceMaybeAdded) register();
    throw error;
  }
  return register();
}
