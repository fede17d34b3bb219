// Waiting for a migration (outgoing to the state file, or incoming from it) to finish: poll
// query-migrate until 'completed', report progress, and fail on 'failed'/'cancelled', on the
// deadline or on the caller's signal. Polling rather than MIGRATION events: QEMU sends those
// only with the `events` capability set, and a poll every few ms costs nothing here.
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortError, TimeoutError, VmlaunchError } from '../../core/index.js';
import type { QmpClient } from '../qmp/index.js';

/** Progress of a snapshot's save (or a restore's load), from query-migrate. */
export interface SnapshotProgress {
  /** QEMU's migration status ('setup', 'active', 'device', 'completed'...). */
  status: string;
  /** RAM bytes written (save) so far; 0 when QEMU does not say (loads). */
  transferredBytes: number;
  /** Guest RAM bytes in all; 0 when QEMU does not say. */
  totalBytes: number;
}

interface MigrateInfo {
  status?: string;
  'error-desc'?: string;
  ram?: { transferred?: number; total?: number };
}

/** query-migrate said the migration failed (QEMU's error-desc is the message). */
export class MigrationFailedError extends VmlaunchError {
  constructor(message: string) {
    super(message, 'MIGRATION_FAILED');
  }
}

/** How to wait. */
export interface MigrateWaitOptions {
  /** Deadline in ms from the call. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: SnapshotProgress) => void) | undefined;
  /** What is waited for, in messages ('the save', 'the load'). */
  what: string;
}

/**
 * Resolves once query-migrate reports 'completed'.
 * @throws MigrationFailedError, TimeoutError, AbortError; QMP errors as they come.
 */
export async function waitForMigration(qmp: QmpClient, options: MigrateWaitOptions): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  let delay = 2;
  for (;;) {
    if (options.signal?.aborted) {
      throw new AbortError(`${options.what} was aborted`, { cause: options.signal.reason });
    }
    const info = await qmp.execute<MigrateInfo>('query-migrate', undefined, { timeout: 5000 });
    const status = info.status ?? 'none';
    options.onProgress?.({
      status,
      transferredBytes: info.ram?.transferred ?? 0,
      totalBytes: info.ram?.total ?? 0,
    });
    if (status === 'completed') return;
    if (status === 'failed' || status === 'cancelled') {
      throw new MigrationFailedError(
        `${options.what} ${status}: ${info['error-desc'] ?? 'QEMU gave no reason'}`,
      );
    }
    if (performance.now() > deadline) {
      throw new TimeoutError(
        `${options.what} did not complete within ${options.timeoutMs} ms (last status ${status})`,
      );
    }
    await sleep(delay);
    // A short cap: a restore's load ends within ~100 ms and every ms waited past it is the caller's.
    delay = Math.min(delay * 2, 10);
  }
}
