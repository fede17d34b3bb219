// The QMP client against a real QEMU 7.2 spawned directly (the process module is not used here):
// QMP over our end of a socketpair, the other end inherited as the child's fd 3.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeFd, socketpair, tapOpen } from '../../../native/index.js';
import { connectQmp } from '../../../launcher/qmp/connect.js';
import type { QmpClient } from '../../../launcher/qmp/client.js';
import { QmpCommandError, QmpDisconnectedError } from '../../../launcher/qmp/errors.js';
import { ipJson, withTestNetns } from '../../helpers/netns.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';

const QEMU = 'qemu-system-x86_64';

// Why this suite cannot run here, if it cannot.
function qemuMissing(): string | undefined {
  try {
    execFileSync(QEMU, ['--version'], { stdio: 'ignore' });
  } catch {
    return `needs ${QEMU} on PATH`;
  }
  return rootNetnsMissing();
}

interface Qemu {
  child: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

// Starts a paused, empty q35 whose only monitor is QMP on fd 3; returns our socket end too.
function spawnPausedQemu(): { qemu: Qemu; qmpFd: number } {
  const [ours, theirs] = socketpair();
  const argv = ['-M', 'q35', '-S', '-nodefaults', '-display', 'none', '-no-user-config'];
  argv.push('-chardev', 'socket,id=qmp,fd=3', '-mon', 'chardev=qmp,mode=control');
  let child: ChildProcess;
  try {
    child = spawn(QEMU, argv, { stdio: ['ignore', 'pipe', 'pipe', theirs] });
  } finally {
    closeFd(theirs);
  }
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  if (child.pid === undefined) throw new Error(`spawn ${QEMU} failed`);
  return { qemu: { child, pid: child.pid, exited, stderr: () => stderr }, qmpFd: ours };
}

// QEMU's own open fd count (the QEMU side of the leak snapshot).
function fdCount(pid: number | 'self'): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

describe.runIf(prerequisite('qemu', qemuMissing()))('QMP with a real QEMU 7.2', () => {
  let qemu: Qemu | undefined;
  let qmp: QmpClient | undefined;
  let ourFds: number;

  beforeEach(() => {
    ourFds = fdCount('self');
  });

  afterEach(async () => {
    qmp?.close();
    if (qemu && qemu.child.exitCode === null && qemu.child.signalCode === null) {
      process.kill(qemu.pid, 'SIGKILL');
    }
    await qemu?.exited;
    qemu?.child.stderr?.destroy();
    qemu?.child.stdout?.destroy();
    qemu = undefined;
    qmp = undefined;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fdCount('self')).toBe(ourFds);
  });

  it('negotiates, reports prelaunch, hot-adds a tap netdev by getfd, removes it, and quits', async () => {
    const spawned = spawnPausedQemu();
    qemu = spawned.qemu;
    qmp = await connectQmp({ fd: spawned.qmpFd }, { connectTimeout: 10_000 });
    expect(qmp.greeting?.QMP.version.qemu.major).toBe(7);
    expect(await qmp.queryStatus()).toMatchObject({ running: false, status: 'prelaunch' });

    const client = qmp;
    const pid = qemu.pid;
    await withTestNetns('qmp', async (netns) => {
      const tap = tapOpen(`/run/netns/${netns}`, 'vmltap0', { queues: 1 });
      const qemuFdsBefore = fdCount(pid);
      try {
        await client.getfd({ fdname: 'tapfd0', fd: tap.fds[0]! });
      } finally {
        for (const fd of tap.fds) closeFd(fd);
      }
      expect(fdCount(pid)).toBe(qemuFdsBefore + 1);
      await client.netdevAdd({ type: 'tap', id: 'net0', fd: 'tapfd0' });
      const info = await client.humanMonitorCommand({ commandLine: 'info network' });
      expect(info).toMatch(/net0: .*tap/);
      expect(
        ipJson<Array<{ ifname: string }>>('-n', netns, 'link', 'show', 'vmltap0'),
      ).toHaveLength(1);

      // netdev_add took the named fd out of the monitor's table: closefd finds nothing.
      const closefd = await client.closefd({ fdname: 'tapfd0' }).catch((e: unknown) => e);
      expect(closefd).toBeInstanceOf(QmpCommandError);
      expect(closefd).toMatchObject({ errorClass: 'GenericError' });

      await client.netdevDel({ id: 'net0' });
      expect(await client.humanMonitorCommand({ commandLine: 'info network' })).not.toMatch(/net0/);
      expect(fdCount(pid)).toBe(qemuFdsBefore);
      // QEMU held the last reference: the non-persistent tap is gone with its fd.
      expect(ipJson<unknown[]>('-n', netns, 'link', 'show')).toHaveLength(1);
    });

    await client.quit();
    expect(await qemu.exited).toEqual({ code: 0, signal: null });
  });

  it('returns QEMU to its fd baseline after getfd+closefd, and after add-fd+remove-fd once running', async () => {
    const spawned = spawnPausedQemu();
    qemu = spawned.qemu;
    qmp = await connectQmp({ fd: spawned.qmpFd }, { connectTimeout: 10_000 });
    const baseline = fdCount(qemu.pid);
    const [a, b] = socketpair();
    try {
      await qmp.getfd({ fdname: 'spare', fd: a });
      expect(fdCount(qemu.pid)).toBe(baseline + 1);
      await qmp.closefd({ fdname: 'spare' });
      expect(fdCount(qemu.pid)).toBe(baseline);

      const added = await qmp.addFd({ fd: b, opaque: 'probe' });
      expect(await qmp.queryFdsets()).toEqual([
        { fdsetId: added.fdsetId, fds: [{ fd: added.fd, opaque: 'probe' }] },
      ]);
      // QEMU 7.2 closes a removed fd-set fd only while the VM runs (monitor_fdset_cleanup
      // checks runstate_is_running()): paused, the fd stays open and listed.
      await qmp.removeFd({ fdsetId: added.fdsetId });
      expect(await qmp.queryFdsets()).toHaveLength(1);
      expect(fdCount(qemu.pid)).toBe(baseline + 1);
      await qmp.cont();
      await qmp.removeFd({ fdsetId: added.fdsetId });
      expect(await qmp.queryFdsets()).toEqual([]);
      expect(fdCount(qemu.pid)).toBe(baseline);
    } finally {
      closeFd(a);
      closeFd(b);
    }
    expect(await qmp.qomList({ path: '/machine/peripheral' })).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'type' })]),
    );
  });

  it('rejects a call in flight with the interruption error when QEMU is SIGKILLed', async () => {
    const spawned = spawnPausedQemu();
    qemu = spawned.qemu;
    qmp = await connectQmp({ fd: spawned.qmpFd }, { connectTimeout: 10_000 });
    // A stopped QEMU cannot answer, so the call is surely pending when the kill lands.
    process.kill(qemu.pid, 'SIGSTOP');
    const pending = qmp.queryStatus({ timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    process.kill(qemu.pid, 'SIGKILL');
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpDisconnectedError);
    expect(error).toMatchObject({ interrupted: true, command: 'query-status' });
    expect(await qemu.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const later = await qmp.queryStatus().catch((e: unknown) => e);
    expect(later).toMatchObject({ interrupted: false });
  });
});
