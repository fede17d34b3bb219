// tc over rtnetlink: the ingress qdisc, and u32 match-all filters that redirect every packet
// arriving on one link to the egress of another (mirred) — the veth <-> tap interworking; and a
// root token bucket (tbf) that shapes what a link transmits — NIC rate limits.
// Kernels seen here have u32, mirred, tbf and htb but neither matchall, flower nor police.
import { ValidationError } from '../../core/index.js';
import {
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELQDISC,
  RTM_DELTFILTER,
  RTM_GETQDISC,
  RTM_GETTFILTER,
  RTM_NEWQDISC,
  RTM_NEWTFILTER,
  INGRESS_HANDLE,
  TC_H_INGRESS,
  TC_H_ROOT,
} from './constants.js';
import type { LinkRef } from './link-requests.js';
import type { LinkApi } from './links.js';
import { validateLinkRef } from './links.js';
import { encodeTcMsg } from './message.js';
import type { NetlinkSocket } from './socket.js';
import type { Qdisc, RedirectFilter } from './tc-requests.js';
import { rootQdiscBody, tbfQdiscBody, type TbfParams } from './tc-tbf-requests.js';
import {
  decodeQdisc,
  decodeRedirectFilter,
  deleteFilterBody,
  ingressQdiscBody,
  redirectFilterBody,
} from './tc-requests.js';

/** Options of a redirect filter add. */
export interface RedirectOptions {
  /** Filter priority (`pref`), 1-65535; by default the kernel picks (49152 for the first). */
  pref?: number;
}

/** Which filter to delete: a whole priority, or one u32 node of it. */
export interface FilterSelector {
  pref: number;
  handle?: number;
}

// Checks a filter priority (16 bits in tcm_info, 0 reserved for "kernel's choice").
function checkPref(pref: unknown, path = 'pref'): number {
  if (typeof pref === 'number' && Number.isInteger(pref) && pref >= 1 && pref <= 0xffff)
    return pref;
  throw new ValidationError(path, pref, 'a filter priority is an integer from 1 to 65535');
}

/** tc operations (ingress qdisc, u32 + mirred) on one netlink socket. */
export class TcApi {
  constructor(
    private readonly socket: NetlinkSocket,
    private readonly links: LinkApi,
  ) {}

  /**
   * Adds the ingress qdisc to a link (`tc qdisc add dev X ingress`).
   * @throws {NetlinkError} EEXIST when it already has one; ENODEV.
   */
  async addIngress(dev: LinkRef): Promise<void> {
    const op = `qdisc add dev ${validateLinkRef(dev, 'dev')} ingress`;
    const index = await this.links.index(dev, op);
    await this.socket.request(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ingressQdiscBody(index), op);
  }

  /**
   * Removes a link's ingress qdisc and with it all its filters.
   * @throws {NetlinkError} EINVAL/ENOENT when there is none; ENODEV.
   */
  async deleteIngress(dev: LinkRef): Promise<void> {
    const op = `qdisc del dev ${validateLinkRef(dev, 'dev')} ingress`;
    const index = await this.links.index(dev, op);
    await this.socket.request(RTM_DELQDISC, 0, ingressQdiscBody(index), op);
  }

  /**
   * Lists qdiscs (all links, or one); the ingress one has kind 'ingress', parent ffff:fff1.
   * @throws {NetlinkError} a failed dump; ENODEV.
   */
  async listQdiscs(dev?: LinkRef): Promise<Qdisc[]> {
    const index = dev === undefined ? undefined : await this.links.index(dev);
    const parts = await this.socket.dump(RTM_GETQDISC, [encodeTcMsg()], 'qdisc list');
    return parts
      .filter((m) => m.type === RTM_NEWQDISC)
      .map(decodeQdisc)
      .filter((q) => index === undefined || q.index === index);
  }

  /**
   * True when the link has an ingress qdisc.
   * @throws {NetlinkError} a failed dump; ENODEV.
   */
  async hasIngress(dev: LinkRef): Promise<boolean> {
    const qdiscs = await this.listQdiscs(dev);
    return qdiscs.some((q) => q.kind === 'ingress' && q.parent === TC_H_INGRESS);
  }

  /**
   * Redirects every packet arriving on `dev` to the egress of `target` (u32 match-all +
   * mirred egress redirect on `dev`'s ingress qdisc, which must exist).
   * @throws {ValidationError} bad link references or pref.
   * @throws {NetlinkError} EINVAL without an ingress qdisc; ENODEV.
   */
  async addRedirect(dev: LinkRef, target: LinkRef, options: RedirectOptions = {}): Promise<void> {
    const d = validateLinkRef(dev, 'dev');
    const t = validateLinkRef(target, 'target');
    const pref = options.pref === undefined ? 0 : checkPref(options.pref);
    const op = `filter add dev ${d} ingress u32 mirred egress redirect dev ${t}`;
    const index = await this.links.index(d, op);
    const targetIndex = await this.links.index(t, op);
    const body = redirectFilterBody(index, targetIndex, pref);
    await this.socket.request(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, body, op);
  }

  /**
   * Deletes a redirect filter: the whole priority, or one u32 node when `handle` is given.
   * @throws {NetlinkError} ENOENT when there is no such filter; ENODEV.
   */
  async deleteRedirect(dev: LinkRef, filter: FilterSelector): Promise<void> {
    const d = validateLinkRef(dev, 'dev');
    const pref = checkPref(filter?.pref);
    const handle = filter.handle ?? 0;
    if (!Number.isInteger(handle) || handle < 0 || handle > 0xffffffff) {
      throw new ValidationError('handle', handle, 'a u32 handle is a 32-bit unsigned integer');
    }
    const op = `filter del dev ${d} ingress pref ${pref}`;
    const index = await this.links.index(d, op);
    await this.socket.request(RTM_DELTFILTER, 0, deleteFilterBody(index, pref, handle), op);
  }

  /**
   * Lists the u32 mirred filters on a link's ingress qdisc, with each target's ifindex.
   * @throws {NetlinkError} EINVAL when the link has no ingress qdisc; ENODEV.
   */
  async listRedirects(dev: LinkRef): Promise<RedirectFilter[]> {
    const d = validateLinkRef(dev, 'dev');
    const op = `filter show dev ${d} ingress`;
    const index = await this.links.index(d, op);
    const body = [encodeTcMsg({ index, parent: INGRESS_HANDLE })];
    const parts = await this.socket.dump(RTM_GETTFILTER, body, op);
    return parts
      .filter((m) => m.type === RTM_NEWTFILTER)
      .map(decodeRedirectFilter)
      .filter((f): f is RedirectFilter => f !== undefined);
  }

  /**
   * Sets a link's root qdisc to a tbf with handle `handle` (major:0), creating it or changing
   * the parameters of the one there (`tc qdisc replace dev X root handle H: tbf ...`).
   * @throws {ValidationError} a bad link reference or parameters.
   * @throws {NetlinkError} EINVAL for a bucket the kernel refuses; ENODEV.
   */
  async setRootTbf(dev: LinkRef, handle: number, params: TbfParams): Promise<void> {
    const d = validateLinkRef(dev, 'dev');
    checkTbf(handle, params);
    const op = `qdisc replace dev ${d} root tbf rate ${params.rate}bps burst ${params.burst}`;
    const index = await this.links.index(d, op);
    const body = tbfQdiscBody(index, handle, params);
    await this.socket.request(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, body, op);
  }

  /**
   * Deletes a link's root qdisc; the kernel attaches its default one again.
   * @throws {NetlinkError} ENOENT when the root is already the default; ENODEV.
   */
  async deleteRoot(dev: LinkRef): Promise<void> {
    const op = `qdisc del dev ${validateLinkRef(dev, 'dev')} root`;
    const index = await this.links.index(dev, op);
    await this.socket.request(RTM_DELQDISC, 0, rootQdiscBody(index), op);
  }

  /**
   * A link's root qdisc (parent ffff:ffff), if the kernel lists one.
   * @throws {NetlinkError} a failed dump; ENODEV.
   */
  async root(dev: LinkRef): Promise<Qdisc | undefined> {
    return (await this.listQdiscs(dev)).find((q) => q.parent === TC_H_ROOT);
  }
}

// Checks a tbf's handle (a major number, minor 0) and bucket before any request.
function checkTbf(handle: number, p: TbfParams): void {
  if (!Number.isInteger(handle) || handle <= 0 || handle > 0xffff0000 || handle % 0x10000 !== 0) {
    throw new ValidationError('handle', handle, 'a qdisc handle is major:0, major 1 to ffff');
  }
  const positive = (v: unknown, max: number): boolean =>
    typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max;
  if (!positive(p?.rate, Number.MAX_SAFE_INTEGER))
    throw new ValidationError('rate', p?.rate, 'a rate is a positive integer of bytes per second');
  if (!positive(p.burst, 0xffffffff))
    throw new ValidationError('burst', p.burst, 'a burst is a positive 32-bit number of bytes');
  if (!positive(p.limit, 0xffffffff))
    throw new ValidationError('limit', p.limit, 'a limit is a positive 32-bit number of bytes');
}
