// The rtnetlink client: one NETLINK_ROUTE socket bound in one netns, with links, addresses,
// routes and tc on top. Open one per netns you manage; close it (or `await using`) when done.
import { closeSync } from 'node:fs';
import { netlinkOpen } from '../../native/index.js';
import { openNetns } from '../netns/open.js';
import { resolveNetns } from '../netns/paths.js';
import { AddressApi } from './addresses.js';
import { LinkApi } from './links.js';
import { removalIo, type RemovalIo } from './link-removal.js';
import { RouteApi } from './routes.js';
import type { NetlinkIo } from './socket.js';
import { fdIo, NetlinkSocket } from './socket.js';
import { TcApi } from './tc.js';

/** Links, addresses, routes and tc of one network namespace. */
export class NetlinkClient {
  /** The netns name or path given to openNetlink (undefined: the caller's netns). */
  readonly netns: string | undefined;
  readonly socket: NetlinkSocket;
  readonly links: LinkApi;
  readonly addresses: AddressApi;
  readonly routes: RouteApi;
  readonly tc: TcApi;

  constructor(socket: NetlinkSocket, netns?: string, removal?: RemovalIo) {
    this.netns = netns;
    this.socket = socket;
    this.links = new LinkApi(socket, removal);
    this.addresses = new AddressApi(socket, this.links);
    this.routes = new RouteApi(socket, this.links);
    this.tc = new TcApi(socket, this.links);
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.socket.closed;
  }

  /** Rejects pending requests, then closes the socket once in-flight I/O has returned. */
  close(): Promise<void> {
    return this.socket.close();
  }

  /** `await using client = openNetlink(ns)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Seams for tests: how the socket is opened and how its I/O is done. */
export interface OpenNetlinkOptions {
  open?: (netnsPath: string | null) => number;
  io?: NetlinkIo;
}

/**
 * Opens an rtnetlink client inside `netns` (a name under /run/netns or an absolute path; the
 * caller's netns when omitted). The JS thread never changes netns: the addon binds the socket.
 * @throws {ValidationError} a malformed netns name.
 * @throws {NetnsNotFoundError} code 'NETNS_NOT_FOUND' when the netns does not exist.
 * @throws {NetnsError} when `netns` is not a network namespace or cannot be opened.
 * @throws {NativeError} when the socket cannot be opened (EPERM without CAP_SYS_ADMIN...).
 */
export function openNetlink(netns?: string, options: OpenNetlinkOptions = {}): NetlinkClient {
  let path: string | null = null;
  if (netns !== undefined) {
    path = resolveNetns(netns);
    // A missing netns is refused here, typed, rather than as the addon's bare ENOENT.
    closeSync(openNetns(netns));
  }
  const fd = (options.open ?? netlinkOpen)(path);
  // Deletes that resolve once the link left the netns need real sockets in it (not test seams).
  const removal =
    options.open === undefined && options.io === undefined ? removalIo(path) : undefined;
  return new NetlinkClient(new NetlinkSocket(fd, options.io ?? fdIo), netns, removal);
}
