// The launcher's own error, LaunchError (QMP's live in qmp/errors.ts; timeouts and aborts are
// core's TimeoutError and AbortError).
import { RolledBackError } from '../core/index.js';

/** How a QEMU process ended: an exit code, or the signal that killed it. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * QEMU could not be started or died before it was ready: everything needed to see why. `step`
 * is the launch step that failed ('spawn', 'qmp-connect'...); what launch had made before it
 * was undone, and `rollbackErrors` name whatever could not be.
 */
export class LaunchError extends RolledBackError {
  readonly argv: string[];
  readonly exit: ExitInfo | undefined;
  /** The last lines QEMU wrote to stderr. */
  readonly stderrTail: string;

  constructor(
    message: string,
    fields: { argv: string[]; step: string; exit?: ExitInfo; stderrTail?: string; code?: string },
    options?: { cause?: unknown },
  ) {
    const tail = fields.stderrTail?.trim();
    const how = fields.exit ? ` (${describeExit(fields.exit)})` : '';
    super(
      `${message}${how}${tail ? `\nQEMU said:\n${tail}` : ''}`,
      fields.code ?? 'LAUNCH',
      fields.step,
      options,
    );
    this.argv = fields.argv;
    this.exit = fields.exit;
    this.stderrTail = fields.stderrTail ?? '';
  }
}

// Words for how a process ended, for messages and logs.
export function describeExit(exit: ExitInfo): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code ?? 'unknown'}`;
}
