// A real QEMU proves that values formatted by launcher/opts reach it intact: a socket path with
// a comma names exactly that file, and an injected ',key=value' stays part of the value.
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatOpts } from '../../../launcher/opts.js';
import { prerequisite } from '../../helpers/prereq.js';

const QEMU = 'qemu-system-x86_64';

// Why this host cannot run the test, or undefined.
function qemuMissing(): string | undefined {
  try {
    execFileSync(QEMU, ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `needs ${QEMU} on PATH`;
  }
}

// Starts a bare, paused QEMU with one extra chardev and collects its stderr.
function startQemu(chardev: string): { child: ChildProcess; stderr: () => string } {
  const child = spawn(
    QEMU,
    ['-M', 'none', '-display', 'none', '-nodefaults', '-S', '-chardev', chardev],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  return { child, stderr: () => err };
}

// Polls until `check` holds or the child exits, for at most `ms`.
async function waitUntil(check: () => boolean, child: ChildProcess, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    if (child.exitCode !== null || child.signalCode !== null) return check();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

// Kills the child by pid and waits for it to be reaped, so no process outlives the test.
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  await exited;
}

describe.runIf(prerequisite('qemu', qemuMissing()))('options formatter against a real QEMU', () => {
  it('a socket path containing a comma reaches QEMU intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vml-opts-'));
    const socketPath = join(dir, 'a,b.sock');
    const chardev = formatOpts(
      { id: 'c0', path: socketPath, server: true, wait: false },
      { positional: 'socket' },
    );
    expect(chardev).toContain('a,,b.sock');
    const { child, stderr } = startQemu(chardev);
    try {
      const seen = await waitUntil(() => existsSync(socketPath), child);
      expect(seen, `QEMU stderr: ${stderr()}`).toBe(true);
      expect(readdirSync(dir)).toEqual(['a,b.sock']);
    } finally {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an injected ",x=y" stays inside the value and never becomes a key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vml-opts-'));
    const injected = join(dir, 'b.sock,server=off,x=y');
    const chardev = formatOpts(
      { id: 'c1', path: injected, server: true, wait: false },
      { positional: 'socket' },
    );
    const { child, stderr } = startQemu(chardev);
    try {
      const seen = await waitUntil(() => existsSync(injected), child);
      expect(seen, `QEMU stderr: ${stderr()}`).toBe(true);
      expect(readdirSync(dir)).toEqual(['b.sock,server=off,x=y']);
      expect(stderr()).not.toMatch(/Invalid parameter|x=y/);
    } finally {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the same injection without the formatter does become keys (the test can fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vml-opts-'));
    const raw = `socket,id=c2,path=${join(dir, 'c.sock')},x=y,server=on,wait=off`;
    const { child, stderr } = startQemu(raw);
    try {
      const exited = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(exited).not.toBe(0);
      expect(stderr()).toMatch(/Invalid parameter 'x'/);
    } finally {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
