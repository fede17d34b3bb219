// Puts a borrowed link back as a dead attach's journal entry describes it: first the links the
// attach made next to it go (by name, only if unlabelled or labelled by that very NIC and pid:
// the attach may have died between creating and labelling them), then the link's tc objects
// that were not there before (our ingress redirects, our rate-limit tbf), its master, MAC, MTU, txqueuelen, up state, and every address and
// route it lost. Each change is made only where the link differs from the snapshot, so a run
// after a crash at any point (or a second run) does exactly what is missing.
import type { NetlinkClient } from '../netlink/index.js';
import { isGone } from '../endpoints/attach-run.js';
import { ownerAlias } from '../endpoints/names.js';
import { RATE_QDISC_HANDLE } from '../endpoints/rate-limit.js';
import { restoreAddress, restoreRoute } from '../endpoints/veth-handover.js';
import type { BorrowedLinkEntry, LinkSnapshot } from './entry.js';

/** What a restore did (or, in a dry run, would do). */
export interface RestoreResult {
  /** One phrase per change: 'delete macvtap vmlm1a2b3c4d', 'set mac 02:..', 'add address 10.0.0.2/24'. */
  done: string[];
  /** Changes that failed, each naming the change. */
  errors: string[];
  /** The borrowed link no longer exists (nothing to put back). */
  gone: boolean;
}

// Collects each change as a phrase, and runs it unless this is a dry run.
class Changes {
  readonly result: RestoreResult = { done: [], errors: [], gone: false };
  /** ifindexes of the created links deleted (a dry run: that would be). */
  readonly deleted = new Set<number>();
  constructor(readonly dryRun: boolean) {}
  async apply(what: string, change: () => Promise<void>): Promise<void> {
    if (this.dryRun) {
      this.result.done.push(what);
      return;
    }
    try {
      await change();
      this.result.done.push(what);
    } catch (error) {
      if (isGone(error)) return;
      this.result.errors.push(`${what}: ${(error as Error).message}`);
    }
  }
}

// The links the attach made: ours unless someone else's label says otherwise.
async function deleteCreated(nl: NetlinkClient, entry: BorrowedLinkEntry, c: Changes) {
  const label = ownerAlias(entry.nicId, entry.owner);
  for (const made of entry.creates) {
    const link = await nl.links.find(made.name);
    if (link === undefined || link.kind !== made.kind) continue;
    if (link.alias !== undefined && link.alias !== label) continue;
    await c.apply(`delete ${made.kind} ${made.name}`, () => nl.links.delete(link.index));
    c.deleted.add(link.index);
  }
}

// tc objects on the link that the snapshot does not know: the qdisc we added, or on a qdisc
// that was there before, match-all redirects to a link that no longer exists.
async function restoreIngress(nl: NetlinkClient, snap: LinkSnapshot, c: Changes) {
  const before = snap.ingress;
  if (before === undefined || !(await nl.tc.hasIngress(snap.index))) return;
  if (!before.present) {
    await c.apply('remove ingress qdisc', () => nl.tc.deleteIngress(snap.index));
    return;
  }
  const existing = new Set((await nl.links.list()).map((l) => l.index));
  const stale = (await nl.tc.listRedirects(snap.index)).filter(
    (f) => !before.prefs.includes(f.pref) && f.matchAll && !existing.has(f.targetIndex),
  );
  for (const pref of new Set(stale.map((f) => f.pref))) {
    await c.apply(`remove redirect pref ${pref}`, () => nl.tc.deleteRedirect(snap.index, { pref }));
  }
}

// A rate limit of ours (root tbf 766d:, set at attach or live, so the snapshot cannot know it):
// deleted, the kernel's default root comes back; restoreLink then puts the txqueuelen back.
async function restoreRoot(nl: NetlinkClient, snap: LinkSnapshot, c: Changes) {
  const root = await nl.tc.root(snap.index);
  if (root?.handle !== RATE_QDISC_HANDLE) return;
  await c.apply('remove rate limit (root tbf 766d:)', () => nl.tc.deleteRoot(snap.index));
}

// Link attributes, then addresses (the link up first: routes need it), then routes.
async function restoreLink(nl: NetlinkClient, snap: LinkSnapshot, c: Changes) {
  const now = (await nl.links.find(snap.index))!;
  const i = snap.index;
  // A dry run does not delete our bridge, so the veth is still its port: no change to list.
  const masterGoes = c.dryRun && now.masterIndex !== undefined && c.deleted.has(now.masterIndex);
  if (now.masterIndex !== snap.masterIndex && !masterGoes) {
    const master = snap.masterIndex;
    await c.apply(master === undefined ? 'release from master' : `set master ${master}`, () =>
      master === undefined ? nl.links.setNoMaster(i) : nl.links.setMaster(i, master),
    );
  }
  const mac = snap.mac;
  if (mac !== undefined && now.mac !== mac)
    await c.apply(`set mac ${mac}`, () => nl.links.setMac(i, mac));
  if (now.mtu !== snap.mtu)
    await c.apply(`set mtu ${snap.mtu}`, () => nl.links.setMtu(i, snap.mtu));
  if (now.txqlen !== snap.txqlen)
    await c.apply(`set txqueuelen ${snap.txqlen}`, () => nl.links.setTxqlen(i, snap.txqlen));
  if (snap.up && !now.up) await c.apply('set up', () => nl.links.setUp(i));
  if (snap.addresses !== undefined) {
    const have = new Set((await nl.addresses.list(i)).map((a) => `${a.address}/${a.prefixLen}`));
    // Link-local addresses are the kernel's (attach never removes them), as in detach.
    for (const a of snap.addresses.filter((x) => x.scope !== 'link')) {
      const cidr = `${a.address}/${a.prefixLen}`;
      if (!have.has(cidr)) await c.apply(`add address ${cidr}`, () => restoreAddress(nl, i, a));
    }
  }
  if (snap.routes !== undefined && snap.routes.length > 0) {
    // Read after the addresses are back (their kernel routes with them); only missing ones count.
    const routes = await nl.routes.list();
    for (const r of snap.routes) {
      const via = r.gateway === undefined ? '' : ` via ${r.gateway}`;
      if (routes.some((x) => x.dst === r.dst && x.gateway === r.gateway && x.oifIndex === i))
        continue;
      await c.apply(`add route ${r.dst}${via}`, () => restoreRoute(nl, i, r));
    }
  }
  if (!snap.up && now.up) await c.apply('set down', () => nl.links.setDown(i));
}

// The GC's half of a journal entry: the inverse of whatever the dead attach got to do.
/**
 * Restores the borrowed link of `entry` with a client in its netns.
 * @throws {NetlinkError} when reading the current state fails (changes that fail are in
 *   `errors`, not thrown).
 */
export async function restoreBorrowedLink(
  nl: NetlinkClient,
  entry: BorrowedLinkEntry,
  dryRun = false,
): Promise<RestoreResult> {
  const c = new Changes(dryRun);
  await deleteCreated(nl, entry, c);
  const snap = entry.link;
  const now = await nl.links.find(snap.index);
  if (now === undefined) {
    c.result.gone = true;
    return c.result;
  }
  if (now.name !== snap.name) {
    c.result.errors.push(`ifindex ${snap.index} is now ${now.name}, not ${snap.name}: left alone`);
    return c.result;
  }
  await restoreIngress(nl, snap, c);
  await restoreRoot(nl, snap, c);
  await restoreLink(nl, snap, c);
  return c.result;
}
