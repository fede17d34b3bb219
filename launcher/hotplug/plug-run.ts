// What every hot-plug attach (NIC or drive) shares: one run of named steps through core's
// StepRunner on a shared context, the caller's deadline and signal, the QMP plug pipeline as one
// step, and the failure as a HotplugError naming the step (the plug command that failed), with
// everything before it undone; a device QEMU may already hold goes through detach.
import {
  AbortError,
  StepRunner,
  TimeoutError,
  type Step,
  type StepFailure,
} from '../../core/index.js';
import type { QemuDevice } from '../devices/types.js';
import type { HotplugContext } from './context.js';
import { detachNic } from './detach.js';
import { HotplugError, HotplugStateError } from './errors.js';
import { plugAndRegister, type PassedFd, type PlugProgress } from './qmp-plug.js';
import type { NicRecord } from './registry.js';
import type { AttachOptions, AttachTimings, Hotplugged } from './types.js';

/** Default overall deadline of an attach. */
export const ATTACH_TIMEOUT = 30_000;
/** How long a rollback waits for the guest to release a device it already took. */
const ROLLBACK_UNPLUG_TIMEOUT = 10_000;

/** The caller's deadline and signal as one signal, and the time left. */
export interface Deadline {
  signal: AbortSignal;
  left(): number;
  /** The error of an attach that ran out of time at `step`. */
  timedOut(step: string): TimeoutError;
}

// The caller's deadline and signal as one signal, plus the time left (NICs and drives alike).
export function deadlineOf(options: AttachOptions): Deadline {
  const timeout = options.timeout ?? ATTACH_TIMEOUT;
  const endsAt = Date.now() + timeout;
  const timer = AbortSignal.timeout(timeout);
  const signal = options.signal ? AbortSignal.any([options.signal, timer]) : timer;
  return {
    signal,
    left: () => Math.max(1, endsAt - Date.now()),
    timedOut: (step) => new TimeoutError(`attach did not finish within ${timeout} ms (at ${step})`),
  };
}

/** What the plug step sends, and what the device becomes once QEMU holds it. */
export interface PlugTarget<T extends Hotplugged> {
  item: T;
  /** QEMU id of the guest-facing device (what device_del and DEVICE_DELETED name). */
  deviceId: string;
  fds: readonly PassedFd[];
  devices: readonly QemuDevice[];
}

/** One attach in progress: its inputs, and what each step has made so far. */
export interface PlugRun<T extends Hotplugged> {
  readonly hp: HotplugContext;
  readonly id: string;
  readonly options: AttachOptions;
  readonly deadline: Deadline;
  /** The runner: its push registers an inverse; its stack becomes the record's cleanup. */
  readonly steps: StepRunner;
  /** Our copies of the fds (given, made by the host side, opened images): closed once passed. */
  ours: number[];
  /** The root port reserved for the device. */
  bus: string;
  timings: AttachTimings;
  /** Set by the step that builds the devices. */
  job?: PlugTarget<T>;
  /** Set once QEMU may hold the device: rollback is then a detach. */
  record?: NicRecord;
}

// Closes our fds once (QEMU has its own copies once they are passed).
function closeOurs(run: PlugRun<Hotplugged>): void {
  const fds = run.ours;
  run.ours = [];
  if (fds.length > 0) run.hp.closeFds(fds);
}

// The context of an attach of `id` (already claimed), owning `ours` from here on.
export function newPlugRun<T extends Hotplugged>(
  hp: HotplugContext,
  id: string,
  options: AttachOptions,
  ours: number[],
): PlugRun<T> {
  const deadline = deadlineOf(options);
  const fail: StepFailure = (step, cause, rollbackErrors) =>
    attachFailure(run, step, cause, rollbackErrors);
  // The runner checks the signal before the first step and as each step but the last ends.
  const steps = new StepRunner({ signal: deadline.signal, checkAfterStep: true, fail });
  const run: PlugRun<T> = {
    hp,
    id,
    options,
    deadline,
    steps,
    ours,
    bus: '',
    timings: { host: 0, qmp: 0 },
  };
  steps.push(`release id ${id}`, () => hp.registry.releaseId(id));
  // From here on every failure closes a given NIC's fds, as documented (not only later steps).
  steps.push('close our fds', () => closeOurs(run));
  return run;
}

// Runs an attach: the slot, `steps`, the plug, then the steps `guestSteps` picks once the
// device is plugged (the guest seeing it, configuring it), if any.
/** @throws HotplugError naming the failed step, everything rolled back. */
export async function runAttach<T extends Hotplugged, R extends PlugRun<T>>(
  run: R,
  steps: readonly Step<R>[],
  guestSteps: (run: R) => Step<R>[],
): Promise<T> {
  const { hp, id } = run;
  // Bookkeeping only (nothing is asked of QEMU, the host or the guest), so an abort is first
  // noticed by the steps; every root port taken fails here, with NoFreeSlotError as the cause.
  try {
    const bus = hp.registry.reserveSlot(id, hp.machine);
    run.bus = bus;
    run.steps.push(`release ${bus}`, () => hp.registry.releaseSlot(bus));
  } catch (error) {
    throw await attachFailure(run, 'reserve-slot', error, await run.steps.unwind());
  }
  // The plug is the last step of the list: an abort after it is the guest step's, or nobody's.
  await run.steps.run([...steps, plugStep as Step<R>], run);
  for (const guest of guestSteps(run)) await run.steps.step(guest.name, () => guest.run(run));
  return run.job!.item;
}

// A device_add during boot can be lost or read as an unplug: wait for the guest first.
export const waitGuestReadyStep: Step<PlugRun<Hotplugged>> = {
  name: 'wait-guest-ready',
  async run({ hp, deadline }) {
    if (hp.guest) await hp.guest.waitReady({ timeout: deadline.left(), signal: deadline.signal });
  },
};

// The QMP half, one step so that its commands stay pipelined; a failure is named after the
// command that failed, which PlugFailure carries to attachFailure.
const plugStep: Step<PlugRun<Hotplugged>> = {
  name: 'plug',
  async run(run) {
    const job = run.job!;
    const progress: PlugProgress = { step: 'devices', deviceAdded: false, deviceMaybeAdded: false };
    const t = performance.now();
    try {
      await plugAndRegister(run.hp, {
        ...job,
        undo: run.steps,
        progress,
        callTimeout: () => run.deadline.left(),
        signal: run.options.signal,
        closeOurs: () => closeOurs(run),
        onRecord: (added) => (run.record = added),
      });
    } catch (error) {
      throw new PlugFailure(progress.step, error);
    }
    run.timings.qmp = Math.round(performance.now() - t);
  },
};

// A plug command's failure, with the name of the command ('getfd tap0', 'device_add'...).
class PlugFailure extends Error {
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    super(`${step} failed`, { cause });
  }
}

// The HotplugError of a failed attach: the step (the plug command that failed), a timeout of
// the deadline as a TimeoutError, and a device QEMU may hold unplugged through detach (if the
// guest does not release it in time it stays a pending unplug, its backend and host side intact
// until the late DEVICE_DELETED or VM exit: never pulled from under QEMU).
async function attachFailure(
  run: PlugRun<Hotplugged>,
  step: string,
  error: unknown,
  rollbackErrors: Error[],
): Promise<HotplugError> {
  const plug = error instanceof PlugFailure ? error : undefined;
  const at = plug?.step ?? step;
  const aborted = run.options.signal?.aborted === true;
  let cause = plug ? plug.cause : error;
  if (cause instanceof AbortError && !aborted && run.deadline.signal.aborted) {
    cause = run.deadline.timedOut(at);
  }
  const unplugged = run.record ? await unplugForRollback(run.hp, run.id) : [];
  return new HotplugError(run.id, at, cause, [...rollbackErrors, ...unplugged], undefined, aborted);
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
