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

  it('keeps byte order and pipelines: the fd call and the call after it go out without waiting for replies', async () => {
    pair = await connectedToFake();
    const { qmp, fake } = pair;
    const big = qmp.execute('big', { blob: 'y'.repeat(4 * 1024 * 1024) });
    const getfd = qmp.getfd({ fdname: 'f', fd });
    const after = qmp.execute('after');
    const bigCommand = await fake.nextCommand();
    const getfdCommand = await fake.nextCommand();
    const afterCommand = await fake.nextCommand();
    expect([bigCommand, getfdCommand, afterCommand].map((c) => c.execute)).toEqual([
      'big',
      'getfd',
      'after',
    ]);
    expect(bigCommand.fds).toEqual([]);
    expect(getfdCommand.fds).toHaveLength(1);
    expect(fileIdentity(getfdCommand.fds[0]!)).toBe(fileIdentity(fd));
    expect(afterCommand.fds).toEqual([]);
    closeFd(getfdCommand.fds[0]!);
    for (const command of [bigCommand, getfdCommand, afterCommand]) fake.reply(command);
    await Promise.all([big, getfd, after]);
  });

  it('writes a second fd call only after the first one is answered, and a later plain call waits behind it', async () => {
    pair = await connectedToFake();
    const { qmp, fake } = pair;
    const first = qmp.getfd({ fdname: 'a', fd });
    const second = qmp.getfd({ fdname: 'b', fd });
    const after = qmp.execute('after');
    const firstCommand = await fake.nextCommand();
    expect(firstCommand.arguments).toEqual({ fdname: 'a' });
    await settle();
    expect(fake.received.map((c) => c.execute)).toEqual(['qmp_capabilities', 'getfd']);
    for (const received of firstCommand.fds) closeFd(received);
    fake.reply(firstCommand);
    const secondCommand = await fake.nextCommand();
    expect(secondCommand.arguments).toEqual({ fdname: 'b' });
    expect(secondCommand.fds).toHaveLength(1);
    for (const received of secondCommand.fds) closeFd(received);
    expect((await fake.nextCommand()).execute).toBe('after');
    fake.reply(secondCommand);
    fake.reply(fake.received.at(-1)!);
    await Promise.all([first, second, after]);
  });

  it('keeps the lane for an fd call that timed out until its late reply comes', async () => {
    pair = await connectedToFake();
    const { qmp, fake } = pair;
    const abandoned = qmp.getfd({ fdname: 'a', fd }, { timeout: 30 });
    const firstCommand = await fake.nextCommand();
    for (const received of firstCommand.fds) closeFd(received);
    await expect(abandoned).rejects.toMatchObject({ code: 'QMP_TIMEOUT' });
    const next = qmp.getfd({ fdname: 'b', fd });
    await settle();
    expect(fake.received.map((c) => c.execute)).toEqual(['qmp_capabilities', 'getfd']);
    fake.reply(firstCommand); // the late reply frees the lane
    const secondCommand = await fake.nextCommand();
    expect(secondCommand.arguments).toEqual({ fdname: 'b' });
    for (const received of secondCommand.fds) closeFd(received);
    fake.reply(secondCommand);
    await next;
  });

  it('drops a queued fd call whose deadline passes, and writes the calls queued behind it', async () => {
    pair = await connectedToFake();
    const { qmp, fake } = pair;
    const first = qmp.getfd({ fdname: 'a', fd });
    const queued = qmp.getfd({ fdname: 'b', fd }, { timeout: 30 });
    const after = qmp.execute('after');
    const firstCommand = await fake.nextCommand();
    for (const received of firstCommand.fds) closeFd(received);
    await expect(queued).rejects.toMatchObject({ code: 'QMP_TIMEOUT' });
    const afterCommand = await fake.nextCommand();
    expect(afterCommand.execute).toBe('after');
    fake.reply(afterCommand);
    fake.reply(firstCommand);
    await Promise.all([first, after]);
    expect(fake.received.map((c) => c.execute)).toEqual(['qmp_capabilities', 'getfd', 'after']);
  });

  it('an fd call aborted in the tick it was made rejects once, with no unhandled rejection', async () => {
    pair = await connectedToFake();
    const ctl = new AbortController();
    const sent = pair.qmp.getfd({ fdname: 'a', fd }, { signal: ctl.signal });
    ctl.abort();
    await expect(sent).rejects.toMatchObject({ code: 'ABORTED' });
    const command = await pair.fake.nextCommand();
    for (const received of command.fds) closeFd(received);
    pair.fake.reply(command); // the late reply of the abandoned call is dropped
    await settle();
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
