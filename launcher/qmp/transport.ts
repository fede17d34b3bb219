// The QMP byte pipe: a connected unix stream socket (usually our end of a socketpair whose other
// end QEMU inherited) carrying line-delimited JSON, plus fd passing over the same socket.
import net from 'node:net';
import { sendFds } from '../../native/index.js';
import { Deadline, type CallOptions } from './deadline.js';
import { QmpConnectError, QmpDisconnectedError, QmpTimeoutError } from './errors.js';
import { LineSplitter, DEFAULT_MAX_LINE_BYTES } from './framing.js';
import { orSilent, type QmpLogger } from './logger.js';

/** The longest pause between two tries of an fd send on a full socket. */
const FD_SEND_RETRY_MAX_MS = 20;

/** What the protocol layer hears from the transport. */
export interface TransportHandlers {
  line(line: string): void;
  /** Called once when the socket is gone; `error` when it ended by a failure. */
  close(error?: Error): void;
}

/** Options of a transport. */
export interface TransportOptions {
  logger?: QmpLogger;
  maxLineBytes?: number;
  /** How long an fd send may wait for a full socket to take it; default 5000 ms. */
  fdSendTimeoutMs?: number;
}

/** A line-delimited JSON pipe over one unix stream socket. */
export class QmpTransport {
  private handlers: TransportHandlers | undefined;
  private readonly splitter: LineSplitter;
  private readonly logger: QmpLogger;
  private flushWaiters: Array<(error?: Error) => void> = [];
  private fdSendsQueued = 0;
  private writeChain: Promise<void> = Promise.resolve();
  private isClosed = false;

  private constructor(
    private readonly socket: net.Socket,
    private readonly fd: number | undefined,
    private readonly options: TransportOptions,
  ) {
    this.logger = orSilent(options.logger);
    this.splitter = new LineSplitter(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    socket.pause();
    let failure: Error | undefined;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => {
      failure ??= error;
    });
    socket.on('close', () => this.onClosed(failure));
  }

  // Adopts a connected socket fd (e.g. our end of the socketpair); the transport now owns it.
  static fromFd(fd: number, options: TransportOptions = {}): QmpTransport {
    return new QmpTransport(new net.Socket({ fd, readable: true, writable: true }), fd, options);
  }

  /**
   * Connects to a QMP unix socket path (`-chardev socket,path=...,server=on`).
   * @throws QmpConnectError when the connect fails, times out or is aborted.
   */
  static async connect(
    path: string,
    options: TransportOptions & CallOptions = {},
  ): Promise<QmpTransport> {
    const socket = net.createConnection({ path });
    socket.pause();
    const deadline = new Deadline(
      `QMP connect to ${path}`,
      options.timeout ?? 30_000,
      options.signal,
    );
    try {
      await deadline.race(
        new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('error', reject);
        }),
      );
    } catch (error) {
      socket.destroy();
      throw new QmpConnectError(`cannot connect to QMP socket ${path}`, { cause: error });
    } finally {
      deadline.dispose();
    }
    socket.removeAllListeners('error');
    // Node keeps the descriptor on the handle; fd passing needs it (unix sockets only).
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    return new QmpTransport(socket, typeof fd === 'number' && fd >= 0 ? fd : undefined, options);
  }

  /** True once the socket is gone. */
  get closed(): boolean {
    return this.isClosed;
  }

  // Starts delivering lines; separate from construction so no line arrives before a listener.
  start(handlers: TransportHandlers): void {
    this.handlers = handlers;
    if (this.isClosed) queueMicrotask(() => handlers.close());
    else this.socket.resume();
  }

  /**
   * Writes one line. Plain writes go straight to the socket unless an fd send is waiting, in
   * which case they queue behind it so bytes reach QEMU in call order.
   * @throws QmpDisconnectedError when the socket is closed.
   */
  write(line: string): void {
    if (this.isClosed) throw new QmpDisconnectedError(undefined, false);
    if (this.fdSendsQueued === 0) {
      this.socket.write(line);
      return;
    }
    this.writeChain = this.writeChain.then(() => {
      if (!this.isClosed) this.socket.write(line);
    });
  }

  /**
   * Writes one line with `fds` attached (SCM_RIGHTS), after everything written before it has
   * left net.Socket's buffer: sendmsg bypasses that buffer, so it must be empty first.
   * @throws QmpDisconnectedError when the socket closes first; QmpTimeoutError when the socket
   *   stays full for fdSendTimeoutMs; NativeError when sendmsg fails.
   */
  writeWithFds(line: string, fds: number[]): Promise<void> {
    if (this.isClosed) return Promise.reject(new QmpDisconnectedError(undefined, false));
    const fd = this.fd;
    if (fd === undefined) {
      return Promise.reject(new QmpConnectError('this QMP socket has no fd to pass fds over'));
    }
    this.fdSendsQueued += 1;
    const sent = this.writeChain.then(async () => {
      try {
        await this.flushed();
        await this.sendWhenWritable(fd, Buffer.from(line, 'utf8'), fds);
      } finally {
        this.fdSendsQueued -= 1;
      }
    });
    this.writeChain = sent.catch(() => undefined);
    return sent;
  }

  // Closes the socket; the close handler runs once, asynchronously.
  close(): void {
    this.socket.destroy();
  }

  // Sends the fds with the line's first bytes, never waiting on the JS thread: while the socket
  // is full (QEMU not reading) it retries on timers, backing off to FD_SEND_RETRY_MAX_MS, until
  // fdSendTimeoutMs; what the first sendmsg did not take follows through net.Socket, in order.
  private async sendWhenWritable(fd: number, data: Buffer, fds: number[]): Promise<void> {
    const timeoutMs = this.options.fdSendTimeoutMs ?? 5000;
    const deadline = Date.now() + timeoutMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, FD_SEND_RETRY_MAX_MS)) {
      if (this.isClosed) throw new QmpDisconnectedError(undefined, false);
      const sent = sendFds(fd, data, fds);
      if (sent >= 0) {
        if (sent < data.length) this.socket.write(data.subarray(sent));
        return;
      }
      if (Date.now() >= deadline) throw new QmpTimeoutError('QMP fd send (socket full)', timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  // Resolves once net.Socket's buffer is empty: an empty write's callback runs after every
  // chunk queued before it has been handed to the kernel (Writable keeps order).
  private flushed(): Promise<void> {
    if (this.socket.writableLength === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = (error?: Error | null): void => {
        this.flushWaiters = this.flushWaiters.filter((waiter) => waiter !== wake);
        if (error) reject(error);
        else resolve();
      };
      this.flushWaiters.push(wake);
      this.socket.write('', wake);
    });
  }

  private receive(chunk: Buffer): void {
    let lines: string[];
    try {
      lines = this.splitter.push(chunk);
    } catch (error) {
      this.logger.warn({ err: error }, 'QMP: closing a connection that broke framing');
      this.socket.destroy(error as Error);
      return;
    }
    for (const line of lines) this.handlers?.line(line);
  }

  private onClosed(error: Error | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const wake of waiters) wake(new QmpDisconnectedError(undefined, true));
    this.logger.debug({ err: error }, 'QMP: socket closed');
    this.handlers?.close(error);
  }
}
