// Removing a link without sitting in the kernel's RCU wait. A link delete (or closing a tap's
// last fd) returns from the kernel only after netdev_run_todo's rcu_barrier (tens of ms),
// yet the link has left its netns within a few ms (docs/design.md): unlisted, its name, addresses, qdiscs gone, and
// RTM_DELLINK sent (net/core/dev.c, unregister_netdevice_many_notify). removeUnlisted() sends
// the delete from a thread of its own on a socket subscribed to link notifications and resolves
// at that RTM_DELLINK, or at the kernel's answer if it comes first (an error rejects). The
// thread finishes the kernel's wait in the background, with the socket in an fd table of its
// own (our process's table is clean at once); backgroundRemovals() awaits those threads.
import { read } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  closeFd,
  detachedInFlight,
  errnoName,
  netlinkOpen,
  sendDetached,
} from '../../native/index.js';
import { NetlinkError } from '../errors.js';
import { NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, RTM_DELLINK } from './constants.js';
import { decodeError, decodeIfInfoMsg, decodeMessages, encodeMessage } from './message.js';
import type { NetlinkMessage } from './message.js';

/** RTMGRP_LINK (rtnetlink.h): the legacy multicast bit of link notifications. */
export const RTMGRP_LINK = 1;
/** A watcher's blocking read returns after this long with nothing, to look around. */
const WATCH_TICK_MS = 100;
/** How long a removal may take before it is an error (the kernel normally needs < 50 ms). */
export const REMOVAL_TIMEOUT_MS = 30_000;
const READ_BUFFER_BYTES = 64 * 1024;

/** The side effects of a removal, injectable for unit tests. */
export interface RemovalIo {
  /** A socket in the link's netns, subscribed to link notifications, with a read timeout. */
  openWatcher(): number;
  read(fd: number, into: Buffer): Promise<number>;
  sendDetached(fd: number, data: Buffer): void;
  close(fd: number): void;
  errnoName(errno: number): string;
}

// Real I/O for the netns at `netnsPath` (null: the caller's).
export function removalIo(netnsPath: string | null): RemovalIo {
  return {
    openWatcher: () =>
      netlinkOpen(netnsPath, { groups: RTMGRP_LINK, recvTimeoutMs: WATCH_TICK_MS }),
    read: (fd, into) =>
      new Promise((resolve, reject) =>
        read(fd, into, 0, into.length, null, (err, n) => (err ? reject(err) : resolve(n))),
      ),
    sendDetached,
    close: closeFd,
    errnoName,
  };
}

// Resolves once every detached send or close has ended (the kernel's RCU wait behind a
// removal). Polls the addon's count; nothing else waits on it.
export async function backgroundRemovals(inFlight = detachedInFlight): Promise<void> {
  while (inFlight() > 0) await sleep(2);
}

/** What one watcher message tells: the link left the netns, or the kernel answered. */
type Seen = 'unlisted' | 'acked' | undefined;

// Reads the watcher until a message tells something; ticks without news ask `stillThere`.
async function watch(
  io: RemovalIo,
  fd: number,
  classify: (m: NetlinkMessage) => Seen,
  stillThere: () => Promise<boolean>,
  operation: string,
): Promise<Exclude<Seen, undefined>> {
  const buffer = Buffer.alloc(READ_BUFFER_BYTES);
  const endsAt = Date.now() + REMOVAL_TIMEOUT_MS;
  for (;;) {
    let n: number;
    try {
      n = await io.read(fd, buffer);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // EAGAIN: a tick without news. ENOBUFS: notifications overran the buffer (some lost).
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'ENOBUFS') throw error;
      if (!(await stillThere())) return 'unlisted';
      if (Date.now() > endsAt) {
        throw new NetlinkError(
          operation,
          110,
          'ETIMEDOUT',
          `still there after ${REMOVAL_TIMEOUT_MS} ms`,
        );
      }
      continue;
    }
    for (const m of decodeMessages(buffer.subarray(0, n))) {
      const seen = classify(m);
      if (seen !== undefined) return seen;
    }
  }
}

/**
 * Deletes link `index` (RTM_DELLINK) and resolves once it has left its netns.
 * `stillThere` answers whether the link is still listed (asked when notifications are late).
 * @throws {NetlinkError} the kernel refused the delete (e.g. ENODEV), or ETIMEDOUT.
 */
export async function removeUnlisted(
  io: RemovalIo,
  index: number,
  request: Buffer[],
  stillThere: () => Promise<boolean>,
  operation: string,
  seq = Math.floor(Math.random() * 0x7fffffff),
): Promise<void> {
  const fd = io.openWatcher();
  let error: NetlinkError | undefined;
  const classify = (m: NetlinkMessage): Seen => {
    if (m.type === RTM_DELLINK && decodeIfInfoMsg(m.payload).index === index) return 'unlisted';
    if (m.type !== NLMSG_ERROR || m.seq !== seq) return undefined;
    const e = decodeError(m);
    if (e.errno !== 0) {
      error = new NetlinkError(operation, e.errno, io.errnoName(e.errno), e.kernelMessage);
    }
    return 'acked';
  };
  try {
    io.sendDetached(fd, encodeMessage(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, request));
    await watch(io, fd, classify, stillThere, operation);
  } finally {
    io.close(fd); // the sending thread has its own dup of the socket
  }
  if (error) throw error;
}
