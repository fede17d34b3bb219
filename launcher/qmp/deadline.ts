// One timeout plus one AbortSignal, as a promise that rejects when either fires. Every wait in
// the client (greeting, a call, an event) goes through it, so none of them can hang.
import { QmpAbortedError, QmpTimeoutError } from './errors.js';

/** Per-call options accepted by every QMP call and wait. */
export interface CallOptions {
  /** Milliseconds before the call rejects with QmpTimeoutError; defaults to the client's. */
  timeout?: number;
  /** Aborting rejects the call with QmpAbortedError; a late reply is then dropped. */
  signal?: AbortSignal;
}

/** A running deadline: `expired` rejects on timeout or abort; dispose() stops both. */
export class Deadline {
  readonly expired: Promise<never>;
  private timer: NodeJS.Timeout | undefined;
  private signal: AbortSignal | undefined;
  private onAbort: (() => void) | undefined;
  private failure: Error | undefined;

  constructor(operation: string, timeoutMs: number, signal?: AbortSignal) {
    let reject!: (error: Error) => void;
    this.expired = new Promise<never>((_resolve, rejectNow) => {
      reject = rejectNow;
    });
    const fail = (error: Error): void => {
      this.failure ??= error;
      reject(error);
    };
    // Nobody may be racing the deadline when it fires; that must not be an unhandled rejection.
    this.expired.catch(() => undefined);
    if (signal?.aborted) {
      fail(new QmpAbortedError(operation, signal.reason));
      return;
    }
    if (Number.isFinite(timeoutMs)) {
      this.timer = setTimeout(() => {
        this.dispose();
        fail(new QmpTimeoutError(operation, timeoutMs));
      }, timeoutMs);
    }
    if (signal !== undefined) {
      this.signal = signal;
      this.onAbort = () => {
        this.dispose();
        fail(new QmpAbortedError(operation, signal.reason));
      };
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  // Settles `work` or the deadline, whichever comes first; the owner calls dispose() at the end.
  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.expired]);
  }

  /**
   * Throws at once if the deadline already passed (e.g. an already-aborted signal), so a call
   * that is already cancelled is never sent.
   * @throws QmpTimeoutError or QmpAbortedError.
   */
  throwIfExpired(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  // Stops the timer and the abort listener; safe to call more than once.
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.signal !== undefined && this.onAbort !== undefined) {
      this.signal.removeEventListener('abort', this.onAbort);
    }
    this.signal = undefined;
    this.onAbort = undefined;
  }
}
