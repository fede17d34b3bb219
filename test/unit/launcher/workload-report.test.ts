// What doctor says a guest kernel offers, from the config the guest builder records.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { guestKernelChecks } from '../../../launcher/workload-report.js';

const dir = mkdtempSync(join(tmpdir(), 'vml-wr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function manifest(config: Record<string, string> | undefined): string {
  const path = join(dir, `m${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(
    path,
    JSON.stringify({ kernel_release: '6.1.0-test', ...(config ? { kernel_config: config } : {}) }),
  );
  return path;
}

const byName = (checks: ReturnType<typeof guestKernelChecks>) =>
  Object.fromEntries(checks.map((c) => [c.name, c]));

describe('guestKernelChecks', () => {
  it('says built in, module or not set, and what vmlaunch does without it', () => {
    const checks = byName(
      guestKernelChecks(
        manifest({ VIRTIO_BLK: 'm', VIRTIO_FS: 'm', FUSE_FS: 'm', EXT4_FS: 'y', NET_9P: 'n' }),
      ),
    );
    expect(checks['guest virtio-blk']).toMatchObject({
      ok: true,
      detail: '6.1.0-test: CONFIG_VIRTIO_BLK a module (drives)',
    });
    expect(checks['guest ext4']?.detail).toContain('built in');
    expect(checks['guest 9p']).toMatchObject({ ok: false });
    expect(checks['guest 9p']?.fallback).toContain('virtiofs');
    // Absent from the recorded config reads as not set.
    expect(checks['guest ip= autoconf']).toMatchObject({ ok: false });
    expect(checks['guest ip= autoconf']?.detail).toContain('not set');
  });

  it('does not offer virtiofs without FUSE', () => {
    const checks = byName(guestKernelChecks(manifest({ VIRTIO_FS: 'm', FUSE_FS: 'n' })));
    expect(checks['guest virtiofs']).toMatchObject({ ok: false });
  });

  it('names a manifest it cannot read or that has no config', () => {
    expect(guestKernelChecks(join(dir, 'none.json'))[0]).toMatchObject({ ok: false });
    expect(guestKernelChecks(manifest(undefined))[0]?.detail).toContain('records no kernel config');
  });
});
