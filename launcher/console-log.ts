// The serial console's log file. vmlaunch usually runs as root and the path is the caller's, so
// it is opened as a file root writes must be: the last component never followed (O_NOFOLLOW),
// created 0600, refused unless it is a regular file with one name (a FIFO would block, a hard
// link would aim our writes at another file), capped in size, and written one chunk at a time
// with a bounded queue: what the file cannot take in time is counted and said, not buffered.
import { closeSync, constants, fchmodSync, fstatSync, openSync, write } from 'node:fs';
import { VmlaunchError } from '../core/index.js';

/** The console log path holds something vmlaunch will not write to (symlink, FIFO...). */
export class ConsoleLogError extends VmlaunchError {
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`console log ${path}: ${reason}`, 'CONSOLE_LOG_UNSAFE', options);
  }
}

/** Default size cap of a console log. */
export const CONSOLE_LOG_MAX_BYTES = 64 * 1024 * 1024;
/** Most console output held in memory while the file catches up. */
const MAX_PENDING_BYTES = 1024 * 1024;

const OPEN_FLAGS =
  constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK;

// Opens `path` for appending the way a root-written log must be opened.
function openLogFd(path: string): number {
  let fd: number;
  let created = false;
  try {
    fd = openSync(path, OPEN_FLAGS | constants.O_CREAT | constants.O_EXCL, 0o600);
    created = true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw refused(path, error);
    try {
      fd = openSync(path, OPEN_FLAGS);
    } catch (again) {
      throw refused(path, again);
    }
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConsoleLogError(path, 'not a regular file; refused');
    if (st.nlink > 1) throw new ConsoleLogError(path, `has ${st.nlink} hard links; refused`);
    if (created) fchmodSync(fd, 0o600); // whatever the umask made of it
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error instanceof ConsoleLogError ? error : refused(path, error);
  }
}

// ELOOP is O_NOFOLLOW's verdict on a symlink; ENXIO a FIFO without a reader (O_NONBLOCK).
function refused(path: string, error: unknown): ConsoleLogError {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  const why =
    code === 'ELOOP'
      ? 'is a symbolic link; refused'
      : code === 'ENXIO'
        ? 'is a FIFO or socket; refused'
        : `cannot be opened (${code})`;
  return new ConsoleLogError(path, why, { cause: error });
}

/** An open console log: append() never blocks and never queues more than a bounded amount. */
export class ConsoleLog {
  private readonly fd: number;
  private readonly maxBytes: number;
  private size: number;
  private readonly queue: Buffer[] = [];
  private pending = 0;
  private writing = false;
  private dropped = 0;
  private full = false;
  private failed = false;
  private closing: (() => void) | undefined;
  private closed: Promise<void> | undefined;

  /** @throws ConsoleLogError (code CONSOLE_LOG_UNSAFE) for a symlink, FIFO, hard link... */
  constructor(
    readonly path: string,
    maxBytes = CONSOLE_LOG_MAX_BYTES,
  ) {
    this.fd = openLogFd(path);
    this.size = fstatSync(this.fd).size;
    this.maxBytes = maxBytes;
  }

  // Queues text; past the cap nothing more is logged, past the queue bound it is counted.
  append(text: string): void {
    if (this.failed || this.full || this.closed) return;
    const data = Buffer.from(text);
    if (this.size + this.pending + data.length > this.maxBytes) {
      this.full = true;
      this.push(
        Buffer.from(`\n[vmlaunch: console log reached its cap of ${this.maxBytes} bytes]\n`),
      );
      return;
    }
    if (this.pending + data.length > MAX_PENDING_BYTES) {
      this.dropped += data.length;
      return;
    }
    this.push(data);
  }

  /** Writes what is queued, then closes the file. */
  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      this.closing = resolve;
      if (!this.writing) this.next();
    });
    return this.closed;
  }

  private push(data: Buffer): void {
    this.queue.push(data);
    this.pending += data.length;
    if (!this.writing) this.next();
  }

  // One write at a time; the note about dropped output goes in once the queue has drained.
  private next(): void {
    if (this.queue.length === 0 && this.dropped > 0) {
      const note = `\n[vmlaunch: ${this.dropped} bytes of console output were not logged: the file did not keep up]\n`;
      this.dropped = 0;
      this.queue.push(Buffer.from(note));
      this.pending += note.length;
    }
    const data = this.queue.shift();
    if (data === undefined || this.failed) {
      this.writing = false;
      if (this.closing) this.finish();
      return;
    }
    this.writing = true;
    write(this.fd, data, 0, data.length, null, (error, n) => {
      if (error && error.code !== 'EAGAIN') {
        // A log that cannot be written must not take the VM down: it stops, the console goes on.
        this.failed = true;
      } else if (error || n < data.length) {
        this.queue.unshift(data.subarray(error ? 0 : n));
        this.pending -= error ? 0 : n;
        this.size += error ? 0 : n;
        setTimeout(() => this.next(), 10);
        return;
      }
      this.pending -= data.length;
      this.size += data.length;
      this.next();
    });
  }

  private finish(): void {
    const done = this.closing;
    this.closing = undefined;
    if (done === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // Already closed.
    }
    done();
  }
}
