// vm.detach(): device_del with the DEVICE_DELETED listener registered first, a bounded wait,
// then the backend (netdev_del / chardev-remove) and the host side. Unplug completion is a
// state machine (docs/design.md): pending -> DEVICE_DELETED | DEVICE_UNPLUG_GUEST_ERROR |
// reset | VM exit. Host teardown happens only after DEVICE_DELETED or VM exit; a timeout keeps
// the pending state (one record), and the late event finishes the job asynchronously.
//
// QEMU facts (qapi/qdev.json device_del; softmmu/qdev-monitor.c, hw/pci/pcie.c in 7.2):
// - DEVICE_DELETED is emitted when the guest has released the device; "Guest reset will
//   automatically complete removal" (docs/faults.md T13) - that also arrives as DEVICE_DELETED;
// - a second device_del while one is pending fails "Device X is already in the process of
//   unplug": for us that is the idempotent success of T10;
// - native PCIe refuses while the slot's power indicator blinks: "guest is busy" (T12): retried
//   with backoff.
import { setTimeout as sleep } from 'node:timers/promises';
import { QmpCommandError } from '../qmp/index.js';
import type { EventExpectation } from '../qmp/index.js';
import { CLEANUP_CALL_TIMEOUT, isNotFound, monitorAlive, type HotplugContext } from './context.js';
import { HotplugError, HotplugStateError, isInterruption, UnplugRejectedError } from './errors.js';
import { runGuestNet } from './guest-net.js';
import type { NicRecord } from './registry.js';
import type { DetachOptions, DetachResult } from './types.js';

/** Default wait for DEVICE_DELETED. */
export const DETACH_TIMEOUT = 10_000;
/** Retries of a device_del refused because the guest is busy, and the first backoff (doubles). */
export const BUSY_RETRIES = 3;
export const BUSY_BACKOFF_MS = 300;

const ALREADY_UNPLUGGING = /already in (the )?(process|progress) of unplug/i;
const BUSY = /busy|in progress/i;

/** The caller aborted before QEMU accepted device_del: nothing was asked of QEMU. */
class NotRequested extends Error {
  constructor(readonly reason: unknown) {
    super('aborted before device_del was accepted');
  }
}

// device_del, retried while the guest is busy; "already unplugging" counts as sent. The call
// itself is not cut short by `signal` (its answer says whether QEMU took the request; it is
// bounded); an abort before a call, or during a backoff, throws NotRequested.
async function requestUnplug(
  ctx: HotplugContext,
  record: NicRecord,
  endsAt: number,
  signal: AbortSignal | undefined,
) {
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw new NotRequested(signal.reason);
    try {
      await ctx.qmp.deviceDel({ id: record.deviceId }, { timeout: CLEANUP_CALL_TIMEOUT });
      return;
    } catch (error) {
      if (error instanceof QmpCommandError && ALREADY_UNPLUGGING.test(error.desc)) return;
      const wait = BUSY_BACKOFF_MS * 2 ** attempt;
      const busy = error instanceof QmpCommandError && BUSY.test(error.desc);
      if (!busy || attempt >= BUSY_RETRIES || Date.now() + wait >= endsAt) throw error;
      ctx.logger?.debug({ nic: record.nic.id, attempt, err: error }, 'device_del: busy, retrying');
      // An abort ends the backoff early; the check at the top of the loop then says so.
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  }
}

// A detach the caller aborted before QEMU took device_del: the NIC is as it was.
function abortedBeforeRequest(id: string, reason: unknown): HotplugError {
  return new HotplugError(id, 'device_del', reason, [], false, true);
}

// Runs the cleanup owed after removal; a failure is a HotplugError naming the leftovers.
async function finishRemoval(ctx: HotplugContext, record: NicRecord): Promise<void> {
  const errors = await ctx.registry.finish(record);
  if (errors.length > 0)
    throw new HotplugError(record.nic.id, 'cleanup', errors[0], errors.slice(1));
}

type Outcome = 'deleted' | 'gone' | 'refused' | 'timeout' | 'aborted';

// The first of: DEVICE_DELETED, QEMU gone, the guest's refusal, the deadline or the signal.
function firstOutcome(
  deleted: EventExpectation,
  refused: EventExpectation,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  return new Promise<Outcome>((resolve, reject) => {
    if (Number.isFinite(ms)) timer = setTimeout(() => resolve('timeout'), ms);
    onAbort = () => resolve('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    deleted.promise.then(
      () => resolve('deleted'),
      (error: unknown) =>
        isInterruption(error)
          ? resolve('gone')
          : reject(error instanceof Error ? error : new Error(String(error))),
    );
    refused.promise.then(
      () => resolve('refused'),
      () => undefined,
    );
  }).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  });
}

// The pending record's completion: the late DEVICE_DELETED (or VM exit) finishes the removal;
// a late DEVICE_UNPLUG_GUEST_ERROR puts the NIC back to attached and rejects.
function completeLater(
  ctx: HotplugContext,
  record: NicRecord,
  deleted: EventExpectation,
  refused: EventExpectation,
): Promise<void> {
  const completion = firstOutcome(deleted, refused, Number.POSITIVE_INFINITY, undefined).then(
    async (outcome) => {
      if (outcome === 'refused') {
        deleted.cancel();
        record.state = 'attached';
        record.completion = undefined;
        throw new UnplugRejectedError(record.nic.id, record.deviceId);
      }
      refused.cancel();
      const errors = await ctx.registry.finish(record);
      ctx.registry.leftovers.push(...errors);
      for (const err of errors)
        ctx.logger?.error({ err, nic: record.nic.id }, 'late cleanup failed');
    },
  );
  completion.catch(() => undefined); // a caller may ignore it; awaiting it still sees the error
  return completion;
}

// A pending NIC's completion, the deadline or the signal, whichever comes first.
function raceCompletion(
  completion: Promise<void>,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<'removed' | 'timeout' | 'aborted'> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  return new Promise<'removed' | 'timeout' | 'aborted'>((resolve, reject) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    onAbort = () => resolve('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    completion.then(
      () => resolve('removed'),
      (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
    );
  }).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  });
}

// Words for a pending result: where things stand and how it ends.
function pendingResult(
  record: NicRecord,
  ms: number,
  timeout: number,
  aborted: boolean,
): DetachResult {
  const waited = aborted
    ? `the caller aborted the wait after ${ms} ms; the guest has not released ${record.deviceId} yet`
    : `the guest has not released ${record.deviceId} within ${timeout} ms`;
  const explanation =
    `${waited}. QEMU still holds the ` +
    `device, its backend and the host side (${record.nic.bus} stays taken). Removal completes ` +
    'by itself on the late DEVICE_DELETED, a guest reset, or VM exit (await `completion`); ' +
    'calling detach again re-sends device_del and waits again.';
  return { status: 'pending', id: record.nic.id, ms, explanation, completion: record.completion! };
}

// Unplugs one hot-plugged NIC.
/**
 * Detaches NIC `id` from the VM behind `ctx`.
 * @throws HotplugStateError (HOTPLUG_UNKNOWN_NIC) for an id that is not hot-plugged.
 * @throws UnplugRejectedError when the guest refuses; the NIC stays attached.
 * @throws HotplugError at 'device_del' (QEMU refused; still attached) or 'cleanup' (removed,
 *   but something on the host or in QEMU could not be undone: see rollbackErrors).
 */
export function detachNic(
  ctx: HotplugContext,
  id: string,
  options: DetachOptions = {},
): Promise<DetachResult> {
  const record = ctx.registry.get(id);
  if (record === undefined) {
    return Promise.reject(
      new HotplugStateError(`no hot-plugged NIC or drive ${id} in this VM`, 'HOTPLUG_UNKNOWN_NIC'),
    );
  }
  record.detaching ??= detachRecord(ctx, record, options).finally(() => {
    record.detaching = undefined;
  });
  return record.detaching;
}

async function detachRecord(
  ctx: HotplugContext,
  record: NicRecord,
  options: DetachOptions,
): Promise<DetachResult> {
  const started = performance.now();
  const ms = (): number => Math.round(performance.now() - started);
  const timeout = options.timeout ?? DETACH_TIMEOUT;
  const endsAt = Date.now() + timeout;
  const id = record.nic.id;
  const signal = options.signal;
  // Nothing done yet: an aborted detach leaves the NIC as it is (attached, or pending).
  if (signal?.aborted) throw abortedBeforeRequest(id, signal.reason);
  if (!monitorAlive(ctx)) {
    // QEMU is gone and took the device with it: only the host side is left.
    await finishRemoval(ctx, record);
    return { status: 'removed', id, ms: ms() };
  }
  if (record.state === 'pending' && record.completion) {
    const completion = record.completion;
    await requestUnplug(ctx, record, endsAt, signal).catch((error: unknown) => {
      if (error instanceof NotRequested) throw abortedBeforeRequest(id, error.reason);
      if (!isNotFound(error)) throw new HotplugError(id, 'device_del', error);
    });
    const done = await raceCompletion(completion, Math.max(0, endsAt - Date.now()), signal);
    return done === 'removed'
      ? { status: 'removed', id, ms: ms() }
      : pendingResult(record, ms(), timeout, done === 'aborted');
  }

  // The guest network attach applied goes first, while the NIC is still there to name; a
  // guest that cannot undo it keeps the NIC attached (the failure names the step).
  const guestNetwork = 'guestNetwork' in record.nic ? record.nic.guestNetwork : undefined;
  if (guestNetwork?.applied && ctx.guest?.exec !== undefined) {
    try {
      await runGuestNet(ctx.guest.exec.bind(ctx.guest), 'remove', guestNetwork.config, {
        timeout: Math.max(1000, endsAt - Date.now()),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      throw new HotplugError(id, 'guest-unconfigure', error);
    }
    guestNetwork.applied = false;
  }

  // Listeners first: the event can arrive before device_del's reply.
  const byDevice = (e: { data?: Record<string, unknown> }) => e.data?.device === record.deviceId;
  const forever = { timeout: Number.POSITIVE_INFINITY };
  const deleted = ctx.qmp.expectEvent('DEVICE_DELETED', byDevice, forever);
  const refused = ctx.qmp.expectEvent('DEVICE_UNPLUG_GUEST_ERROR', byDevice, forever);
  record.state = 'detaching';
  try {
    await requestUnplug(ctx, record, endsAt, signal);
  } catch (error) {
    deleted.cancel();
    refused.cancel();
    record.state = 'attached';
    if (error instanceof NotRequested) throw abortedBeforeRequest(id, error.reason);
    if (isNotFound(error) || !monitorAlive(ctx)) {
      await finishRemoval(ctx, record); // already gone from QEMU
      return { status: 'removed', id, ms: ms() };
    }
    throw new HotplugError(id, 'device_del', error);
  }

  // From here QEMU has the request: an abort stops the wait and leaves a pending unplug (the
  // host side is never pulled from under QEMU), as a timeout does.
  const outcome = await firstOutcome(deleted, refused, Math.max(0, endsAt - Date.now()), signal);
  if (outcome === 'refused') {
    deleted.cancel();
    record.state = 'attached';
    throw new UnplugRejectedError(id, record.deviceId);
  }
  if (outcome === 'timeout' || outcome === 'aborted') {
    record.state = 'pending';
    record.completion = completeLater(ctx, record, deleted, refused);
    ctx.logger?.warn({ nic: id, timeout, outcome }, 'unplug pending: no DEVICE_DELETED yet');
    return pendingResult(record, ms(), timeout, outcome === 'aborted');
  }
  refused.cancel();
  await finishRemoval(ctx, record);
  return { status: 'removed', id, ms: ms() };
}
