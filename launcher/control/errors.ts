// Typed errors of the control channel: a VM that is not there, an unsafe runtime dir, a broken
// conversation, or an operation the run process refused (with its explanation).
import { VmlaunchError } from '../../core/index.js';

/** Codes a ControlError carries. */
export type ControlErrorCode =
  | 'NO_SUCH_VM'
  | 'NAME_IN_USE'
  | 'BAD_NAME'
  | 'UNSAFE_RUNTIME_DIR'
  | 'STALE_SOCKET'
  | 'PATH_TOO_LONG'
  | 'PROTOCOL'
  | 'TIMEOUT'
  | 'DISCONNECTED';

/** The control channel itself failed (not the operation it carried). */
export class ControlError extends VmlaunchError {
  /** The path involved (runtime dir or socket), when there is one. */
  readonly path: string | undefined;

  constructor(
    code: ControlErrorCode,
    message: string,
    options: { path?: string; cause?: unknown } = {},
  ) {
    super(message, code, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = options.path;
  }
}

/** The run process carried out the request and it failed; `explanation` is for a person. */
export class RemoteOperationError extends VmlaunchError {
  /** The operation that failed ('attach', 'detach', ...). */
  readonly op: string;
  /** The error class name on the serving side ('QmpCommandError', 'ValidationError'...). */
  readonly remoteName: string;
  /** Sentences that say what went wrong and what to do. */
  readonly explanation: string;

  constructor(
    op: string,
    error: { code: string; name: string; message: string; explanation: string },
  ) {
    super(error.message, error.code);
    this.op = op;
    this.remoteName = error.name;
    this.explanation = error.explanation;
  }
}
