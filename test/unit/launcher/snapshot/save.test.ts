// vm.snapshot()'s steps against a scripted QMP server: the commands in order, the fd passed
// with getfd, a manifest that parses back; and a save that fails (QEMU reports the migration
// failed, or an abort) removes its files and resumes the VM that was running.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotError } from '../../../../launcher/snapshot/errors.js';
import { parseManifest } from '../../../../launcher/snapshot/manifest.js';
import { saveSnapshot, type SnapshotSubject } from '../../../../launcher/snapshot/save.js';
import type { QmpClient } from '../../../../launcher/qmp/client.js';
import type { FakeQmp } from '../../../helpers/fake-qmp.js';
import { connectedToFake } from '../qmp/connected.js';
import { fakeSubject, serveSave } from './fake-subject.js';

let pair: { fake: FakeQmp; qmp: QmpClient } | undefined;
let dir: string;
afterEach(() => {
  pair?.qmp.close();
  pair?.fake.close();
  rmSync(dir, { recursive: true, force: true });
});

// The VM under test, with one read-only launch-time drive.
function subject(qmp: QmpClient, drive: string): SnapshotSubject {
  return fakeSubject(qmp, {
    source: { kernel: '/k', memoryMiB: 128, drives: [{ path: drive, readOnly: true }] },
  });
}

describe('vm.snapshot steps', () => {
  it('stops, passes the file by getfd, migrates to fd:, writes a manifest that parses, resumes', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vml-save-'));
    const drive = join(dir, 'd.img');
    writeFileSync(drive, 'x');
    pair = await connectedToFake();
    let polls = 0;
    const seen = serveSave(pair.fake, () =>
      ++polls < 3
        ? { status: 'active', ram: { transferred: polls * 10, total: 100 } }
        : { status: 'completed', ram: { transferred: 100, total: 100 } },
    );
    const progress: number[] = [];
    const path = join(dir, 'a.state');
    const r = await saveSnapshot(subject(pair.qmp, drive), path, {
      onProgress: (p) => progress.push(p.transferredBytes),
    });
    const names = seen.map((c) => c.execute);
    expect(names.slice(0, 5)).toEqual([
      'query-version',
      'query-status',
      'stop',
      'getfd',
      'migrate',
    ]);
    expect(names.at(-1)).toBe('cont');
    expect(seen[3]!.fds).toHaveLength(1);
    expect(seen[4]!.arguments).toEqual({ uri: `fd:${seen[3]!.arguments!.fdname as string}` });
    expect(progress).toEqual([10, 20, 100]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const manifest = parseManifest(readFileSync(r.manifestPath, 'utf8'));
    expect(manifest).toEqual(r.manifest);
    expect(manifest).toMatchObject({
      qemu: { version: '7.2.22', package: '(fake)' },
      machine: { template: 'q35', type: 'q35' },
      memoryMiB: 128,
      drives: [{ id: 'drive0', spec: { path: drive }, identity: { size: 1 } }],
    });
  });

  it('refuses an ephemeral drive the guest wrote to, and resumes the VM', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vml-save-'));
    const drive = join(dir, 'd.img');
    writeFileSync(drive, 'x');
    pair = await connectedToFake();
    const stats = (wr: number): object[] => [
      { qdev: '/machine/peripheral/scratch/virtio-backend', stats: { wr_operations: wr } },
    ];
    const vm = subject(pair.qmp, drive);
    vm.source = { ...vm.source, drives: [{ path: drive, id: 'scratch', ephemeral: true }] };
    const path = join(dir, 'a.state');
    const seen = serveSave(pair.fake, () => ({ status: 'completed' }), stats(2));
    const error = await saveSnapshot(vm, path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotError);
    expect(error).toMatchObject({ step: 'ephemeral-drives' });
    expect(String((error as Error).message)).toContain('ephemeral drive scratch');
    expect(existsSync(path)).toBe(false);
    expect(seen.map((c) => c.execute)).toEqual([
      'query-version',
      'query-status',
      'stop',
      'query-blockstats',
      'cont',
    ]);
    pair.qmp.close();
    pair.fake.close();
    // Unwritten, it is saved (a restore's fresh overlay is what the guest saw).
    pair = await connectedToFake();
    serveSave(pair.fake, () => ({ status: 'completed' }), stats(0));
    const vm2 = subject(pair.qmp, drive);
    vm2.source = vm.source;
    await expect(saveSnapshot(vm2, path)).resolves.toMatchObject({ path });
  });

  it('refuses an existing file without stopping the VM', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vml-save-'));
    const path = join(dir, 'a.state');
    writeFileSync(path, 'mine');
    pair = await connectedToFake();
    const seen = serveSave(pair.fake, () => ({ status: 'completed' }));
    const error = await saveSnapshot(subject(pair.qmp, path), path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotError);
    expect(error).toMatchObject({ step: 'open-state', code: 'SNAPSHOT_FAILED' });
    expect(readFileSync(path, 'utf8')).toBe('mine');
    expect(seen.map((c) => c.execute)).toEqual(['query-version', 'query-status', 'stop', 'cont']);
  });

  it('a failed migration removes the partial file and resumes the VM', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vml-save-'));
    const drive = join(dir, 'd.img');
    writeFileSync(drive, 'x');
    pair = await connectedToFake();
    const seen = serveSave(pair.fake, () => ({ status: 'failed', 'error-desc': 'disk full' }));
    const path = join(dir, 'a.state');
    const error = await saveSnapshot(subject(pair.qmp, drive), path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotError);
    expect(error).toMatchObject({ step: 'migrate', code: 'MIGRATION_FAILED' });
    expect((error as Error).message).toContain('disk full');
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.json`)).toBe(false);
    const names = seen.map((c) => c.execute);
    expect(names.slice(-3)).toEqual(['migrate_cancel', 'closefd', 'cont']);
  });

  it('an abort during the save is ABORTED, with the same rollback', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vml-save-'));
    const drive = join(dir, 'd.img');
    writeFileSync(drive, 'x');
    pair = await connectedToFake();
    const controller = new AbortController();
    serveSave(pair.fake, () => {
      controller.abort();
      return { status: 'active' };
    });
    const path = join(dir, 'a.state');
    const error = await saveSnapshot(subject(pair.qmp, drive), path, {
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ step: 'migrate', code: 'ABORTED' });
    expect(existsSync(path)).toBe(false);
  });
});
