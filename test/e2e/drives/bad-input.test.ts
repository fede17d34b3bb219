// Bad drive input through launch(): a clear error before anything starts and nothing left
// behind (our fds and children; no run dir); an image locked by another QEMU is a LaunchError
// coded IMAGE_LOCKED that names the image, although QEMU itself only names /dev/fdset/N.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRuntimeRoot } from '../../../launcher/control/runtime-dir.js';
import { LaunchError } from '../../../launcher/errors.js';
import { launch, type LaunchOptions } from '../../../launcher/launch.js';
import type { DriveSpec } from '../../../launcher/workload/drive-spec.js';
import { ValidationError } from '../../../core/index.js';
import { defaultGuest, HARNESS_CMDLINE } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';
import { drivesMissing, makeExt4, tempDir } from './fixture.js';

// Our VMs' run dirs are named by VM id under <runtime root>/.vm; others' tests add theirs, so
// the check is that no dir appears whose VM id shows up in our error's argv.
async function launchFails(options: Partial<LaunchOptions>): Promise<unknown> {
  const guest = await defaultGuest();
  const snap = () => takeSnapshot({ netnsFilter: () => false });
  const before = snap();
  const error = await launch({
    kernel: guest.kernel,
    initrd: guest.initrd,
    accel: 'tcg',
    cmdline: HARNESS_CMDLINE,
    ...options,
  }).then(
    async (vm) => {
      await vm.kill();
      return new Error('launch succeeded');
    },
    (e: unknown) => e,
  );
  expect(diffSnapshots(before, snap())).toEqual([]);
  return error;
}

function runDirs(): string[] {
  try {
    return readdirSync(join(defaultRuntimeRoot(), '.vm'));
  } catch {
    return [];
  }
}

describe.runIf(prerequisite('drives', drivesMissing()))('bad drive input', () => {
  it('each bad input is a ValidationError naming the field, and nothing is left', async () => {
    const dir = tempDir('bad');
    try {
      const raw = join(dir, 'raw.img');
      writeFileSync(raw, Buffer.alloc(1 << 20));
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const cases: Array<[DriveSpec[], string, string]> = [
        [[{ path: join(dir, 'missing.img') }], 'drives[0].path', 'IMAGE_NOT_FOUND'],
        [[{ path: dir }], 'drives[0].path', 'IMAGE_NOT_REGULAR'],
        [[{ path: fifo }], 'drives[0].path', 'IMAGE_NOT_REGULAR'],
        [[{ path: raw, format: 'qcow2' }], 'drives[0].format', 'IMAGE_FORMAT'],
        [[{ path: raw, serial: 'has space' }], 'drives[0].serial', 'DRIVE_SERIAL'],
        [
          [{ path: raw }, { path: raw, id: 'drive0', readOnly: true }],
          'drives[1].id',
          'DUPLICATE_ID',
        ],
        [[{ path: raw, mount: 'relative' }], 'drives[0].mount', 'GUEST_PATH'],
      ];
      for (const [drives, path, code] of cases) {
        const error = await launchFails({ drives });
        expect(error, `${path} ${code}`).toBeInstanceOf(ValidationError);
        expect(error).toMatchObject({ path, code });
      }
      const nine = Array.from({ length: 9 }, (_, i) => ({
        path: raw,
        id: `d${i}`,
        readOnly: true,
      }));
      expect(await launchFails({ template: 'microvm', drives: nine })).toMatchObject({
        path: 'drives',
        code: 'TOO_MANY_DEVICES',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('an image another QEMU holds: LaunchError IMAGE_LOCKED naming the image', async () => {
    const dir = tempDir('locked');
    const guest = await defaultGuest();
    const image = makeExt4(join(dir, 'shared, disk.img'));
    // The holder: a paused VM with the image writable (QEMU takes the locks at device realize).
    const holder = await launch({
      kernel: guest.kernel,
      initrd: guest.initrd,
      accel: 'tcg',
      paused: true,
      drives: [{ path: image }],
    });
    try {
      const dirsBefore = runDirs();
      for (const readOnly of [false, true]) {
        const error = await launchFails({ drives: [{ path: image, id: 'mine', readOnly }] });
        expect(error).toBeInstanceOf(LaunchError);
        const launchError = error as LaunchError;
        expect(launchError.code).toBe('IMAGE_LOCKED');
        expect(launchError.message).toContain(`drive mine: the image ${image} is in use`);
        // What QEMU 7.2 itself said (kept in the message's tail).
        expect(launchError.stderrTail).toMatch(
          readOnly ? /Failed to get shared "write" lock/ : /Failed to get "write" lock/,
        );
        expect(launchError.stderrTail).toMatch(
          /Is another process using the image \[\/dev\/fdset\/0\]/,
        );
        expect(launchError.rollbackErrors).toEqual([]);
      }
      expect(runDirs().filter((d) => !dirsBefore.includes(d))).toEqual([]);
    } finally {
      await holder.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
