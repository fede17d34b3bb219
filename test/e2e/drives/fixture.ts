// What the drive e2e tests share: prerequisites, ext4 images made and read on the host without
// a loop mount (mkfs.ext4 -d, debugfs), a guest VM with drives and a leak check around it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import type { Vm } from '../../../launcher/vm.js';
import { withColdplugVm, type ColdplugOptions } from '../../helpers/coldplug-vm.js';
import { qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot } from '../../helpers/leaks.js';

// A tool's absence, or undefined.
function toolMissing(tool: string, args: string[], pkg: string): string | undefined {
  try {
    execFileSync(tool, args, { stdio: 'ignore' });
    return undefined;
  } catch {
    return `needs ${tool} (Debian: ${pkg})`;
  }
}

/** Why drive e2e tests cannot run here, or undefined. */
export function drivesMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (runAs, root-only images)';
  return (
    qemuMissing() ??
    toolMissing('qemu-img', ['--version'], 'qemu-utils') ??
    toolMissing('mkfs.ext4', ['-V'], 'e2fsprogs') ??
    toolMissing('debugfs', ['-V'], 'e2fsprogs')
  );
}

/** A fresh directory for one test's images (0755; the test removes it). */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `vml-drives-${prefix}-`));
}

/** An ext4 image of `sizeMiB` holding `files` (path -> content), built without mounting. */
export function makeExt4(image: string, files: Record<string, string> = {}, sizeMiB = 16): string {
  const tree = mkdtempSync(join(tmpdir(), 'vml-drives-tree-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), content);
  }
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', tree, image, `${sizeMiB}M`], { stdio: 'pipe' });
  execFileSync('rm', ['-rf', tree]);
  return image;
}

/** A file's content inside an ext4 image, read with debugfs (no mount), or undefined. */
export function readExt4(image: string, path: string): string | undefined {
  const out = execFileSync('debugfs', ['-R', `cat ${path}`, image], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out.length > 0 ? out : undefined;
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The guest's disk name (vda, vdb...) whose virtio serial is `serial`. */
export async function guestDisk(vm: Vm, serial: string): Promise<string> {
  const r = await vm.guest.exec(
    `for f in /sys/block/vd*/serial; do [ "$(cat $f)" = ${serial} ] && basename $(dirname $f); done`,
  );
  const name = r.output.trim();
  expect(name, `no guest disk with serial ${serial}`).toMatch(/^vd[a-z]+$/);
  return name;
}

/**
 * Boots the default guest with `options` (drives...), runs `body`, shuts down by the power
 * button, and checks that no fd or child process of ours is left and the run dir is gone.
 */
export async function withDriveVm(
  // kernel/initrd: another copy of the default guest (they override the cached one).
  options: ColdplugOptions & { kernel?: string; initrd?: string },
  body: (vm: Vm) => Promise<void>,
): Promise<void> {
  // Drives make no netns; others' parallel tests do, so netns are not ours to count here.
  const snap = () => takeSnapshot({ netnsFilter: () => false });
  const before = snap();
  let runDir: string | undefined;
  await withColdplugVm(options, async (vm) => {
    runDir = vm.runDir;
    await body(vm);
  });
  expect(runDir && existsSync(runDir), `run dir ${runDir ?? '?'} left behind`).toBeFalsy();
  expect(diffSnapshots(before, snap())).toEqual([]);
}
