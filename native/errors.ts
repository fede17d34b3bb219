// The error the native primitives throw: a failed syscall, with its errno, name and path.
import { VmlaunchError } from '../core/index.js';

/** Shape of the Node-style system error the addon throws. */
interface SystemErrorLike {
  message: string;
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

// Tells a system error thrown by the addon apart from anything else.
function isSystemErrorLike(value: unknown): value is SystemErrorLike {
  if (!(value instanceof Error)) return false;
  const candidate = value as Error & Partial<SystemErrorLike>;
  return typeof candidate.code === 'string' && typeof candidate.syscall === 'string';
}

/** A syscall made by the native addon failed: code ('EPERM'), errno, syscall and path/name. */
export class NativeError extends VmlaunchError {
  /** Negative errno, as in Node's own system errors. */
  readonly errno: number;
  readonly syscall: string;
  /** The path or interface name involved, when there is one. */
  readonly path: string | undefined;
  /** The primitive that failed, e.g. 'tapOpen'. */
  readonly operation: string;

  constructor(
    operation: string,
    fields: { code: string; errno: number; syscall: string; path?: string },
    options?: { cause?: unknown },
  ) {
    const where = fields.path ? ` '${fields.path}'` : '';
    super(`${operation}: ${fields.syscall}${where} failed: ${fields.code}`, fields.code, options);
    this.errno = fields.errno;
    this.syscall = fields.syscall;
    this.path = fields.path;
    this.operation = operation;
  }

  // Wraps what the addon threw; TypeErrors (wrong usage) and unknown values pass through.
  static wrap(operation: string, error: unknown): unknown {
    if (!isSystemErrorLike(error)) return error;
    return new NativeError(operation, error, { cause: error });
  }
}
