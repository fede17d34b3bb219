// What collectOrphans reports, in a module of its own so the journal pass (orphans-journal.ts)
// and the link pass (orphans.ts) can both use it without importing each other.

/**
 * What an orphan is: one of our links, a dangling redirect, its ingress qdisc; a borrowed link
 * put back from its journal entry; a netns we created; a journal entry that is malformed (kept)
 * or a temp file of a writer that died mid-write.
 */
export type OrphanKind =
  | 'link'
  | 'redirect'
  | 'ingress-qdisc'
  | 'borrowed-link'
  | 'netns'
  | 'journal-entry'
  | 'journal-temp';

/** One thing left behind, and whether it was removed (for journal entries: dealt with). */
export interface Orphan {
  /** Netns name, or '' for the caller's own netns (a path for a netns known only by path). */
  netns: string;
  kind: OrphanKind;
  /** The link it is (or hangs on); '' for a netns or a journal file. */
  ifname: string;
  /** The NIC id and the dead owner pid (from the alias or the journal entry). */
  nicId?: string;
  pid?: number;
  /** The journal file it came from. */
  entry?: string;
  /** For a borrowed link: the changes that put it back ('set mac ..'; a dry run: would). */
  restored?: string[];
  /** Why nothing needed doing ('its netns is gone: nothing to put back'...). */
  detail?: string;
  removed: boolean;
  error?: string;
}
