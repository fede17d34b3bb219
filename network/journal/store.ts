// The journal directory: one file per entry, written atomically (temp file, link into place) so
// a crash of our process leaves either the whole entry or none, and never
// replaces an entry someone else is counting on (link(2) fails with EEXIST where rename would
// overwrite). The directory must be private: a symlinked, foreign, or group/world-accessible
// one is refused (docs/faults.md T21; kata CVE-2020-2026). No fsync: the page cache outlives
// a killed process, and what would lose it (a host crash) also takes the netns and links the
// entries describe, with the boot id marking every entry dead (an fsync would add a disk flush to
// every attach).
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { VmlaunchError } from '../../core/index.js';
import { encodeEntry, entryFileName, parseEntry, type JournalEntry } from './entry.js';

/** A journal directory or file could not be used; `path` names it. */
export class JournalError extends VmlaunchError {
  readonly path: string;
  constructor(code: string, path: string, message: string, options?: { cause?: unknown }) {
    super(message, code, options);
    this.path = path;
  }
}

// Mirrors launcher/control/runtime-dir.ts defaultRuntimeRoot (network cannot import launcher);
// '.journal' can never be a VM's runtime dir, since a VM name cannot start with '.'.
/** VMLAUNCH_JOURNAL_DIR, else `<runtime root>/.journal` (root: /run/vmlaunch/.journal). */
export function defaultJournalDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VMLAUNCH_JOURNAL_DIR) return env.VMLAUNCH_JOURNAL_DIR;
  const uid = process.getuid?.() ?? 0;
  const root =
    env.VMLAUNCH_RUNTIME_DIR ||
    (uid === 0 ? '/run/vmlaunch' : join(env.XDG_RUNTIME_DIR ?? '/tmp', `vmlaunch-${uid}`));
  return join(root, '.journal');
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

// The checks T21 asks for, on the directory and on its parent.
function checkDir(path: string, parent: boolean): void {
  const uid = process.getuid?.() ?? 0;
  const st = lstatSync(path);
  const mode = st.mode & 0o7777;
  const why = st.isSymbolicLink()
    ? 'it is a symbolic link'
    : !st.isDirectory()
      ? 'it is not a directory'
      : st.uid !== uid && !(parent && st.uid === 0)
        ? `it is owned by uid ${st.uid}, not by us (uid ${uid})`
        : mode & (parent ? 0o022 : 0o077)
          ? `its mode is ${mode.toString(8).padStart(4, '0')} (${parent ? 'group/world-writable' : 'expected 0700'})`
          : undefined;
  if (why !== undefined)
    throw new JournalError('UNSAFE_JOURNAL_DIR', path, `refusing journal dir ${path}: ${why}`);
}

// The writer creates the directory (0700) and checks it every time: it could be swapped.
/**
 * Makes `dir` (and its parents) exist and checks that it is private.
 * @throws {JournalError} UNSAFE_JOURNAL_DIR; Node's fs errors when it cannot be made.
 */
export function ensureJournalDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (errno(error) !== 'EEXIST') throw error;
  }
  checkDir(dirname(dir), true);
  checkDir(dir, false);
}

// Written before the change it describes: when it returns, the entry survives our process.
/**
 * Writes `entry` as `<dir>/<entryFileName(entry)>`; returns the file's path. Exclusive
 * unless `replace` (then an older entry of that name is replaced atomically).
 * @throws {JournalError} JOURNAL_EXISTS when that entry exists already (it is kept),
 *   UNSAFE_JOURNAL_DIR, or JOURNAL_WRITE with the fs error as cause.
 */
export function writeEntry(dir: string, entry: JournalEntry, replace = false): string {
  ensureJournalDir(dir);
  const name = entryFileName(entry);
  const file = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeSync(fd, encodeEntry(entry));
    } finally {
      closeSync(fd);
    }
    if (replace) {
      renameSync(tmp, file);
    } else {
      try {
        linkSync(tmp, file);
      } finally {
        unlinkSync(tmp);
      }
    }
  } catch (error) {
    if (errno(error) === 'EEXIST')
      throw new JournalError('JOURNAL_EXISTS', file, `journal entry ${file} exists already`, {
        cause: error,
      });
    throw new JournalError('JOURNAL_WRITE', file, `writing journal entry ${file} failed`, {
      cause: error,
    });
  }
  return file;
}

// Once the change is undone the entry has nothing left to say.
/** Removes an entry file; a missing one is fine. @throws Node's fs errors otherwise. */
export function removeEntry(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw error;
  }
}

/** An entry read back, with its file. */
export interface StoredEntry {
  file: string;
  entry: JournalEntry;
}

/** A file of the journal that is not a usable entry (kept for a human to look at). */
export interface JournalProblem {
  file: string;
  error: string;
}

/** What readJournal found. */
export interface JournalContents {
  entries: StoredEntry[];
  problems: JournalProblem[];
  /** Temp files of writers that died mid-write (nothing was changed after them). */
  staleTemps: string[];
}

const ENTRY_NAME = /^(\d+)-[A-Za-z0-9_.-]+\.(link|netns)\.json$/;
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{6}\.tmp$/;

// kill(pid, 0): a temp file's writer is known only by pid (no start time in a name).
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === 'EPERM';
  }
}

// Reads one entry file without following a symlink planted in its place.
function readEntryFile(file: string, pid: number, kind: string): JournalEntry {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new Error('not a regular file');
    const entry = parseEntry(readFileSync(fd, 'utf8'));
    if (entry.owner.pid !== pid) throw new Error(`owner pid ${entry.owner.pid} is not ${pid}`);
    if (entry.kind !== (kind === 'link' ? 'borrowed-link' : 'netns'))
      throw new Error(`a ${entry.kind} entry in a .${kind}.json file`);
    return entry;
  } finally {
    closeSync(fd);
  }
}

// The GC reads everything and decides; nothing here deletes an entry.
/**
 * Reads every entry of `dir` (none when it does not exist); malformed files are problems.
 * @throws {JournalError} UNSAFE_JOURNAL_DIR; Node's fs errors when `dir` cannot be listed.
 */
export function readJournal(dir: string): JournalContents {
  const out: JournalContents = { entries: [], problems: [], staleTemps: [] };
  try {
    lstatSync(dir);
  } catch (error) {
    if (errno(error) === 'ENOENT') return out;
    throw error;
  }
  checkDir(dir, false);
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name);
    const temp = TEMP_NAME.exec(name);
    if (temp) {
      if (!pidExists(Number(temp[1]))) out.staleTemps.push(file);
      continue;
    }
    const m = ENTRY_NAME.exec(name);
    if (!m) {
      out.problems.push({ file, error: 'not a journal entry name' });
      continue;
    }
    try {
      out.entries.push({ file, entry: readEntryFile(file, Number(m[1]), m[2]!) });
    } catch (error) {
      out.problems.push({ file, error: (error as Error).message });
    }
  }
  return out;
}
