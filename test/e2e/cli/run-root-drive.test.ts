// `vmlaunch run --drive ROOTFS,ephemeral --append root=/dev/vda -- CMD`: the command runs in the
// root drive's system (the ext4 image scripts/guest/rootfs.sh builds from Debian packages), its
// status comes back, and the image is untouched (the writes went to the ephemeral overlay).
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateRootfsImage } from '../../../launcher/workload/drive-rootfs.js';
import { defaultGuest } from '../../helpers/guest.js';
import { prerequisite } from '../../helpers/prereq.js';
import { drivesMissing, sha256 } from '../drives/fixture.js';
import { vmlaunch } from './cli-process.js';

describe.runIf(prerequisite('vmlaunch run from a root drive', drivesMissing()))(
  'vmlaunch run --drive ROOTFS,ephemeral --append root=/dev/vda -- CMD',
  () => {
    let runtime: string;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      await defaultGuest();
      runtime = mkdtempSync(join(tmpdir(), 'vml-e2e-runroot-'));
      chmodSync(runtime, 0o755);
      env = { ...process.env, VMLAUNCH_RUNTIME_DIR: runtime };
    });
    afterAll(() => rmSync(runtime, { recursive: true, force: true }));

    it(
      "runs the command in the drive's root, returns its status, leaves the image as it was",
      {
        timeout: 240_000,
      },
      async () => {
        const rootfs = await locateRootfsImage();
        const before = sha256(rootfs.image);
        const script = 'cat /etc/vmlaunch-rootfs; grep " / " /proc/mounts; echo x > /w; exit 3';
        const r = await vmlaunch(
          [
            'run',
            '--drive',
            `${rootfs.image},ephemeral`,
            '--append',
            'root=/dev/vda',
            '--',
            'sh',
            '-c',
            script,
          ],
          env,
          200_000,
        );
        expect(r.code, r.stderr).toBe(3);
        expect(r.stdout).toContain(`key=${rootfs.key}`);
        expect(r.stdout).toMatch(/^\/dev\/vda \/ ext4 rw/m);
        expect(sha256(rootfs.image)).toBe(before);
        expect(readdirSync(join(runtime, '.vm'))).toEqual([]);
      },
    );
  },
);
