import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  mkdtempSync,
  openSync,
  closeSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaunchError } from '../../../launcher/errors.js';
import { resolveBinary, spawnQemu } from '../../../launcher/process.js';

// Fake QEMU binaries are shell scripts: the process layer must not care what it spawns.
let dir: string;
function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/bash\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function processAlive(pid: number): boolean {
  try {
    const stat = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
    return stat.trim() !== '' && !stat.startsWith('Z');
  } catch {
    return false;
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vml-process-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('spawnQemu', () => {
  it('refuses a binary that does not exist, before spawning anything', async () => {
    const error = await spawnQemu({ binary: join(dir, 'no-such-qemu'), args: [] }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LaunchError);
    expect(error).toMatchObject({ code: 'QEMU_NOT_FOUND', step: 'resolve-binary' });
  });

  it('refuses a binary that is not executable', () => {
    const path = join(dir, 'not-executable');
    writeFileSync(path, '');
    chmodSync(path, 0o644);
    expect(() => resolveBinary(path)).toThrow(/not executable/);
  });

  it('keeps the stderr tail and reports the exit code of a QEMU that dies at start', async () => {
    const qemu = await spawnQemu({
      binary: script('dies', 'echo "qemu: could not load kernel" >&2; exit 1'),
      args: [],
    });
    const exit = await qemu.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    expect(qemu.stderrTail()).toContain('could not load kernel');
    expect(qemu.running).toBe(false);
  });

  it('hands our fds to the child at 3, 4, ... in order', async () => {
    writeFileSync(join(dir, 'first'), '');
    writeFileSync(join(dir, 'second'), '');
    const a = openSync(join(dir, 'first'), 'r');
    const b = openSync(join(dir, 'second'), 'r');
    try {
      const qemu = await spawnQemu({
        binary: script('fds', 'readlink /proc/self/fd/3 >&2; readlink /proc/self/fd/4 >&2'),
        args: [],
        fds: [a, b],
      });
      await qemu.exited;
      expect(qemu.stderrTail().trim().split('\n')).toEqual([
        join(dir, 'first'),
        join(dir, 'second'),
      ]);
    } finally {
      closeSync(a);
      closeSync(b);
    }
  });

  it('reports the signal when the process is killed, and kill() after exit is a no-op', async () => {
    const qemu = await spawnQemu({ binary: script('sleeps', 'exec sleep 30'), args: [] });
    expect(qemu.kill('SIGKILL')).toBe(true);
    expect(await qemu.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(qemu.kill('SIGKILL')).toBe(false);
  });

  it('tracks the real pid: the death-signal wrapper execs, it does not fork', async () => {
    const qemu = await spawnQemu({ binary: script('pid', 'echo $$ >&2; exec sleep 30'), args: [] });
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(Number(qemu.stderrTail().trim())).toBe(qemu.pid);
    } finally {
      qemu.kill();
      await qemu.exited;
    }
  });

  it('kills QEMU when our process is SIGKILLed (parent-death signal)', async () => {
    const sleeper = script('orphan', 'echo $$ > "$1"; exec sleep 60');
    const pidFile = join(dir, 'orphan.pid');
    const runner = join(dir, 'runner.mjs');
    const processModule = new URL('../../../launcher/process.ts', import.meta.url).pathname;
    writeFileSync(
      runner,
      `import { spawnQemu } from ${JSON.stringify(processModule)};\n` +
        `await spawnQemu({ binary: ${JSON.stringify(sleeper)}, args: [${JSON.stringify(pidFile)}] });\n` +
        `setInterval(() => {}, 1000);\n`,
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', runner], { stdio: 'ignore' });
    try {
      let pid = 0;
      for (let i = 0; i < 100 && pid === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          pid = Number(execFileSync('cat', [pidFile], { encoding: 'utf8' }).trim());
        } catch {
          pid = 0;
        }
      }
      expect(pid).toBeGreaterThan(0);
      expect(processAlive(pid)).toBe(true);
      parent.kill('SIGKILL');
      await new Promise((r) => parent.once('exit', r));
      let alive = true;
      for (let i = 0; i < 50 && alive; i++) {
        await new Promise((r) => setTimeout(r, 100));
        alive = processAlive(pid);
      }
      expect(alive).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('leaves no fds behind in our process', async () => {
    const before = readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 20; i++) {
      const qemu = await spawnQemu({ binary: script('quick', 'exit 0'), args: [] });
      await qemu.exited;
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });
});
