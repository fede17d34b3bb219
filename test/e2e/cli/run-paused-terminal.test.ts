// `vmlaunch run` on a terminal that stops taking output (Ctrl-S, a stuck ssh session): the run
// keeps serving its control socket, exec still works and Ctrl-C still stops the VM. The terminal
// is a real pty made by script(1), whose own stdout is a pipe this test stops reading: script
// then stops draining the pty, and writes to the pty block as they would on a paused terminal.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReply } from '../../../launcher/control/protocol.js';
import { defaultGuest, qemuMissing } from '../../helpers/guest.js';
import { prerequisite, rootNetnsMissing } from '../../helpers/prereq.js';
import { REPO, vmlaunch } from './cli-process.js';

const missing = rootNetnsMissing() ?? qemuMissing();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean, timeout: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeout} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.runIf(prerequisite('vmlaunch run paused terminal e2e', missing))(
  'vmlaunch run on a terminal that does not drain',
  () => {
    let root: string;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      await defaultGuest();
      root = mkdtempSync(join(tmpdir(), 'vml-e2e-pause-'));
      chmodSync(root, 0o755);
      env = { ...process.env, VMLAUNCH_RUNTIME_DIR: root };
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('keeps control, exec and Ctrl-C working', { timeout: 300_000 }, async () => {
      const name = `pause-${randomBytes(3).toString('hex')}`;
      const command = `exec ${process.execPath} --import tsx launcher/cli/main.ts run --name ${name} --append vmlaunch.console=harness`;
      const script = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
        cwd: REPO,
        env,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      const onData = (c: Buffer): void => void (out += c.toString());
      script.stdout.on('data', onData);
      const ended = new Promise<number | string>((resolve) =>
        script.once('close', (code, signal) => resolve(code ?? signal ?? -1)),
      );
      let runPid = 0;
      let qemuPid = 0;
      let interrupted = false;
      let endedWith: unknown;
      try {
        await until(() => /VMLAUNCH-GUEST-READY/.test(out), 180_000, `guest ready:\n${out}`);
        runPid = (
          JSON.parse(readFileSync(join(root, name, 'owner.json'), 'utf8')) as { pid: number }
        ).pid;
        // The terminal stops taking output from here on.
        script.stdout.off('data', onData);
        script.stdout.pause();

        // Far more console output than the pipe and the pty can hold.
        const flood = await vmlaunch(
          [
            'exec',
            name,
            '--',
            'yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 400000; echo done',
          ],
          env,
          90_000,
        );
        expect(flood.code, flood.stderr).toBe(0);
        expect(flood.stdout).toMatch(/done\s*$/);

        const listed = await vmlaunch(['list', '--json'], env, 30_000);
        expect(listed.code, listed.stderr).toBe(0);
        const rows = JSON.parse(listed.stdout) as Array<{ name: string; status?: StatusReply }>;
        qemuPid = rows.find((r) => r.name === name)?.status?.qemuPid ?? 0;
        expect(alive(qemuPid)).toBe(true);

        // Ctrl-C while the terminal is still paused: the VM stops and the socket goes.
        process.kill(runPid, 'SIGINT');
        interrupted = true;
        await until(() => !alive(qemuPid), 60_000, 'QEMU stopped after SIGINT');
        await until(() => !existsSync(join(root, name, 'control.sock')), 30_000, 'socket removed');
      } finally {
        script.stdout.resume();
        script.stdout.on('data', onData);
        // (A second SIGINT would kill it: its handler is gone once the VM has stopped.)
        if (runPid && !interrupted && alive(runPid)) process.kill(runPid, 'SIGINT');
        endedWith = await Promise.race([
          ended,
          new Promise((r) => setTimeout(() => r('timeout'), 60_000)),
        ]);
        if (endedWith === 'timeout') {
          if (runPid && alive(runPid)) process.kill(runPid, 'SIGKILL');
          process.kill(-script.pid!, 'SIGKILL');
        }
        if (qemuPid && alive(qemuPid)) process.kill(qemuPid, 'SIGKILL');
      }
      // Once the terminal reads again: what did not fit was dropped and said, then the end.
      expect(endedWith).toBe(0);
      expect(out).toMatch(/\[vmlaunch: \d+ bytes of console output were dropped/);
      expect(out).toMatch(/VM ended/);
    });
  },
);
