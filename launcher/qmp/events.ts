// Event fan-out: every listener sees every event. Events that arrive before the connection is
// ready are held, then handed to the listeners of that moment, or to the first iterator.
import { Deadline, type CallOptions } from './deadline.js';
import { QmpAbortedError, QmpDisconnectedError } from './errors.js';
import { orSilent, type QmpLogger } from './logger.js';
import type { QmpEvent } from './types.js';

/** Selects the events a wait is for. */
export type EventMatch = (event: QmpEvent) => boolean;

/** A registered wait for one event: await it, or cancel it if it is no longer wanted. */
export interface EventExpectation extends PromiseLike<QmpEvent> {
  readonly promise: Promise<QmpEvent>;
  /** Stops waiting; the expectation then rejects with QmpAbortedError. */
  cancel(): void;
  [Symbol.dispose](): void;
}

type Listener = (event: QmpEvent) => void;

/**
 * Events held before the connection is ready (and until the first iterator takes them): past
 * this, the oldest are dropped and the drop is logged with its count, so a chatty or hostile
 * peer cannot grow memory before anyone listens.
 */
export const MAX_HELD_EVENTS = 1000;

/** Options of an event iterator. */
export interface IterateOptions {
  signal?: AbortSignal;
  /** Events kept for a slow consumer before the oldest are dropped (and logged); default 1000. */
  maxBuffered?: number;
}

/** The fan-out of one connection's events. */
export class EventHub {
  private readonly listeners = new Set<Listener>();
  private readonly closers = new Set<(error: Error) => void>();
  private held: QmpEvent[] | undefined = [];
  private backlog: QmpEvent[] = [];
  private heldDropped = 0;
  private closedWith: Error | undefined;
  private readonly logger: QmpLogger;

  constructor(logger?: QmpLogger) {
    this.logger = orSilent(logger);
  }

  // Delivers one event now, or holds it while the connection is not ready yet.
  publish(event: QmpEvent): void {
    if (this.held !== undefined) {
      if (this.held.length >= MAX_HELD_EVENTS) {
        this.held.shift();
        this.heldDropped += 1;
        if (this.heldDropped === 1) {
          this.logger.warn({ max: MAX_HELD_EVENTS }, 'QMP: too many early events, dropping oldest');
        }
      }
      this.held.push(event);
      return;
    }
    for (const listener of [...this.listeners]) listener(event);
  }

  // Ends the holding period: held events go to current listeners, or wait for the first iterator.
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    if (this.heldDropped > 0) {
      this.logger.warn(
        { dropped: this.heldDropped, max: MAX_HELD_EVENTS },
        'QMP: early events dropped before the connection was ready',
      );
    }
    if (this.listeners.size === 0) this.backlog.push(...held);
    else for (const event of held) this.publish(event);
  }

  // Ends every iterator and rejects every wait; later waits fail at once.
  close(error: Error): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = error;
    for (const close of [...this.closers]) close(error);
    this.listeners.clear();
    this.closers.clear();
  }

  // Waits for the next event named `name` (and matching `match`), registered synchronously.
  expect(
    name: string,
    match: EventMatch | undefined,
    options: CallOptions & { defaultTimeout: number },
  ): EventExpectation {
    const operation = `waiting for QMP event ${name}`;
    const deadline = new Deadline(
      operation,
      options.timeout ?? options.defaultTimeout,
      options.signal,
    );
    let listener: Listener | undefined;
    let closer: ((error: Error) => void) | undefined;
    let cancel: (error: Error) => void = () => undefined;
    const seen = new Promise<QmpEvent>((resolve, reject) => {
      cancel = reject;
      if (this.closedWith !== undefined) {
        reject(new QmpDisconnectedError(`wait for ${name}`, false, { cause: this.closedWith }));
        return;
      }
      listener = (event) => {
        if (event.event === name && (match === undefined || match(event))) resolve(event);
      };
      closer = (error) =>
        reject(new QmpDisconnectedError(`wait for ${name}`, true, { cause: error }));
      this.listeners.add(listener);
      this.closers.add(closer);
    });
    const promise = deadline.race(seen).finally(() => {
      deadline.dispose();
      if (listener) this.listeners.delete(listener);
      if (closer) this.closers.delete(closer);
    });
    promise.catch(() => undefined);
    const stop = (why: string) => () => cancel(new QmpAbortedError(operation, new Error(why)));
    return {
      promise,
      then: (onFulfilled, onRejected) => promise.then(onFulfilled, onRejected),
      cancel: stop('cancelled'),
      [Symbol.dispose]: stop('disposed'),
    };
  }

  // An async iterator over events from now on (plus any held backlog), ending at close. It
  // listens from the moment it is created, not from its first next().
  iterate(options: IterateOptions = {}): AsyncIterableIterator<QmpEvent> {
    const queue: QmpEvent[] = this.backlog.splice(0);
    const maxBuffered = options.maxBuffered ?? 1000;
    let wake: (() => void) | undefined;
    let ended = this.closedWith !== undefined;
    const listener: Listener = (event) => {
      if (queue.length >= maxBuffered) {
        const dropped = queue.shift();
        this.logger.warn({ event: dropped?.event }, 'QMP: event iterator too slow, dropped oldest');
      }
      queue.push(event);
      wake?.();
    };
    const end = (): void => {
      ended = true;
      this.listeners.delete(listener);
      this.closers.delete(end);
      options.signal?.removeEventListener('abort', end);
      wake?.();
    };
    if (!ended) {
      this.listeners.add(listener);
      this.closers.add(end);
      options.signal?.addEventListener('abort', end, { once: true });
      if (options.signal?.aborted) end();
    }
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    const iterator: AsyncIterableIterator<QmpEvent> = {
      next: async () => {
        for (;;) {
          const value = queue.shift();
          if (value !== undefined) return { done: false, value };
          if (ended) return done;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
      return: () => {
        end();
        queue.length = 0;
        return Promise.resolve(done);
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}
