// A request/response channel over one NETLINK_ROUTE socket fd. rtnetlink does its work inside
// sendmsg (a link delete holds the caller for the kernel's RCU wait), so every read and write goes through
// libuv's threadpool (fs.read / fs.write on the fd) and the event loop never waits on the kernel.
// The fd already belongs to its netns (the addon bound it there), so no setns happens here.
import { read, write } from 'node:fs';
import { VmlaunchError } from '../../core/index.js';
import { closeFd, errnoName, recvNow } from '../../native/index.js';
import { NetlinkError } from '../errors.js';
import {
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
} from './constants.js';
import type { NetlinkMessage } from './message.js';
import { decodeDone, decodeError, decodeMessages, encodeMessage } from './message.js';

/** The socket's side effects, injectable so unit tests can play the kernel. */
export interface NetlinkIo {
  write(fd: number, data: Buffer): Promise<number>;
  read(fd: number, into: Buffer): Promise<number>;
  /** Takes what is already queued without waiting: bytes, or -1 when nothing is (optional). */
  readNow?(fd: number, into: Buffer): number;
  close(fd: number): void;
  errnoName(errno: number): string;
}

/** Real I/O: async fs calls on the fd (threadpool), the addon's close and errno names. */
export const fdIo: NetlinkIo = {
  write: (fd, data) =>
    new Promise((resolve, reject) =>
      write(fd, data, 0, data.length, null, (err, n) => (err ? reject(err) : resolve(n))),
    ),
  read: (fd, into) =>
    new Promise((resolve, reject) =>
      read(fd, into, 0, into.length, null, (err, n) => (err ? reject(err) : resolve(n))),
    ),
  // rtnetlink answers inside sendmsg: once the write returned, the reply is usually queued.
  readNow: recvNow,
  close: closeFd,
  errnoName,
};

/** A request was made on, or cut short by, a closed netlink socket. */
export class NetlinkClosedError extends VmlaunchError {
  readonly operation: string;

  constructor(operation: string) {
    super(`${operation}: the netlink socket is closed`, 'NETLINK_CLOSED');
    this.operation = operation;
  }
}

/** Bigger than any skb the kernel builds for a dump (it caps them at 32 KiB). */
const READ_BUFFER_BYTES = 64 * 1024;
/** A dump that raced with a change (NLM_F_DUMP_INTR) is retried this many times. */
const DUMP_ATTEMPTS = 4;

interface Pending {
  operation: string;
  reject: (error: unknown) => void;
  settled: boolean;
}

/** One rtnetlink socket: requests run one at a time, in order, each off the JS thread. */
export class NetlinkSocket {
  readonly fd: number;
  private readonly io: NetlinkIo;
  private readonly buffer = Buffer.alloc(READ_BUFFER_BYTES);
  private readonly pending = new Set<Pending>();
  private queue: Promise<void> = Promise.resolve();
  private seq: number;
  private isClosed = false;
  private closing: Promise<void> | undefined;

  constructor(fd: number, io: NetlinkIo = fdIo, firstSeq = Math.floor(Date.now() / 1000)) {
    this.fd = fd;
    this.io = io;
    this.seq = firstSeq >>> 0;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Sends a request with NLM_F_ACK and resolves with the messages it returned before the ACK.
   * @throws {NetlinkError} the kernel's NLMSG_ERROR, named after `operation`.
   * @throws {NetlinkClosedError} when the socket is or becomes closed.
   */
  request(
    type: number,
    flags: number,
    body: Buffer[],
    operation: string,
  ): Promise<NetlinkMessage[]> {
    return this.enqueue(operation, async () => {
      const seq = this.nextSeq();
      return (await this.exchange(type, NLM_F_REQUEST | NLM_F_ACK | flags, seq, body, operation))
        .messages;
    });
  }

  /**
   * Runs a dump (NLM_F_DUMP) and resolves with every part up to NLMSG_DONE; retried when the
   * kernel flags it interrupted by a concurrent change.
   * @throws {NetlinkError} the kernel refused the dump.
   * @throws {NetlinkClosedError} when the socket is or becomes closed.
   */
  dump(type: number, body: Buffer[], operation: string): Promise<NetlinkMessage[]> {
    return this.enqueue(operation, async () => {
      for (let attempt = 1; ; attempt++) {
        const seq = this.nextSeq();
        const r = await this.exchange(type, NLM_F_REQUEST | NLM_F_DUMP, seq, body, operation);
        if (!r.interrupted) return r.messages;
        if (attempt >= DUMP_ATTEMPTS) {
          throw new NetlinkError(operation, 4, 'EINTR', 'dump kept being interrupted');
        }
      }
    });
  }

  /** Rejects every pending request now and closes the fd once the in-flight I/O returns. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.isClosed = true;
    for (const p of this.pending) this.settle(p, new NetlinkClosedError(p.operation));
    this.closing = this.queue.then(() => this.io.close(this.fd));
    return this.closing;
  }

  /** `await using` support. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // Puts work at the end of this socket's queue; close() can reject it before or while it runs.
  private enqueue<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (this.isClosed) return Promise.reject(new NetlinkClosedError(operation));
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { operation, reject, settled: false };
      this.pending.add(entry);
      this.queue = this.queue.then(async () => {
        if (entry.settled) return;
        try {
          const value = await work();
          if (!entry.settled) {
            entry.settled = true;
            resolve(value);
          }
        } catch (error) {
          this.settle(entry, error);
        } finally {
          this.pending.delete(entry);
        }
      });
    });
  }

  // Rejects a pending request once.
  private settle(entry: Pending, error: unknown): void {
    if (entry.settled) return;
    entry.settled = true;
    this.pending.delete(entry);
    entry.reject(error);
  }

  // Sequence numbers tie replies to requests; they wrap at 2^32 and skip 0.
  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  // Writes one request, then reads until its ACK, error or NLMSG_DONE.
  private async exchange(
    type: number,
    flags: number,
    seq: number,
    body: Buffer[],
    operation: string,
  ): Promise<{ messages: NetlinkMessage[]; interrupted: boolean }> {
    const request = encodeMessage(type, flags, seq, body);
    const written = await this.io.write(this.fd, request);
    if (written !== request.length) {
      throw new NetlinkError(operation, 5, 'EIO', `short write (${written}/${request.length})`);
    }
    const messages: NetlinkMessage[] = [];
    let interrupted = false;
    for (;;) {
      if (this.isClosed) throw new NetlinkClosedError(operation);
      const queued = this.io.readNow?.(this.fd, this.buffer) ?? -1;
      const n = queued >= 0 ? queued : await this.io.read(this.fd, this.buffer);
      if (n === 0) throw new NetlinkError(operation, 5, 'EIO', 'netlink socket returned EOF');
      for (const m of decodeMessages(this.buffer.subarray(0, n))) {
        if (m.seq !== seq || m.type === NLMSG_NOOP) continue;
        if ((m.flags & NLM_F_DUMP_INTR) !== 0) interrupted = true;
        if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
          const e = m.type === NLMSG_ERROR ? decodeError(m) : decodeDone(m);
          if (e.errno !== 0) {
            throw new NetlinkError(operation, e.errno, this.io.errnoName(e.errno), e.kernelMessage);
          }
          return { messages, interrupted };
        }
        if (m.type === NLMSG_OVERRUN) {
          throw new NetlinkError(operation, 105, 'ENOBUFS', 'netlink overrun');
        }
        messages.push({ ...m, payload: Buffer.from(m.payload) });
      }
    }
  }
}
