// Logging: pino, quiet by default, one child logger per VM and per operation.
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

// The root logger: silent unless VMLAUNCH_LOG names a level (e.g. debug) or a caller passes one.
export function createLogger(level = process.env.VMLAUNCH_LOG ?? 'silent'): Logger {
  return pino({ name: 'vmlaunch', level });
}

let root: Logger | undefined;

// The process-wide default logger (made once: a pino instance per launch costs time).
export function defaultLogger(): Logger {
  root ??= createLogger();
  return root;
}

/** A logger that drops everything: the default when the caller gives none. */
export const silentLogger: Logger = pino({ level: 'silent' });
