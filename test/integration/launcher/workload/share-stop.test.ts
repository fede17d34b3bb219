import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../launcher/log.js';
import { spawnQemu } from '../../../../launcher/process.js';
import { RunningShare } from '../../../../launcher/workload/shares.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vml-share-stop-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The direct children of `pid`, from /proc.
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('stopping a share whose daemon has a worker child', () => {
  it('SIGKILLs a worker that outlives its parent, through the pidfd taken while the parent lived', async () => {
    // A stand-in for virtiofsd: ignores SIGTERM and has a worker that ignores it too, and that
    // no death signal ends (virtiofsd's sandboxed worker normally has one).
    const path = join(dir, 'daemon');
    writeFileSync(path, "#!/bin/bash\ntrap '' TERM\nsleep 60 &\nwait\n");
    chmodSync(path, 0o755);
    const daemon = await spawnQemu({ binary: path, args: [], killOnParentDeath: false });
    let worker: number | undefined;
    for (let i = 0; i < 200 && worker === undefined; i++) {
      worker = childrenOf(daemon.pid)[0];
      if (worker === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(worker).toBeDefined();
    const share = new RunningShare(
      { index: 0, id: 'src', tag: 'src', hostPath: dir, mount: '/src', readOnly: false },
      {
        process: daemon,
        argv: [path],
        connection: { destroy: () => undefined } as unknown as Socket,
        fd: -1,
      },
      join(dir, 'vfs.sock'),
      silentLogger,
    );
    await share.stop(200);
    expect(daemon.running).toBe(false);
    // Gone, or a zombie waiting for init (its new parent) to reap it: dead either way.
    const state = existsSync(`/proc/${worker}`)
      ? readFileSync(`/proc/${worker}/stat`, 'utf8').split(') ')[1]![0]
      : 'gone';
    expect(['gone', 'Z']).toContain(state);
  });
});
