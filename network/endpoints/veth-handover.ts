// What the macvtap and bridged models do to the veth so the guest can take its place on the
// CNI network: the guest gets the veth's MAC (the veth a fresh one) and the veth's addresses are
// cleared, so the host stack neither answers ARP for the guest's IP nor keeps its MAC. Routes
// through the veth vanish with its addresses (the kernel flushes them); detach restores the
// addresses, then every route that is missing, then the MAC.
import type { Address, Link, NetlinkClient, Route } from '../netlink/index.js';
import type { AttachRun } from './attach-run.js';
import { unlessGone } from './attach-run.js';
import { randomLocalMac } from './names.js';

/** rtm_protocol of routes the kernel adds with an address (RTPROT_KERNEL). */
export const RTPROT_KERNEL = 2;
/** IFA_F_NODAD (if_addr.h): the address was added without duplicate address detection. */
const IFA_F_NODAD = 0x02;

// Gives the veth a fresh locally administered MAC; detach puts the old one back.
/**
 * Step 'set veth mac'.
 * @throws {StepError} 'set veth mac'.
 */
export async function freshVethMac(run: AttachRun, veth: Link): Promise<void> {
  const old = veth.mac;
  if (old === undefined) return;
  await run.step('set veth mac', async (nl) => {
    await nl.links.setMac(veth.index, randomLocalMac());
    run.undo('restore veth mac', (client) =>
      unlessGone(() => client.links.setMac(veth.index, old)),
    );
  });
}

// Adds an address back, treating "already there" as done (detach, and the GC after a crash).
export async function restoreAddress(
  nl: NetlinkClient,
  index: number,
  a: Pick<Address, 'family' | 'address' | 'prefixLen' | 'flags'> & {
    broadcast?: string | undefined;
  },
): Promise<void> {
  try {
    await nl.addresses.add(index, `${a.address}/${a.prefixLen}`, {
      noDad: a.family === 6 && (a.flags & IFA_F_NODAD) !== 0,
      ...(a.family === 4 && a.broadcast !== undefined ? { broadcast: a.broadcast } : {}),
    });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
  }
}

// Adds a route back unless an equal one exists already (detach, and the GC after a crash).
export async function restoreRoute(
  nl: NetlinkClient,
  index: number,
  r: Pick<Route, 'family' | 'dst'> & Partial<Pick<Route, 'gateway' | 'mtu' | 'metric'>>,
): Promise<void> {
  const present = (await nl.routes.list()).some(
    (x) => x.dst === r.dst && x.gateway === r.gateway && x.oifIndex === index,
  );
  if (present) return;
  await nl.routes.add({
    dst: r.dst,
    family: r.family,
    dev: index,
    ...(r.gateway === undefined ? {} : { gateway: r.gateway }),
    ...(r.mtu === undefined ? {} : { mtu: r.mtu }),
    ...(r.metric === undefined ? {} : { metric: r.metric }),
  });
}

// The guest takes the veth's IP configuration; the host side must stop using it meanwhile.
/**
 * Step 'clear veth addresses': removes the veth's addresses (not IPv6 link-local ones) after
 * registering their restoration, with the non-kernel routes through the veth.
 * @throws {StepError} 'clear veth addresses'.
 */
export async function clearVethAddresses(run: AttachRun, veth: Link): Promise<void> {
  await run.step('clear veth addresses', async (nl) => {
    const addresses = (await nl.addresses.list(veth.index)).filter((a) => a.scope !== 'link');
    if (addresses.length === 0) return;
    const routes = (await nl.routes.list()).filter(
      (r) => r.oifIndex === veth.index && r.protocol !== RTPROT_KERNEL,
    );
    run.undo('restore veth addresses and routes', async (client) => {
      if ((await client.links.find(veth.index)) === undefined) return;
      for (const a of addresses) await restoreAddress(client, veth.index, a);
      for (const r of routes) await restoreRoute(client, veth.index, r);
    });
    // Secondaries first: deleting a primary IPv4 address takes its secondaries with it.
    for (const a of [...addresses].reverse()) {
      await unlessGone(() => nl.addresses.delete(veth.index, `${a.address}/${a.prefixLen}`));
    }
  });
}
