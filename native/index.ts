// The native layer's public face: each addon primitive, with its errors wrapped as NativeError.
import { constants } from 'node:os';
import type { NativeBinding, NetlinkOpenOptions } from './binding-types.js';
import { NativeError } from './errors.js';
import { loadBinding, locateHelper } from './load.js';

export { NativeError } from './errors.js';
export type { NativeBinding, NetlinkOpenOptions } from './binding-types.js';
export { candidatePaths, loadBinding } from './load.js';

let binding: NativeBinding | undefined;

// Loads lazily so that importing the package never fails on a host without the build.
function addon(): NativeBinding {
  binding ??= loadBinding();
  return binding;
}

// Runs one addon call, turning its Node-style error into a NativeError naming the primitive.
function call<T>(operation: string, run: (b: NativeBinding) => T): T {
  const b = addon();
  try {
    return run(b);
  } catch (error) {
    throw NativeError.wrap(operation, error);
  }
}

/** Linux mount flags used with mount()/umount() (include/uapi/linux/mount.h). */
export const MountFlags = {
  MS_BIND: 0x1000,
  MS_REC: 0x4000,
  MS_SHARED: 1 << 20,
  MNT_DETACH: 2,
} as const;

/** Name of a positive errno number ('EEXIST' for 17), for errors that arrive as numbers. */
export function errnoName(errno: number): string {
  return call('errnoName', (b) => b.errnoName(errno));
}

/** Creates a netns bound onto `path` (an existing empty file); the caller's netns is unchanged. */
export function netnsCreate(path: string): void {
  call('netnsCreate', (b) => b.netnsCreate(path));
}

/** Creates an anonymous netns held by the returned fd (use `/proc/self/fd/N` as its path). */
export function netnsCreateAnonymous(): number {
  return call('netnsCreateAnonymous', (b) => b.netnsCreateAnonymous());
}

/** Opens a NETLINK_ROUTE socket that belongs to `netns` (a path; null for the caller's). */
export function netlinkOpen(netns: string | null, options?: NetlinkOpenOptions): number {
  return call('netlinkOpen', (b) =>
    options === undefined ? b.netlinkOpen(netns) : b.netlinkOpen(netns, options),
  );
}

/** mount(2). */
export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
): void {
  call('mount', (b) => b.mount(source, target, fstype, flags));
}

/** umount2(2). */
export function umount(target: string, flags: number): void {
  call('umount', (b) => b.umount(target, flags));
}

/** Options of a tap open. */
export interface TapOpenOptions {
  /** Queue count; more than 1 sets IFF_MULTI_QUEUE. Default 1. */
  queues?: number;
  /** IFF_VNET_HDR (offloads between guest and host). Default true. */
  vnetHdr?: boolean;
  /** Create only (IFF_TUN_EXCL): EBUSY if a tap of that name exists. Default false. */
  exclusive?: boolean;
}

/** Opens (creating if absent) tap `name` inside `netns`, one fd per queue; name '' = kernel's pick. */
export function tapOpen(
  netns: string | null,
  name: string,
  options: TapOpenOptions = {},
): { name: string; fds: number[] } {
  return call('tapOpen', (b) => b.tapOpen(netns, name, options));
}

/** Opens `queues` fds of a macvtap device node (/dev/tapN). */
export function macvtapOpen(devicePath: string, queues: number, vnetHdr = true): number[] {
  return call('macvtapOpen', (b) => b.macvtapOpen(devicePath, queues, vnetHdr));
}

/** Makes a character device node at `path` (mode 0600 by default). */
export function mknodChar(path: string, major: number, minor: number, mode = 0o600): void {
  call('mknodChar', (b) => b.mknodChar(path, major, minor, mode));
}

/** Opens `count` /dev/vhost-net fds, one per queue; ENOENT where vhost-net is absent. */
export function vhostNetOpen(count: number): number[] {
  return call('vhostNetOpen', (b) => b.vhostNetOpen(count));
}

/**
 * Sends `data` with `fds` attached (SCM_RIGHTS) in one sendmsg that never waits: the bytes sent
 * (the fds went with them), or -1 when the socket is full (nothing sent; retry once writable).
 */
export function sendFds(socket: number, data: Buffer, fds: number[]): number {
  return call('sendFds', (b) => b.sendFds(socket, data, fds));
}

/** An fd naming process `pid` for good (pidfd_open): signals through it never hit a reused pid. */
export function pidfdOpen(pid: number): number {
  return call('pidfdOpen', (b) => b.pidfdOpen(pid));
}

/** Signals the process of a pidfd; false when it has already exited. */
export function pidfdSignal(pidfd: number, signal: NodeJS.Signals | 0): boolean {
  const number = signal === 0 ? 0 : constants.signals[signal];
  return call('pidfdSignal', (b) => b.pidfdSignal(pidfd, number));
}

/** True once the process of a pidfd has exited; never waits. */
export function pidfdExited(pidfd: number): boolean {
  return call('pidfdExited', (b) => b.pidfdExited(pidfd));
}

/** Receives data and fds from a unix socket; EAGAIN when nothing is waiting. */
export function recvFds(
  socket: number,
  maxBytes: number,
  maxFds: number,
): { data: Buffer; fds: number[] } {
  return call('recvFds', (b) => b.recvFds(socket, maxBytes, maxFds));
}

/** Receives what a socket already has queued, never waiting: bytes, or -1 when empty. */
export function recvNow(socket: number, into: Buffer): number {
  return call('recvNow', (b) => b.recvNow(socket, into));
}

/** A connected, close-on-exec pair of unix stream sockets. */
export function socketpair(): [number, number] {
  return call('socketpair', (b) => b.socketpair());
}

/** flock(LOCK_EX|LOCK_NB) on `fd`: true when held now (it lives with the open file). */
export function tryLockExclusive(fd: number): boolean {
  return call('tryLockExclusive', (b) => b.tryLockExclusive(fd));
}

/** Where a regular file holds data, as [offset, length] ranges: its holes are left out. */
export function dataRanges(fd: number): Array<[number, number]> {
  return call('dataRanges', (b) => b.dataRanges(fd));
}

/** An empty anonymous memory file (memfd, close-on-exec); `name` shows in /proc/PID/fd. */
export function memfdCreate(name: string): number {
  return call('memfdCreate', (b) => b.memfdCreate(name));
}

/** Closes an fd; EBADF surfaces so double closes are caught. */
export function closeFd(fd: number): void {
  call('close', (b) => b.close(fd));
}

/**
 * Closes `fds` on a thread of their own: closing a tap's last queue fd makes the kernel tear
 * the tap down and wait for RCU (tens of ms) before close returns. When this returns the fds are
 * gone from our fd table (the thread holds private copies); watch RTM_DELLINK
 * (network/netlink) to know when the link is gone.
 */
export function closeDetached(fds: number[]): void {
  call('closeDetached', (b) => b.closeDetached(fds));
}

/** How many closeDetached / sendDetached calls have not finished (each still holds its fds). */
export function detachedInFlight(): number {
  return call('detachedInFlight', (b) => b.detachedInFlight());
}

/**
 * Failures inside detached threads so far: `isolate` (unshare / close_range of the private fd
 * table), `send` (sendDetached's send failed or was short), and the last errno name. Those
 * threads have no caller to throw to; compare a reading before and after a call.
 */
export function detachedFailures(): {
  isolate: number;
  send: number;
  lastErrno: string | undefined;
} {
  const raw = call('detachedFailures', (b) => b.detachedFailures());
  return { ...raw, lastErrno: raw.lastErrno === 0 ? undefined : errnoName(raw.lastErrno) };
}

/** Sends `data` on `socket` from a thread of its own (a request the kernel holds for long). */
export function sendDetached(socket: number, data: Buffer): void {
  call('sendDetached', (b) => b.sendDetached(socket, data));
}

/** Closes every fd, keeping the first error and still closing the rest. */
export function closeAll(fds: Iterable<number>): void {
  let first: Error | undefined;
  for (const fd of fds) {
    try {
      closeFd(fd);
    } catch (error) {
      first ??= error as Error;
    }
  }
  if (first !== undefined) throw first;
}

/** The jail's pre-exec helper (built with the addon): docs/confinement.md lists its steps. */
export function jailExecBinary(): string {
  return locateHelper('vmlaunch-jail-exec');
}
