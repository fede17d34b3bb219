// The guest's RAM as a file beside the state (docs/snapshots.md, "Memory image"). A VM whose
// RAM is shared memory (a memfd: its own, or a restore's copy of an image) is saved with QEMU's
// x-ignore-shared capability: the state file then holds the devices only, and vmlaunch copies
// the RAM itself, sparse, while the VM is stopped (`cp --sparse=always`, which also leaves
// zeroed pages out). A restore maps a private copy of that image instead of feeding every page
// through the migration stream: no page is parsed or zeroed on the way in.
import { execFile } from 'node:child_process';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readlinkSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UnsupportedError } from '../../core/index.js';
import { dataRanges, memfdCreate } from '../../native/index.js';
import type { QmpClient } from '../qmp/index.js';
import { copyRanges } from './range-copy.js';

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

/** A restore's private copy of the RAM image, QEMU's to map while it is being filled. */
export interface PrivateCopy {
  /** Our fd of the copy (read-write; the caller closes it): already the image's full size. */
  fd: number;
  /** Settles once every data range of the image is in the copy (before the state's load). */
  done: Promise<void>;
  /** Ends the copy early and waits for it (on a failed restore, before fds are closed). */
  stop(): Promise<void>;
}

// A private copy of the RAM image for one restore, in an anonymous memory file (memfd) handed
// over as an fd: QEMU maps it shared, so its writes land in this copy only, never on a disk;
// the image stays as saved for the next restore or clone, and a QEMU that escapes its guest
// can reach no other VM's memory through it. The copy has the image's size from the start and
// is filled while QEMU starts (QEMU reads none of the guest's RAM before the load): only the
// image's data ranges are copied, its holes stay holes (unallocated memory).
/** @throws NodeJS.ErrnoException / NativeError when the image or the copy cannot be opened. */
export function startPrivateCopy(image: string): PrivateCopy {
  const opened: number[] = [];
  try {
    const from = openSync(image, constants.O_RDONLY | constants.O_NOFOLLOW);
    opened.push(from);
    const fd = memfdCreate('vmlaunch-ram-copy');
    opened.push(fd);
    // The copy's own open file: QEMU's spawn closes `fd` of ours while the copy still runs.
    const to = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY);
    opened.push(to);
    ftruncateSync(fd, fstatSync(from).size);
    // Only our fds and QEMU's reach it: the jail's uid may reopen it read-write.
    fchmodSync(fd, 0o666);
    const copy = copyRanges(from, to, dataRanges(from));
    const done = copy.done.finally(() => {
      closeSync(from);
      closeSync(to);
    });
    done.catch(() => undefined); // the restore awaits it in a later step
    const stop = async (): Promise<void> => {
      await copy.stop();
      await done.catch(() => undefined);
    };
    return { fd, done, stop };
  } catch (error) {
    for (const fd of opened.reverse()) closeSync(fd);
    throw error;
  }
}
