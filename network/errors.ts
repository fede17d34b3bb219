// Typed errors of the network layer: bad input (before any syscall) and kernel refusals.
import { VmlaunchError } from '../native/index.js';

/** A value failed validation: `path` names the field ('endpoints[0].mac'), `value` what was given. */
export class ValidationError extends VmlaunchError {
  readonly path: string;
  readonly value: unknown;

  constructor(path: string, value: unknown, reason: string, code = 'VALIDATION') {
    super(`${path}: ${reason} (got ${describe(value)})`, code);
    this.path = path;
    this.value = value;
  }
}

/** The kernel refused a netlink request: `errnoName` ('EEXIST') and the operation that failed. */
export class NetlinkError extends VmlaunchError {
  /** Positive errno from the kernel's NLMSG_ERROR. */
  readonly errno: number;
  readonly errnoName: string;
  /** What we asked for, e.g. 'link add veth vml-a'. */
  readonly operation: string;
  /** The kernel's extended-ack message, when it sent one. */
  readonly kernelMessage: string | undefined;

  constructor(operation: string, errno: number, errnoName: string, kernelMessage?: string) {
    const detail = kernelMessage ? ` (${kernelMessage})` : '';
    super(`${operation}: ${errnoName}${detail}`, errnoName);
    this.errno = errno;
    this.errnoName = errnoName;
    this.operation = operation;
    this.kernelMessage = kernelMessage;
  }
}

/** Something vmlaunch cannot do on this host or with this input (no VFIO, no vhost-net...). */
export class UnsupportedError extends VmlaunchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'UNSUPPORTED', options);
  }
}

// Renders an offending value for a message without flooding it.
function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : safeString(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// String() of parsed JSON throws when an object's `toString` is not a function; fall back.
function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return JSON.stringify(value) ?? Object.prototype.toString.call(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
}
