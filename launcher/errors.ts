// Typed errors of the launcher that are not QMP errors (those live in qmp/errors.ts).
import { VmlaunchError } from '../native/index.js';

/** How a QEMU process ended: an exit code, or the signal that killed it. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** QEMU could not be started or died before it was ready: everything needed to see why. */
export class LaunchError extends VmlaunchError {
  readonly argv: string[];
  readonly exit: ExitInfo | undefined;
  /** The last lines QEMU wrote to stderr. */
  readonly stderrTail: string;
  /** The launch step that failed, e.g. 'spawn' or 'qmp-connect'. */
  readonly step: string;
  /** Undo actions that failed while rolling back (each names what may be left behind). */
  readonly rollbackErrors: Error[] = [];

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
      options,
    );
    this.argv = fields.argv;
    this.exit = fields.exit;
    this.stderrTail = fields.stderrTail ?? '';
    this.step = fields.step;
  }
}

/** A wait on the guest or the process ran past its deadline. */
export class TimeoutError extends VmlaunchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'TIMEOUT', options);
  }
}

/** An operation was cancelled through its AbortSignal. */
export class AbortError extends VmlaunchError {
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super(message, 'ABORTED', options);
  }
}

// Words for how a process ended, for messages and logs.
export function describeExit(exit: ExitInfo): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code ?? 'unknown'}`;
}
