// vm.attach(): host side (network layer or a ready HostNic), a free root port, the fds passed
// with getfd, netdev_add / chardev-add, device_add, then (optionally) the guest confirming the
// NIC. Every step registers its inverse; a failure unwinds them in reverse and surfaces the
// first error with the rollback errors attached. Once device_add succeeded, removing the NIC
// is detach's job (device_del must be confirmed by DEVICE_DELETED before the backend goes).
import type { HostNic } from '../../network/host-nic.js';
import { UndoStack } from '../../network/undo.js';
import { nicDevices, nicQemuIds } from '../devices/nic-devices.js';
import { TimeoutError } from '../errors.js';
import type { GuestExecOptions } from '../guest-shell.js';
import { type HotplugContext } from './context.js';
import { detachNic } from './detach.js';
import { HotplugError, HotplugStateError } from './errors.js';
import { waitForGuestNic } from './guest.js';
import { fdNamer, plugAndRegister, type PlugProgress } from './qmp-plug.js';
import type { NicRecord } from './registry.js';
import type { AttachOptions, HotplugSource, HotpluggedNic } from './types.js';

/** Default overall deadline of an attach. */
export const ATTACH_TIMEOUT = 30_000;
/** How long a rollback waits for the guest to release a device it already took. */
const ROLLBACK_UNPLUG_TIMEOUT = 10_000;

// Our fds of a HostNic (QEMU gets its own copies with getfd).
function fdsOf(nic: HostNic): number[] {
  return nic.kind === 'tap' ? [...nic.tapFds, ...nic.vhostFds] : [];
}

// The caller's deadline and signal as one signal, plus the time left (NICs and drives alike).
export function deadlineOf(options: AttachOptions) {
  const timeout = options.timeout ?? ATTACH_TIMEOUT;
  const endsAt = Date.now() + timeout;
  const timer = AbortSignal.timeout(timeout);
  const signal = options.signal ? AbortSignal.any([options.signal, timer]) : timer;
  const left = (): number => Math.max(1, endsAt - Date.now());
  const check = (what: string): void => {
    if (!signal.aborted) return;
    if (options.signal?.aborted) throw options.signal.reason;
    throw new TimeoutError(`attach did not finish within ${timeout} ms (at ${what})`);
  };
  return { signal, left, check };
}

// Hot-plugs one NIC into a running VM.
/**
 * Attaches `source` to the VM behind `ctx`.
 * The fds of a given `{ nic }` are taken over: closed here whether attach succeeds or fails.
 * @throws HotplugStateError when the VM is not running, the id is taken, or waitForGuest is
 *   asked for a VM without a guest shell.
 * @throws HotplugError naming the failed step (`interrupted` when QEMU died meanwhile), with
 *   rollback errors attached; NoFreeSlotError (as its cause) when every root port is taken.
 */
export async function attachNic(
  ctx: HotplugContext,
  source: HotplugSource,
  options: AttachOptions = {},
): Promise<HotpluggedNic> {
  const given = 'nic' in source ? source.nic : undefined;
  let ours: number[] = given ? fdsOf(given) : [];
  const closeOurs = (): void => {
    const fds = ours;
    ours = [];
    if (fds.length > 0) ctx.closeFds(fds);
  };
  let id: string;
  try {
    if (ctx.registry.vmEnded || !ctx.running() || ctx.qmp.state !== 'ready') {
      throw new HotplugStateError('cannot attach: the VM is not running', 'HOTPLUG_VM_STOPPED');
    }
    if (options.waitForGuest === true && ctx.guest?.exec === undefined) {
      throw new HotplugStateError(
        'waitForGuest needs a guest shell (the default guest booted with vmlaunch.console=harness)',
      );
    }
    id = ctx.registry.claimId(options.id ?? given?.id);
  } catch (error) {
    closeOurs();
    throw error;
  }

  const deadline = deadlineOf(options);
  const undo = new UndoStack();
  const progress: PlugProgress = {
    step: 'reserve-slot',
    deviceAdded: false,
    deviceMaybeAdded: false,
  };
  const timings = { host: 0, qmp: 0 } as HotpluggedNic['timings'];
  let record: NicRecord | undefined;
  undo.push(`release id ${id}`, () => ctx.registry.releaseId(id));
  // From here on every failure closes a given NIC's fds, as documented (not only later steps).
  undo.push('close our fds', closeOurs);
  try {
    const bus = ctx.registry.reserveSlot(id, ctx.machine);
    undo.push(`release ${bus}`, () => ctx.registry.releaseSlot(bus));

    // A device_add during boot can be lost or read as an unplug: wait for the guest first.
    progress.step = 'wait-guest-ready';
    deadline.check(progress.step); // an already aborted signal: nothing is asked of anyone
    if (ctx.guest) await ctx.guest.waitReady({ timeout: deadline.left(), signal: deadline.signal });
    deadline.check(progress.step);

    progress.step = 'host-attach';
    let t = performance.now();
    let nic: HostNic;
    let attached: HotpluggedNic['attached'];
    if ('endpoint' in source) {
      attached = await ctx.attachEndpoint(source.endpoint, {
        nicId: id,
        ...(ctx.owner !== undefined ? { owner: ctx.owner } : {}),
        ...(ctx.qemuUid !== undefined ? { qemuUid: ctx.qemuUid } : {}),
        ...(source.netns !== undefined ? { netns: source.netns } : {}),
        signal: deadline.signal,
      });
      const host = attached;
      undo.push('detach host side', () => host.detach());
      nic = { ...attached.hostNic, id };
      ours = fdsOf(nic);
    } else {
      nic = { ...source.nic, id };
    }
    timings.host = Math.round(performance.now() - t);
    deadline.check(progress.step);

    progress.step = 'devices';
    const named = fdNamer(id);
    const devices = nicDevices(nic, {
      transport: ctx.transport,
      sharedMemory: ctx.sharedMemory,
      accel: ctx.accel,
      fdRef: named.fdRef,
      bus,
      path: `attach(${id})`,
      ...(ctx.romfile !== undefined ? { romfile: ctx.romfile } : {}),
    });
    for (const device of devices) device.validate();
    const hotplugged: HotpluggedNic = {
      id,
      mac: nic.kind === 'vfio' ? '' : nic.mac.toLowerCase(),
      bus,
      ...(attached ? { attached } : {}),
      timings,
    };
    t = performance.now();
    await plugAndRegister(ctx, {
      item: hotplugged,
      deviceId: nicQemuIds(id).device,
      fds: named.fds,
      devices,
      undo,
      progress,
      callTimeout: deadline.left,
      signal: options.signal,
      closeOurs,
      onRecord: (added) => (record = added),
    });
    timings.qmp = Math.round(performance.now() - t);

    const guest = ctx.guest;
    const exec = guest?.exec
      ? (cmd: string, o?: GuestExecOptions) => guest.exec!(cmd, o)
      : undefined;
    if (exec && nic.kind !== 'vfio' && (options.waitForGuest ?? true)) {
      progress.step = 'guest-sees-nic';
      t = performance.now();
      const view = await waitForGuestNic(exec, hotplugged.mac, true, {
        timeout: deadline.left(),
        signal: deadline.signal,
      });
      timings.guest = Math.round(performance.now() - t);
      if (view) hotplugged.guestIfname = view.ifname;
    }
    ctx.logger?.debug({ nic: id, bus, timings }, 'NIC hot-plugged');
    return hotplugged;
  } catch (error) {
    // A device QEMU may hold goes through detach (device_del, DEVICE_DELETED, then the rest);
    // if the guest does not release it in time the NIC stays a pending unplug, its backend and
    // host side intact until the late DEVICE_DELETED or VM exit (never pulled from under QEMU).
    const aborted = options.signal?.aborted === true;
    const rollbackErrors = record ? await unplugForRollback(ctx, id) : await undo.unwind();
    throw new HotplugError(id, progress.step, error, rollbackErrors, undefined, aborted);
  }
}

// Rolls back a device the VM already holds: a full detach, bounded; a pending one is reported.
export async function unplugForRollback(ctx: HotplugContext, id: string): Promise<Error[]> {
  try {
    const result = await detachNic(ctx, id, { timeout: ROLLBACK_UNPLUG_TIMEOUT });
    if (result.status === 'removed') return [];
    return [new HotplugStateError(`rollback: ${result.explanation}`, 'HOTPLUG_UNPLUG_PENDING')];
  } catch (error) {
    return [error instanceof Error ? error : new Error(String(error))];
  }
}
