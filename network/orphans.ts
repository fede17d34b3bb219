// Finds and removes what vmlaunch left behind when its own process died mid-way (docs/faults.md
// T23): QEMU dies with us (death signal) and its non-persistent taps vanish, but persistent
// objects stay — our macvtaps and bridges (named vml<role><hex>, with an ifalias
// `vmlaunch:<nic>:<pid>:<start time>:<boot id>` naming a dead process of this boot),
// and on a CNI veth our u32 mirred redirects to a tap that no longer exists (pref 49152), with
// the ingress qdisc they hung on. What only the dead process knew — a veth's MAC, addresses,
// routes and master before the macvtap/bridged models changed them, the netns it created — is
// in the crash journal (network/journal), which the journal pass reads first. Links of live
// owners and anything not ours are left alone.
import { REDIRECT_PREF } from './endpoints/interworking-tcfilter.js';
import { ownerAlive as realOwnerAlive, realProc, type JournalOwner } from './journal/owner.js';
import { isReservedLinkName, parseOwnerAlias } from './endpoints/names.js';
import { defaultJournalDir } from './journal/store.js';
import { listNetns } from './netns/index.js';
import {
  deleteDeadNetns,
  readJournalState,
  restoreDeadLinks,
  type JournalPassOptions,
} from './orphans-journal.js';
import { netnsPath } from './netns/paths.js';
import { openNetlink, type NetlinkClient } from './netlink/index.js';
import type { Orphan } from './orphan-types.js';

export type { Orphan, OrphanKind } from './orphan-types.js';

/** What to look at, and whether to remove. */
export interface OrphanOptions {
  /** Netns names to look in; default every /run/netns entry and the caller's own netns. */
  netns?: string[];
  /** Only report (default false: remove). */
  dryRun?: boolean;
  /** Whether a pid is alive (a test seam): a label whose pid it calls dead is a dead owner's
   *  even while the pid runs; the owner's start time and boot id are checked as well. */
  alive?: (pid: number) => boolean;
  /** The crash journal's directory (default defaultJournalDir()); false: links and tc only. */
  journal?: string | false;
  /** Whether a journal entry's or a label's owner still runs (default: pid, start time and
   *  boot id). */
  ownerAlive?: (owner: JournalOwner) => boolean;
}

// kill(pid, 0): EPERM means it exists (someone else's), ESRCH that it is gone.
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Looks at one netns with an open client; removes unless dryRun.
async function collectIn(
  nl: NetlinkClient,
  netns: string,
  options: OrphanOptions,
  covered: Set<string>,
): Promise<Orphan[]> {
  const ownerAlive = (owner: JournalOwner): boolean =>
    (options.alive?.(owner.pid) ?? true) && (options.ownerAlive ?? realOwnerAlive)(owner);
  const boot = realProc.bootId();
  const found: Orphan[] = [];
  const act = async (orphan: Omit<Orphan, 'removed'>, remove: () => Promise<void>) => {
    const entry: Orphan = { ...orphan, removed: false };
    found.push(entry);
    if (options.dryRun) return;
    try {
      await remove();
      entry.removed = true;
    } catch (error) {
      entry.error = (error as Error).message;
    }
  };
  // Links the journal pass has dealt with (or, in a dry run, listed) are its own.
  const links = (await nl.links.list()).filter((l) => !covered.has(`${netns}/${l.name}`));
  for (const link of links) {
    // Ours only by name shape and a full label of a process of this boot that has ended.
    const label = parseOwnerAlias(link.alias);
    if (label === undefined || !isReservedLinkName(link.name)) continue;
    if (label.owner.boot !== boot || ownerAlive(label.owner)) continue;
    const { nicId, owner } = label;
    await act({ netns, kind: 'link', ifname: link.name, nicId, pid: owner.pid }, () =>
      nl.links.delete(link.index),
    );
  }
  const existing = new Set((await nl.links.list()).map((l) => l.index));
  for (const link of links.filter((l) => existing.has(l.index))) {
    if (!(await nl.tc.hasIngress(link.index))) continue;
    const filters = await nl.tc.listRedirects(link.index);
    const dangling = filters.filter(
      (f) => f.pref === REDIRECT_PREF && f.matchAll && !existing.has(f.targetIndex),
    );
    for (const f of dangling) {
      await act({ netns, kind: 'redirect', ifname: link.name }, () =>
        nl.tc.deleteRedirect(link.index, { pref: f.pref }),
      );
    }
    // An ingress qdisc whose only filters were our dangling redirects was ours: it goes too.
    if (dangling.length > 0 && dangling.length === filters.length) {
      await act({ netns, kind: 'ingress-qdisc', ifname: link.name }, () =>
        nl.tc.deleteIngress(link.index),
      );
    }
  }
  return found;
}

/**
 * Finds (and unless dryRun removes) what a dead vmlaunch process left in the given netns:
 * first the journal's borrowed links (put back), then links and redirects by label, then the
 * netns it created. Journal entries of live owners are not touched; malformed ones are
 * reported (removed: false) and kept.
 * @throws {ValidationError} a malformed netns name; netlink errors of the listing itself.
 */
export async function collectOrphans(options: OrphanOptions = {}): Promise<Orphan[]> {
  const found: Orphan[] = [];
  const dir = options.journal ?? defaultJournalDir();
  const pass: JournalPassOptions | undefined =
    dir === false
      ? undefined
      : {
          dir,
          netns: options.netns,
          dryRun: options.dryRun === true,
          alive: options.alive ?? pidAlive,
          ...(options.ownerAlive ? { ownerAlive: options.ownerAlive } : {}),
        };
  const journal = pass === undefined ? undefined : readJournalState(pass);
  const covered = new Set<string>();
  if (pass !== undefined && journal !== undefined) {
    found.push(...journal.reported, ...(await restoreDeadLinks(journal, pass, covered)));
  }
  const targets = options.netns ?? ['', ...listNetns()];
  for (const netns of targets) {
    const nl = openNetlink(netns === '' ? undefined : netnsPath(netns));
    try {
      found.push(...(await collectIn(nl, netns, options, covered)));
    } finally {
      await nl.close();
    }
  }
  if (pass !== undefined && journal !== undefined) {
    found.push(...(await deleteDeadNetns(journal, pass)));
  }
  return found;
}
