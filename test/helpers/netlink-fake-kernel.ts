// A scripted stand-in for the kernel end of a netlink socket, for unit tests of NetlinkSocket:
// each written request is handed to a script that returns the datagrams the "kernel" queues.
import { setTimeout as sleep } from 'node:timers/promises';
import { stringAttr } from '../../network/netlink/attributes.js';
import {
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSGERR_ATTR_MSG,
} from '../../network/netlink/constants.js';
import type { NetlinkMessage } from '../../network/netlink/message.js';
import { decodeMessages, encodeMessage } from '../../network/netlink/message.js';
import type { NetlinkIo } from '../../network/netlink/socket.js';

/** Errno names the fake knows (the real ones come from the addon). */
const NAMES: Record<number, string> = { 2: 'ENOENT', 17: 'EEXIST', 19: 'ENODEV', 22: 'EINVAL' };

/** What a script returns for one request: datagrams, each a list of messages. */
export type Script = (request: NetlinkMessage) => Buffer[][];

/** NetlinkIo backed by a script; records requests, reads and closes. */
export class FakeKernel implements NetlinkIo {
  readonly requests: NetlinkMessage[] = [];
  readonly closed: number[] = [];
  reads = 0;
  private readonly queue: Buffer[] = [];
  /** Delay of each write, to model a slow kernel operation. */
  writeDelayMs = 0;

  constructor(private readonly script: Script) {}

  async write(_fd: number, data: Buffer): Promise<number> {
    const [request] = decodeMessages(Buffer.from(data));
    this.requests.push(request!);
    if (this.writeDelayMs > 0) await sleep(this.writeDelayMs);
    for (const datagram of this.script(request!)) this.queue.push(Buffer.concat(datagram));
    return data.length;
  }

  async read(_fd: number, into: Buffer): Promise<number> {
    await Promise.resolve();
    this.reads++;
    const next = this.queue.shift();
    if (next === undefined) throw new Error('fake kernel: read with nothing queued (would block)');
    next.copy(into);
    return next.length;
  }

  close(fd: number): void {
    this.closed.push(fd);
  }

  errnoName(errno: number): string {
    return NAMES[errno] ?? `E${errno}`;
  }
}

/** An ACK (NLMSG_ERROR with error 0) for a request. */
export function ack(req: NetlinkMessage): Buffer {
  return errorReply(req, 0);
}

/** An NLMSG_ERROR for a request, capped, with an optional extended-ack message. */
export function errorReply(req: NetlinkMessage, errno: number, text?: string): Buffer {
  const head = Buffer.alloc(20);
  head.writeInt32LE(-errno, 0);
  head.writeUInt32LE(16 + req.payload.length, 4);
  head.writeUInt16LE(req.type, 8);
  head.writeUInt16LE(req.flags, 10);
  head.writeUInt32LE(req.seq, 12);
  const tlvs = text === undefined ? [] : [stringAttr(NLMSGERR_ATTR_MSG, text)];
  const flags = NLM_F_CAPPED | (text === undefined ? 0 : NLM_F_ACK_TLVS);
  return encodeMessage(NLMSG_ERROR, flags, req.seq, [head, ...tlvs]);
}

/** NLMSG_DONE for a dump. */
export function done(req: NetlinkMessage, errno = 0): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(-errno, 0);
  return encodeMessage(NLMSG_DONE, 0x2, req.seq, [b]);
}
