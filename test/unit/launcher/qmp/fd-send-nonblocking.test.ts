import { mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { QmpClient } from '../../../../launcher/qmp/client.js';
import { QmpTransport } from '../../../../launcher/qmp/transport.js';
import { closeFd } from '../../../../native/index.js';
import { FakeQmp, fileIdentity } from '../../../helpers/fake-qmp.js';

let fake: FakeQmp;
let qmp: QmpClient;
let dir: string;
afterEach(() => {
  qmp.close();
  fake.close();
  rmSync(dir, { recursive: true });
});

// Fills the kernel buffer of our (non-blocking) end with empty lines, which QMP skips.
function fillSocket(fd: number): number {
  const filler = Buffer.alloc(4096, '\n');
  let written = 0;
  for (;;) {
    try {
      written += writeSync(fd, filler);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return written;
      throw error;
    }
  }
}

describe('passing fds over a full QMP socket', () => {
  it('keeps the JS thread running while the socket is full, and sends once the peer reads', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vml-qmp-full-'));
    writeFileSync(join(dir, 'passed'), 'x');
    const fd = openSync(join(dir, 'passed'), 'r');
    fake = new FakeQmp();
    qmp = new QmpClient(QmpTransport.fromFd(fake.clientFd, { fdSendTimeoutMs: 3000 }));
    await Promise.all([qmp.connect(), fake.handshake()]);
    fake.stall();
    expect(fillSocket(fake.clientFd)).toBeGreaterThan(0);
    const sent = qmp.getfd({ fdname: 'full', fd });
    // A timer due in 50 ms fires on time only if sendmsg is not waiting on the JS thread.
    const started = Date.now();
    const late = await new Promise<number>((resolve) =>
      setTimeout(() => resolve(Date.now() - started - 50), 50),
    );
    expect(late).toBeLessThan(500);
    fake.resume();
    const command = await fake.nextCommand();
    expect(command.execute).toBe('getfd');
    expect(command.fds).toHaveLength(1);
    expect(fileIdentity(command.fds[0]!)).toBe(fileIdentity(fd));
    closeFd(command.fds[0]!);
    closeFd(fd);
    fake.reply(command);
    await sent;
  });

  it('fails an fd send with QMP_TIMEOUT when the socket stays full, the thread running meanwhile', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vml-qmp-full-'));
    fake = new FakeQmp();
    qmp = new QmpClient(QmpTransport.fromFd(fake.clientFd, { fdSendTimeoutMs: 200 }));
    await Promise.all([qmp.connect(), fake.handshake()]);
    fake.stall();
    fillSocket(fake.clientFd);
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 10);
    const sent = qmp.getfd({ fdname: 'never', fd: 0 });
    await expect(sent).rejects.toMatchObject({ code: 'QMP_TIMEOUT' });
    clearInterval(ticker);
    expect(ticks).toBeGreaterThan(5);
  });
});
