// The QMP protocol over a transport: greeting, qmp_capabilities, an explicit state machine,
// id-correlated replies and event fan-out. Typed commands live in client.ts on top of this.
import { Deadline, type CallOptions } from './deadline.js';
import { QmpCommandError, QmpConnectError, QmpDisconnectedError, QmpStateError } from './errors.js';
import { EventHub, type EventExpectation, type EventMatch, type IterateOptions } from './events.js';
import { FdLane } from './lane.js';
import { orSilent, type QmpLogger } from './logger.js';
import type { QmpTransport } from './transport.js';
import {
  isObject,
  toErrorBody,
  toEvent,
  type QmpEvent,
  type QmpGreeting,
  type QmpState,
} from './types.js';

/** Options of a QMP connection. */
export interface QmpConnectionOptions {
  /** A pino (or pino-compatible) logger; silent when omitted. */
  logger?: QmpLogger;
  /** Default timeout of each call and event wait, in ms; default 30000. */
  timeout?: number;
}

interface Pending {
  command: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** Which state may follow which; anything else is a bug and throws. */
const TRANSITIONS: Record<QmpState, readonly QmpState[]> = {
  idle: ['greeting', 'closed'],
  greeting: ['negotiating', 'closed'],
  negotiating: ['ready', 'closed'],
  ready: ['closed'],
  closed: [],
};

/** Remembered ids of calls that timed out or were aborted, so their late replies are dropped. */
const MAX_ABANDONED = 4096;

/** One QMP session on one transport. */
export class QmpConnection {
  protected readonly logger: QmpLogger;
  protected readonly defaultTimeout: number;
  private stateNow: QmpState = 'idle';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly abandoned = new Set<number>();
  private readonly hub: EventHub;
  private greetingSeen: ((greeting: QmpGreeting) => void) | undefined;
  private closeError: Error | undefined;
  private readonly closeWaiters: Array<() => void> = [];
  private readonly lane = new FdLane();
  /** Ids of fd calls written and not answered yet (pending or abandoned). */
  private readonly fdCalls = new Set<number>();
  /** The greeting QEMU sent, once connected. */
  greeting: QmpGreeting | undefined;

  constructor(
    private readonly transport: QmpTransport,
    options: QmpConnectionOptions = {},
  ) {
    this.logger = orSilent(options.logger);
    this.defaultTimeout = options.timeout ?? 30_000;
    this.hub = new EventHub(this.logger);
  }

  /** Where the session is: idle -> greeting -> negotiating -> ready -> closed. */
  get state(): QmpState {
    return this.stateNow;
  }

  /**
   * Reads the greeting and sends qmp_capabilities; resolves when commands may be sent. On
   * failure the transport is closed, so nothing is left open.
   * @throws QmpConnectError (cause: QmpTimeoutError, QmpAbortedError, QmpDisconnectedError or
   * QmpCommandError) when the greeting or the negotiation fails; QmpStateError when not idle.
   */
  async connect(options: CallOptions = {}): Promise<QmpGreeting> {
    if (this.stateNow !== 'idle') {
      throw new QmpStateError(`connect() called in state ${this.stateNow}`, this.stateNow);
    }
    const timeout = options.timeout ?? this.defaultTimeout;
    const deadline = new Deadline('QMP greeting', timeout, options.signal);
    const started = Date.now();
    try {
      const greeted = new Promise<QmpGreeting>((resolve) => (this.greetingSeen = resolve));
      this.transition('greeting');
      this.transport.start({ line: (line) => this.receive(line), close: (e) => this.closed(e) });
      const closed = this.whenClosed().then(() => {
        throw new QmpDisconnectedError('greeting', true, { cause: this.closeError });
      });
      this.greeting = await deadline.race(Promise.race([greeted, closed]));
      this.transition('negotiating');
      // One deadline for the whole handshake: negotiation gets only what the greeting left.
      const left = Math.max(1, timeout - (Date.now() - started));
      await this.send('qmp_capabilities', {}, [], { ...options, timeout: left });
      this.transition('ready');
      this.hub.release();
      return this.greeting;
    } catch (error) {
      this.close();
      throw new QmpConnectError(`QMP connection failed: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      deadline.dispose();
    }
  }

  /**
   * Sends any command and resolves with its `return` value.
   * @throws QmpCommandError (QEMU's class and desc), QmpTimeoutError, QmpAbortedError,
   * QmpDisconnectedError, QmpStateError (not connected yet).
   */
  execute<T = unknown>(command: string, args?: object, options: CallOptions = {}): Promise<T> {
    if (this.stateNow !== 'ready') return Promise.reject(this.notReady(command));
    return this.send(command, args, [], options) as Promise<T>;
  }

  /**
   * Sends a command with file descriptors attached (SCM_RIGHTS), as getfd and add-fd need.
   * An fd call is written only once every earlier fd call has its reply, so QEMU cannot pair
   * an fd with the wrong command; plain calls made after it are written right behind it.
   * @throws as execute(); NativeError when sendmsg fails.
   */
  async executeWithFds<T = unknown>(
    command: string,
    args: object | undefined,
    fds: number[],
    options: CallOptions = {},
  ): Promise<T> {
    if (this.stateNow !== 'ready') throw this.notReady(command);
    return (await this.send(command, args, fds, options)) as T;
  }

  // Registers a wait for an event NOW; send the triggering command afterwards, then await it.
  expectEvent(name: string, match?: EventMatch, options: CallOptions = {}): EventExpectation {
    return this.hub.expect(name, match, { ...options, defaultTimeout: this.defaultTimeout });
  }

  /**
   * Waits for the next event called `name` that satisfies `match`.
   * @throws QmpTimeoutError, QmpAbortedError, QmpDisconnectedError.
   */
  waitForEvent(name: string, match?: EventMatch, options: CallOptions = {}): Promise<QmpEvent> {
    return this.expectEvent(name, match, options).promise;
  }

  // Every event from now on, as an async iterator that ends when the connection closes.
  events(options: IterateOptions = {}): AsyncIterableIterator<QmpEvent> {
    return this.hub.iterate(options);
  }

  // Resolves when the connection is closed (by QEMU, by a failure, or by close()).
  whenClosed(): Promise<void> {
    if (this.stateNow === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  // Closes the socket; pending calls reject with QmpDisconnectedError.
  close(): void {
    this.transport.close();
    this.closed(undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.whenClosed();
  }

  private async send(
    command: string,
    args: object | undefined,
    fds: number[],
    options: CallOptions,
  ): Promise<unknown> {
    const timeout = options.timeout ?? this.defaultTimeout;
    let expire: ((error: Error) => void) | undefined;
    const deadline = new Deadline(`QMP ${command}`, timeout, options.signal, (e) => expire?.(e));
    const withFds = fds.length > 0;
    let id: number | undefined;
    try {
      // Written in call order (synchronously when nothing waits ahead); see lane.ts.
      const submitted = this.lane.submit(
        withFds,
        () => {
          if (this.stateNow === 'closed') {
            throw new QmpDisconnectedError(command, false, { cause: this.closeError });
          }
          deadline.throwIfExpired();
          const callId = this.nextId++;
          const line = `${JSON.stringify({ execute: command, arguments: args, id: callId })}\n`;
          const answer = new Promise<unknown>((resolve, reject) => {
            this.pending.set(callId, { command, resolve, reject });
            expire = reject;
          });
          this.logger.debug({ id: callId, command }, 'QMP: send');
          if (!withFds) {
            this.transport.write(line);
            id = callId;
            return { reply: answer, sent: undefined };
          }
          // Awaited below, unless the fd send fails or is cut short first: never unhandled.
          answer.catch(() => undefined);
          this.fdCalls.add(callId);
          const written = this.transport.writeWithFds(line, fds);
          // A sendmsg that failed reached nobody: no reply will free the lane, so free it here.
          written.catch(() => this.fdCallAnswered(callId));
          id = callId;
          return { reply: answer, sent: written };
        },
        deadline,
      );
      const { reply, sent } = 'now' in submitted ? submitted.now : await submitted;
      if (sent) await deadline.race(sent);
      return await reply;
    } catch (error) {
      if (id !== undefined && this.pending.delete(id) && this.stateNow !== 'closed') {
        this.abandon(id);
      }
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  // An fd call got its reply (or can never get one): the next fd call may be written.
  private fdCallAnswered(id: number): void {
    if (this.fdCalls.delete(id)) this.lane.answered();
  }

  private abandon(id: number): void {
    this.abandoned.add(id);
    if (this.abandoned.size > MAX_ABANDONED) {
      const oldest = this.abandoned.values().next().value;
      if (oldest !== undefined) this.abandoned.delete(oldest);
    }
  }

  private notReady(command: string): Error {
    if (this.stateNow === 'closed')
      return new QmpDisconnectedError(command, false, { cause: this.closeError });
    return new QmpStateError(
      `QMP ${command} sent in state ${this.stateNow}; call connect() first`,
      this.stateNow,
    );
  }

  private transition(to: QmpState): void {
    if (!TRANSITIONS[this.stateNow].includes(to)) {
      throw new QmpStateError(`QMP state ${this.stateNow} cannot become ${to}`, this.stateNow);
    }
    this.logger.debug({ from: this.stateNow, to }, 'QMP: state');
    this.stateNow = to;
  }

  private receive(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.logger.warn({ line: line.slice(0, 200) }, 'QMP: skipped a line that is not JSON');
      return;
    }
    if (!isObject(message)) {
      this.logger.warn({ line: line.slice(0, 200) }, 'QMP: skipped a line that is not an object');
    } else if ('event' in message) {
      this.hub.publish(toEvent(message));
    } else if ('return' in message || 'error' in message) {
      this.reply(message);
    } else if ('QMP' in message && this.stateNow === 'greeting' && this.greetingSeen) {
      this.greetingSeen(message as unknown as QmpGreeting);
      this.greetingSeen = undefined;
    } else {
      this.logger.warn(
        { line: line.slice(0, 200), state: this.stateNow },
        'QMP: skipped an unexpected message',
      );
    }
  }

  private reply(message: Record<string, unknown>): void {
    const id = message.id;
    if (typeof id === 'number') this.fdCallAnswered(id);
    const call = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (call === undefined || typeof id !== 'number') {
      if (typeof id === 'number' && this.abandoned.delete(id)) {
        this.logger.debug({ id }, 'QMP: dropped the late reply of an abandoned call');
      } else {
        this.logger.warn({ id, error: message.error }, 'QMP: dropped a reply with an unknown id');
      }
      return;
    }
    this.pending.delete(id);
    if ('error' in message) {
      const body = toErrorBody(message.error);
      call.reject(new QmpCommandError(call.command, body.class, body.desc));
    } else {
      call.resolve(message.return);
    }
  }

  private closed(error: Error | undefined): void {
    if (this.stateNow === 'closed') return;
    this.closeError = error;
    this.transition('closed');
    for (const [id, call] of this.pending) {
      this.pending.delete(id);
      call.reject(new QmpDisconnectedError(call.command, true, { cause: error }));
    }
    this.abandoned.clear();
    this.fdCalls.clear();
    this.lane.reset();
    this.hub.close(new QmpDisconnectedError(undefined, true, { cause: error }));
    for (const wake of this.closeWaiters.splice(0)) wake();
  }
}
