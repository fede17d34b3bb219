// The fd lane. QEMU keeps the fds of the last recvmsg on the monitor's chardev until a command
// takes them, and drops (closes) them when newer fds arrive first (chardev/char-socket.c,
// tcp_chr_recv); a recvmsg without fds leaves them alone. So only fd-carrying calls must not
// overlap: one is written only once every earlier fd call has its reply (or its late reply, if
// it was abandoned). Plain calls never wait for replies: they are pipelined, which is what
// lets an attach send getfd, netdev_add and device_add in one go. Calls are written in call
// order, so a plain call made after a waiting fd call waits behind it.
import type { Deadline } from './deadline.js';

/** One call waiting for its turn to be written. */
interface Waiting {
  fd: boolean;
  run: () => void;
}

/** Orders the writes of one connection: call order, fd calls never overlapping. */
export class FdLane {
  private readonly queue: Waiting[] = [];
  private fdUnanswered = 0;

  /** How many fd calls are written and not answered yet (0 or 1). */
  get fdCallsInFlight(): number {
    return this.fdUnanswered;
  }

  /**
   * Runs `write` (which writes the call and returns what the caller needs) as soon as the
   * call may go: at once, synchronously, when nothing waits ahead of it (then its result is
   * returned as is, and a throw is thrown: no promise on the hot path). A write that throws
   * wrote nothing. While queued, an expiring `deadline` takes the call out of the queue.
   */
  submit<T>(fd: boolean, write: () => T, deadline: Deadline): { now: T } | Promise<T> {
    if (this.queue.length === 0 && this.mayGo(fd)) return { now: this.written(fd, write()) };
    return new Promise<T>((resolve, reject) => {
      const entry: Waiting = {
        fd,
        run: () => {
          try {
            resolve(this.written(fd, write()));
          } catch (error) {
            reject(asError(error));
          }
        },
      };
      this.queue.push(entry);
      deadline.race(new Promise<never>(() => undefined)).catch((error: unknown) => {
        const at = this.queue.indexOf(entry);
        if (at < 0) return; // already written
        this.queue.splice(at, 1);
        reject(asError(error));
        this.pump();
      });
    });
  }

  // An fd call's reply came (or its late reply, or the connection closed): the next may go.
  answered(): void {
    this.fdUnanswered = Math.max(0, this.fdUnanswered - 1);
    this.pump();
  }

  // The connection closed: nothing is in flight any more; queued calls run and fail.
  reset(): void {
    this.fdUnanswered = 0;
    this.pump();
  }

  private mayGo(fd: boolean): boolean {
    return !fd || this.fdUnanswered === 0;
  }

  private written<T>(fd: boolean, result: T): T {
    if (fd) this.fdUnanswered += 1;
    return result;
  }

  // Writes queued calls in order for as long as the head may go.
  private pump(): void {
    while (this.queue.length > 0 && this.mayGo(this.queue[0]!.fd)) {
      this.queue.shift()!.run();
    }
  }
}

// What a throw carried, as an Error (writes and deadlines only throw Errors).
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
