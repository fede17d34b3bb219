// The crash journal: what an attach must remember outside its own process to undo changes to
// links it does not own (and which netns vmlaunch created), so a GC can undo them after a crash.
export {
  JOURNAL_VERSION,
  encodeEntry,
  entryFileName,
  parseEntry,
  type AddressSnapshot,
  type BorrowedLinkEntry,
  type CreatedKind,
  type CreatedLink,
  type IngressSnapshot,
  type JournalEntry,
  type JournalNetns,
  type LinkSnapshot,
  type NetnsEntry,
  type RouteSnapshot,
} from './entry.js';
export {
  ownerAlive,
  parseProcStat,
  realProc,
  selfOwner,
  type JournalOwner,
  type ProcReader,
  type ProcStat,
} from './owner.js';
export {
  JournalError,
  defaultJournalDir,
  ensureJournalDir,
  readJournal,
  removeEntry,
  writeEntry,
  type JournalContents,
  type JournalProblem,
  type StoredEntry,
} from './store.js';
export { findNetns, journalNetns, nsInode, type FoundNetns } from './netns-identity.js';
export { snapshotLink, type SnapshotParts } from './snapshot.js';
export { restoreBorrowedLink, type RestoreResult } from './restore.js';
