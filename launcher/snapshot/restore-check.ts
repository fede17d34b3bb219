// The checks of a restore that run before anything is made: the manifest against this host
// (QEMU's version, the state file, the drives' identities) and against the caller's options
// (machine, memory, CPUs, NIC ids and MACs). Each refusal is a RestoreMismatchError with its
// own code (docs/snapshots.md).
import { spawnSync } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EndpointSpec } from '../launch-options.js';
import { RestoreMismatchError } from './errors.js';
import type { ManifestDrive, SnapshotManifest } from './manifest.js';
import type { RestoreOptions } from './restore-options.js';

// `<binary> --version` per binary: "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7...)".
const versions = new Map<string, { version: string; package: string }>();

/** QEMU's version and package string as `--version` prints them. */
export function qemuVersion(binary: string): { version: string; package: string } {
  const known = versions.get(binary);
  if (known) return known;
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const m = /version (\d+\.\d+\.\d+)(?: \((.*)\))?/.exec(out.stdout ?? '');
  if (out.status !== 0 || !m) {
    throw new RestoreMismatchError(
      'qemu',
      binary,
      `cannot run it to read its version (${out.error?.message ?? out.stderr?.trim() ?? 'no output'})`,
      'QEMU_VERSION',
    );
  }
  const found = { version: m[1]!, package: (m[2] ?? '').trim() };
  versions.set(binary, found);
  return found;
}

// Refuses when the option is given and differs from the manifest's value.
function same<T>(field: string, given: T | undefined, saved: T, code: string): void {
  if (given !== undefined && given !== saved) {
    throw new RestoreMismatchError(
      field,
      given,
      `the snapshot was taken with ${JSON.stringify(saved)}`,
      code,
    );
  }
}

/** Checks the manifest against the options and this host; opens nothing that stays open. */
export function checkRestore(
  manifest: SnapshotManifest,
  statePath: string,
  options: RestoreOptions,
): void {
  same('template', options.template, manifest.machine.template, 'MACHINE');
  same('memoryMiB', options.memoryMiB, manifest.memoryMiB, 'MEMORY');
  same('cpus', options.cpus, manifest.cpus, 'CPUS');
  const binary = options.qemu ?? manifest.qemu.binary;
  const host = qemuVersion(binary);
  if (host.version !== manifest.qemu.version || host.package !== manifest.qemu.package) {
    throw new RestoreMismatchError(
      'qemu',
      `${host.version} (${host.package})`,
      `the snapshot was saved by QEMU ${manifest.qemu.version} (${manifest.qemu.package}); QEMU restores only its own state reliably`,
      'QEMU_VERSION',
    );
  }
  checkSnapshotFile(statePath, manifest.state.bytes, 'the state file');
  if (manifest.state.memory) {
    const image = join(dirname(statePath), manifest.state.memory.file);
    checkSnapshotFile(image, manifest.state.memory.bytes, 'the RAM image');
  }
  for (const [i, drive] of manifest.drives.entries()) {
    const st = statSync(drive.spec.path, { throwIfNoEntry: false });
    const field = `drives[${i}].path`;
    if (!st) {
      throw new RestoreMismatchError(
        field,
        drive.spec.path,
        'the image is missing',
        'DRIVE_MISSING',
      );
    }
    const id = drive.identity;
    if (
      st.dev !== id.dev ||
      st.ino !== id.ino ||
      st.size !== id.size ||
      st.mtimeMs !== id.mtimeMs
    ) {
      throw new RestoreMismatchError(
        field,
        drive.spec.path,
        'the image is not the one saved (device, inode, size or mtime differ): the guest would see a disk that changed under it',
        'DRIVE_CHANGED',
      );
    }
  }
  for (const [i, drive] of manifest.drives.entries()) checkHotDrive(drive, i);
  for (const [i, nic] of manifest.nics.entries()) {
    if (nic.hotplugged && nic.bus === undefined) {
      throw new RestoreMismatchError(
        `manifest.nics[${i}].bus`,
        undefined,
        'a hot-plugged NIC without its root port cannot be put back where it was',
        'DEVICE_SET',
      );
    }
  }
  const ids = new Set(manifest.nics.map((n) => n.id));
  for (const id of Object.keys(options.nics ?? {})) {
    if (!ids.has(id)) {
      throw new RestoreMismatchError(
        `nics.${id}`,
        id,
        `no NIC of that id in the snapshot (it has ${[...ids].join(', ') || 'none'})`,
        'NIC_UNKNOWN',
      );
    }
  }
}

// A hot-plugged drive goes back on its root port, from its image: it needs both.
function checkHotDrive(drive: ManifestDrive, i: number): void {
  if (!drive.hotplugged) return;
  if (drive.bus === undefined) {
    throw new RestoreMismatchError(
      `manifest.drives[${i}].bus`,
      undefined,
      'a hot-plugged drive without its root port cannot be put back where it was',
      'DEVICE_SET',
    );
  }
  if (drive.spec.ephemeral) {
    throw new RestoreMismatchError(
      `manifest.drives[${i}].spec.ephemeral`,
      true,
      "a hot-plugged ephemeral drive's writes were in an overlay that is gone",
      'DEVICE_SET',
    );
  }
}

// A file of the snapshot (the state file, the RAM image): a regular file (no symlink) of the
// size the manifest says.
function checkSnapshotFile(path: string, bytes: number, what: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new RestoreMismatchError('path', path, `cannot open ${what} (${code})`, 'STATE_FILE');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size !== bytes) {
      throw new RestoreMismatchError(
        'path',
        path,
        st.isFile()
          ? `${what} has ${st.size} bytes, the manifest says ${bytes}`
          : `${what} is not a regular file`,
        'STATE_FILE',
      );
    }
  } finally {
    closeSync(fd);
  }
}

/** The endpoints to attach: each NIC's saved endpoint or the caller's, with the saved MAC. */
export function restoreEndpoints(
  manifest: SnapshotManifest,
  options: RestoreOptions,
): EndpointSpec[] {
  return manifest.nics.map((nic) => {
    const given = options.nics?.[nic.id];
    const endpoint = given?.endpoint ?? nic.endpoint;
    if (!endpoint) {
      throw new RestoreMismatchError(
        `nics.${nic.id}.endpoint`,
        undefined,
        'the snapshot does not say how this NIC was attached; give its endpoint',
        'NIC_UNBOUND',
      );
    }
    if (endpoint.kind === 'physical' || endpoint.kind === 'vhost-user') {
      throw new RestoreMismatchError(
        `nics.${nic.id}.endpoint.kind`,
        endpoint.kind,
        'only tap-backed endpoints can be restored',
        'NIC_KIND',
      );
    }
    if (endpoint.mac !== undefined && endpoint.mac.toLowerCase() !== nic.mac.toLowerCase()) {
      throw new RestoreMismatchError(
        `nics.${nic.id}.endpoint.mac`,
        endpoint.mac,
        `the guest holds MAC ${nic.mac} in its saved state`,
        'NIC_MAC',
      );
    }
    const netns = given?.netns ?? options.netns ?? nic.netns;
    return {
      id: nic.id,
      endpoint: { ...endpoint, mac: nic.mac },
      ...(netns !== undefined ? { netns } : {}),
    };
  });
}
