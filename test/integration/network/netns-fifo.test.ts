import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openNetns } from '../../../network/netns/open.js';

// A FIFO where a netns path is expected: a blocking open() waits for a writer, holding the JS
// thread. A writer appears after 2 s so that the old code returns at all (and the test fails).
let dir: string;
let fifo: string;
let writer: ChildProcess;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vml-netns-fifo-'));
  fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  writer = spawn('sh', ['-c', `sleep 2; exec 3>"$0"; sleep 1`, fifo], { stdio: 'ignore' });
});
afterEach(() => {
  writer.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('opening a netns path that is a FIFO', () => {
  // netns/open.ts is the one opener (IFLA_NET_NS_FD requests use it too).
  it('openNetns refuses it at once instead of waiting for a writer', () => {
    const started = performance.now();
    expect(() => openNetns(fifo)).toThrow(/not a network namespace|EINVAL/);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
