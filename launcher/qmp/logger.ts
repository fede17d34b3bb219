// The logging seam: any pino logger fits; the default says nothing (quiet by default).

/** The part of a pino logger the QMP client uses. */
export interface QmpLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

const silent: QmpLogger = {
  debug: () => undefined,
  warn: () => undefined,
};

// Gives every module a logger to call without checking whether the caller passed one.
export function orSilent(logger: QmpLogger | undefined): QmpLogger {
  return logger ?? silent;
}
