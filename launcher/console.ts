// The guest's serial console as the host sees it: everything it prints kept in a ring buffer
// and a log file, waits for patterns with deadlines, and writes to the guest.
import type { Duplex } from 'node:stream';
import { AbortError, TimeoutError, VmlaunchError } from '../core/index.js';
import { ConsoleLog } from './console-log.js';
import { TextRing } from './ring-buffer.js';

/** Where a console wait matched: the text, its absolute offset and the offset just past it. */
export interface ConsoleMatch {
  text: string;
  groups: string[];
  index: number;
  end: number;
}

/** Options of a console wait. */
export interface WaitForOptions {
  /** Deadline in ms (default 30 s); a miss is a TimeoutError carrying the console tail. */
  timeout?: number;
  signal?: AbortSignal;
  /** Absolute offset to search from (see `mark()`); default: everything still kept. */
  from?: number;
}

interface Waiter {
  pattern: RegExp;
  from: number;
  resolve: (match: ConsoleMatch) => void;
  reject: (error: Error) => void;
}

/** The console closed (QEMU exited or the socket dropped) while something was waiting on it. */
export class ConsoleClosedError extends VmlaunchError {
  constructor(message: string) {
    super(message, 'CONSOLE_CLOSED');
  }
}

/** A captured serial console: read continuously (so QEMU never blocks on it), searchable. */
export class SerialConsole {
  private readonly ring: TextRing;
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(chunk: string) => void>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  private readonly log: ConsoleLog | undefined;
  private closedReason: string | undefined;

  /** @throws ConsoleLogError when `logFile` is a symlink, FIFO or other non-regular file. */
  constructor(
    private readonly stream: Duplex,
    options: { logFile?: string; logMaxBytes?: number; log?: ConsoleLog; capacity?: number } = {},
  ) {
    this.ring = new TextRing(options.capacity ?? 1 << 20);
    this.log =
      options.log ??
      (options.logFile ? new ConsoleLog(options.logFile, options.logMaxBytes) : undefined);
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.onData(chunk));
    stream.on('error', () => this.onClose('the console socket failed'));
    stream.on('close', () => this.onClose('the console closed (the VM has exited)'));
  }

  // Calls `listener` with every chunk the guest prints from now on; returns the unsubscribe.
  subscribe(listener: (chunk: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // Calls `listener` once with the reason when the console closes (at once if it has).
  whenClosed(listener: (reason: string) => void): () => void {
    if (this.closedReason !== undefined) {
      listener(this.closedReason);
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Absolute offset of the end of what has been received so far. */
  mark(): number {
    return this.ring.end;
  }

  /** The last `chars` characters the guest printed. */
  tail(chars = 4000): string {
    return this.ring.tail(chars);
  }

  /** Everything still kept from absolute offset `from`. */
  since(from: number): string {
    return this.ring.since(from).text;
  }

  // Resolves at the first match of `pattern` after `from`; rejects on deadline, abort or close.
  waitFor(pattern: string | RegExp, options: WaitForOptions = {}): Promise<ConsoleMatch> {
    // A copy without g/y: a stateful lastIndex would make repeated scans skip matches.
    const regex =
      typeof pattern === 'string'
        ? new RegExp(escapeRegExp(pattern))
        : new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    const timeout = options.timeout ?? 30_000;
    return new Promise<ConsoleMatch>((resolve, reject) => {
      const waiter: Waiter = { pattern: regex, from: options.from ?? 0, resolve, reject };
      const done = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(waiter);
      };
      const onAbort = (): void => {
        done();
        reject(new AbortError(`aborted while waiting for ${String(regex)} on the console`));
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new TimeoutError(
            `no ${String(regex)} on the console within ${timeout} ms; last output:\n${this.tail(2000)}`,
          ),
        );
      }, timeout);
      waiter.resolve = (match) => {
        done();
        resolve(match);
      };
      waiter.reject = (error) => {
        done();
        reject(error);
      };
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      this.check(waiter);
      if (this.waiters.has(waiter) && this.closedReason !== undefined) {
        waiter.reject(new ConsoleClosedError(this.closedMessage(regex)));
      }
    });
  }

  // Sends text to the guest's console.
  async write(text: string): Promise<void> {
    if (this.closedReason !== undefined) throw new ConsoleClosedError(this.closedReason);
    await new Promise<void>((resolve, reject) => {
      this.stream.write(text, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Stops reading and flushes the log file. */
  async close(): Promise<void> {
    this.stream.destroy();
    this.onClose('the console was closed by the host');
    await this.log?.close();
  }

  private onData(chunk: string): void {
    this.ring.append(chunk);
    this.log?.append(chunk);
    for (const listener of this.listeners) listener(chunk);
    for (const waiter of [...this.waiters]) this.check(waiter);
  }

  private onClose(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const waiter of [...this.waiters]) {
      waiter.reject(new ConsoleClosedError(this.closedMessage(waiter.pattern)));
    }
    for (const listener of [...this.closeListeners]) listener(reason);
    this.closeListeners.clear();
  }

  private closedMessage(pattern: RegExp): string {
    return `${this.closedReason} while waiting for ${String(pattern)}; last output:\n${this.tail(2000)}`;
  }

  private check(waiter: Waiter): void {
    const { text, start } = this.ring.since(waiter.from);
    const found = waiter.pattern.exec(text);
    if (!found) return;
    const index = start + found.index;
    waiter.resolve({
      text: found[0],
      groups: found.slice(1).map((g) => g ?? ''),
      index,
      end: index + found[0].length,
    });
  }
}

// Escapes a literal string for use in a RegExp.
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
