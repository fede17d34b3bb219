// restore()'s checks of drives before anything is made: a hot-plugged drive's image is checked
// like a launch-time one's (missing, changed), and one recorded without its root port, or
// ephemeral, is refused; the command then puts it on its port with the same ids.
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCommand } from '../../../../launcher/command.js';
import { RestoreMismatchError } from '../../../../launcher/snapshot/errors.js';
import type { ManifestDrive, SnapshotManifest } from '../../../../launcher/snapshot/manifest.js';
import { checkRestore } from '../../../../launcher/snapshot/restore-check.js';
import { TEST_VM } from './fake-subject.js';

let dir = '';
let qemu = '';
let image = '';
let state = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vml-restore-check-'));
  qemu = join(dir, 'qemu');
  writeFileSync(qemu, '#!/bin/sh\necho "QEMU emulator version 7.2.22 (Debian 1:7.2)"\n');
  chmodSync(qemu, 0o755);
  image = join(dir, 'hot.img');
  writeFileSync(image, 'abcd');
  state = join(dir, 'vm.state');
  writeFileSync(state, 'x'.repeat(10));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function manifestWith(drive: Partial<ManifestDrive>): SnapshotManifest {
  const st = statSync(image);
  return {
    format: 'vmlaunch-snapshot',
    version: 2,
    createdAt: '2026-12-05T10:00:00.000Z',
    state: { file: 'vm.state', bytes: 10 },
    qemu: { binary: qemu, version: '7.2.22', package: 'Debian 1:7.2' },
    machine: { template: 'q35', type: 'q35', options: {} },
    accel: 'tcg',
    cpus: 1,
    memoryMiB: 256,
    sharedMemory: false,
    boot: { kernel: '/k', cmdline: [] },
    devices: [{ id: 'hd0', kind: 'virtio-blk', bus: 'rp0', hotplugged: true }],
    nics: [],
    drives: [
      {
        spec: { path: image, id: 'hd0', format: 'raw', serial: 'hd0' },
        id: 'hd0',
        identity: { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs },
        hotplugged: true,
        bus: 'rp0',
        ...drive,
      },
    ],
  };
}

function refusal(manifest: SnapshotManifest): unknown {
  try {
    checkRestore(manifest, state, {});
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('restore checks of hot-plugged drives', () => {
  it('accepts a hot-plugged drive whose image is the saved one', () => {
    expect(refusal(manifestWith({}))).toBeUndefined();
  });

  it.each<[string, (image: string) => Partial<ManifestDrive>, string, string]>([
    [
      'a missing image',
      (img) => ({ spec: { path: `${img}.gone`, id: 'hd0' } }),
      'drives[0].path',
      'DRIVE_MISSING',
    ],
    [
      'a changed image',
      () => ({ identity: { dev: 0, ino: 0, size: 4, mtimeMs: 0 } }),
      'drives[0].path',
      'DRIVE_CHANGED',
    ],
    ['no root port', () => ({ bus: undefined }), 'manifest.drives[0].bus', 'DEVICE_SET'],
    [
      'an ephemeral one',
      (img) => ({ spec: { path: img, id: 'hd0', ephemeral: true } }),
      'manifest.drives[0].spec.ephemeral',
      'DEVICE_SET',
    ],
  ])('refuses %s', (_what, drive, path, code) => {
    const edit = drive(image);
    const m = manifestWith(edit);
    if ('bus' in edit && edit.bus === undefined) delete m.drives[0]!.bus;
    const error = refusal(m);
    expect(error).toBeInstanceOf(RestoreMismatchError);
    expect(error).toMatchObject({ path, code });
  });
});

describe('command of a restored hot-plugged drive', () => {
  it('cold-plugs it on its root port with its ids, the port not offered to hot plug', () => {
    const command = buildCommand({
      ...TEST_VM,
      drives: [
        { id: 'data', fd: 5, format: 'raw', serial: 'data' },
        { id: 'hd0', fd: 6, format: 'raw', serial: 'hd0' },
      ],
      driveBuses: { hd0: 'rp1' },
    });
    const device = command.argv.find(
      (w) => w.startsWith('virtio-blk-pci,') && w.includes('id=hd0'),
    );
    expect(device).toContain('bus=rp1');
    expect(device).toContain('drive=hd0-fmt');
    const cold = command.argv.find((w) => w.startsWith('virtio-blk-pci,') && w.includes('id=data'));
    expect(cold).not.toContain('bus=');
    expect(command.hotplugBuses).not.toContain('rp1');
    expect(command.hotplugBuses).toContain('rp0');
  });
});
