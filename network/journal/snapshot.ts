// A borrowed link as it is before attach changes it: what the link read already says (MAC, MTU,
// txqueuelen, master, up), plus only the parts the attach is about to change — addresses and
// the routes through the link, or its ingress qdisc and filters — so a journal write costs no
// dump that the model does not need.
import type { Link, NetlinkClient } from '../netlink/index.js';
import { RTPROT_KERNEL } from '../endpoints/veth-handover.js';
import type { AddressSnapshot, LinkSnapshot, RouteSnapshot } from './entry.js';

/** Which parts of a link an attach is about to change. */
export interface SnapshotParts {
  /** Addresses (and with them the routes through the link). */
  addresses?: boolean;
  /** The ingress qdisc and its filters. */
  ingress?: boolean;
}

// Drops undefined fields so the entry's JSON is what parseEntry gives back.
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

// Everything `ip -json addr` would need to put the link back as it was.
/**
 * Snapshots `link` (already read) and the requested parts.
 * @throws {NetlinkError} a failed dump.
 */
export async function snapshotLink(
  nl: NetlinkClient,
  link: Link,
  parts: SnapshotParts,
): Promise<LinkSnapshot> {
  const snapshot: LinkSnapshot = defined({
    index: link.index,
    name: link.name,
    kind: link.kind,
    mac: link.mac,
    mtu: link.mtu,
    txqlen: link.txqlen,
    up: link.up,
    masterIndex: link.masterIndex,
  });
  if (parts.addresses) {
    const [addresses, routes] = await Promise.all([
      nl.addresses.list(link.index),
      nl.routes.list(),
    ]);
    snapshot.addresses = addresses.map(({ index: _i, ...a }): AddressSnapshot =>
      defined<AddressSnapshot>(a),
    );
    snapshot.routes = routes
      .filter((r) => r.oifIndex === link.index && r.protocol !== RTPROT_KERNEL)
      .map(({ oifIndex: _o, ...r }): RouteSnapshot => defined<RouteSnapshot>(r));
  }
  if (parts.ingress) {
    const present = await nl.tc.hasIngress(link.index);
    const prefs = present ? (await nl.tc.listRedirects(link.index)).map((f) => f.pref) : [];
    snapshot.ingress = { present, prefs: [...new Set(prefs)] };
  }
  return snapshot;
}
