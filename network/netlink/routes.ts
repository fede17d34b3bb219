// Routes in the main table over rtnetlink (RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE, rtmsg +
// RTA_*, include/uapi/linux/rtnetlink.h); the path MTU travels as RTAX_MTU inside RTA_METRICS.
import { isIP } from 'node:net';
import { ValidationError } from '../../core/index.js';
import type { Prefix } from '../validate.js';
import { parsePrefix, validateMtu } from '../validate.js';
import { attrMap, encodeAttr, nestAttr, readU32, u32Attr } from './attributes.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTAX_MTU,
  RTM_DELROUTE,
  RTM_F_CLONED,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTMSG_LEN,
  RTN_UNICAST,
  RTPROT_BOOT,
} from './constants.js';
import { SCOPE_NAMES } from './addresses.js';
import { bytesToIp, ipToBytes } from './ip-bytes.js';
import type { LinkRef } from './link-requests.js';
import type { LinkApi } from './links.js';
import { validateLinkRef } from './links.js';
import type { NetlinkMessage } from './message.js';
import { decodeRtMsg, encodeRtMsg } from './message.js';
import type { NetlinkSocket } from './socket.js';

/** A route of the main table. */
export interface Route {
  family: 4 | 6;
  /** 'default' or 'address/len'. */
  dst: string;
  gateway: string | undefined;
  /** RTA_OIF: the output link's ifindex. */
  oifIndex: number | undefined;
  prefsrc: string | undefined;
  /** RTA_PRIORITY (`metric` in `ip route`). */
  metric: number | undefined;
  /** rtm_protocol (2 kernel, 3 boot, 4 static...). */
  protocol: number;
  scope: string;
  /** RTAX_MTU from RTA_METRICS. */
  mtu: number | undefined;
}

/** What to add or delete: a destination and at least a gateway or a device (for add). */
export interface RouteSpec {
  /** 'default' or a prefix such as '10.1.0.0/16'. */
  dst: string;
  gateway?: string;
  dev?: LinkRef;
  /** The RTAX_MTU metric. */
  mtu?: number;
  /** RTA_PRIORITY. */
  metric?: number;
  /** Family of a 'default' route without a gateway; otherwise inferred. */
  family?: 4 | 6;
}

interface CheckedRoute {
  dst: Prefix;
  gateway: string | undefined;
  dev: LinkRef | undefined;
  mtu: number | undefined;
  metric: number | undefined;
}

// Validates a route spec before any syscall.
export function checkRoute(spec: RouteSpec): CheckedRoute {
  const gateway = spec.gateway;
  const gwFamily = gateway === undefined ? undefined : isIP(gateway);
  if (gwFamily === 0) throw new ValidationError('gateway', gateway, 'not an IP address');
  let dst: Prefix;
  if (spec.dst === 'default') {
    const family = gwFamily ?? spec.family ?? 4;
    dst = { address: family === 4 ? '0.0.0.0' : '::', prefixLen: 0, family: family as 4 | 6 };
  } else {
    dst = parsePrefix(spec.dst, 'dst');
  }
  if (gwFamily !== undefined && gwFamily !== dst.family) {
    throw new ValidationError('gateway', gateway, `not an IPv${dst.family} address like dst`);
  }
  const metric = spec.metric;
  if (metric !== undefined && !(Number.isInteger(metric) && metric >= 0 && metric <= 0xffffffff)) {
    throw new ValidationError('metric', metric, 'a metric is an integer from 0 to 2^32-1');
  }
  return {
    dst,
    gateway,
    dev: spec.dev === undefined ? undefined : validateLinkRef(spec.dev, 'dev'),
    mtu: spec.mtu === undefined ? undefined : validateMtu(spec.mtu, 'mtu'),
    metric,
  };
}

// RTM_NEWROUTE body in iproute2's attribute order (dst, gateway, oif, priority, metrics).
export function routeAddBody(r: CheckedRoute, oif: number | undefined): Buffer[] {
  const family = r.dst.family === 4 ? AF_INET : AF_INET6;
  const scope = r.gateway === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  const head = encodeRtMsg({
    family,
    dstLen: r.dst.prefixLen,
    table: RT_TABLE_MAIN,
    protocol: RTPROT_BOOT,
    scope,
    type: RTN_UNICAST,
  });
  const out = [head, ...selectors(r, oif)];
  if (r.metric !== undefined) out.push(u32Attr(RTA_PRIORITY, r.metric));
  if (r.mtu !== undefined) out.push(nestAttr(RTA_METRICS, [u32Attr(RTAX_MTU, r.mtu)]));
  return out;
}

// RTM_DELROUTE body: any protocol and scope (RT_SCOPE_NOWHERE), like `ip route del`.
export function routeDeleteBody(r: CheckedRoute, oif: number | undefined): Buffer[] {
  const family = r.dst.family === 4 ? AF_INET : AF_INET6;
  const head = encodeRtMsg({
    family,
    dstLen: r.dst.prefixLen,
    table: RT_TABLE_MAIN,
    scope: RT_SCOPE_NOWHERE,
  });
  const out = [head, ...selectors(r, oif)];
  if (r.metric !== undefined) out.push(u32Attr(RTA_PRIORITY, r.metric));
  return out;
}

// RTA_DST (omitted for a default route), RTA_GATEWAY, RTA_OIF.
function selectors(r: CheckedRoute, oif: number | undefined): Buffer[] {
  const out: Buffer[] = [];
  if (r.dst.prefixLen > 0) out.push(encodeAttr(RTA_DST, ipToBytes(r.dst.address)));
  if (r.gateway !== undefined) out.push(encodeAttr(RTA_GATEWAY, ipToBytes(r.gateway)));
  if (oif !== undefined) out.push(u32Attr(RTA_OIF, oif));
  return out;
}

// Decodes one RTM_NEWROUTE message.
export function decodeRoute(m: NetlinkMessage): Route & { table: number; cloned: boolean } {
  const h = decodeRtMsg(m.payload);
  const a = attrMap(m.payload, RTMSG_LEN);
  const ip = (type: number): string | undefined => {
    const b = a.get(type);
    return b === undefined ? undefined : bytesToIp(b);
  };
  const metrics = a.has(RTA_METRICS) ? attrMap(a.get(RTA_METRICS)!) : undefined;
  const dst = ip(RTA_DST);
  return {
    family: h.family === AF_INET ? 4 : 6,
    dst: dst === undefined || h.dstLen === 0 ? 'default' : `${dst}/${h.dstLen}`,
    gateway: ip(RTA_GATEWAY),
    oifIndex: readU32(a.get(RTA_OIF)),
    prefsrc: ip(RTA_PREFSRC),
    metric: readU32(a.get(RTA_PRIORITY)),
    protocol: h.protocol,
    scope: SCOPE_NAMES[h.scope] ?? String(h.scope),
    mtu: readU32(metrics?.get(RTAX_MTU)),
    table: readU32(a.get(RTA_TABLE)) ?? h.table,
    cloned: (h.flags & RTM_F_CLONED) !== 0,
  };
}

// `ip route`-style text of a spec, for error messages.
function describeRoute(verb: string, r: CheckedRoute): string {
  const dst = r.dst.prefixLen === 0 ? 'default' : `${r.dst.address}/${r.dst.prefixLen}`;
  const via = r.gateway === undefined ? '' : ` via ${r.gateway}`;
  const dev = r.dev === undefined ? '' : ` dev ${r.dev}`;
  return `route ${verb} ${dst}${via}${dev}`;
}

/** Route operations (main table) on one netlink socket. */
export class RouteApi {
  constructor(
    private readonly socket: NetlinkSocket,
    private readonly links: LinkApi,
  ) {}

  /**
   * Lists the main table's routes (IPv4 and IPv6, or one family), without cached clones.
   * @throws {NetlinkError} when the dump fails.
   */
  async list(family?: 4 | 6): Promise<Route[]> {
    const af = family === undefined ? AF_UNSPEC : family === 4 ? AF_INET : AF_INET6;
    const parts = await this.socket.dump(RTM_GETROUTE, [encodeRtMsg({ family: af })], 'route list');
    return parts
      .filter((m) => m.type === RTM_NEWROUTE && m.payload.length >= RTMSG_LEN)
      .map(decodeRoute)
      .filter((r) => r.table === RT_TABLE_MAIN && !r.cloned)
      .map(({ table: _t, cloned: _c, ...route }) => route);
  }

  /**
   * Adds a route to the main table.
   * @throws {ValidationError} bad prefix, gateway, device, MTU, or neither gateway nor device.
   * @throws {NetlinkError} e.g. `route add 10.1.0.0/16 dev X: EEXIST`, ENETUNREACH.
   */
  async add(spec: RouteSpec): Promise<void> {
    const r = checkRoute(spec);
    if (r.gateway === undefined && r.dev === undefined) {
      throw new ValidationError('route', spec, 'a route needs a gateway or a device');
    }
    const op = describeRoute('add', r);
    const oif = r.dev === undefined ? undefined : await this.links.index(r.dev, op);
    await this.socket.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, routeAddBody(r, oif), op);
  }

  /**
   * Deletes a route of the main table (gateway/device narrow the match when given).
   * @throws {ValidationError} bad prefix, gateway or device.
   * @throws {NetlinkError} ESRCH when no route matches.
   */
  async delete(spec: RouteSpec): Promise<void> {
    const r = checkRoute(spec);
    const op = describeRoute('del', r);
    const oif = r.dev === undefined ? undefined : await this.links.index(r.dev, op);
    await this.socket.request(RTM_DELROUTE, 0, routeDeleteBody(r, oif), op);
  }
}
