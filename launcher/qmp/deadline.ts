// One timeout plus one AbortSignal. Every wait in the client (greeting, a call, an event) goes
// through one, so none of them can hang. The expiry is a callback on the hot path (a call's
// reply) and a lazily made promise where a wait is raced against it.
import { QmpAbortedError, QmpTimeoutError } from './errors.js';

/** Per-call options accepted by every QMP call and wait. */
export interface CallOptions {
  /** Milliseconds before the call rejects with QmpTimeoutError; defaults to the client's. */
  timeout?: number;
  /** Aborting rejects the call with QmpAbortedError; a late reply is then dropped. */
  signal?: AbortSignal;
}

/** A running deadline; dispose() stops it. */
export class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private signal: AbortSignal | undefined;
  private onAbort: (() => void) | undefined;
  private failure: Error | undefined;
  private expiredPromise: Promise<never> | undefined;
  private rejectExpired: ((error: Error) => void) | undefined;

  /** `onExpire` runs once, when the timeout passes or the signal aborts. */
  constructor(
    operation: string,
    timeoutMs: number,
    signal?: AbortSignal,
    private readonly onExpire?: (error: Error) => void,
  ) {
    if (signal?.aborted) {
      this.failure = new QmpAbortedError(operation, signal.reason);
      return;
    }
    if (Number.isFinite(timeoutMs)) {
      this.timer = setTimeout(
        () => this.fail(new QmpTimeoutError(operation, timeoutMs)),
        timeoutMs,
      );
    }
    if (signal !== undefined) {
      this.signal = signal;
      this.onAbort = () => this.fail(new QmpAbortedError(operation, signal.reason));
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** Rejects when the deadline passes; made on first use. */
  get expired(): Promise<never> {
    if (this.expiredPromise === undefined) {
      this.expiredPromise = new Promise<never>((_resolve, reject) => {
        if (this.failure !== undefined) reject(this.failure);
        else this.rejectExpired = reject;
      });
      // Nobody may be racing the deadline when it fires; that must not be an unhandled rejection.
      this.expiredPromise.catch(() => undefined);
    }
    return this.expiredPromise;
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

  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.dispose();
    this.rejectExpired?.(error);
    this.onExpire?.(error);
  }
}
