// Creating a macvtap whose /dev/tap<ifindex> cannot belong to another netns. The kernel names a
// macvtap's char device after its ifindex (drivers/net/macvtap.c: device_create(...,
// "tap%d", dev->ifindex)), ifindexes are per netns, and devtmpfs keeps the first of two equal
// names. Asking for an explicit, random, high ifindex (ifi_index in RTM_NEWLINK; EBUSY when it
// is taken in that netns) whose /dev/tapN does not exist avoids the collision kata hit
// (clearcontainers#708); openMacvtapQueues still checks the dev_t of every fd it opens.
import { existsSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { NLM_F_CREATE, NLM_F_EXCL, RTM_NEWLINK } from '../netlink/constants.js';
import type { NetlinkClient } from '../netlink/index.js';
import { MACVLAN_MODES } from '../netlink/index.js';
import { macvlanBody } from '../netlink/link-requests.js';
import { encodeIfInfoMsg } from '../netlink/message.js';
import { validateIfName, validateMac } from '../validate.js';

/** Explicit ifindexes are drawn from [IFINDEX_MIN, IFINDEX_MAX): far above what netns use. */
export const IFINDEX_MIN = 1 << 20;
export const IFINDEX_MAX = 1 << 30;
/** Fresh ifindexes tried before giving up (EBUSY in the netns, or /dev/tapN taken). */
const ATTEMPTS = 8;

/** A macvtap to create in bridge mode on `parentIndex`. */
export interface MacvtapLinkOptions {
  name: string;
  parentIndex: number;
  mac?: string;
  mtu?: number;
  /** Picks the candidate ifindex; injectable for tests. */
  pickIndex?: () => number;
  /** Whether a /dev node exists; injectable for tests. */
  devExists?: (path: string) => boolean;
}

// A random ifindex whose /dev/tapN is free right now.
function candidate(o: MacvtapLinkOptions): number {
  const pick = o.pickIndex ?? (() => randomInt(IFINDEX_MIN, IFINDEX_MAX));
  const exists = o.devExists ?? existsSync;
  for (let i = 0; i < ATTEMPTS; i++) {
    const index = pick();
    if (!exists(`/dev/tap${index}`)) return index;
  }
  throw new Error(`no free /dev/tapN among ${ATTEMPTS} random ifindexes`);
}

// The macvtap model and docs/faults.md T17 (parallel creates) need an ifindex no other netns's
// /dev/tapN has.
/**
 * Creates the macvtap with an explicit random ifindex and returns that ifindex.
 * @throws {ValidationError} a bad name or MAC.
 * @throws {NetlinkError} EEXIST when the name is taken; EBUSY only after every attempt.
 */
export async function createMacvtapLink(nl: NetlinkClient, o: MacvtapLinkOptions): Promise<number> {
  const name = validateIfName(o.name, 'name');
  const mac = o.mac === undefined ? undefined : validateMac(o.mac, 'mac');
  const fields = { name, mac, mtu: o.mtu, parentIndex: o.parentIndex };
  const body = macvlanBody('macvtap', fields, MACVLAN_MODES.bridge);
  for (let attempt = 1; ; attempt++) {
    const index = candidate(o);
    body[0] = encodeIfInfoMsg({ index });
    try {
      await nl.socket.request(
        RTM_NEWLINK,
        NLM_F_CREATE | NLM_F_EXCL,
        body,
        `link add macvtap ${name} index ${index}`,
      );
      return index;
    } catch (error) {
      // A taken ifindex: EBUSY, or EEXIST (the kernel finds the device by index first). EEXIST
      // is also a taken name: only retry when no link has our name.
      const code = (error as { code?: unknown }).code;
      const indexTaken =
        code === 'EBUSY' || (code === 'EEXIST' && (await nl.links.find(name)) === undefined);
      if (!indexTaken || attempt >= ATTEMPTS) throw error;
    }
  }
}
