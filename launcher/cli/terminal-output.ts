// Output to our stdout/stderr that can never stop the event loop. Node writes to a terminal
// synchronously (a paused terminal — Ctrl-S, a stuck ssh session — blocks write(2) and with it
// QMP, the control socket and Ctrl-C) and queues without bound on a pipe nobody reads. Here the
// terminal or pipe is reopened as a description of our own with O_NONBLOCK (the shell's shared
// one keeps its flags), one write is in flight at a time, and a full device is retried after a
// short wait. What arrives while MAX_PENDING bytes wait is dropped, counted, and said once the
// output moves again: the guest and the VM's control never wait for a terminal.
import { closeSync, constants, fstatSync, openSync, write } from 'node:fs';
import { isatty } from 'node:tty';

/** Most output held in memory while the terminal does not take it. */
const MAX_PENDING = 256 * 1024;
/** How long to wait before trying a full terminal or pipe again. */
const RETRY_MS = 50;

// A non-blocking description of `fd`'s terminal or pipe; a regular file (its own offset matters)
// or what /proc cannot reopen (a socket) is used as is.
function ownDescription(fd: number): { fd: number; owned: boolean } {
  try {
    if (fstatSync(fd).isFile()) return { fd, owned: false };
    const flags = constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
    return { fd: openSync(`/proc/self/fd/${fd}`, flags), owned: true };
  } catch {
    return { fd, owned: false };
  }
}

/** A writer to stdout or stderr that never blocks and never queues more than a bound. */
export class TerminalOutput {
  readonly isTTY: boolean;
  private readonly out: { fd: number; owned: boolean };
  private readonly queue: Buffer[] = [];
  private pending = 0;
  private writing = false;
  private dropped = 0;
  private failed = false;

  constructor(
    private readonly fd: 1 | 2,
    private readonly maxPending = MAX_PENDING,
  ) {
    this.isTTY = isatty(fd);
    this.out = ownDescription(fd);
  }

  /** The terminal's width, for the status line. */
  get columns(): number | undefined {
    return this.isTTY ? (this.fd === 1 ? process.stdout : process.stderr).columns : undefined;
  }

  // Queues `text`; returns false when it was dropped because too much is already waiting.
  write(text: string): boolean {
    if (this.failed || text === '') return !this.failed;
    const data = Buffer.from(text);
    if (this.pending + data.length > this.maxPending) {
      this.dropped += data.length;
      return false;
    }
    this.queue.push(data);
    this.pending += data.length;
    if (!this.writing) this.next();
    return true;
  }

  /** Bytes waiting to be written. */
  get waiting(): number {
    return this.pending;
  }

  /** Stops writing and closes our own description (what is still queued is dropped). */
  close(): void {
    this.failed = true;
    this.queue.length = 0;
    if (this.out.owned) closeSync(this.out.fd);
    this.out.owned = false;
  }

  private next(): void {
    if (this.queue.length === 0 && this.dropped > 0) {
      const note = `\r\n[vmlaunch: ${this.dropped} bytes of console output were dropped: the terminal did not take them]\r\n`;
      this.dropped = 0;
      this.queue.push(Buffer.from(note));
      this.pending += note.length;
    }
    const data = this.queue[0];
    if (data === undefined || this.failed) {
      this.writing = false;
      return;
    }
    this.writing = true;
    write(this.out.fd, data, 0, data.length, null, (error, n) => {
      if (error && error.code !== 'EAGAIN') {
        // The terminal is gone (EIO after a hang-up, EPIPE): nothing more can be shown.
        this.failed = true;
        this.writing = false;
        return;
      }
      const written = error ? 0 : n;
      this.pending -= written;
      if (written < data.length) {
        this.queue[0] = data.subarray(written);
        setTimeout(() => this.next(), RETRY_MS);
        return;
      }
      this.queue.shift();
      this.next();
    });
  }
}
