import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeFd } from '../../../../native/index.js';
import { QmpCommandError } from '../../../../launcher/qmp/errors.js';
import type { QmpClient } from '../../../../launcher/qmp/client.js';
import { fileIdentity, type FakeQmp } from '../../../helpers/fake-qmp.js';
import { connectedToFake, openFdCount, settle } from './connected.js';

let pair: { fake: FakeQmp; qmp: QmpClient };
let dir: string;
let fd: number;
let fdsBefore: number;

beforeEach(() => {
  fdsBefore = openFdCount();
  dir = mkdtempSync(join(tmpdir(), 'vml-qmp-fd-'));
  const file = join(dir, 'passed');
  writeFileSync(file, 'x');
  fd = openSync(file, 'r');
});

afterEach(async () => {
  pair.qmp.close();
  pair.fake.close();
  closeFd(fd);
  rmSync(dir, { recursive: true });
  await settle();
  expect(openFdCount()).toBe(fdsBefore);
});

describe('passing fds over the QMP socket', () => {
  it('delivers the fd with getfd: the server receives an fd for the same open file', async () => {
    pair = await connectedToFake();
    const sent = pair.qmp.getfd({ fdname: 'tap0', fd });
    const command = await pair.fake.nextCommand();
    expect(command).toMatchObject({ execute: 'getfd', arguments: { fdname: 'tap0' } });
    expect(command.fds).toHaveLength(1);
    expect(fileIdentity(command.fds[0]!)).toBe(fileIdentity(fd));
    closeFd(command.fds[0]!);
    pair.fake.reply(command);
    await sent;
  });

  it('delivers the fd with add-fd and maps the fd set reply', async () => {
    pair = await connectedToFake();
    const added = pair.qmp.addFd({ fd, fdsetId: 2, opaque: 'tap0-queue0' });
    const command = await pair.fake.nextCommand();
    expect(command.arguments).toEqual({ 'fdset-id': 2, opaque: 'tap0-queue0' });
    expect(fileIdentity(command.fds[0]!)).toBe(fileIdentity(fd));
    closeFd(command.fds[0]!);
    pair.fake.reply(command, { 'fdset-id': 2, fd: 25 });
    expect(await added).toEqual({ fdsetId: 2, fd: 25 });
  });

  it('keeps byte order: a large queued write goes out before the fd, later writes after it', async () => {
    pair = await connectedToFake();
    const { qmp, fake } = pair;
    const big = qmp.execute('big', { blob: 'y'.repeat(4 * 1024 * 1024) });
    const getfd = qmp.getfd({ fdname: 'f', fd });
    const after = qmp.execute('after');
    const bigCommand = await fake.nextCommand();
    expect(bigCommand.execute).toBe('big');
    expect(bigCommand.fds).toEqual([]);
    // The fd command waits until QEMU answered everything sent before it (lane.ts).
    await settle();
    expect(fake.received.map((c) => c.execute)).toEqual(['qmp_capabilities', 'big']);
    fake.reply(bigCommand);
    const getfdCommand = await fake.nextCommand();
    expect(getfdCommand.execute).toBe('getfd');
    expect(getfdCommand.fds).toHaveLength(1);
    closeFd(getfdCommand.fds[0]!);
    await settle();
    expect(fake.received.map((c) => c.execute)).not.toContain('after');
    fake.reply(getfdCommand);
    const afterCommand = await fake.nextCommand();
    expect(afterCommand.execute).toBe('after');
    fake.reply(afterCommand);
    await Promise.all([big, getfd, after]);
  });

  it('surfaces a refused getfd as a command error and keeps the connection usable', async () => {
    pair = await connectedToFake();
    const sent = pair.qmp.getfd({ fdname: 'x', fd });
    const command = await pair.fake.nextCommand();
    for (const received of command.fds) closeFd(received);
    pair.fake.fail(command, 'GenericError', 'No file descriptor supplied via SCM_RIGHTS');
    await expect(sent).rejects.toBeInstanceOf(QmpCommandError);
    const status = pair.qmp.queryStatus();
    pair.fake.reply(await pair.fake.nextCommand(), { running: false, status: 'prelaunch' });
    await expect(status).resolves.toMatchObject({ running: false });
  });
});
