import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ExitInfo } from '../../../../launcher/errors.js';
import { silentLogger } from '../../../../launcher/log.js';
import { QemuProcess } from '../../../../launcher/process.js';
import { RunningShare } from '../../../../launcher/workload/shares.js';
import { ShareError } from '../../../../launcher/workload/virtiofsd.js';

// A process whose exit the test decides; pid 2^22+1 is above the largest pid_max, so the
// signals stop() sends reach nobody.
function fakeProcess(): { process: QemuProcess; exit: (info: ExitInfo) => void } {
  let exit!: (info: ExitInfo) => void;
  const exited = new Promise<ExitInfo>((resolve) => (exit = resolve));
  return {
    process: new QemuProcess(4_194_305, ['virtiofsd'], exited, null, 100, silentLogger),
    exit,
  };
}

function share(daemon: QemuProcess): RunningShare {
  const connection = { destroy: () => undefined } as unknown as Socket;
  return new RunningShare(
    { index: 0, id: 'src', tag: 'src', hostPath: '/tmp', mount: '/src', readOnly: false },
    { process: daemon, argv: ['virtiofsd', '-o', 'source=/tmp'], connection, fd: 99 },
    '/run/x/vfs0.sock',
    silentLogger,
  );
}

describe('RunningShare', () => {
  it('a daemon death while QEMU runs is a failure: event, promise, state, error', async () => {
    const d = fakeProcess();
    const q = fakeProcess();
    const s = share(d.process);
    s.watchQemu(q.process);
    const seen: ShareError[] = [];
    s.on('failed', (e) => seen.push(e));
    d.exit({ code: null, signal: 'SIGKILL' });
    const error = await s.failure;
    expect(error).toBeInstanceOf(ShareError);
    expect(error).toMatchObject({
      code: 'VIRTIOFSD_DIED',
      tag: 'src',
      exit: { signal: 'SIGKILL' },
    });
    expect(seen).toEqual([error]);
    expect(s.state).toBe('failed');
    expect(s.error).toBe(error);
  });

  it("an exit that follows QEMU's (the hang-up) is a normal stop, even if seen first", async () => {
    const d = fakeProcess();
    const q = fakeProcess();
    const s = share(d.process);
    s.watchQemu(q.process);
    const seen: ShareError[] = [];
    s.on('failed', (e) => seen.push(e));
    d.exit({ code: 0, signal: null });
    setTimeout(() => q.exit({ code: 0, signal: null }), 50);
    await q.process.exited;
    await new Promise((r) => setTimeout(r, 100));
    expect(s.state).toBe('stopped');
    expect(seen).toEqual([]);
  });

  it('stop() is no failure, and is idempotent', async () => {
    const d = fakeProcess();
    const s = share(d.process);
    const seen: ShareError[] = [];
    s.on('failed', (e) => seen.push(e));
    const stopping = s.stop(1000);
    setTimeout(() => d.exit({ code: null, signal: 'SIGTERM' }), 20);
    await stopping;
    await s.stop();
    expect(s.state).toBe('stopped');
    expect(s.error).toBeUndefined();
    expect(seen).toEqual([]);
  });

  it('a death before QEMU is watched (during the launch) is a failure too', async () => {
    const d = fakeProcess();
    const s = share(d.process);
    d.exit({ code: 1, signal: null });
    expect(await s.failure).toMatchObject({ code: 'VIRTIOFSD_DIED', exit: { code: 1 } });
  });
});
