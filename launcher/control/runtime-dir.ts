// The per-VM runtime dir (`/run/vmlaunch/<name>/`, mode 0700, ours) that holds the control
// socket. It must be private: a symlinked or group/world-writable dir, or a socket someone else
// left, is refused rather than used (docs/faults.md T21/T22; kata CVE-2020-2026).
import { lstatSync, mkdirSync, readFileSync, rmdirSync, unlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ControlError } from './errors.js';

/** File names inside a runtime dir. */
export const CONTROL_SOCKET = 'control.sock';
export const OWNER_FILE = 'owner.json';

/** sun_path is 108 bytes on Linux, NUL included (unix(7)). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** What owner.json records: who serves the socket, and which inode the socket got. */
export interface OwnerRecord {
  pid: number;
  socketIno: number;
}

// The user may point all VMs elsewhere (tests, non-root); root uses /run like libvirt.
export function defaultRuntimeRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VMLAUNCH_RUNTIME_DIR) return env.VMLAUNCH_RUNTIME_DIR;
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return '/run/vmlaunch';
  return join(env.XDG_RUNTIME_DIR ?? '/tmp', `vmlaunch-${uid}`);
}

// A VM name becomes a path component: keep it to a safe, portable alphabet.
/**
 * Checks a VM name.
 * @throws ControlError (BAD_NAME) for anything but 1-64 of [A-Za-z0-9_.-] not starting with '.' or '-'.
 */
export function validateVmName(name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(name))
    throw new ControlError(
      'BAD_NAME',
      `invalid VM name ${JSON.stringify(name)}: use 1-64 letters, digits, '_', '.', '-' (not starting with '.' or '-')`,
    );
  return name;
}

// Where a VM's runtime dir and socket are.
export function runtimePaths(
  name: string,
  root = defaultRuntimeRoot(),
): { dir: string; socket: string } {
  const dir = join(root, validateVmName(name));
  return { dir, socket: join(dir, CONTROL_SOCKET) };
}

// lstat, or undefined when the path does not exist.
export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

// The one place that decides whether a directory is private enough to hold our socket.
/**
 * Checks that `path` is a real directory (not a symlink) owned by `uid` (or root, for the
 * shared root dir) that neither group nor others can write (and, when `private`, not enter).
 * @throws ControlError (UNSAFE_RUNTIME_DIR) saying which check failed.
 */
export function checkDirSafe(
  path: string,
  options: { uid: number; allowRootOwner?: boolean; private?: boolean },
): void {
  const st = lstatSync(path);
  const refuse = (why: string): never => {
    throw new ControlError('UNSAFE_RUNTIME_DIR', `refusing runtime dir ${path}: ${why}`, { path });
  };
  if (st.isSymbolicLink()) refuse('it is a symbolic link');
  if (!st.isDirectory()) refuse('it is not a directory');
  if (st.uid !== options.uid && !(options.allowRootOwner && st.uid === 0))
    refuse(`it is owned by uid ${st.uid}, not by us (uid ${options.uid})`);
  const mode = st.mode & 0o7777;
  if (mode & 0o022)
    refuse(`it is group- or world-writable (mode ${mode.toString(8).padStart(4, '0')})`);
  if (options.private && mode & 0o077)
    refuse(`it is not private (mode ${mode.toString(8).padStart(4, '0')}; expected 0700)`);
}

// Reads owner.json; undefined when absent or not ours in shape.
export function readOwner(dir: string): OwnerRecord | undefined {
  try {
    const o = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Partial<OwnerRecord>;
    return typeof o.pid === 'number' && typeof o.socketIno === 'number'
      ? { pid: o.pid, socketIno: o.socketIno }
      : undefined;
  } catch {
    return undefined;
  }
}

// True while `pid` exists (EPERM still means it exists).
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Unlinks `path` only if it is still the inode we made (never someone else's file).
export function unlinkIfInode(path: string, ino: number): boolean {
  const st = lstatOrUndefined(path);
  if (!st || st.ino !== ino) return false;
  unlinkSync(path);
  return true;
}

/** A claimed runtime dir, ready for the control socket. */
export interface RuntimeDir {
  name: string;
  dir: string;
  socket: string;
  /** True when this claim made the dir (it is removed again on release either way if empty). */
  created: boolean;
  /** A socket left by a dead vmlaunch of ours that was cleaned up, if any. */
  reclaimed?: string;
}

/** Options of claimRuntimeDir. */
export interface ClaimOptions {
  root?: string;
  uid?: number;
}

// Makes (or re-uses, when safe) the VM's private dir; decides about a socket found in it.
/**
 * Claims `<root>/<name>/` for a VM.
 * @throws ControlError BAD_NAME, PATH_TOO_LONG, UNSAFE_RUNTIME_DIR, STALE_SOCKET (a socket
 * file we cannot prove is a leftover of ours), or NAME_IN_USE (`liveSocket` said it answers).
 */
export async function claimRuntimeDir(
  name: string,
  liveSocket: (path: string) => Promise<boolean>,
  options: ClaimOptions = {},
): Promise<RuntimeDir> {
  const root = options.root ?? defaultRuntimeRoot();
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const { dir, socket } = runtimePaths(name, root);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES)
    throw new ControlError(
      'PATH_TOO_LONG',
      `control socket path ${socket} is ${Buffer.byteLength(socket)} bytes; unix sockets allow ${MAX_SOCKET_PATH_BYTES}: use a shorter --name or VMLAUNCH_RUNTIME_DIR`,
      { path: socket },
    );
  mkdirSync(root, { recursive: true, mode: 0o755 });
  checkDirSafe(root, { uid, allowRootOwner: true });
  let created = true;
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    created = false;
  }
  checkDirSafe(dir, { uid, private: true });
  const found = lstatOrUndefined(socket);
  if (!found) return { name, dir, socket, created };
  if (await liveSocket(socket))
    throw new ControlError(
      'NAME_IN_USE',
      `a VM named "${name}" is already running (${socket} answers)`,
      { path: socket },
    );
  const owner = readOwner(dir);
  if (owner && !pidAlive(owner.pid) && found.isSocket() && found.ino === owner.socketIno) {
    unlinkIfInode(socket, owner.socketIno);
    unlinkSync(join(dir, OWNER_FILE));
    return {
      name,
      dir,
      socket,
      created,
      reclaimed: `${socket} (left by vmlaunch pid ${owner.pid}, which is gone)`,
    };
  }
  throw new ControlError(
    'STALE_SOCKET',
    `${socket} exists but nothing answers on it and it is not a leftover vmlaunch can prove is its own; if no VM named "${name}" is running, remove ${dir} and try again`,
    { path: socket },
  );
}

// Removes the files we made (by inode) and then the dir if it is empty; says what stayed.
export function releaseRuntimeDir(rt: RuntimeDir, socketIno: number | undefined): string[] {
  const left: string[] = [];
  if (socketIno !== undefined) unlinkIfInode(rt.socket, socketIno);
  const owner = readOwner(rt.dir);
  if (owner?.pid === process.pid) unlinkSync(join(rt.dir, OWNER_FILE));
  try {
    rmdirSync(rt.dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT')
      left.push(`${rt.dir} (${code ?? String(error)}: not empty or not removable)`);
  }
  return left;
}
