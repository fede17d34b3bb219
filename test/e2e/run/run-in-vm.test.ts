// runInVm on the real default guest (TCG here): a command bigger than any kernel command line,
// output bigger than one frame, a signal death, cwd and env; and an abort mid-command and a
// deadline mid-boot that both leave nothing behind (leak snapshot, run dirs).
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AbortError, TimeoutError } from '../../../core/index.js';
import { findCachedGuest } from '../../../launcher/guest-cache.js';
import { runInVm } from '../../../launcher/run-in-vm.js';
import { defaultGuest, qemuMissing } from '../../helpers/guest.js';
import { diffSnapshots, takeSnapshot, type LeakSnapshot } from '../../helpers/leaks.js';
import { prerequisite } from '../../helpers/prereq.js';

const snapshot = (): LeakSnapshot => takeSnapshot({ netnsFilter: () => false });

describe.runIf(prerequisite('runInVm e2e', qemuMissing()))('runInVm', () => {
  let root: string;
  let before: LeakSnapshot;
  const saved = process.env.VMLAUNCH_RUNTIME_DIR;

  beforeAll(async () => {
    await defaultGuest();
    root = mkdtempSync(join(tmpdir(), 'vml-e2e-runinvm-'));
    chmodSync(root, 0o755);
    process.env.VMLAUNCH_RUNTIME_DIR = root;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.VMLAUNCH_RUNTIME_DIR;
    else process.env.VMLAUNCH_RUNTIME_DIR = saved;
    rmSync(root, { recursive: true, force: true });
  });
  it('finds, without running build.sh, the very guest build.sh reports', async () => {
    expect(findCachedGuest()?.key).toBe((await defaultGuest()).key);
  });

  beforeEach(() => {
    before = snapshot();
  });
  afterEach(() => {
    expect(diffSnapshots(before, snapshot()), 'leaked').toEqual([]);
    const runDirs = join(root, '.vm');
    expect(existsSync(runDirs) ? readdirSync(runDirs) : [], 'VM run dirs left').toEqual([]);
  });

  it(
    'runs a 100 KB argument, returns 100 KB of output intact, cwd, env and 128+n',
    { timeout: 180_000 },
    async () => {
      const big = 'b'.repeat(100_000);
      const chunks: Buffer[] = [];
      const r = await runInVm({
        command: [
          'sh',
          '-c',
          'pwd; echo "$X"; printf %s "$1" | wc -c; seq 1 20000; kill -TERM $$',
          '_',
          big,
        ],
        cwd: '/proc',
        env: { X: 'an env value' },
        onOutput: (chunk, stream) => stream === 'stdout' && chunks.push(chunk),
      });
      const seq = Array.from({ length: 20_000 }, (_, i) => `${i + 1}\n`).join('');
      expect(r.stdout).toBe(`/proc\nan env value\n100000\n${seq}`);
      expect(Buffer.concat(chunks).toString()).toBe(r.stdout);
      expect(chunks.length).toBeGreaterThan(10);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(143);
      expect(r.signal).toBe('SIGTERM');
      expect(r.leftovers).toEqual([]);
    },
  );

  it(
    'an abort mid-command rejects with AbortError and stops the VM',
    { timeout: 180_000 },
    async () => {
      const controller = new AbortController();
      let seen = '';
      const run = runInVm({
        command: ['sh', '-c', 'echo started; sleep 600'],
        signal: controller.signal,
        onOutput: (chunk) => {
          seen += chunk.toString();
          controller.abort();
        },
      });
      await expect(run).rejects.toBeInstanceOf(AbortError);
      expect(seen).toBe('started\n');
    },
  );

  it(
    'a deadline during boot rejects with TimeoutError and stops the VM',
    { timeout: 180_000 },
    async () => {
      // The guest given outright, so the deadline falls while QEMU boots (a boot takes > 2.5 s).
      const { kernel, initrd } = await defaultGuest();
      const started = performance.now();
      const run = runInVm({ command: ['true'], kernel, initrd, timeout: 2500 });
      await expect(run).rejects.toBeInstanceOf(TimeoutError);
      expect(performance.now() - started).toBeLessThan(30_000);
    },
  );
});
