import { join } from 'node:path';
import { fstatSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useFakeQemuWorkspace } from '../../helpers/fake-qemu.js';
import { LaunchError } from '../../../launcher/errors.js';
import { launch, launchWithDeps } from '../../../launcher/launch.js';
import { tcgClockArgs } from '../../../launcher/tcg-clock.js';
import { resolveTemplate } from '../../../qemu-templates/index.js';
import { ValidationError } from '../../../core/index.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';

// Fake QEMUs (shell scripts) make the launch faults of docs/faults.md T1-T3 happen on demand.
// A shell script cannot run QEMU's seccomp sandbox (on by default), so those launches turn it off.
const ws = useFakeQemuWorkspace('launch');
const fakeQemu = (name: string, body: string): string => ws.script(name, body);

describe('launch failures', () => {
  it('T1: a missing QEMU binary is a LaunchError and creates nothing', async () => {
    const before = takeSnapshot({ netnsFilter: () => false });
    const error = await launch({
      kernel: ws.kernel,
      accel: 'tcg',
      qemu: join(ws.dir, 'absent'),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect(error).toMatchObject({ code: 'QEMU_NOT_FOUND', step: 'resolve-binary' });
    expect(diffSnapshots(before, takeSnapshot({ netnsFilter: () => false }))).toEqual([]);
  });

  it('T2: QEMU exiting before the greeting is a LaunchError with its exit code and stderr', async () => {
    const before = takeSnapshot({ netnsFilter: () => false });
    const qemu = fakeQemu(
      'exits',
      'echo "qemu-system-x86_64: -kernel: could not open" >&2; exit 1',
    );
    const error = (await launch({
      kernel: ws.kernel,
      accel: 'tcg',
      qemu,
      sandbox: false,
      confine: false,
    }).catch((e: unknown) => e)) as LaunchError;
    expect(error).toBeInstanceOf(LaunchError);
    expect(error).toMatchObject({
      code: 'QEMU_EXITED',
      step: 'qmp-connect',
      exit: { code: 1, signal: null },
    });
    expect(error.stderrTail).toContain('could not open');
    expect(error.argv[0]).toBe(qemu);
    expect(error.message).toContain('could not open');
    expect(error.rollbackErrors).toEqual([]);
    expect(diffSnapshots(before, takeSnapshot({ netnsFilter: () => false }))).toEqual([]);
  });

  it('T3: a QEMU that never greets fails after the connect deadline and is killed and reaped', async () => {
    const before = takeSnapshot({ netnsFilter: () => false });
    const qemu = fakeQemu('silent', 'exec sleep 60');
    const started = Date.now();
    // A fake QEMU in our private temp dir: the jail's uid could not exec it (confine: false).
    const error = await launch({
      kernel: ws.kernel,
      accel: 'tcg',
      qemu,
      confine: false,
      qmpConnectTimeout: 400,
      sandbox: false,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect(error).toMatchObject({ code: 'QMP_TIMEOUT', step: 'qmp-connect' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(diffSnapshots(before, takeSnapshot({ netnsFilter: () => false }))).toEqual([]);
  });

  it('spawns microvm under TCG with the host TSC rate on the kernel command line', async () => {
    const qemu = fakeQemu('argv', 'exit 1');
    const error = (await launch({
      kernel: ws.kernel,
      accel: 'tcg',
      qemu,
      template: 'microvm',
      cmdline: ['quiet'],
      sandbox: false,
      confine: false, // a fake QEMU in our private temp dir
    }).catch((e: unknown) => e)) as LaunchError;
    const append = error.argv[error.argv.indexOf('-append') + 1]!.split(' ');
    const clock = tcgClockArgs(resolveTemplate('microvm'), 'tcg').args;
    expect(clock.length).toBe(2);
    expect(append).toEqual(['console=ttyS0', ...clock, 'quiet']);
  });

  it('rejects a console log that cannot be written before creating anything', async () => {
    const error = await launch({
      kernel: ws.kernel,
      accel: 'tcg',
      consoleLog: '/nonexistent-dir/console.log',
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ path: 'consoleLog', code: 'FILE' });
  });

  it("owns the caller's NIC fds: closed even when launch fails at its first step", async () => {
    const fd = openSync('/dev/null', 'r');
    const error = await launch({
      kernel: join(ws.dir, 'no-kernel'),
      accel: 'tcg',
      nics: [
        {
          kind: 'tap',
          id: 'given',
          mac: '52:54:00:00:00:09',
          mtu: 1500,
          tapFds: [fd],
          vhostFds: [],
          vhost: { enabled: false, reason: 'test' },
          ifname: 'vmlgiven0',
        },
      ],
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ path: 'kernel' });
    expect(() => fstatSync(fd)).toThrow();
  });

  it('rejects a kernel that does not exist before creating anything', async () => {
    const error = await launch({ kernel: join(ws.dir, 'no-kernel'), accel: 'tcg' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ path: 'kernel', code: 'FILE' });
  });

  it('rejects an invalid config with the field path before spawning anything', async () => {
    const qemu = fakeQemu('never-run', `touch ${join(ws.dir, 'ran')}`);
    const error = await launch({ kernel: ws.kernel, accel: 'tcg', qemu, memoryMiB: -5 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).path).toMatch(/memory/);
  });

  it('rolls back attached endpoints when a later step fails', async () => {
    const log: string[] = [];
    const error = await launchWithDeps(
      {
        kernel: ws.kernel,
        accel: 'tcg',
        qemu: join(ws.dir, 'absent'),
        sandbox: false,
        confine: false, // the missing binary must fail at spawn, after the attach
        endpoints: [{ endpoint: { kind: 'tap', name: 'vmlt0' } }],
      },
      {
        attach: (endpoint, ctx) => {
          log.push(`attach ${ctx.nicId}`);
          return Promise.resolve({
            endpoint,
            hostNic: {
              kind: 'vhost-user',
              id: ctx.nicId,
              mac: '52:54:00:00:00:01',
              queues: 1,
              socketPath: join(ws.dir, 'vu.sock'),
              mode: 'server',
            },
            detach: () => {
              log.push(`detach ${ctx.nicId}`);
              return Promise.resolve();
            },
          });
        },
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect(log).toEqual(['attach net0', 'detach net0']);
  });
});
