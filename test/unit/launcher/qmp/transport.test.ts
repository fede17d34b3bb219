import net from 'node:net';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd } from '../../../../native/index.js';
import { QmpDisconnectedError } from '../../../../launcher/qmp/errors.js';
import { QmpTransport } from '../../../../launcher/qmp/transport.js';
import { FakeQmp, fileIdentity } from '../../../helpers/fake-qmp.js';
import { settle } from './connected.js';

let fake: FakeQmp;
let transport: QmpTransport;
afterEach(() => {
  transport.close();
  fake.close();
});

describe('QmpTransport', () => {
  it('waits for net.Socket to flush a queued write before sending fds past it', async () => {
    fake = new FakeQmp();
    transport = QmpTransport.fromFd(fake.clientFd);
    transport.start({ line: () => undefined, close: () => undefined });
    const fd = openSync('/dev/null', 'r');
    const blob = 'z'.repeat(8 * 1024 * 1024);
    transport.write(`${JSON.stringify({ execute: 'big', arguments: { blob }, id: 1 })}\n`);
    const sent = transport.writeWithFds(`${JSON.stringify({ execute: 'getfd', id: 2 })}\n`, [fd]);
    transport.write(`${JSON.stringify({ execute: 'after', id: 3 })}\n`);
    const first = await fake.nextCommand();
    const second = await fake.nextCommand();
    const third = await fake.nextCommand();
    await sent;
    expect([first.execute, second.execute, third.execute]).toEqual(['big', 'getfd', 'after']);
    expect(first.fds).toEqual([]);
    expect(second.fds.map(fileIdentity)).toEqual([fileIdentity(fd)]);
    for (const received of second.fds) closeFd(received);
    closeFd(fd);
  });

  it('delivers lines and reports the close exactly once', async () => {
    fake = new FakeQmp();
    transport = QmpTransport.fromFd(fake.clientFd);
    const lines: string[] = [];
    let closes = 0;
    transport.start({ line: (l) => lines.push(l), close: () => (closes += 1) });
    fake.sendRaw('{"a":1}\r\n{"b"');
    fake.sendRaw(':2}\r\n');
    await settle();
    fake.close();
    await settle();
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    expect(closes).toBe(1);
    expect(transport.closed).toBe(true);
    expect(() => transport.write('{}\n')).toThrow(QmpDisconnectedError);
  });

  it('connects to a QMP socket path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vml-qmp-path-'));
    const path = join(dir, 'qmp.sock');
    const server = net.createServer((socket) => socket.end('{"hello":1}\r\n'));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    fake = new FakeQmp();
    transport = await QmpTransport.connect(path, { timeout: 1000 });
    const lines: string[] = [];
    const closed = new Promise<void>((resolve) =>
      transport.start({ line: (l) => lines.push(l), close: () => resolve() }),
    );
    await closed;
    expect(lines).toEqual(['{"hello":1}']);
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true });
  });
});
