// Who wrote a journal entry, told apart from whoever gets its pid later: the pid, the process
// start time (field 22 of /proc/<pid>/stat, clock ticks since boot) and the boot id. A pid whose
// start time differs is a reused pid, so the writer is dead (proc(5); libvirt and systemd guard
// pid files the same way).
import { readFileSync } from 'node:fs';

/** The identity of a process, stable for its whole life and never shared with a later one. */
export interface JournalOwner {
  pid: number;
  /** starttime from /proc/<pid>/stat (clock ticks after boot). */
  start: number;
  /** /proc/sys/kernel/random/boot_id: a start time means nothing across reboots. */
  boot: string;
}

/** What /proc/<pid>/stat says about a process: its state letter and its start time. */
export interface ProcStat {
  state: string;
  start: number;
}

// The comm field may hold spaces and ')', so fields are counted after the last ')'.
/**
 * Parses the text of /proc/<pid>/stat.
 * @throws {Error} when the text is not in that format.
 */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  const fields =
    close < 0
      ? []
      : text
          .slice(close + 1)
          .trim()
          .split(/\s+/);
  // After ')': field 3 (state) is fields[0], so field 22 (starttime) is fields[19].
  const start = Number(fields[19]);
  if (fields.length < 20 || !/^[A-Za-z]$/.test(fields[0]!) || !Number.isSafeInteger(start)) {
    throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 60))}`);
  }
  return { state: fields[0]!, start };
}

/** How the owner check reads /proc (injectable for unit tests). */
export interface ProcReader {
  /** The text of /proc/<pid>/stat, or undefined when there is no such process. */
  stat(pid: number): string | undefined;
  bootId(): string;
}

/** The real /proc. */
export const realProc: ProcReader = {
  stat(pid) {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ESRCH') return undefined;
      throw error;
    }
  },
  bootId: () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
};

let self: JournalOwner | undefined;

// Read once: our own identity does not change while we run.
/** This process's identity. @throws {Error} when /proc cannot be read. */
export function selfOwner(): JournalOwner {
  if (self === undefined) {
    const stat = parseProcStat(realProc.stat(process.pid)!);
    self = { pid: process.pid, start: stat.start, boot: realProc.bootId() };
  }
  return self;
}

// A dead owner's entries are the GC's to act on; a live owner's are never touched.
/**
 * True while the process that wrote an entry still runs: same boot, pid present, same start
 * time, not a zombie (a zombie has exited: its fds are closed, nothing of it will undo).
 * @throws {Error} when /proc/<pid>/stat exists but cannot be read or parsed.
 */
export function ownerAlive(owner: JournalOwner, proc: ProcReader = realProc): boolean {
  if (owner.boot !== proc.bootId()) return false;
  const text = proc.stat(owner.pid);
  if (text === undefined) return false;
  const stat = parseProcStat(text);
  return stat.start === owner.start && stat.state !== 'Z' && stat.state !== 'X';
}
