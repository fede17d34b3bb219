// The kernel and initrd of a jailed QEMU: opened by us (as root, through directories such as
// root's 0700 home cache), inherited by QEMU as fds and named on its command line as
// /proc/self/fd/N. The jail's uid never walks the path; reopening the fd checks only the file's
// own mode, so a file that is not readable by others is refused here, by name, rather than
// loosened (docs/confinement.md).
import { closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ValidationError } from '../core/index.js';

/** A boot file's fd and the path QEMU opens it by. */
export interface PassedFile {
  fd: number;
  path: string;
}

// Other-readable, or the jail's uid/gid could not reopen it: refused before anything starts.
/** @throws ValidationError (code JAIL_FILE_MODE) naming the file and its mode. */
export function checkJailReadable(path: string, field: string): void {
  const st = statSync(path);
  if ((st.mode & 0o004) === 0) {
    throw new ValidationError(
      field,
      path,
      `QEMU runs in its jail under a uid of its own and reopens this file through an fd, which ` +
        `needs it readable by others (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}); ` +
        'make it so, or pass confine: false',
      'JAIL_FILE_MODE',
    );
  }
}

// The QEMU binary is exec'd by path as the jail's uid: every directory on the way must be
// searchable by others and the file executable (and readable, for a script) by others.
/** @throws ValidationError (code JAIL_FILE_MODE) naming the first thing that stops it. */
export function checkJailExecutable(path: string, field: string): void {
  const absolute = resolve(path);
  const mode = (p: string): string => (statSync(p).mode & 0o7777).toString(8).padStart(4, '0');
  const refuse = (what: string): never => {
    throw new ValidationError(
      field,
      path,
      `QEMU runs in its jail under a uid of its own, which could not run it: ${what}; pass ` +
        'confine: false to run it unjailed',
      'JAIL_FILE_MODE',
    );
  };
  for (let d = dirname(absolute); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) refuse(`others may not enter ${d} (mode ${mode(d)})`);
    if (d === dirname(d)) break;
  }
  const st = statSync(absolute);
  const script = readFirstBytes(absolute) === '#!';
  if ((st.mode & 0o001) === 0 || (script && (st.mode & 0o004) === 0)) {
    refuse(`${absolute} is not executable by others (mode ${mode(absolute)})`);
  }
}

// The first two bytes of a file ('#!' for a script).
function readFirstBytes(path: string): string {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    const buf = Buffer.alloc(2);
    const n = readSync(fd, buf, 0, 2, 0);
    return buf.subarray(0, n).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

// Opens `paths` read-only, numbering them from `firstChildFd` (the child's fd numbers).
export function openBootFiles(paths: string[], firstChildFd: number): PassedFile[] {
  const opened: PassedFile[] = [];
  try {
    for (const [i, path] of paths.entries()) {
      const fd = openSync(path, constants.O_RDONLY);
      opened.push({ fd, path: `/proc/self/fd/${firstChildFd + i}` });
    }
  } catch (error) {
    for (const f of opened) closeSync(f.fd);
    throw error;
  }
  return opened;
}

// argv with the word after `flag` replaced, when it is `from`.
export function replaceArg(argv: string[], flag: string, from: string, to: string): string[] {
  const i = argv.findIndex((word, k) => word === flag && argv[k + 1] === from);
  if (i < 0) return argv;
  return [...argv.slice(0, i + 1), to, ...argv.slice(i + 2)];
}
