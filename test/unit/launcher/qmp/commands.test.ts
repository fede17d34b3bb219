import { afterEach, describe, expect, it } from 'vitest';
import { QmpCommandError } from '../../../../launcher/qmp/errors.js';
import type { QmpClient } from '../../../../launcher/qmp/client.js';
import type { FakeQmp } from '../../../helpers/fake-qmp.js';
import { connectedToFake } from './connected.js';

let pair: { fake: FakeQmp; qmp: QmpClient };
afterEach(() => {
  pair.qmp.close();
  pair.fake.close();
});

describe('QMP commands', () => {
  it('resolves query-status with the return value of its own reply', async () => {
    pair = await connectedToFake();
    const status = pair.qmp.queryStatus();
    const command = await pair.fake.nextCommand();
    expect(command.execute).toBe('query-status');
    pair.fake.reply(command, { running: false, status: 'prelaunch' });
    await expect(status).resolves.toEqual({ running: false, status: 'prelaunch' });
  });

  it("keeps QEMU's error class and description", async () => {
    pair = await connectedToFake();
    const del = pair.qmp.deviceDel({ id: 'nic0' });
    pair.fake.fail(await pair.fake.nextCommand(), 'DeviceNotFound', "Device 'nic0' not found");
    const error = await del.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpCommandError);
    expect(error).toMatchObject({
      errorClass: 'DeviceNotFound',
      desc: "Device 'nic0' not found",
      command: 'device_del',
      code: 'QMP_COMMAND',
    });
  });

  it('matches replies to callers by id even when they come back out of order', async () => {
    pair = await connectedToFake();
    const first = pair.qmp.execute('first');
    const second = pair.qmp.execute('second');
    const a = await pair.fake.nextCommand();
    const b = await pair.fake.nextCommand();
    pair.fake.reply(b, 'for second');
    pair.fake.reply(a, 'for first');
    expect(await first).toBe('for first');
    expect(await second).toBe('for second');
  });

  it('skips garbage lines and non-object JSON, then delivers the real reply', async () => {
    pair = await connectedToFake();
    const status = pair.qmp.execute('query-status');
    const command = await pair.fake.nextCommand();
    pair.fake.sendRaw('this is not json\r\n[1,2]\r\n{"neither":"reply nor event"}\r\n');
    pair.fake.reply(command, 'ok');
    await expect(status).resolves.toBe('ok');
  });

  it('never hands a reply with an unknown id (or none) to a waiting caller', async () => {
    pair = await connectedToFake();
    const status = pair.qmp.execute('query-status');
    const command = await pair.fake.nextCommand();
    pair.fake.send({ return: 'wrong', id: 9999 });
    pair.fake.send({ return: 'wrong', id: 'not-ours' });
    pair.fake.send({ error: { class: 'GenericError', desc: 'JSON parse error' } });
    pair.fake.reply(command, 'right');
    await expect(status).resolves.toBe('right');
  });

  it('handles a reply split across writes and several replies in one write', async () => {
    pair = await connectedToFake();
    const one = pair.qmp.execute('one');
    const two = pair.qmp.execute('two');
    const a = await pair.fake.nextCommand();
    const b = await pair.fake.nextCommand();
    const lineA = JSON.stringify({ return: 1, id: a.id });
    const lineB = JSON.stringify({ return: 2, id: b.id });
    pair.fake.sendRaw(lineA.slice(0, 5));
    await new Promise((resolve) => setTimeout(resolve, 10));
    pair.fake.sendRaw(`${lineA.slice(5)}\r\n${lineB}\r\n`);
    expect([await one, await two]).toEqual([1, 2]);
  });

  it("sends typed arguments under QEMU's names and maps results back", async () => {
    pair = await connectedToFake();
    const { qmp, fake } = pair;
    const hmp = qmp.humanMonitorCommand({ commandLine: 'info network' });
    const hmpCommand = await fake.nextCommand();
    expect(hmpCommand.arguments).toEqual({ 'command-line': 'info network' });
    fake.reply(hmpCommand, 'hub 0\r\n');
    expect(await hmp).toBe('hub 0\r\n');

    const sets = qmp.queryFdsets();
    fake.reply(await fake.nextCommand(), [{ 'fdset-id': 3, fds: [{ fd: 42, opaque: 'x' }] }]);
    expect(await sets).toEqual([{ fdsetId: 3, fds: [{ fd: 42, opaque: 'x' }] }]);

    const remove = qmp.removeFd({ fdsetId: 3 });
    const removeCommand = await fake.nextCommand();
    expect(removeCommand).toMatchObject({ execute: 'remove-fd', arguments: { 'fdset-id': 3 } });
    fake.reply(removeCommand);
    await remove;

    const netdev = { type: 'tap', id: 'net,0', fd: 'tapfd' };
    const add = qmp.netdevAdd(netdev);
    const addCommand = await fake.nextCommand();
    expect(addCommand).toMatchObject({ execute: 'netdev_add', arguments: netdev });
    fake.reply(addCommand);
    await add;
  });

  it('treats the connection closing during quit as quit having worked', async () => {
    pair = await connectedToFake();
    const quit = pair.qmp.quit();
    await pair.fake.nextCommand();
    pair.fake.event('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
    pair.fake.close();
    await expect(quit).resolves.toBeUndefined();
  });
});
