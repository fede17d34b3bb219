// Per-VM uid/gid leases: each jailed QEMU gets numeric ids (no passwd entry) of its own from a
// configured range. A lease is an exclusive flock on `<lease dir>/<uid>`; the lock lives with the
// open file, which QEMU inherits, so the id stays taken while QEMU lives even if we die, and is
// free again the moment the last holder closes it. Two launches (in one process or two) can
// never hold the same id: flock is per open file, and the kernel arbitrates.
import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { UnsupportedError, ValidationError } from '../core/index.js';
import { closeFd, tryLockExclusive } from '../native/index.js';
import { checkDirSafe, defaultRuntimeRoot } from './control/runtime-dir.js';

/** A range of numeric ids: first, first+1, ..., first+count-1 (uid and gid alike). */
export interface IdRange {
  /** The first id (at least 1). */
  first: number;
  /** How many ids (the last one stays below 2^31). */
  count: number;
}

/** Far above passwd users, system ids and the usual subuid ranges; below 2^31. */
export const DEFAULT_ID_RANGE: IdRange = Object.freeze({ first: 1_500_000_000, count: 65_536 });

const MAX_ID = 2_147_483_647;

/** An id leased to one VM; `fd` holds the lock (hand it to QEMU so the lease lives with it). */
export interface IdLease {
  id: number;
  fd: number;
  /** Closes our copy of the lock (idempotent); QEMU's inherited copy keeps it until it exits. */
  release(): void;
}

// The range option, checked: positive, non-root, within 31 bits.
/** @throws ValidationError (code JAIL_ID_RANGE). */
export function checkIdRange(range: unknown, path = 'confine.idRange'): IdRange {
  const r = range as Partial<IdRange> | null;
  const ok =
    r !== null &&
    typeof r === 'object' &&
    Number.isInteger(r.first) &&
    Number.isInteger(r.count) &&
    r.first! >= 1 &&
    r.count! >= 1 &&
    r.first! + r.count! - 1 <= MAX_ID;
  if (!ok) {
    throw new ValidationError(
      path,
      range,
      `expected { first, count } with ids in 1..${MAX_ID}`,
      'JAIL_ID_RANGE',
    );
  }
  return { first: r.first!, count: r.count! };
}

// Where leases live: a private directory under the runtime root.
export function defaultLeaseDir(root = defaultRuntimeRoot()): string {
  return join(root, '.jail-ids');
}

// Tries ids from a random start (concurrent launchers rarely contend for the same file).
/**
 * Leases a free id of `range`.
 * @throws UnsupportedError when every id is held.
 */
export function leaseId(range: IdRange, dir = defaultLeaseDir()): IdLease {
  const uid = process.getuid?.() ?? 0;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkDirSafe(dir, { uid, private: true });
  const start = Math.floor(Math.random() * range.count);
  for (let k = 0; k < range.count; k++) {
    const id = range.first + ((start + k) % range.count);
    const fd = openSync(
      join(dir, String(id)),
      constants.O_RDONLY | constants.O_CREAT | constants.O_NOFOLLOW,
      0o600,
    );
    let held = false;
    try {
      held = tryLockExclusive(fd);
    } finally {
      if (!held) closeSync(fd);
    }
    if (!held) continue;
    let open = true;
    return {
      id,
      fd,
      release: () => {
        if (open) closeFd(fd);
        open = false;
      },
    };
  }
  throw new UnsupportedError(
    `every id of the jail range ${range.first}..${range.first + range.count - 1} is in use ` +
      '(set confine.idRange to a larger range)',
  );
}
