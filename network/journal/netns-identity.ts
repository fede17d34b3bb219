// Which network namespace a journal entry is about, found again after the writer died. A name
// or a path can point to another netns by then (a netns deleted and a new one made under the
// same name; /proc/<pid>/ns/net of a reused pid), so the nsfs inode recorded at attach decides.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { listNetns } from '../netns/named.js';
import { NETNS_RUN_DIR, resolveNetns } from '../netns/paths.js';
import type { JournalNetns } from './entry.js';

const OWN = '/proc/self/ns/net';

function fileOf(ref: string | undefined): string {
  return ref === undefined ? OWN : resolveNetns(ref);
}

// Taken on the attach path: one stat.
/**
 * The identity of the netns attach works in (`ref` as AttachContext.netns: a name, a path, or
 * undefined for our own).
 * @throws {Error} from stat when the netns file does not exist.
 */
export function journalNetns(ref: string | undefined): JournalNetns {
  const ino = statSync(fileOf(ref)).ino;
  return ref === undefined ? { ino } : { ref, ino };
}

/** Where a recorded netns is now, for openNetlink; `label` is how the GC report names it. */
export interface FoundNetns {
  /** openNetlink's argument: a name, a path, or undefined for the GC's own netns. */
  ref: string | undefined;
  /** The /run/netns name, '' for the GC's own netns, or the path. */
  label: string;
}

// The nsfs inode behind a path, or undefined when it is missing or not a netns (a stale
// /run/netns placeholder is a plain tmpfs file on another device).
/** st_ino of the netns at `path`; undefined when there is none there. */
export function nsInode(path: string): number | undefined {
  try {
    const st = statSync(path);
    return st.dev === statSync(OWN).dev ? st.ino : undefined;
  } catch {
    return undefined;
  }
}

// The GC acts only in the very netns the entry was written in.
/**
 * Finds the recorded netns: under its recorded name or path, as the GC's own netns, or under
 * any /run/netns name; undefined when it exists nowhere we can reach (gone, or anonymous and
 * held only by the dead process).
 */
export function findNetns(recorded: JournalNetns): FoundNetns | undefined {
  const { ref, ino } = recorded;
  if (ref !== undefined && !ref.startsWith('/proc/self/') && nsInode(fileOf(ref)) === ino) {
    return { ref, label: ref };
  }
  if (nsInode(OWN) === ino) return { ref: undefined, label: '' };
  for (const name of listNetns()) {
    if (nsInode(join(NETNS_RUN_DIR, name)) === ino) return { ref: name, label: name };
  }
  return undefined;
}
