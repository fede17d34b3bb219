import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawnQemu } from '../../../launcher/process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vml-reaped-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('signalling a reaped child', () => {
  it('sends no signal by pid once the child has exited, even while its stderr is still open', async () => {
    // The child exits at once; a background sleep keeps its stderr open, so 'close' (and so
    // `exited`) comes seconds after the reap: the window in which its pid may be reused.
    const path = join(dir, 'exits-early');
    writeFileSync(path, '#!/bin/bash\nsleep 2 &\nexit 0\n');
    chmodSync(path, 0o755);
    const qemu = await spawnQemu({ binary: path, args: [], killOnParentDeath: false });
    await until(() => !existsSync(`/proc/${qemu.pid}`));
    const kill = vi.spyOn(process, 'kill');
    try {
      expect(qemu.kill('SIGTERM')).toBe(false);
      expect(kill).not.toHaveBeenCalled();
    } finally {
      kill.mockRestore();
    }
    await qemu.exited;
  });
});
