// vm.snapshot() with hot-plugged drives, against a scripted QMP server: a drive hot-plugged
// before the save is in the manifest (spec, identity, root port) and in its device set; one
// that could not come back (ephemeral, being unplugged, image gone) is refused before QEMU is
// asked anything, and no file is made.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UnsupportedError } from '../../../../core/index.js';
import { buildCommand } from '../../../../launcher/command.js';
import type { HotpluggedDrive } from '../../../../launcher/hotplug/types.js';
import type { QmpClient } from '../../../../launcher/qmp/client.js';
import { saveSnapshot, type SnapshotSubject } from '../../../../launcher/snapshot/save.js';
import type { FakeQmp } from '../../../helpers/fake-qmp.js';
import { connectedToFake } from '../qmp/connected.js';
import { fakeSubject, serveSave, TEST_VM } from './fake-subject.js';

let pair: { fake: FakeQmp; qmp: QmpClient } | undefined;
let dir: string;
afterEach(() => {
  pair?.qmp.close();
  pair?.fake.close();
  pair = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function hotDrive(path: string, extra: Partial<HotpluggedDrive['spec']> = {}): HotpluggedDrive {
  return {
    kind: 'drive',
    id: 'hd0',
    serial: 'hd0',
    bus: 'rp1',
    spec: { path, id: 'hd0', format: 'raw', serial: 'hd0', ...extra },
    timings: { host: 0, qmp: 0 },
  };
}

function subject(
  qmp: QmpClient,
  drives: HotpluggedDrive[],
  more: Partial<SnapshotSubject> = {},
): SnapshotSubject {
  return fakeSubject(qmp, { hotpluggedDrives: drives, ...more });
}

describe('vm.snapshot with hot-plugged drives', () => {
  it('records a hot-plugged drive: its spec, image identity and root port, and its device', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vml-save-hd-'));
    const image = join(dir, 'hot.img');
    writeFileSync(image, 'abcd');
    pair = await connectedToFake();
    serveSave(pair.fake);
    const r = await saveSnapshot(subject(pair.qmp, [hotDrive(image)]), join(dir, 'a.state'));
    expect(r.manifest.version).toBe(2);
    expect(r.manifest.drives).toMatchObject([
      {
        id: 'hd0',
        spec: { path: image, id: 'hd0', serial: 'hd0' },
        identity: { size: 4 },
        hotplugged: true,
        bus: 'rp1',
      },
    ]);
    expect(r.manifest.devices.at(-1)).toEqual({
      id: 'hd0',
      kind: 'virtio-blk',
      bus: 'rp1',
      hotplugged: true,
    });
  });

  it('records a drive restored onto a root port as hot-plugged, and not as a cold one', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vml-save-hd-'));
    const image = join(dir, 'hot.img');
    writeFileSync(image, 'abcd');
    pair = await connectedToFake();
    serveSave(pair.fake);
    const spec = { path: image, id: 'hd0', format: 'raw' as const, serial: 'hd0' };
    const command = buildCommand({
      ...TEST_VM,
      console: { kind: 'fd', fd: 4 },
      drives: [{ id: 'hd0', fd: 5, format: 'raw', serial: 'hd0' }],
      driveBuses: { hd0: 'rp1' },
    });
    const restored = subject(pair.qmp, [hotDrive(image)], {
      command,
      source: { kernel: '/k', memoryMiB: 128, drives: [spec] },
      driveBuses: { hd0: 'rp1' },
    });
    const r = await saveSnapshot(restored, join(dir, 'a.state'));
    expect(r.manifest.drives.map((d) => [d.id, d.hotplugged, d.bus])).toEqual([
      ['hd0', true, 'rp1'],
    ]);
    expect(r.manifest.devices.filter((d) => d.id.startsWith('hd0'))).toEqual([
      { id: 'hd0', kind: 'virtio-blk', bus: 'rp1', hotplugged: true },
    ]);
    // Detached after the restore: in neither list.
    const path = join(dir, 'b.state');
    const gone = await saveSnapshot({ ...restored, hotpluggedDrives: [] }, path);
    expect(gone.manifest.drives).toEqual([]);
    expect(gone.manifest.devices.some((d) => d.id.startsWith('hd0'))).toBe(false);
  });

  it.each<[string, (image: string) => Partial<SnapshotSubject>, RegExp]>([
    [
      'an ephemeral drive',
      (image) => ({ hotpluggedDrives: [hotDrive(image, { ephemeral: true })] }),
      /hd0: it is ephemeral/,
    ],
    [
      'a drive being unplugged',
      (image) => ({ hotpluggedDrives: [hotDrive(image)], unplugging: ['hd0'] }),
      /hd0: its unplug is under way/,
    ],
    [
      'a drive whose image is gone',
      (image) => ({ hotpluggedDrives: [hotDrive(`${image}.gone`)] }),
      /hd0: its image .* is gone/,
    ],
  ])('refuses %s before asking QEMU anything', async (_what, make, message) => {
    dir = mkdtempSync(join(tmpdir(), 'vml-save-hd-'));
    const image = join(dir, 'hot.img');
    writeFileSync(image, 'abcd');
    pair = await connectedToFake();
    const seen = serveSave(pair.fake);
    const path = join(dir, 'a.state');
    const error = await saveSnapshot(subject(pair.qmp, [], make(image)), path).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnsupportedError);
    expect((error as Error).message).toMatch(message);
    expect(seen).toEqual([]);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.json`)).toBe(false);
  });
});
