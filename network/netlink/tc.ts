// tc over rtnetlink: the ingress qdisc, and u32 match-all filters that redirect every packet
// arriving on one link to the egress of another (mirred) — the veth <-> tap interworking.
// This kernel has u32 and mirred but neither matchall nor flower.
import { ValidationError } from '../../core/index.js';
import {
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_DELQDISC,
  RTM_DELTFILTER,
  RTM_GETQDISC,
  RTM_GETTFILTER,
  RTM_NEWQDISC,
  RTM_NEWTFILTER,
  INGRESS_HANDLE,
  TC_H_INGRESS,
} from './constants.js';
import type { LinkRef } from './link-requests.js';
import type { LinkApi } from './links.js';
import { validateLinkRef } from './links.js';
import { encodeTcMsg } from './message.js';
import type { NetlinkSocket } from './socket.js';
import type { Qdisc, RedirectFilter } from './tc-requests.js';
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
}
