// Running QEMU under another uid: the user named by `runAs`, resolved through NSS before
// anything is started, and set by setpriv(1) before QEMU is exec'd — the way libvirt runs QEMU
// as its `qemu` user. QEMU's own `-runas` (7.2; `-run-with user=` from 9.1) drops the uid only
// after the machine is built (os_setup_post), so kernel parsing and device set-up would still
// run as root, and its setgid/setuid are exactly what `-sandbox elevateprivileges=deny`
// forbids (QEMU dies with SIGSYS; tp-qemu#4088, lxd#6892). Dropping before exec has neither
// problem: QEMU never holds root, its capabilities are gone with the uid (capabilities(7)),
// and the files it opens by path must be readable by that user (run-as-access.ts checks them).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { UnsupportedError, ValidationError } from '../core/index.js';
import { checkArgText } from './opts.js';

const run = promisify(execFile);

/** Who QEMU runs as: a user name (its uid, primary gid and groups from NSS) or numbers. */
export type RunAs = { user: string } | { uid: number; gid: number; groups?: number[] };

/** A resolved identity: what setpriv sets before QEMU is exec'd. */
export interface QemuIdentity {
  uid: number;
  gid: number;
  /** Supplementary groups (empty: none). */
  groups: number[];
  /** The user name, when given by name. */
  user?: string;
}

/** Side effects of resolving a user name (NSS lookups), injectable for unit tests. */
export interface RunAsDeps {
  /** Runs getent/id; resolves stdout, rejects with the child's exit code on failure. */
  exec(file: string, args: string[]): Promise<string>;
}

const defaultDeps: RunAsDeps = {
  exec: async (file, args) => (await run(file, args, { timeout: 10_000 })).stdout,
};

/** POSIX portable user names (and the '$' of machine accounts), as useradd accepts them. */
const USER_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?$/;
const MAX_ID = 4_294_967_294; // (uid_t)-1 means "unchanged" to set*id(2)

// A uid/gid: an integer that is neither root's 0 nor the "unchanged" -1.
function checkId(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_ID) {
    throw new ValidationError(path, value, `expected an integer id in 1..${MAX_ID}`, 'RUN_AS');
  }
  if (value === 0) {
    throw new ValidationError(
      path,
      value,
      'root (0) keeps QEMU privileged; name an unprivileged user or group',
      'RUN_AS_ROOT',
    );
  }
  return value;
}

// The identity's every id: no root uid, primary group or supplementary group.
function checkIdentity(identity: QemuIdentity, path: string): QemuIdentity {
  checkId(identity.uid, `${path}.uid`);
  checkId(identity.gid, `${path}.gid`);
  identity.groups.forEach((g, i) => checkId(g, `${path}.groups[${i}]`));
  return identity;
}

// getent's exit code 2 is "key not found" (getent(1)).
function exitCode(error: unknown): number | string | undefined {
  return (error as { code?: number | string }).code;
}

// user name -> uid, primary gid (getent passwd) and all its groups (id -G: initgroups' view).
async function lookupUser(name: string, path: string, deps: RunAsDeps): Promise<QemuIdentity> {
  let passwd: string;
  try {
    passwd = await deps.exec('getent', ['passwd', '--', name]);
  } catch (error) {
    if (exitCode(error) === 2) {
      throw new ValidationError(
        path,
        name,
        'no such user on this host (getent passwd)',
        'UNKNOWN_USER',
      );
    }
    throw new UnsupportedError(`cannot look up user "${name}" (getent passwd failed)`, {
      cause: error,
    });
  }
  const fields = passwd.trim().split('\n')[0]?.split(':') ?? [];
  const [user, , uid, gid] = fields;
  if (fields.length < 4 || !user || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? '')) {
    throw new UnsupportedError(
      `getent passwd "${name}" gave an unreadable entry: ${passwd.trim()}`,
    );
  }
  const groups = (await deps.exec('id', ['-G', '--', user])).trim().split(/\s+/).map(Number);
  return {
    user,
    uid: Number(uid),
    gid: Number(gid),
    groups: [...new Set(groups)].filter((g) => Number.isInteger(g)),
  };
}

// The launch option -> an identity, checked before anything is created.
/**
 * Resolves `runAs` (a user through NSS, or explicit ids) and refuses root in any of them.
 * @throws ValidationError (path 'runAs...', codes RUN_AS, RUN_AS_ROOT, UNKNOWN_USER).
 * @throws UnsupportedError when the NSS lookup itself cannot run.
 */
export async function resolveRunAs(
  option: unknown,
  path = 'runAs',
  deps: RunAsDeps = defaultDeps,
): Promise<QemuIdentity> {
  if (option === null || typeof option !== 'object' || Array.isArray(option)) {
    throw new ValidationError(path, option, 'expected { user } or { uid, gid, groups? }', 'RUN_AS');
  }
  const given = option as Record<string, unknown>;
  const keys = Object.keys(given).sort().join(',');
  if (keys === 'user') {
    const name = given.user;
    if (typeof name !== 'string' || !USER_RE.test(checkArgText(name, `${path}.user`))) {
      throw new ValidationError(`${path}.user`, name, 'expected a user name', 'RUN_AS');
    }
    return checkIdentity(await lookupUser(name, `${path}.user`, deps), path);
  }
  if (keys === 'gid,uid' || keys === 'gid,groups,uid') {
    const groups = given.groups ?? [];
    if (!Array.isArray(groups)) {
      throw new ValidationError(`${path}.groups`, groups, 'expected an array of gids', 'RUN_AS');
    }
    return checkIdentity(
      {
        uid: given.uid as number,
        gid: given.gid as number,
        groups: [...(groups as unknown[])] as number[],
      },
      path,
    );
  }
  throw new ValidationError(path, keys, 'expected { user } or { uid, gid, groups? }', 'RUN_AS');
}

// setpriv's options for an identity: real, effective and saved ids all changed, groups set
// exactly (none: --clear-groups), so nothing of root is kept; no_new_privs so that no exec
// (a set-user-ID helper, even without the sandbox's spawn=deny) can regain any.
export function setprivIdentityArgs(identity: QemuIdentity): string[] {
  return [
    `--reuid=${identity.uid}`,
    `--regid=${identity.gid}`,
    identity.groups.length > 0 ? `--groups=${identity.groups.join(',')}` : '--clear-groups',
    '--no-new-privs',
  ];
}

// Words for logs and errors: "nobody (uid 65534)" or "uid 1234".
export function describeIdentity(identity: QemuIdentity): string {
  return identity.user ? `${identity.user} (uid ${identity.uid})` : `uid ${identity.uid}`;
}

// Changing uid before exec needs CAP_SETUID/CAP_SETGID: vmlaunch must run as root for runAs.
/** @throws UnsupportedError when this process cannot change QEMU's uid. */
export function requireIdentityChange(identity: QemuIdentity): void {
  const euid = process.geteuid?.() ?? -1;
  if (euid !== 0) {
    throw new UnsupportedError(
      `runAs ${describeIdentity(identity)}: vmlaunch must run as root to start QEMU under ` +
        `another uid (this process is uid ${euid})`,
    );
  }
}
