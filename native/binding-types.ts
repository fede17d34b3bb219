// Hand-written types of the C++ addon (native/src). Every function is synchronous and throws
// Node-style system errors ({ code, errno, syscall, path? }) or a TypeError naming its usage.

/** Options of a netlink socket: multicast groups (RTMGRP_* bits), a read timeout. */
export interface NetlinkOpenOptions {
  groups?: number;
  recvTimeoutMs?: number;
}

/** The raw addon, as loaded from vmlaunch_native.node. */
export interface NativeBinding {
  /** Name of a (positive) errno number, e.g. 17 -> 'EEXIST'. */
  errnoName(errno: number): string;
  /** Creates a netns bound onto `path` (an existing empty file), like `ip netns add`. */
  netnsCreate(path: string): void;
  /** Creates a netns that lives as long as the returned fd. */
  netnsCreateAnonymous(): number;
  /** A NETLINK_ROUTE socket inside `netns` (a path; null = the caller's). */
  netlinkOpen(netns: string | null, options?: NetlinkOpenOptions): number;
  /** mount(2). */
  mount(source: string | null, target: string, fstype: string | null, flags: number): void;
  /** umount2(2). */
  umount(target: string, flags: number): void;
  /** Opens or creates tap `name` inside `netns`, one fd per queue. */
  tapOpen(
    netns: string | null,
    name: string,
    options?: { queues?: number; vnetHdr?: boolean; exclusive?: boolean },
  ): { name: string; fds: number[] };
  /** Opens `queues` fds of a macvtap character device such as /dev/tap7. */
  macvtapOpen(devicePath: string, queues: number, vnetHdr: boolean): number[];
  /** mknod(2) of a character device node (umask applies to `mode`). */
  mknodChar(path: string, major: number, minor: number, mode: number): void;
  /** Opens `count` fds of /dev/vhost-net. */
  vhostNetOpen(count: number): number[];
  /** pidfd_open(2): an fd naming process `pid` for good. */
  pidfdOpen(pid: number): number;
  /** pidfd_send_signal(2); false when the process has exited. */
  pidfdSignal(pidfd: number, signal: number): boolean;
  /** True once the pidfd's process has exited; never waits. */
  pidfdExited(pidfd: number): boolean;
  /** One non-waiting sendmsg with SCM_RIGHTS; bytes sent, or -1 when the socket is full. */
  sendFds(socket: number, data: Buffer, fds: number[]): number;
  /** recvmsg receiving fds (close-on-exec); empty data means EOF; EAGAIN when nothing waits. */
  recvFds(socket: number, maxBytes: number, maxFds: number): { data: Buffer; fds: number[] };
  /** recv(MSG_DONTWAIT) into `into`: bytes received, or -1 when nothing is queued. */
  recvNow(socket: number, into: Buffer): number;
  /** A connected pair of unix stream sockets. */
  socketpair(): [number, number];
  /** flock(LOCK_EX | LOCK_NB): true when the lock is now held through this fd. */
  tryLockExclusive(fd: number): boolean;
  /** close(2). */
  close(fd: number): void;
  /** [offset, length] of each data range of a regular file (SEEK_DATA/SEEK_HOLE). */
  dataRanges(fd: number): Array<[number, number]>;
  /** memfd_create(2), close-on-exec: an empty anonymous memory file. */
  memfdCreate(name: string): number;
  /** Sends `data` on a dup of `socket` from a thread of its own, which then closes the dup. */
  sendDetached(socket: number, data: Buffer): void;
  /** Closes `fds` from a thread of its own. */
  closeDetached(fds: number[]): void;
  /** Detached calls not finished yet. */
  detachedInFlight(): number;
  /** Failures inside detached threads so far (isolation, sends) and the last errno. */
  detachedFailures(): { isolate: number; send: number; lastErrno: number };
}
