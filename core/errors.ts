// The error classes every layer shares: one root, the kinds of failure any layer can meet (bad
// input, unsupported, timeout, abort), and the base of every "a step failed, and what was done
// before it was rolled back" error. This module imports nothing, so every layer may extend it.

/** Root of every error vmlaunch throws on purpose: catch this to catch them all. */
export class VmlaunchError extends Error {
  /** A stable machine-readable code, e.g. 'EEXIST', 'VALIDATION', 'QMP_COMMAND'. */
  readonly code: string;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A value failed validation: `path` names the field ('endpoints[0].mac'), `value` what was given. */
export class ValidationError extends VmlaunchError {
  readonly path: string;
  readonly value: unknown;

  constructor(path: string, value: unknown, reason: string, code = 'VALIDATION') {
    super(`${path}: ${reason} (got ${describeValue(value)})`, code);
    this.path = path;
    this.value = value;
  }
}

/** Something vmlaunch cannot do on this host or with this input (no VFIO, no vhost-net...). */
export class UnsupportedError extends VmlaunchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'UNSUPPORTED', options);
  }
}

/** A wait ran past its deadline (code TIMEOUT; a subclass may name its own, e.g. QMP_TIMEOUT). */
export class TimeoutError extends VmlaunchError {
  constructor(message: string, options?: { cause?: unknown }, code = 'TIMEOUT') {
    super(message, code, options);
  }
}

/** An operation was cancelled through its AbortSignal; `cause` is the signal's reason. */
export class AbortError extends VmlaunchError {
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super(message, 'ABORTED', options);
  }
}

// Launch, hot-plug and endpoint attach all fail the same way: at a named step, after undoing
// what the steps before it made; this is what they share, so callers can handle all three.
/**
 * A step of a multi-step operation failed (or was aborted) and everything done before it was
 * undone. `step` names it, `cause` is what went wrong, `rollbackErrors` are the undo actions
 * that failed (each names what may be left behind); they are listed in the message too.
 */
export class RolledBackError extends VmlaunchError {
  /** The step that failed, e.g. 'open tap', 'spawn', 'device_add'. */
  readonly step: string;
  /** Undo actions that failed while rolling back (each names what may be left behind). */
  readonly rollbackErrors: Error[];

  constructor(
    message: string,
    code: string,
    step: string,
    options: { cause?: unknown; rollbackErrors?: Error[] } = {},
  ) {
    const rollbackErrors = options.rollbackErrors ?? [];
    const leftovers = rollbackErrors.length
      ? `; rollback also failed: ${rollbackErrors.map((e) => e.message).join('; ')}`
      : '';
    super(`${message}${leftovers}`, code, 'cause' in options ? { cause: options.cause } : {});
    this.step = step;
    this.rollbackErrors = rollbackErrors;
  }
}

/**
 * The error a named-step run throws by default: "`step`: reason". Its code is the cause's when
 * the cause is a VmlaunchError (EEXIST, ABORTED...), else STEP_FAILED.
 */
export class StepError extends RolledBackError {
  constructor(step: string, cause: unknown, rollbackErrors: Error[] = []) {
    const code = cause instanceof VmlaunchError ? cause.code : 'STEP_FAILED';
    super(`${step}: ${reasonOf(cause)}`, code, step, { cause, rollbackErrors });
  }
}

// The message of anything thrown, for the message of an error that wraps it.
export function reasonOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

// Anything thrown, as an Error (a rollback failure list holds Errors only).
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

// Renders an offending value for a message without flooding it.
function describeValue(value: unknown): string {
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
