// The error of a netns argument that names nothing, and the test for it by code.
import { ValidationError } from '../../core/index.js';
import { errorCode } from './errors.js';

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
