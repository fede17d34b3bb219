import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidatePaths } from '../../../native/index.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vml-netns-kind-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Runs one addon call on a netns path in a child process: on a FIFO, a blocking open() would
// hang the thread forever, so the child is killed after a deadline rather than this test.
function netlinkOpenInChild(path: string): { status: number | null; output: string } {
  const addon = candidatePaths().find((p) => p.endsWith('.node'))!;
  const script = `
    const b = require(${JSON.stringify(addon)});
    try { b.netlinkOpen(${JSON.stringify(path)}); console.log('opened'); }
    catch (e) { console.log(e.code); }`;
  const run = spawnSync(process.execPath, ['-e', script], { timeout: 5000, encoding: 'utf8' });
  return { status: run.status, output: run.stdout.trim() };
}

describe('a netns path that is not a namespace', () => {
  it('a FIFO is refused at once (EINVAL), not opened and waited on', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(netlinkOpenInChild(fifo)).toEqual({ status: 0, output: 'EINVAL' });
  });

  it('a regular file is refused as EINVAL', () => {
    const file = join(dir, 'file');
    writeFileSync(file, '');
    expect(netlinkOpenInChild(file)).toEqual({ status: 0, output: 'EINVAL' });
  });

  it('a real netns path still works', () => {
    expect(netlinkOpenInChild('/proc/self/ns/net')).toEqual({ status: 0, output: 'opened' });
  });
});
