// The guest's RAM as a file beside the state (docs/snapshots.md, "Memory image"). A VM whose
// RAM is shared memory (a memfd, or a restore's RAM file) is saved with QEMU's x-ignore-shared
// capability: the state file then holds the devices only, and vmlaunch copies the RAM itself,
// sparse, while the VM is stopped. A restore maps a private copy of that image instead of
// feeding every page through the migration stream: no page is parsed or zeroed on the way in.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  openSync,
  readdirSync,
  readlinkSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { UnsupportedError } from '../../core/index.js';
import type { QmpClient } from '../qmp/index.js';

const run = promisify(execFile);

/** The RAM image's path for the state file `path`. */
export function memoryImagePath(path: string): string {
  return `${path}.ram`;
}

// Turns QEMU's x-ignore-shared on or off (source before `migrate`, target before the load).
export async function setIgnoreShared(qmp: QmpClient, state: boolean): Promise<void> {
  await qmp.execute(
    'migrate-set-capabilities',
    { capabilities: [{ capability: 'x-ignore-shared', state }] },
    { timeout: 5000 },
  );
}

// Where we can read QEMU's guest RAM: its memfd, or the file a restore gave it, through
// /proc/PID/fd (root reads another process's fds; the jail changes only QEMU's own rights).
/** @throws UnsupportedError when QEMU holds no single RAM fd we recognise. */
export async function ramSource(qmp: QmpClient, pid: number, backendId: string): Promise<string> {
  const get = (property: string): Promise<string> =>
    qmp.execute<string>('qom-get', { path: `/objects/${backendId}`, property }, { timeout: 5000 });
  if ((await get('type')) === 'memory-backend-file') {
    const memPath = await get('mem-path');
    const fd = /^\/proc\/self\/fd\/(\d+)$/.exec(memPath)?.[1];
    if (fd === undefined) throw new UnsupportedError(`guest RAM is mapped from ${memPath}`);
    return `/proc/${pid}/fd/${fd}`;
  }
  const dir = `/proc/${pid}/fd`;
  const memfds = readdirSync(dir).filter((fd) => {
    try {
      return readlinkSync(join(dir, fd)).startsWith('/memfd:memory-backend-memfd');
    } catch {
      return false; // closed while we looked
    }
  });
  if (memfds.length !== 1) {
    throw new UnsupportedError(`found ${memfds.length} guest RAM memfds in QEMU, expected one`);
  }
  return join(dir, memfds[0]!);
}

// Copies `from` to `to`, leaving holes where the source has holes or zeros (a reflink where
// the filesystem has them).
export async function copySparse(from: string, to: string): Promise<void> {
  await run('cp', ['--sparse=always', '--reflink=auto', '--', from, to]);
}

/** Bytes a file really occupies (its blocks), next to its apparent size. */
export function allocatedBytes(path: string): number {
  return statSync(path).blocks * 512;
}

// A private copy of the RAM image for one restore: made beside the image (the filesystem the
// caller chose for it), unlinked at once, and handed over as an fd. QEMU maps it shared, so
// its writes land in this copy only: the image stays as saved for the next restore or clone,
// and a QEMU that escapes its guest can reach no other VM's memory through it.
/** @returns our fd of the copy (opened read-write; the caller closes it). */
export async function privateCopy(image: string): Promise<number> {
  const temp = join(dirname(image), `.${basename(image)}.${randomBytes(6).toString('hex')}`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  closeSync(openSync(temp, flags, 0o600));
  let fd: number;
  try {
    await copySparse(image, temp);
    fd = openSync(temp, constants.O_RDWR | constants.O_NOFOLLOW);
  } finally {
    unlinkSync(temp);
  }
  // Unlinked, only our fd and QEMU's reach it: the jail's uid may reopen it read-write.
  fchmodSync(fd, 0o666);
  return fd;
}
