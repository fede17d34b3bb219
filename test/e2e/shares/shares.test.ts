// virtiofs shares end to end: real virtiofsd (Debian's C daemon), real QEMU under TCG, the
// default guest, whose init mounts each share from `vmlaunch.share=` on the kernel command line.
// Every test ends with nothing of its VM left: no virtiofsd, no socket, no run dir, no fd.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LaunchError } from '../../../launcher/errors.js';
import { launch, type LaunchOptions } from '../../../launcher/launch.js';
import type { Vm } from '../../../launcher/vm.js';
import { ShareError, VIRTIOFSD_PATH } from '../../../launcher/workload/virtiofsd.js';
import { defaultGuest, HARNESS_CMDLINE, qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';
import { processesMentioning, waitGone } from './helpers.js';

const ours = (): ReturnType<typeof takeSnapshot> => takeSnapshot({ netnsFilter: () => false });

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (virtiofsd sandbox, read-only bind mounts)';
  if (!existsSync(VIRTIOFSD_PATH)) return `needs ${VIRTIOFSD_PATH} (Debian: qemu-system-common)`;
  return qemuMissing();
}

// Boots the default guest with `options` and waits for its console shell.
async function boot(options: Omit<LaunchOptions, 'kernel'>): Promise<Vm> {
  const guest = await defaultGuest();
  const vm = await launch({
    kernel: guest.kernel,
    initrd: guest.initrd,
    accel: 'tcg',
    ...options,
    cmdline: [...HARNESS_CMDLINE, ...(options.cmdline ?? [])],
  });
  try {
    await vm.guest.waitReady({ timeout: 60_000 });
  } catch (error) {
    await vm.kill();
    throw error;
  }
  return vm;
}

// After the VM: its daemons, their sandboxed children, sockets and the run dir are gone.
async function expectNothingLeft(vm: Vm): Promise<void> {
  expect(vm.leftovers).toEqual([]);
  for (const share of vm.shares) {
    expect(existsSync(`/proc/${share.pid}`)).toBe(false);
    expect(existsSync(share.socketPath)).toBe(false);
  }
  expect(vm.runDir && existsSync(vm.runDir)).toBe(false);
  expect(await waitGone(() => processesMentioning(vm.runDir!), 3000)).toEqual([]);
}

describe.runIf(prerequisite('virtiofs shares', missing()))('virtiofs shares', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync('/tmp/vml-share-');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries a file host->guest and guest->host; virtiofsd stops after QEMU', async () => {
    const before = ours();
    writeFileSync(join(dir, 'from-host.txt'), 'hello guest\n');
    const vm = await boot({ shares: [{ hostPath: dir, tag: 'src', mount: '/src' }] });
    let argv: readonly string[] = [];
    try {
      const [share] = vm.shares;
      expect(share).toMatchObject({
        tag: 'src',
        mount: '/src',
        readOnly: false,
        state: 'running',
        deviceId: 'fs-src',
        chardevId: 'chr-fs-src',
      });
      expect(share!.socketPath.startsWith(`${vm.runDir!}/`)).toBe(true);
      expect(share!.argv).toContain(`--socket-path=${share!.socketPath}`);
      argv = share!.argv;
      expect(argv[0]).toBe(VIRTIOFSD_PATH);
      expect(argv).toContain(`source=${dir}`);
      expect(existsSync(`/proc/${share!.pid}`)).toBe(true);
      const qemuArgv = vm.command.argv.join(' ');
      expect(qemuArgv).toMatch(/memory-backend-memfd,[^ ]*share=on/);
      expect(qemuArgv).toMatch(/-chardev socket,id=chr-fs-src,fd=\d+/);
      expect(qemuArgv).toMatch(/-device vhost-user-fs-pci,id=fs-src,chardev=chr-fs-src,tag=src/);
      expect((await vm.guest.check('cat /src/from-host.txt')).trim()).toBe('hello guest');
      await vm.guest.check('echo hello host > /src/from-guest.txt && sync');
      expect(readFileSync(join(dir, 'from-guest.txt'), 'utf8')).toBe('hello host\n');
    } finally {
      const exit = await vm.shutdown();
      expect(exit).toMatchObject({ rung: 'powerdown', unexpected: false });
    }
    // Stopped after QEMU: it ends by itself (status 0) when QEMU hangs up, or by teardown's
    // SIGTERM if that comes first; never SIGKILLed, and its end was not taken for a failure.
    expect([
      JSON.stringify({ code: 0, signal: null }),
      JSON.stringify({ code: null, signal: 'SIGTERM' }),
    ]).toContain(JSON.stringify(await vm.shares[0]!.exited));
    expect(vm.shares[0]!.state).toBe('stopped');
    expect(vm.shares[0]!.error).toBeUndefined();
    await expectNothingLeft(vm);
    expect(diffSnapshots(before, ours())).toEqual([]);
  }, 120_000);

  it('a read-only share refuses writes (EROFS), even remounted rw in the guest', async () => {
    const before = ours();
    writeFileSync(join(dir, 'keep.txt'), 'original\n');
    const vm = await boot({ shares: [{ hostPath: dir, tag: 'ro', mount: '/ro', readOnly: true }] });
    try {
      expect((await vm.guest.check('cat /ro/keep.txt')).trim()).toBe('original');
      expect(await vm.guest.check('grep " /ro " /proc/mounts')).toMatch(/virtiofs ro[, ]/);
      const write = await vm.guest.exec('echo changed > /ro/keep.txt');
      expect(write.status).not.toBe(0);
      expect(write.output).toMatch(/Read-only file system/);
      // The guest's own ro flag is not the guard: remounted rw, the host still refuses.
      await vm.guest.check('mount -o remount,rw /ro');
      const again = await vm.guest.exec('echo changed > /ro/keep.txt; touch /ro/new.txt');
      expect(again.output).toMatch(/Read-only file system/);
    } finally {
      await vm.shutdown();
    }
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('original\n');
    expect(existsSync(join(dir, 'new.txt'))).toBe(false);
    await expectNothingLeft(vm);
    expect(diffSnapshots(before, ours())).toEqual([]);
  }, 120_000);

  it('virtiofsd killed mid-run: a failed event with its stderr, QEMU keeps running, clean shutdown', async () => {
    const before = ours();
    const vm = await boot({ shares: [{ hostPath: dir, tag: 'doomed', mount: '/doomed' }] });
    const share = vm.shares[0]!;
    try {
      const events: ShareError[] = [];
      share.on('failed', (error) => events.push(error));
      // The pid is the daemon this test's launch started.
      process.kill(share.pid, 'SIGKILL');
      const error = await share.failure;
      expect(error).toBeInstanceOf(ShareError);
      expect(error.code).toBe('VIRTIOFSD_DIED');
      expect(error.exit).toEqual({ code: null, signal: 'SIGKILL' });
      expect(error.message).toMatch(/share 'doomed'.*ended while the VM ran/);
      expect(error.stderrTail).toMatch(/virtio_session_mount/);
      expect(events).toEqual([error]);
      expect(share.state).toBe('failed');
      // QEMU does not die with it: the VM and its console still answer.
      expect(vm.state).toBe('running');
      expect((await vm.guest.check('echo alive')).trim()).toBe('alive');
    } finally {
      await vm.shutdown({ timeout: 5000 });
    }
    await expectNothingLeft(vm);
    expect(diffSnapshots(before, ours())).toEqual([]);
  }, 120_000);

  it('virtiofsd exiting at start fails the launch with its stderr and leaves nothing', async () => {
    const before = ours();
    // The real daemon, given an option it refuses: it exits 1 before it listens.
    const wrapper = join(dir, 'bad-virtiofsd');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${VIRTIOFSD_PATH} "$@" -o no_such_option\n`);
    chmodSync(wrapper, 0o755);
    const guest = await defaultGuest();
    const error: unknown = await launch({
      kernel: guest.kernel,
      initrd: guest.initrd,
      accel: 'tcg',
      shares: [{ hostPath: dir, mount: '/x' }],
      virtiofsd: wrapper,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    const launchError = error as LaunchError;
    expect(launchError.step).toBe('shares');
    expect(launchError.code).toBe('VIRTIOFSD_EXITED');
    expect(launchError.cause).toBeInstanceOf(ShareError);
    expect((launchError.cause as ShareError).exit).toEqual({ code: 1, signal: null });
    expect(launchError.message).toMatch(/unknown option.*no_such_option/);
    expect(launchError.rollbackErrors).toEqual([]);
    expect(await waitGone(() => processesMentioning(wrapper), 3000)).toEqual([]);
    expect(diffSnapshots(before, ours())).toEqual([]);
  }, 60_000);
});
