// Named network namespaces the way iproute2 makes them (ip/ipnetns.c: netns_add, netns_delete),
// without spawning `ip`: a shared /run/netns, an O_EXCL placeholder file, and a bind mount of
// a fresh netns onto it made by the addon.
import {
  chmodSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import * as native from '../../native/index.js';
import { MountFlags } from '../../native/index.js';
import { NetnsError, errorCode } from './errors.js';
import { NETNS_RUN_DIR, netnsPath } from './paths.js';
import { selfOwner } from '../journal/owner.js';
import { defaultJournalDir, removeEntry, writeEntry } from '../journal/store.js';

/** The addon calls named netns management makes; injectable so failure paths can be tested. */
export interface NetnsNative {
  netnsCreate(path: string): void;
  mount(source: string | null, target: string, fstype: string | null, flags: number): void;
  umount(target: string, flags: number): void;
}

const realNative: NetnsNative = {
  netnsCreate: native.netnsCreate,
  mount: native.mount,
  umount: native.umount,
};

/** A named netns we created: delete it explicitly or with `using`. */
export interface NamedNetns extends Disposable {
  readonly name: string;
  /** /run/netns/NAME, usable as the `netns` argument of the native primitives. */
  readonly path: string;
  /** Unmounts and removes the netns; a second call does nothing. */
  delete(): void;
}

// Makes /run/netns exist (0755) and a shared mount point, so that unmounting a netns file in
// one mount namespace unmounts it everywhere and the netns can be freed (iproute2's comment).
function ensureRunDir(sys: NetnsNative): void {
  try {
    mkdirSync(NETNS_RUN_DIR, { mode: 0o755 });
    chmodSync(NETNS_RUN_DIR, 0o755); // mkdir's mode is filtered by the umask
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
  }
  let madeMountPoint = false;
  for (;;) {
    try {
      sys.mount(null, NETNS_RUN_DIR, 'none', MountFlags.MS_SHARED | MountFlags.MS_REC);
      return;
    } catch (error) {
      // EINVAL: /run/netns is not a mount point yet; bind it onto itself once, then retry.
      if (errorCode(error) !== 'EINVAL' || madeMountPoint) throw error;
      sys.mount(NETNS_RUN_DIR, NETNS_RUN_DIR, 'none', MountFlags.MS_BIND | MountFlags.MS_REC);
      madeMountPoint = true;
    }
  }
}

// Names the failure of a step with the errno name of what the syscall threw.
function failure(
  operation: 'create' | 'delete',
  name: string,
  path: string,
  step: string,
  cause: unknown,
  rollbackError?: unknown,
): NetnsError {
  const code = errorCode(cause) ?? 'UNKNOWN';
  const reason = `${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`;
  return new NetnsError(operation, name, path, code, reason, { cause, rollbackError });
}

// Callers need a netns that `ip netns list`, `ip -n NAME` and other tools see, made without
// spawning `ip`; the returned handle deletes it. A journal entry names it from the moment its
// file exists until the handle deletes it, so a GC can delete it if we are killed meanwhile.
/**
 * Creates the named netns `name` at /run/netns/NAME. Nothing is left behind on failure.
 * `journal`: the crash journal's directory (default defaultJournalDir()), or false for none.
 * @throws {ValidationError} when `name` is not a valid netns name (before any syscall).
 * @throws {NetnsError} code 'EEXIST' when the name is taken (the existing one is untouched),
 *   or the errno name of the step that failed (mkdir, mount, unshare, journal...).
 */
export function createNetns(
  name: string,
  sys: NetnsNative = realNative,
  journal: string | false = defaultJournalDir(),
): NamedNetns {
  const path = netnsPath(name);
  try {
    ensureRunDir(sys);
  } catch (error) {
    throw failure('create', name, path, `preparing ${NETNS_RUN_DIR}`, error);
  }
  try {
    // O_EXCL: an existing netns of that name is never reused nor touched.
    closeSync(openSync(path, constants.O_RDONLY | constants.O_CREAT | constants.O_EXCL, 0));
  } catch (error) {
    if (errorCode(error) === 'EEXIST') {
      throw new NetnsError('create', name, path, 'EEXIST', 'a netns of that name exists', {
        cause: error,
      });
    }
    throw failure('create', name, path, `creating ${path}`, error);
  }
  let step = 'journalling it';
  let entry: string | undefined;
  try {
    entry = journalNetnsEntry(journal, name);
    step = 'binding a new netns';
    sys.netnsCreate(path);
    step = 'journalling its inode';
    journalNetnsEntry(journal, name, statSync(path).ino);
  } catch (error) {
    const rollbackError = undoCreate(sys, path, step === 'journalling its inode', entry);
    throw failure('create', name, path, step, error, rollbackError);
  }
  return namedHandle(name, path, sys, entry);
}

// Writes (or with the inode, rewrites) our entry for `name`; undefined without a journal.
function journalNetnsEntry(journal: string | false, name: string, ino?: number) {
  if (journal === false) return undefined;
  const entry = { version: 1, kind: 'netns', owner: selfOwner(), at: Date.now(), name } as const;
  return writeEntry(journal, ino === undefined ? entry : { ...entry, ino }, true);
}

// Takes back a create that failed half-way; returns the first error of doing so.
function undoCreate(sys: NetnsNative, path: string, bound: boolean, entry?: string): unknown {
  let first: unknown;
  const attempt = (action: () => void): void => {
    try {
      action();
    } catch (error) {
      first ??= error;
    }
  };
  if (bound) attempt(() => sys.umount(path, MountFlags.MNT_DETACH));
  attempt(() => unlinkSync(path));
  if (entry !== undefined) attempt(() => removeEntry(entry));
  return first;
}

// Wraps a created netns so it can be deleted once, explicitly or by disposal.
function namedHandle(name: string, path: string, sys: NetnsNative, entry?: string): NamedNetns {
  let deleted = false;
  const remove = (): void => {
    if (deleted) return;
    deleteNetns(name, sys);
    deleted = true;
    if (entry !== undefined) removeEntry(entry);
  };
  return { name, path, delete: remove, [Symbol.dispose]: remove };
}

// Releases a named netns like `ip netns delete`: the netns itself goes away once no process
// or fd holds it any more.
/**
 * Unmounts (MNT_DETACH) and removes /run/netns/NAME.
 * @throws {ValidationError} when `name` is not a valid netns name (before any syscall).
 * @throws {NetnsError} code 'ENOENT' when there is no netns of that name, or the errno name of
 *   the umount/unlink that failed.
 */
export function deleteNetns(name: string, sys: NetnsNative = realNative): void {
  const path = netnsPath(name);
  try {
    sys.umount(path, MountFlags.MNT_DETACH);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') {
      throw new NetnsError('delete', name, path, 'ENOENT', 'no netns of that name', {
        cause: error,
      });
    }
    // EINVAL: the file exists but is not mounted (a stale entry); removing it is still right.
    if (code !== 'EINVAL') throw failure('delete', name, path, 'umount', error);
  }
  try {
    unlinkSync(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      throw new NetnsError('delete', name, path, 'ENOENT', 'no netns of that name', {
        cause: error,
      });
    }
    throw failure('delete', name, path, 'unlink', error);
  }
}

// Lets callers and the leak snapshot see every named netns, ours and others' (`ip netns list`).
/**
 * The names under /run/netns, sorted; empty when the directory does not exist.
 * @throws {Error} when /run/netns exists but cannot be read.
 */
export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_RUN_DIR).sort();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
}
