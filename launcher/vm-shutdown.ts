// The shutdown ladder of a Vm: system_powerdown -> quit -> SIGTERM -> SIGKILL, each rung with
// its deadline, and the types that name how a VM ended.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExitInfo } from './errors.js';
import type { Logger } from './log.js';
import type { QemuProcess } from './process.js';
import { QmpDisconnectedError, type QmpClient } from './qmp/index.js';

/** Which rung of the shutdown ladder ended QEMU. */
export type ShutdownRung = 'already-exited' | 'powerdown' | 'quit' | 'sigterm' | 'sigkill';

/** How the VM ended. */
export interface VmExit extends ExitInfo {
  /** Set when vmlaunch stopped it; absent when QEMU ended on its own. */
  rung?: ShutdownRung;
  /** True when QEMU ended without a shutdown request (crash, kill from outside, guest poweroff). */
  unexpected: boolean;
}

/** Deadlines of the shutdown ladder, in ms. */
export interface ShutdownOptions {
  /** How long the guest gets to power off after system_powerdown (default 10 s; 0 skips it). */
  timeout?: number;
  /** After `quit` (default 3 s). */
  quitTimeout?: number;
  /** After SIGTERM (default 3 s). */
  termTimeout?: number;
}

// Resolves true if `promise` settles within `ms`.
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = new AbortController();
  try {
    const timeout = sleep(ms, false, { signal: settled.signal });
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    settled.abort(); // clears the timer; its rejection went to the race, which is over
  }
}

/** What the ladder acts on; setRung records each rung as it is tried. */
export interface ShutdownTarget {
  process: QemuProcess;
  qmp: QmpClient;
  logger: Logger;
  setRung(rung: ShutdownRung): void;
}

// Climbs the ladder on a running QEMU until it has ended (or SIGKILL was sent).
export async function climbShutdownLadder(
  target: ShutdownTarget,
  options: ShutdownOptions,
): Promise<void> {
  const { process, qmp, logger } = target;
  const exited = process.exited;
  // Stopped CPUs cannot act on the power button: go straight to quit.
  const running = await qmp
    .queryStatus({ timeout: 1000 })
    .then((s) => s.running)
    .catch(() => false);
  const rungs: Array<[ShutdownRung, () => Promise<unknown> | void, number]> = [
    [
      'powerdown',
      () => qmp.systemPowerdown({ timeout: 2000 }),
      running ? (options.timeout ?? 10_000) : 0,
    ],
    ['quit', () => qmp.quit({ timeout: 2000 }), options.quitTimeout ?? 3000],
    ['sigterm', () => void process.kill('SIGTERM'), options.termTimeout ?? 3000],
  ];
  for (const [rung, act, deadline] of rungs) {
    if (deadline <= 0) continue;
    target.setRung(rung);
    logger.debug({ rung }, 'shutdown rung');
    try {
      await act();
    } catch (error) {
      logger.debug({ rung, err: error }, 'shutdown rung failed');
      // A dead monitor just sends us down the ladder faster: a request never sent asks
      // nothing of QEMU, so its deadline is not waited out (docs/faults.md T5).
      if (error instanceof QmpDisconnectedError && !error.interrupted) continue;
    }
    if (await within(exited, deadline)) return;
  }
  target.setRung('sigkill');
  process.kill('SIGKILL');
}
