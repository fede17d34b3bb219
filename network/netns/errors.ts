// The typed error of netns operations: which operation, which namespace, and the errno name as
// `code`, so callers can branch on EEXIST/ENOENT without parsing messages.
import { VmlaunchError } from '../../native/index.js';
import { ValidationError } from '../errors.js';

/** What a netns operation was doing when it failed. */
export type NetnsOperation = 'create' | 'open' | 'delete';

/** A netns operation failed: `code` is the errno name ('EEXIST', 'ENOENT', 'EINVAL', ...). */
export class NetnsError extends VmlaunchError {
  readonly operation: NetnsOperation;
  /** The netns name, or the path when the caller gave a path. */
  readonly netns: string;
  /** The file under /run/netns (or the given path) involved. */
  readonly path: string;
  /** An error met while undoing partial work; the original failure stays the `cause`. */
  readonly rollbackError: unknown;

  constructor(
    operation: NetnsOperation,
    netns: string,
    path: string,
    code: string,
    reason: string,
    options: { cause?: unknown; rollbackError?: unknown } = {},
  ) {
    const rollback =
      options.rollbackError === undefined ? '' : ' (and undoing the partial work failed too)';
    super(`${operation} netns ${netns}: ${reason}${rollback}`, code, { cause: options.cause });
    this.operation = operation;
    this.netns = netns;
    this.path = path;
    this.rollbackError = options.rollbackError;
  }
}

// A netns argument that names nothing is bad input with its own code: callers (a detach after
// the netns went away) tell it from a malformed name without reading messages.
/**
 * There is no network namespace at the name or path given: code 'NETNS_NOT_FOUND'. A
 * ValidationError whose `path` is the argument ('netns', 'peer.netns') and `value` what was given.
 */
export class NetnsNotFoundError extends ValidationError {
  /** The file looked for (/run/netns/NAME, or the path given). */
  readonly file: string;

  constructor(field: string, netns: string, file: string, options: { cause?: unknown } = {}) {
    super(field, netns, `no network namespace at ${file}`, 'NETNS_NOT_FOUND');
    this.file = file;
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

// Callers branch on the code, which survives a second copy of the package and test fakes.
/** True when `error` says a netns does not exist (code 'NETNS_NOT_FOUND'). */
export function isNetnsNotFound(error: unknown): boolean {
  return errorCode(error) === 'NETNS_NOT_FOUND';
}

// The errno name of whatever a syscall wrapper threw (NativeError or Node's fs errors).
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
