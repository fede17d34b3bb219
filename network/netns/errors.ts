// The typed error of netns operations: which operation, which namespace, and the errno name as
// `code`, so callers can branch on EEXIST/ENOENT without parsing messages.
import { VmlaunchError } from '../../native/index.js';

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

// The errno name of whatever a syscall wrapper threw (NativeError or Node's fs errors).
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
