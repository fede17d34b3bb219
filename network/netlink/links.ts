// Links over rtnetlink: list/get, create veth (peer straight into its final netns), bridge,
// macvlan/macvtap, change state/MTU/MAC/master/alias/netns, delete. Input is validated with
// network/validate.ts before anything reaches the kernel.
import { ValidationError } from '../../core/index.js';
import { macToBytes, validateIfName, validateMac, validateMtu } from '../validate.js';
import { encodeAttr, stringAttr, u32Attr } from './attributes.js';
import {
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_IFALIAS,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_TXQLEN,
  IFLA_NET_NS_FD,
  NLM_F_CREATE,
  NLM_F_ECHO,
  NLM_F_EXCL,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTM_SETLINK,
} from './constants.js';
import type { Link, MacvlanMode } from './link-parse.js';
import { decodeLink, MACVLAN_MODES } from './link-parse.js';
import type { LinkRef, NewLinkFields } from './link-requests.js';
import { bridgeBody, linkRefBody, macvlanBody, noLinkSent, vethBody } from './link-requests.js';
import { encodeIfInfoMsg } from './message.js';
import { withNetnsFd } from '../netns/open.js';
import type { NetlinkSocket } from './socket.js';
import { removeUnlisted, type RemovalIo } from './link-removal.js';

/** IFALIASZ - 1 (include/uapi/linux/if.h): the longest alias the kernel stores. */
const IFALIAS_MAX_BYTES = 255;

/** Fields every created link accepts. */
export interface LinkCreateOptions {
  name: string;
  mtu?: number;
  mac?: string;
}

/** A veth pair; the peer may be created directly in another netns (name or absolute path). */
export interface VethOptions extends LinkCreateOptions {
  peer: { name: string; netns?: string; mac?: string };
}

/** A bridge; `mcastSnooping: false` turns IGMP/MLD snooping off (it is on by default). */
export interface BridgeOptions extends LinkCreateOptions {
  mcastSnooping?: boolean;
}

/** A macvlan or macvtap stacked on `parent`; mode defaults to 'bridge'. */
export interface MacvlanOptions extends LinkCreateOptions {
  parent: LinkRef;
  mode?: MacvlanMode;
}

// Checks a name-or-index reference before it is used in a request.
export function validateLinkRef(ref: unknown, path = 'link'): LinkRef {
  if (typeof ref === 'number') {
    if (Number.isInteger(ref) && ref > 0 && ref <= 0x7fffffff) return ref;
    throw new ValidationError(path, ref, 'an ifindex is a positive integer');
  }
  return validateIfName(ref, path);
}

// Checks the fields every created link shares.
function createFields(o: LinkCreateOptions): NewLinkFields {
  return {
    name: validateIfName(o?.name, 'name'),
    mtu: o.mtu === undefined ? undefined : validateMtu(o.mtu, 'mtu'),
    mac: o.mac === undefined ? undefined : validateMac(o.mac, 'mac'),
  };
}

/** Link operations on one netlink socket (and so in one netns). */
export class LinkApi {
  /** `removal`: how deletes with `until: 'unlisted'` watch the netns (absent: they wait for the ACK). */
  constructor(
    private readonly socket: NetlinkSocket,
    private readonly removal?: RemovalIo,
  ) {}

  /**
   * Lists every link in the socket's netns.
   * @throws {NetlinkError} when the dump fails.
   */
  async list(): Promise<Link[]> {
    const parts = await this.socket.dump(RTM_GETLINK, [encodeIfInfoMsg()], 'link list');
    return parts.filter((m) => m.type === RTM_NEWLINK).map(decodeLink);
  }

  /**
   * One link by name or ifindex.
   * @throws {NetlinkError} ENODEV when there is no such link.
   * @throws {ValidationError} on a malformed name or index.
   */
  async get(ref: LinkRef): Promise<Link> {
    const r = validateLinkRef(ref);
    const parts = await this.socket.request(RTM_GETLINK, 0, linkRefBody(r), `link get ${r}`);
    const msg = parts.find((m) => m.type === RTM_NEWLINK);
    if (msg === undefined) throw noLinkSent(r);
    return decodeLink(msg);
  }

  /**
   * Like get(), but undefined when the link does not exist.
   * @throws {NetlinkError} for any failure other than ENODEV.
   */
  async find(ref: LinkRef): Promise<Link | undefined> {
    try {
      return await this.get(ref);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENODEV') return undefined;
      throw error;
    }
  }

  /**
   * The ifindex of a link (a number is returned as given); a failed lookup is reported as
   * `operation` when given, so a missing device reads `addr add ... dev X: ENODEV`.
   * @throws {NetlinkError} ENODEV when a named link does not exist.
   */
  async index(ref: LinkRef, operation?: string): Promise<number> {
    const r = validateLinkRef(ref);
    if (typeof r === 'number') return r;
    const parts = await this.socket.request(
      RTM_GETLINK,
      0,
      linkRefBody(r),
      operation ?? `link get ${r}`,
    );
    const msg = parts.find((m) => m.type === RTM_NEWLINK);
    if (msg === undefined) throw noLinkSent(r);
    return decodeLink(msg).index;
  }

  /**
   * Creates a veth pair; with `peer.netns` the peer is born in that netns (never moved).
   * Resolves with the local end as created (its ifindex, MAC...).
   * @throws {ValidationError} bad names, MTU or MAC; NetnsNotFoundError for a missing peer netns.
   * @throws {NetnsError} a peer netns that cannot be opened.
   * @throws {NetlinkError} e.g. EEXIST as `link add veth NAME: EEXIST`.
   */
  async addVeth(o: VethOptions): Promise<Link> {
    const local = createFields(o);
    const peer: NewLinkFields = {
      name: validateIfName(o.peer?.name, 'peer.name'),
      mtu: local.mtu,
      mac: o.peer.mac === undefined ? undefined : validateMac(o.peer.mac, 'peer.mac'),
    };
    const op = `link add veth ${local.name}`;
    if (o.peer.netns === undefined) return this.create(vethBody(local, peer), op, local.name);
    return withNetnsFd(o.peer.netns, 'peer.netns', (fd) =>
      this.create(vethBody(local, { ...peer, netnsFd: fd }), op, local.name),
    );
  }

  /**
   * Creates a bridge.
   * @throws {ValidationError} bad name, MTU or MAC.
   * @throws {NetlinkError} e.g. EEXIST.
   */
  async addBridge(o: BridgeOptions): Promise<Link> {
    const f = createFields(o);
    return this.create(bridgeBody(f, o.mcastSnooping), `link add bridge ${f.name}`, f.name);
  }

  /**
   * Creates a macvlan on `parent`.
   * @throws {ValidationError} bad name, MTU, MAC, parent or mode.
   * @throws {NetlinkError} e.g. ENODEV for a missing parent.
   */
  addMacvlan(o: MacvlanOptions): Promise<Link> {
    return this.addMacv('macvlan', o);
  }

  /**
   * Creates a macvtap on `parent` (its queues are /dev/tap<ifindex>).
   * @throws {ValidationError} bad name, MTU, MAC, parent or mode.
   * @throws {NetlinkError} e.g. ENODEV for a missing parent.
   */
  addMacvtap(o: MacvlanOptions): Promise<Link> {
    return this.addMacv('macvtap', o);
  }

  /** Sets IFF_UP. @throws {NetlinkError} e.g. ENODEV. */
  setUp(ref: LinkRef): Promise<void> {
    return this.set(ref, 'up', { flags: IFF_UP, change: IFF_UP });
  }

  /** Clears IFF_UP. @throws {NetlinkError} e.g. ENODEV. */
  setDown(ref: LinkRef): Promise<void> {
    return this.set(ref, 'down', { flags: 0, change: IFF_UP });
  }

  /** Sets the MTU. @throws {ValidationError} out of range. @throws {NetlinkError} e.g. EINVAL. */
  setMtu(ref: LinkRef, mtu: number): Promise<void> {
    const m = validateMtu(mtu);
    return this.set(ref, `mtu ${m}`, {}, [u32Attr(IFLA_MTU, m)]);
  }

  /** Sets the transmit queue length. @throws {ValidationError} not a u32. @throws {NetlinkError} */
  setTxqlen(ref: LinkRef, txqlen: number): Promise<void> {
    if (!Number.isInteger(txqlen) || txqlen < 0 || txqlen > 0xffffffff) {
      throw new ValidationError('txqlen', txqlen, 'a txqueuelen is an integer from 0 to 2^32-1');
    }
    return this.set(ref, `txqueuelen ${txqlen}`, {}, [u32Attr(IFLA_TXQLEN, txqlen)]);
  }

  /** Sets the MAC address. @throws {ValidationError} malformed/multicast. @throws {NetlinkError} */
  setMac(ref: LinkRef, mac: string): Promise<void> {
    const m = validateMac(mac);
    return this.set(ref, `address ${m}`, {}, [encodeAttr(IFLA_ADDRESS, macToBytes(m))]);
  }

  /** Enslaves the link to a bridge. @throws {NetlinkError} e.g. ENODEV, EBUSY. */
  async setMaster(ref: LinkRef, master: LinkRef): Promise<void> {
    const r = validateLinkRef(ref);
    const m = validateLinkRef(master, 'master');
    const index = await this.index(m, `link set ${r} master ${m}`);
    await this.set(r, `master ${m}`, {}, [u32Attr(IFLA_MASTER, index)]);
  }

  /** Releases the link from its master (IFLA_MASTER 0). @throws {NetlinkError} e.g. ENODEV. */
  setNoMaster(ref: LinkRef): Promise<void> {
    return this.set(ref, 'nomaster', {}, [u32Attr(IFLA_MASTER, 0)]);
  }

  /** Sets (or with '' clears) IFLA_IFALIAS. @throws {ValidationError} too long. */
  setAlias(ref: LinkRef, alias: string): Promise<void> {
    if (typeof alias !== 'string' || Buffer.byteLength(alias) > IFALIAS_MAX_BYTES) {
      throw new ValidationError('alias', alias, `an alias is a string of at most 255 bytes`);
    }
    return this.set(ref, `alias ${JSON.stringify(alias)}`, {}, [stringAttr(IFLA_IFALIAS, alias)]);
  }

  /**
   * Moves the link into another netns (name or absolute path).
   * @throws {NetnsNotFoundError} a missing netns. @throws {NetnsError} @throws {NetlinkError}
   */
  async moveToNetns(ref: LinkRef, netns: string): Promise<void> {
    validateLinkRef(ref);
    await withNetnsFd(netns, 'netns', (fd) =>
      this.set(ref, `netns ${netns}`, {}, [u32Attr(IFLA_NET_NS_FD, fd)]),
    );
  }

  /**
   * Deletes the link (for a veth, its peer goes too). The kernel answers only after its RCU
   * wait (tens of ms); with `until: 'unlisted'` this resolves as soon as the link has left
   * the netns (RTM_DELLINK, a few ms) and the wait ends in the background (link-removal.ts).
   * @throws {NetlinkError} ENODEV when it does not exist.
   */
  async delete(ref: LinkRef, options: { until?: 'ack' | 'unlisted' } = {}): Promise<void> {
    const r = validateLinkRef(ref);
    const operation = `link del ${r}`;
    if (options.until !== 'unlisted' || this.removal === undefined) {
      await this.socket.request(RTM_DELLINK, 0, linkRefBody(r), operation);
      return;
    }
    const index = await this.index(r, operation);
    const stillThere = async (): Promise<boolean> => (await this.find(index)) !== undefined;
    await removeUnlisted(this.removal, index, linkRefBody(index), stillThere, operation);
  }

  // Creates a macvlan/macvtap after resolving its parent.
  private async addMacv(kind: 'macvlan' | 'macvtap', o: MacvlanOptions): Promise<Link> {
    const f = createFields(o);
    const mode = o.mode ?? 'bridge';
    if (!Object.hasOwn(MACVLAN_MODES, mode)) {
      throw new ValidationError(
        'mode',
        mode,
        `a ${kind} mode is one of bridge, private, vepa, passthru`,
      );
    }
    const parent = validateLinkRef(o.parent, 'parent');
    const op = `link add ${kind} ${f.name}`;
    const parentIndex = await this.index(parent, op);
    return this.create(macvlanBody(kind, { ...f, parentIndex }, MACVLAN_MODES[mode]), op, f.name);
  }

  // Sends RTM_NEWLINK with NLM_F_CREATE | NLM_F_EXCL (an existing name is EEXIST) and
  // NLM_F_ECHO, so the kernel hands back the new link (rtnl_newlink_create, Linux >= 6.1)
  // without a second request; older kernels that do not echo get one RTM_GETLINK.
  private async create(body: Buffer[], operation: string, name: string): Promise<Link> {
    const flags = NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO;
    const parts = await this.socket.request(RTM_NEWLINK, flags, body, operation);
    const echoed = parts.find((m) => m.type === RTM_NEWLINK);
    if (echoed !== undefined) {
      const link = decodeLink(echoed);
      if (link.name === name) return link;
    }
    return this.get(name);
  }

  // Sends RTM_SETLINK for an existing link: `link set REF WHAT`.
  private async set(
    ref: LinkRef,
    what: string,
    ifi: { flags?: number; change?: number },
    attrs: Buffer[] = [],
  ): Promise<void> {
    const r = validateLinkRef(ref);
    await this.socket.request(RTM_SETLINK, 0, linkRefBody(r, ifi, attrs), `link set ${r} ${what}`);
  }
}
