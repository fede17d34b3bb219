// launch() with the real QEMU 7.2, paused (-S, so no guest runs): the pid vmlaunch tracks is
// QEMU's own (T24), QEMU's monitor and console are unnamed socketpair ends, not a socket file
// others could reach (T22), and a kernel path holding ',' and '=' is opened as that exact file
// (T20: -kernel is passed verbatim). The kernel's /proc is the oracle throughout.
// Fault ids (T1...T35) are defined in docs/faults.md.
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch } from '../../../launcher/launch.js';
import { resolveBinary } from '../../../launcher/process.js';
import { defaultGuest, qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';

const ours = (): ReturnType<typeof takeSnapshot> => takeSnapshot({ netnsFilter: () => false });

/** A launch of the default guest's kernel with the CPUs stopped. */
async function launchPaused(kernel?: string, confine = true) {
  const guest = await defaultGuest();
  return launch({
    kernel: kernel ?? guest.kernel,
    initrd: guest.initrd,
    accel: 'tcg',
    paused: true,
    confine,
  });
}

/** The field `name` of /proc/<pid>/status. */
function statusField(pid: number, name: string): string {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  return line?.slice(name.length + 1).trim() ?? '';
}

/** Inode -> bound path ('' for an unnamed socket) of every unix socket in our netns. */
function unixSocketPaths(): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 7) continue;
    paths.set(cols[6]!, cols[7] ?? '');
  }
  return paths;
}

describe.runIf(prerequisite('launch with a real QEMU', qemuMissing()))(
  'launch with the real QEMU, paused',
  () => {
    it('T24: the pid vmlaunch tracks is the QEMU process itself, our direct child (setpriv exec’d it)', async () => {
      const before = ours();
      const vm = await launchPaused();
      try {
        const qemu = realpathSync(resolveBinary('qemu-system-x86_64'));
        expect(readlinkSync(`/proc/${vm.pid}/exe`)).toBe(qemu);
        expect(statusField(vm.pid, 'PPid')).toBe(String(process.pid));
        expect(statusField(vm.pid, 'Name')).toBe('qemu-system-x86');
        expect(await vm.qmp.queryStatus()).toMatchObject({ status: 'prelaunch' });
      } finally {
        const exit = await vm.kill();
        // The process we signalled is the one whose end was observed.
        expect(exit).toMatchObject({ signal: 'SIGKILL', rung: 'sigkill' });
      }
      expect(diffSnapshots(before, ours())).toEqual([]);
    });

    it('T22: QEMU talks QMP and console over unnamed socketpair ends, never a socket path', async () => {
      const vm = await launchPaused();
      try {
        const argv = vm.process.argv.join(' ');
        expect(argv).toContain('-chardev socket,id=qmp,fd=3');
        expect(argv).toContain('-chardev socket,id=console,fd=4');
        expect(argv).not.toMatch(/path=/);
        const paths = unixSocketPaths();
        const sockets = readdirFds(vm.pid)
          .map((target) => /^socket:\[(\d+)\]$/.exec(target)?.[1])
          .filter((ino): ino is string => ino !== undefined);
        // QMP and console at least; every unix socket QEMU holds is unbound (no path).
        const unix = sockets.filter((ino) => paths.has(ino));
        expect(unix.length).toBeGreaterThanOrEqual(2);
        expect(unix.map((ino) => paths.get(ino))).toEqual(unix.map(() => ''));
      } finally {
        await vm.kill();
      }
    });

    it("T20: a kernel path holding ',' and '=' reaches QEMU verbatim and is loaded", async () => {
      const guest = await defaultGuest();
      const dir = mkdtempSync(join(tmpdir(), 'vml-kpath-'));
      try {
        const kernel = join(dir, 'vmlinuz,initrd=x,append=y');
        symlinkSync(guest.kernel, kernel);
        // Unjailed, the path itself is QEMU's argument.
        const vm = await launchPaused(kernel, false);
        try {
          expect(vm.process.argv[vm.process.argv.indexOf('-kernel') + 1]).toBe(kernel);
          expect(await vm.qmp.queryStatus()).toMatchObject({ status: 'prelaunch' });
        } finally {
          await vm.kill();
        }
        // Jailed, QEMU gets the file as an fd, named /proc/self/fd/N (docs/confinement.md).
        const jailed = await launchPaused(kernel);
        try {
          const named = jailed.process.argv[jailed.process.argv.indexOf('-kernel') + 1]!;
          const fd = /^\/proc\/self\/fd\/(\d+)$/.exec(named)?.[1];
          expect(fd).toBeDefined();
          expect(readlinkSync(`/proc/${jailed.pid}/fd/${fd}`)).toBe(realpathSync(guest.kernel));
          expect(await jailed.qmp.queryStatus()).toMatchObject({ status: 'prelaunch' });
        } finally {
          await jailed.kill();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

/** Link targets of a process's open fds. */
function readdirFds(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  const out: string[] = [];
  for (const fd of readdirSync(dir)) {
    try {
      out.push(readlinkSync(join(dir, fd)));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}
