// Typed errors of the QMP client. Every one is a VmlaunchError with a stable `code`, so callers
// can tell "QEMU said no" (QmpCommandError) from "the monitor went away" (QmpDisconnectedError).
import { AbortError, TimeoutError, VmlaunchError } from '../../core/index.js';

/** QEMU answered a command with `{"error": {"class", "desc"}}`; both are kept verbatim. */
export class QmpCommandError extends VmlaunchError {
  /** QEMU's error class, e.g. 'GenericError', 'CommandNotFound', 'DeviceNotFound'. */
  readonly errorClass: string;
  /** QEMU's human-readable description. */
  readonly desc: string;
  /** The command that failed, e.g. 'netdev_add'. */
  readonly command: string;

  constructor(command: string, errorClass: string, desc: string) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`, 'QMP_COMMAND');
    this.errorClass = errorClass;
    this.desc = desc;
    this.command = command;
  }
}

/** The peer broke the protocol: no greeting, a line too long, a reply we cannot read. */
export class QmpProtocolError extends VmlaunchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'QMP_PROTOCOL', options);
  }
}

/** The connection could not be established: socket connect, greeting or negotiation failed. */
export class QmpConnectError extends VmlaunchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'QMP_CONNECT', options);
  }
}

/** The client was used in a state that does not allow it (e.g. a command before connect()). */
export class QmpStateError extends VmlaunchError {
  /** The connection state at the time, e.g. 'greeting'. */
  readonly state: string;

  constructor(message: string, state: string) {
    super(message, 'QMP_STATE');
    this.state = state;
  }
}

/**
 * The connection is gone: QEMU closed the socket, died, or we closed it. `interrupted` is true
 * for a call that was pending when it happened, false for a call made afterwards.
 */
export class QmpDisconnectedError extends VmlaunchError {
  readonly command: string | undefined;
  readonly interrupted: boolean;

  constructor(command: string | undefined, interrupted: boolean, options?: { cause?: unknown }) {
    const what = command === undefined ? 'QMP connection' : `QMP ${command}`;
    const how = interrupted
      ? 'interrupted: the connection closed while it was pending'
      : 'not sent: the connection is closed';
    super(`${what} ${how}`, 'QMP_DISCONNECTED', options);
    this.command = command;
    this.interrupted = interrupted;
  }
}

/** A call (or the greeting, or an event wait) did not complete within its timeout. */
export class QmpTimeoutError extends TimeoutError {
  readonly operation: string;
  readonly timeoutMs: number;

  constructor(operation: string, timeoutMs: number) {
    super(`${operation} timed out after ${timeoutMs} ms`, undefined, 'QMP_TIMEOUT');
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}

/** The caller's AbortSignal fired (code ABORTED, as every abort); `cause` is the signal's reason. */
export class QmpAbortedError extends AbortError {
  readonly operation: string;

  constructor(operation: string, reason: unknown) {
    super(`${operation} aborted`, { cause: reason });
    this.operation = operation;
  }
}
