// `vmlaunch run -- CMD` on the real default guest (TCG here): CMD's status and output come back
// apart and intact, output streams as it comes, and nothing is left behind (no QEMU, no run dir).
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultGuest, qemuMissing } from '../../helpers/guest.js';
import { prerequisite } from '../../helpers/prereq.js';
import { startVmlaunch, vmlaunch } from './cli-process.js';

// Pids of processes whose command line holds `needle` (QEMU carries it in its -append).
function processesWith(needle: string): string[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    });
}

describe.runIf(prerequisite('vmlaunch run -- CMD e2e', qemuMissing()))(
  'vmlaunch run -- CMD',
  () => {
    let root: string;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      await defaultGuest();
      root = mkdtempSync(join(tmpdir(), 'vml-e2e-runcmd-'));
      chmodSync(root, 0o755);
      env = { ...process.env, VMLAUNCH_RUNTIME_DIR: root };
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    // Runs `vmlaunch run --append vmlaunch.test=ID -- ARGS` and checks that it left nothing.
    async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      const id = `vmlaunch.test=${randomBytes(6).toString('hex')}`;
      const result = await vmlaunch(['run', '--append', id, '--', ...args], env, 180_000);
      expect(processesWith(id), 'QEMU still running').toEqual([]);
      expect(readdirSync(join(root, '.vm')), 'VM run dirs left').toEqual([]);
      return result;
    }

    it(
      "exits with the command's status, its stdout on stdout and its stderr on stderr",
      { timeout: 200_000 },
      async () => {
        const r = await run(['sh', '-c', 'echo out; echo err >&2; exit 7']);
        expect(r.code, r.stderr).toBe(7);
        expect(r.stdout).toBe('out\n');
        expect(r.stderr).toContain('err\n');
      },
    );

    it(
      'keeps argument boundaries: spaces, empty, quotes, newlines, unicode',
      { timeout: 200_000 },
      async () => {
        const args = ['a b', '', "it's", 'x"y', 'two\nlines', 'ünïcødé ✓', '$HOME', '*'];
        const r = await run(['printf', '<%s>\\n', ...args]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe(args.map((a) => `<${a}>\n`).join(''));
      },
    );

    it(
      'streams: the first line arrives while the command still runs',
      { timeout: 200_000 },
      async () => {
        const id = `vmlaunch.test=${randomBytes(6).toString('hex')}`;
        const cli = startVmlaunch(
          ['run', '--append', id, '--', 'sh', '-c', 'echo first; sleep 3; echo second'],
          env,
        );
        const arrived = new Map<string, number>();
        cli.child.stdout!.on('data', (chunk: Buffer) => {
          for (const word of ['first', 'second'])
            if (chunk.toString().includes(word) && !arrived.has(word))
              arrived.set(word, performance.now());
        });
        const code = await cli.exited;
        expect(code, cli.stderr()).toBe(0);
        expect(cli.stdout()).toBe('first\nsecond\n');
        expect(arrived.get('second')! - arrived.get('first')!).toBeGreaterThan(2000);
        expect(processesWith(id)).toEqual([]);
        expect(readdirSync(join(root, '.vm'))).toEqual([]);
      },
    );

    it(
      'Ctrl-C (SIGINT to its process group) stops the VM, exits 130 and leaves nothing',
      { timeout: 200_000 },
      async () => {
        const id = `vmlaunch.test=${randomBytes(6).toString('hex')}`;
        const cli = startVmlaunch(
          ['run', '--append', id, '--', 'sh', '-c', 'echo started; sleep 600'],
          env,
        );
        await cli.waitFor(/started/, 150_000);
        const interrupted = performance.now();
        process.kill(-cli.child.pid!, 'SIGINT');
        expect(await cli.exited, cli.stderr()).toBe(130);
        expect(performance.now() - interrupted).toBeLessThan(15_000);
        expect(processesWith(id)).toEqual([]);
        expect(readdirSync(join(root, '.vm'))).toEqual([]);
      },
    );

    it('a usage error exits 2 and starts nothing', async () => {
      const r = await vmlaunch(['run', '--share', 'nocolon', '--', 'true'], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('HOSTDIR:GUESTPATH');
      expect(r.stdout).toBe('');
    });
  },
);
