// The jail every QEMU runs in unless `confine: false` (docs/confinement.md): its own uid/gid
// leased from a range, a cgroup with memory and pids limits, rlimits, a private mount namespace
// whose host tree is read-only, whose /dev holds only null, zero, urandom (and kvm when KVM is
// used) and whose one writable place is the VM's jail directory, no capabilities and
// no_new_privs. All of it is decided here; native/src/jail-exec.c only performs the steps,
// between fork and exec (no daemon). Files QEMU needs that we open for it (kernel, initrd,
// images) reach it as inherited fds, so their modes and directories are never loosened.
import { chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../core/index.js';
import { jailExecBinary } from '../native/index.js';
import { createCgroup, type VmCgroup } from './jail-cgroup.js';
import { checkIdRange, DEFAULT_ID_RANGE, leaseId, type IdLease, type IdRange } from './jail-ids.js';
import type { QemuIdentity } from './run-as.js';

/** How QEMU's jail is set up; every field has a default. */
export interface JailOptions {
  /** Where per-VM uids (= gids) come from; default 1500000000 + 65536 ids. */
  idRange?: IdRange;
  /** cgroup memory limit in MiB; default guest RAM + 1024 (TCG's translation cache, devices). */
  memoryMiB?: number;
  /** cgroup pids limit (threads count); default 1024. */
  pids?: number;
  /** RLIMIT_NOFILE; default 4096. */
  openFiles?: number;
  /** RLIMIT_FSIZE in MiB, or 'unlimited' (default): it bounds the offset of every write,
   *  including to drive images hot-plugged later, so only a caller who knows its largest
   *  writable image can set it safely (docs/confinement.md). */
  fileSizeMiB?: number | 'unlimited';
}

/** `true` (default): a jail with default options; `false`: no jail (logged); or its options. */
export type ConfineOption = boolean | JailOptions;

/** The jail's options, checked, with defaults filled (memory and file size still per VM). */
export interface ResolvedJail {
  idRange: IdRange;
  memoryMiB: number | undefined;
  pids: number;
  openFiles: number;
  fileSizeMiB: number | 'unlimited';
}

const KEYS = ['idRange', 'memoryMiB', 'pids', 'openFiles', 'fileSizeMiB'];

// A positive integer option, or its default when absent.
function positive(value: unknown, path: string, fallback: number): number;
function positive(value: unknown, path: string, fallback: undefined): number | undefined;
function positive(value: unknown, path: string, fallback: number | undefined) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(path, value, 'expected a positive integer', 'CONFINE');
  }
  return value;
}

/**
 * Resolves `confine` (default true); undefined means QEMU runs unjailed.
 * @throws ValidationError (path 'confine...', codes CONFINE, JAIL_ID_RANGE).
 */
export function resolveJail(option: unknown = true, path = 'confine'): ResolvedJail | undefined {
  if (option === false) return undefined;
  const given = option === true ? {} : option;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new ValidationError(path, option, 'expected true, false or jail options', 'CONFINE');
  }
  const o = given as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.includes(key)) {
      throw new ValidationError(
        `${path}.${key}`,
        key,
        `expected one of ${KEYS.join(', ')}`,
        'CONFINE',
      );
    }
  }
  const fileSize = o.fileSizeMiB;
  return {
    idRange:
      o.idRange === undefined ? DEFAULT_ID_RANGE : checkIdRange(o.idRange, `${path}.idRange`),
    memoryMiB: positive(o.memoryMiB, `${path}.memoryMiB`, undefined),
    pids: positive(o.pids, `${path}.pids`, 1024),
    openFiles: positive(o.openFiles, `${path}.openFiles`, 4096),
    fileSizeMiB:
      fileSize === 'unlimited' || fileSize === undefined
        ? 'unlimited'
        : positive(fileSize, `${path}.fileSizeMiB`, 1),
  };
}

/** One VM's jail, made: its identity, cgroup and writable directory. */
export interface OpenJail {
  identity: QemuIdentity;
  cgroup: VmCgroup;
  /** The one place QEMU may write: `<run dir>/jail`, owned by the jail's uid. */
  dir: string;
  /** fds QEMU inherits: the id lease's lock (held until QEMU exits). */
  heldFds: number[];
  /** Removes the cgroup and releases our hold of the id (QEMU must be gone). */
  close(): Promise<void>;
}

/** What a jail is made for: the VM's name, run directory and guest memory. */
export interface JailTarget {
  name: string;
  runDir: string;
  guestMiB: number;
  /** A fixed identity (runAs) instead of a leased per-VM id. */
  identity?: QemuIdentity;
}

// Leases an id (unless the caller fixed one), makes the writable dir and the cgroup; undoes
// what it made if a later part fails.
/**
 * Makes the jail of one VM.
 * @throws UnsupportedError when no id is free or the host has no usable cgroup hierarchy.
 */
export function openJail(jail: ResolvedJail, target: JailTarget): OpenJail {
  let lease: IdLease | undefined;
  const identity = target.identity ?? fromLease((lease = leaseId(jail.idRange)));
  try {
    const dir = join(target.runDir, 'jail');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, identity.uid, identity.gid);
    const memoryMiB = jail.memoryMiB ?? target.guestMiB + 1024;
    const cgroup = createCgroup(target.name, {
      memoryBytes: memoryMiB * 1024 * 1024,
      pids: jail.pids,
    });
    return {
      identity,
      cgroup,
      dir,
      heldFds: lease ? [lease.fd] : [],
      close: async () => {
        try {
          await cgroup.remove();
        } finally {
          lease?.release();
        }
      },
    };
  } catch (error) {
    lease?.release();
    throw error;
  }
}

function fromLease(lease: IdLease): QemuIdentity {
  return { uid: lease.id, gid: lease.id, groups: [] };
}

/** How to start QEMU inside a jail: the helper and its steps, put before `-- qemu argv`. */
export interface JailExec {
  file: string;
  args: string[];
  env: Record<string, string>;
}

/** Per spawn: whether /dev/kvm is needed. */
export interface JailSpawn {
  kvm: boolean;
}

const MiB = 1024 * 1024;

// The helper's steps, in the order that works: cgroup files and rlimits while the host tree is
// still writable and we are root; then the mount namespace; ids last but the death signal
// (which a uid change would clear, prctl(2)).
export function jailExecArgs(jail: ResolvedJail, open: OpenJail, spawn: JailSpawn): string[] {
  const { uid, gid } = open.identity;
  const fsize = jail.fileSizeMiB === 'unlimited' ? 'inf' : String(jail.fileSizeMiB * MiB);
  const nofile = String(jail.openFiles);
  // RLIMIT_NPROC counts per uid: only meaningful when the uid is this VM's alone.
  const shared = open.heldFds.length === 0;
  return [
    ...open.cgroup.procsFiles.flatMap((f) => ['--cgroup-join', f]),
    ...['--rlimit', 'nofile', nofile, nofile],
    ...['--rlimit', 'fsize', fsize, fsize],
    ...['--rlimit', 'core', '0', '0'],
    ...(shared ? [] : ['--rlimit', 'nproc', String(jail.pids), String(jail.pids)]),
    '--unshare-mount',
    ...['--tmpfs', '/dev', '0755'],
    ...['--mknod', '/dev/null', '1', '3'],
    ...['--mknod', '/dev/zero', '1', '5'],
    ...['--mknod', '/dev/urandom', '1', '9'],
    ...(spawn.kvm ? ['--mknod', '/dev/kvm', '10', '232'] : []),
    ...['--bind', open.dir, open.dir],
    ...['--readonly-tree', '/'],
    ...['--writable', open.dir],
    ...['--chdir', open.dir],
    '--drop-bounding',
    ...['--ids', String(uid), String(gid)],
    '--no-new-privs',
    ...['--pdeathsig', '9'],
  ];
}

// The whole exec plan: helper binary, steps, environment.
export function jailExec(jail: ResolvedJail, open: OpenJail, spawn: JailSpawn): JailExec {
  return {
    file: jailExecBinary(),
    args: jailExecArgs(jail, open, spawn),
    env: { TMPDIR: open.dir, HOME: open.dir },
  };
}

// Words for the log: what the jail is.
export function describeJail(jail: ResolvedJail, open: OpenJail): Record<string, unknown> {
  return {
    uid: open.identity.uid,
    gid: open.identity.gid,
    cgroup: open.cgroup.dirs,
    cgroupVersion: open.cgroup.version,
    pids: jail.pids,
    openFiles: jail.openFiles,
  };
}
