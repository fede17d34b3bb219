// The acceptance line for the one-command run with a share, on the real default guest:
// `vmlaunch run --share DIR:/src -- sh /src/t.sh ARGS` propagates the script's exit status and
// output, and the files it writes land in DIR.
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultGuest, qemuMissing } from '../../helpers/guest.js';
import { prerequisite } from '../../helpers/prereq.js';
import { vmlaunch } from './cli-process.js';

describe.runIf(prerequisite('vmlaunch run --share e2e', qemuMissing()))(
  'vmlaunch run --share DIR:/src -- sh /src/t.sh',
  () => {
    let root: string;
    let dir: string;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      await defaultGuest();
      root = mkdtempSync(join(tmpdir(), 'vml-e2e-runshare-'));
      chmodSync(root, 0o755);
      dir = mkdtempSync(join(tmpdir(), 'vml-e2e-runshare-src-'));
      env = { ...process.env, VMLAUNCH_RUNTIME_DIR: root };
    });
    afterAll(() => {
      rmSync(root, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    });

    it(
      'propagates the status and output, and what the script writes lands in DIR',
      { timeout: 200_000 },
      async () => {
        writeFileSync(
          join(dir, 't.sh'),
          'printf "<%s>" "$@"; echo\necho warning >&2\necho "made in the guest" > /src/out.txt\nexit 5\n',
        );
        const r = await vmlaunch(
          ['run', '--share', `${dir}:/src`, '--', 'sh', '/src/t.sh', 'a b', ''],
          env,
          180_000,
        );
        expect(r.code, r.stderr).toBe(5);
        expect(r.stdout).toBe('<a b><>\n');
        expect(r.stderr).toContain('warning\n');
        expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('made in the guest\n');
        expect(readdirSync(join(root, '.vm'))).toEqual([]);
      },
    );

    it(
      'a read-only share refuses the write, and the status says so',
      { timeout: 200_000 },
      async () => {
        const r = await vmlaunch(
          ['run', '--share', `${dir}:/src,ro`, '--', 'sh', '-c', 'echo x > /src/ro.txt'],
          env,
          180_000,
        );
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/Read-only file system/);
        expect(existsSync(join(dir, 'ro.txt'))).toBe(false);
      },
    );
  },
);
