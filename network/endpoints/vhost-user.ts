// The vhost-user endpoint: the guest NIC's queues are served by another process (DPDK, OVS,
// a vhost-user-net backend) over a unix socket. Nothing is plumbed in a netns; attach checks
// the socket path so that QEMU's later connect or listen cannot fail obscurely or be hijacked:
// - client mode (QEMU connects): the backend's socket must already exist, be a socket (not a
//   symlink to one), be owned by root or by the uid QEMU runs as, and sit in a private
//   directory as below — else another user could put their own backend in its place;
// - server mode (QEMU listens): the directory must be a real directory, owned by us or root,
//   and not group/world-writable (docs/faults.md T21, kata CVE-2020-2026), and the path must be
//   free. QEMU unlinks whatever is at the path before bind() (util/qemu-sockets.c,
//   unix_listen_saddr), so a file already there is refused here: it is not ours to delete.
// Detach removes only what this attach is responsible for: in server mode the socket that
// appeared at the path it claimed (free at attach, in a directory only its owner can write).
// QEMU unlinks it itself on a clean close (qio_channel_socket_close); after a SIGKILL it is
// left behind, and libvirt likewise unlinks listening chardev paths at cleanup
// (qemuProcessCleanupChardevDevice). In client mode the socket is the backend's: nothing.
import { lstat, stat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname } from 'node:path';
import { ValidationError } from '../../core/index.js';
import type { VhostUserHostNic } from '../host-nic.js';
import { validateMac, validateMtu } from '../validate.js';
import type { AttachContext, AttachedEndpoint, AttachFn } from './attach-types.js';
import { randomLocalMac } from './names.js';
import { validateQueues, validateSocketPath } from './parse.js';
import type { VhostUserEndpoint } from './types.js';

const FIELD = 'endpoint.socketPath';

// lstat/stat that returns undefined for a missing path and rethrows anything else.
async function statOrMissing(path: string, follow: boolean): Promise<Stats | undefined> {
  try {
    return follow ? await stat(path) : await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

// Client mode: QEMU will connect(2) to the backend's socket, so it must be there now, and be
// the socket of root or of QEMU's own uid, in a directory nobody else can write.
async function checkClientSocket(socketPath: string, qemuUid: number): Promise<void> {
  const st = await statOrMissing(socketPath, false);
  if (st === undefined) {
    throw new ValidationError(
      FIELD,
      socketPath,
      'no vhost-user backend socket there (client mode: start the backend first)',
      'SOCKET_MISSING',
    );
  }
  if (!st.isSocket()) {
    const what = st.isSymbolicLink() ? 'is a symbolic link, not' : 'exists but is not';
    throw new ValidationError(FIELD, socketPath, `${what} a unix socket`, 'NOT_A_SOCKET');
  }
  if (st.uid !== 0 && st.uid !== qemuUid) {
    throw new ValidationError(
      FIELD,
      socketPath,
      `the socket belongs to uid ${st.uid}, not to root or to the uid QEMU runs as (${qemuUid})`,
      'SOCKET_OWNER',
    );
  }
  await checkPrivateDir(socketPath, [ourUid(), qemuUid]);
}

// Our euid: the owner of what vmlaunch itself makes.
function ourUid(): number {
  return process.getuid?.() ?? 0;
}

// Both modes: the socket's directory is a real directory that only root or `owners` can write.
async function checkPrivateDir(socketPath: string, owners: number[]): Promise<void> {
  const dir = dirname(socketPath);
  const d = await statOrMissing(dir, false);
  if (d === undefined) {
    throw new ValidationError(FIELD, socketPath, `directory ${dir} does not exist`, 'SOCKET_DIR');
  }
  if (d.isSymbolicLink()) {
    throw new ValidationError(FIELD, socketPath, `directory ${dir} is a symlink`, 'SOCKET_DIR');
  }
  if (!d.isDirectory()) {
    throw new ValidationError(FIELD, socketPath, `${dir} is not a directory`, 'SOCKET_DIR');
  }
  if ((d.mode & 0o022) !== 0) {
    const mode = (d.mode & 0o7777).toString(8);
    throw new ValidationError(
      FIELD,
      socketPath,
      `directory ${dir} is group- or world-writable (mode ${mode}); use a 0700 runtime dir`,
      'SOCKET_DIR',
    );
  }
  if (d.uid !== 0 && !owners.includes(d.uid)) {
    throw new ValidationError(
      FIELD,
      socketPath,
      `directory ${dir} belongs to uid ${d.uid}, not to root or uid ${[...new Set(owners)].join(', ')}`,
      'SOCKET_DIR',
    );
  }
}

// Server mode: QEMU will bind(2) here (unlinking whatever is at the path first), so the
// directory must be one nobody else can write and the path must hold nothing of anyone's.
async function checkServerPath(socketPath: string): Promise<void> {
  await checkPrivateDir(socketPath, [ourUid()]);
  if ((await statOrMissing(socketPath, false)) !== undefined) {
    throw new ValidationError(
      FIELD,
      socketPath,
      'a file already exists there; vmlaunch did not create it and will not delete it ' +
        '(remove it if it is a stale socket)',
      'SOCKET_EXISTS',
    );
  }
}

// Server mode's detach: the socket QEMU bound at the path we claimed (and nothing else).
async function releaseServerPath(socketPath: string): Promise<void> {
  const st = await statOrMissing(socketPath, false);
  if (st === undefined || !st.isSocket()) return;
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid && uid !== 0) return;
  try {
    await unlink(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

// The vhost-user kind's AttachFn: checks the socket path and describes the NIC for QEMU.
/**
 * Checks a vhost-user endpoint's socket path for its mode and returns a VhostUserHostNic
 * (MAC: the endpoint's or a generated locally administered one; queues default 1).
 * detach() removes, in server mode, the socket left at the path this attach claimed.
 * @throws {ValidationError} a relative or too long path, a missing backend socket, a
 *   non-socket or symlink, a socket of another uid than root's or QEMU's, or a directory
 *   others can write (client mode), a missing, symlinked, foreign or group/world-writable directory
 *   or an existing file at the path (server mode), a bad MAC, MTU or queue count.
 */
export const attachVhostUser: AttachFn<VhostUserEndpoint> = async (
  endpoint: VhostUserEndpoint,
  ctx: AttachContext,
): Promise<AttachedEndpoint> => {
  ctx.signal?.throwIfAborted();
  const socketPath = validateSocketPath(endpoint.socketPath, FIELD);
  const mac =
    endpoint.mac === undefined ? randomLocalMac() : validateMac(endpoint.mac, 'endpoint.mac');
  if (endpoint.mtu !== undefined) validateMtu(endpoint.mtu, 'endpoint.mtu');
  const queues =
    endpoint.queues === undefined ? 1 : validateQueues(endpoint.queues, 'endpoint.queues');
  if (endpoint.mode === 'client') await checkClientSocket(socketPath, ctx.qemuUid ?? ourUid());
  else if (endpoint.mode === 'server') await checkServerPath(socketPath);
  else throw new ValidationError('endpoint.mode', endpoint.mode, "expected 'client' or 'server'");
  ctx.signal?.throwIfAborted();
  const hostNic: VhostUserHostNic = {
    kind: 'vhost-user',
    id: ctx.nicId,
    mac,
    ...(endpoint.mtu === undefined ? {} : { mtu: endpoint.mtu }),
    queues,
    socketPath,
    mode: endpoint.mode,
  };
  let detached: Promise<void> | undefined;
  const detach = (): Promise<void> => {
    detached ??= endpoint.mode === 'server' ? releaseServerPath(socketPath) : Promise.resolve();
    return detached;
  };
  return { endpoint: { ...endpoint, mac }, hostNic, detach };
};
