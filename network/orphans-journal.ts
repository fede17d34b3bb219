// How the GC reads the crash journal (docs/faults.md T23): entries whose owner is dead (pid gone,
// or reused — the start time differs) are acted on. A borrowed link is put back as its snapshot
// says and the links the attach made next to it are deleted; a netns vmlaunch created is
// deleted unless something of a live owner is still in it. An entry goes only when its work is
// done. Entries of live owners are never touched; a malformed entry is reported and kept.
import { existsSync } from 'node:fs';
import { findNetns, nsInode } from './journal/netns-identity.js';
import type { BorrowedLinkEntry, NetnsEntry } from './journal/entry.js';
import { ownerAlive as realOwnerAlive, realProc, type JournalOwner } from './journal/owner.js';
import { restoreBorrowedLink } from './journal/restore.js';
import { parseOwnerAlias } from './endpoints/names.js';
import { readJournal, removeEntry, type StoredEntry } from './journal/store.js';
import { openNetlink } from './netlink/index.js';
import { deleteNetns } from './netns/named.js';
import { netnsPath } from './netns/paths.js';
import type { Orphan } from './orphan-types.js';

/** What the journal pass needs from collectOrphans' options. */
export interface JournalPassOptions {
  dir: string;
  netns: string[] | undefined;
  dryRun: boolean;
  ownerAlive?: (owner: JournalOwner) => boolean;
  /** Whether a pid from an ifalias is alive. */
  alive: (pid: number) => boolean;
}

type Stored<E> = StoredEntry & { entry: E };

/** The journal read and split by owner, ready for the two passes. */
export interface JournalState {
  deadLinks: Stored<BorrowedLinkEntry>[];
  deadNetns: Stored<NetnsEntry>[];
  live: StoredEntry[];
  /** Malformed entries and unreadable dirs, already reported. */
  reported: Orphan[];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Reads the journal once; problems become report lines (kept, so removed: false).
/** Reads `dir` and sorts its entries into dead and live; nothing is changed but stale temps. */
export function readJournalState(options: JournalPassOptions): JournalState {
  const state: JournalState = { deadLinks: [], deadNetns: [], live: [], reported: [] };
  const problem = (entry: string, error: string): void =>
    void state.reported.push({
      netns: '',
      kind: 'journal-entry',
      ifname: '',
      entry,
      removed: false,
      error,
    });
  let contents;
  try {
    contents = readJournal(options.dir);
  } catch (error) {
    problem(options.dir, messageOf(error));
    return state;
  }
  for (const p of contents.problems) problem(p.file, `malformed, kept: ${p.error}`);
  for (const file of contents.staleTemps) {
    const orphan: Orphan = {
      netns: '',
      kind: 'journal-temp',
      ifname: '',
      entry: file,
      removed: false,
    };
    state.reported.push(orphan);
    if (options.dryRun) continue;
    try {
      removeEntry(file);
      orphan.removed = true;
    } catch (error) {
      orphan.error = messageOf(error);
    }
  }
  const alive = options.ownerAlive ?? realOwnerAlive;
  const boot = realProc.bootId();
  for (const stored of contents.entries) {
    // A reboot took every netns and link it describes; names and inodes now mean others.
    if (stored.entry.owner.boot !== boot) {
      const orphan: Orphan = {
        netns: '',
        kind: 'journal-entry',
        ifname: '',
        entry: stored.file,
        detail: 'written in another boot: not acted on',
        removed: false,
      };
      state.reported.push(orphan);
      finish(orphan, stored.file, options.dryRun);
      continue;
    }
    let dead: boolean;
    try {
      dead = !alive(stored.entry.owner);
    } catch (error) {
      problem(stored.file, `cannot tell whether its owner lives, kept: ${messageOf(error)}`);
      continue;
    }
    if (!dead) state.live.push(stored);
    else if (stored.entry.kind === 'netns') state.deadNetns.push(stored as Stored<NetnsEntry>);
    else state.deadLinks.push(stored as Stored<BorrowedLinkEntry>);
  }
  // Two attaches on one link are undone like an undo stack: newest first.
  state.deadLinks.sort((a, b) => b.entry.at - a.entry.at || (a.file < b.file ? 1 : -1));
  return state;
}

// Removes the entry after its work is done (not in a dry run); a failure is the line's error.
function finish(orphan: Orphan, file: string, dryRun: boolean): void {
  if (dryRun || orphan.error !== undefined) return;
  try {
    removeEntry(file);
    orphan.removed = true;
  } catch (error) {
    orphan.error = `restored, but the entry could not be removed: ${messageOf(error)}`;
  }
}

// One dead attach: find its netns, put its link back, drop its entry.
async function restoreOne(stored: Stored<BorrowedLinkEntry>, options: JournalPassOptions) {
  const { entry, file } = stored;
  const where = findNetns(entry.netns);
  const label = where?.label ?? entry.netns.ref ?? `/proc/${entry.owner.pid}/ns/net`;
  if (options.netns !== undefined && !options.netns.includes(label)) return undefined;
  const orphan: Orphan = {
    netns: label,
    kind: 'borrowed-link',
    ifname: entry.link.name,
    nicId: entry.nicId,
    pid: entry.owner.pid,
    entry: file,
    restored: [],
    removed: false,
  };
  if (where === undefined) {
    orphan.detail = 'its netns is gone: nothing to put back';
  } else {
    try {
      const nl = openNetlink(where.ref);
      try {
        const result = await restoreBorrowedLink(nl, entry, options.dryRun);
        orphan.restored = result.done;
        if (result.gone) orphan.detail = 'the link is gone: nothing to put back';
        if (result.errors.length > 0) orphan.error = result.errors.join('; ');
      } finally {
        await nl.close();
      }
    } catch (error) {
      orphan.error = messageOf(error);
    }
  }
  finish(orphan, file, options.dryRun);
  return orphan;
}

/**
 * Restores the borrowed links of dead owners (newest entry first); `covered` gets
 * `<netns>/<link>` of each borrowed link and of the links its attach made, which the label
 * pass then leaves to this one (a dry run would list them twice).
 */
export async function restoreDeadLinks(
  state: JournalState,
  options: JournalPassOptions,
  covered: Set<string>,
): Promise<Orphan[]> {
  const found: Orphan[] = [];
  for (const stored of state.deadLinks) {
    const orphan = await restoreOne(stored, options);
    if (orphan === undefined) continue;
    found.push(orphan);
    for (const name of [orphan.ifname, ...stored.entry.creates.map((c) => c.name)]) {
      covered.add(`${orphan.netns}/${name}`);
    }
  }
  return found;
}

// Who still uses a netns: a live owner's entry about it, or a link labelled by a live pid.
async function liveUser(name: string, state: JournalState, options: JournalPassOptions) {
  const ino = nsInode(netnsPath(name));
  for (const { entry } of state.live) {
    const about = entry.kind === 'netns' ? entry.name === name : entry.netns.ino === ino;
    if (about) return `vmlaunch pid ${entry.owner.pid} (alive) has an entry about it`;
  }
  const nl = openNetlink(name);
  try {
    for (const link of await nl.links.list()) {
      const owner = parseOwnerAlias(link.alias)?.owner;
      const living = (o: JournalOwner): boolean =>
        options.alive(o.pid) && (options.ownerAlive ?? realOwnerAlive)(o);
      if (owner !== undefined && living(owner))
        return `${link.name} belongs to vmlaunch pid ${owner.pid} (alive)`;
    }
  } finally {
    await nl.close();
  }
  return undefined;
}

// One netns whose creator died: deleted if it is still the one it made, and unused.
async function deleteOne(
  stored: Stored<NetnsEntry>,
  state: JournalState,
  options: JournalPassOptions,
) {
  const { entry, file } = stored;
  const orphan: Orphan = {
    netns: entry.name,
    kind: 'netns',
    ifname: '',
    pid: entry.owner.pid,
    entry: file,
    removed: false,
  };
  try {
    const path = netnsPath(entry.name);
    const ino = nsInode(path);
    if (!existsSync(path)) {
      orphan.detail = 'already gone';
    } else if (entry.ino === undefined) {
      // The creation was cut short before the inode was recorded: whatever has the name now
      // cannot be told from someone else's netns.
      orphan.error =
        'the entry records no inode (its creation was cut short), so this netns cannot be ' +
        'told from another of that name: kept (delete it by hand if it is the one)';
    } else if (ino !== entry.ino) {
      orphan.detail = 'another netns has that name now: left alone';
    } else {
      const user = await liveUser(entry.name, state, options);
      if (user !== undefined) orphan.error = `still in use, kept: ${user}`;
      else if (!options.dryRun) deleteOrGone(entry.name);
    }
  } catch (error) {
    orphan.error = messageOf(error);
  }
  finish(orphan, file, options.dryRun);
  return orphan;
}

// A creation cut short may have left only the placeholder file, or nothing.
function deleteOrGone(name: string): void {
  try {
    deleteNetns(name);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
}

/** Deletes the netns of dead creators (after the link passes, which may work inside them). */
export async function deleteDeadNetns(
  state: JournalState,
  options: JournalPassOptions,
): Promise<Orphan[]> {
  const found: Orphan[] = [];
  for (const stored of state.deadNetns) {
    if (options.netns !== undefined && !options.netns.includes(stored.entry.name)) continue;
    found.push(await deleteOne(stored, state, options));
  }
  return found;
}
