import { describe, expect, it } from 'vitest';
import { connectQmp } from '../../../../launcher/qmp/connect.js';
import {
  QmpConnectError,
  QmpStateError,
  QmpTimeoutError,
  QmpDisconnectedError,
  QmpAbortedError,
} from '../../../../launcher/qmp/errors.js';
import { FakeQmp } from '../../../helpers/fake-qmp.js';
import { clientAndFake, openFdCount, settle } from './connected.js';

describe('connecting to QMP', () => {
  it('reads the greeting, negotiates capabilities without oob, and becomes ready', async () => {
    const { fake, qmp } = clientAndFake();
    expect(qmp.state).toBe('idle');
    const connecting = qmp.connect();
    expect(qmp.state).toBe('greeting');
    fake.greet();
    const negotiate = await fake.nextCommand();
    expect(negotiate.execute).toBe('qmp_capabilities');
    expect(negotiate.arguments).toEqual({});
    expect(qmp.state).toBe('negotiating');
    fake.reply(negotiate);
    const greeting = await connecting;
    expect(greeting.QMP.version.qemu.major).toBe(7);
    expect(qmp.state).toBe('ready');
    qmp.close();
    fake.close();
  });

  it('connects through connectQmp with an fd in one call', async () => {
    const fake = new FakeQmp();
    const [qmp] = await Promise.all([connectQmp({ fd: fake.clientFd }), fake.handshake()]);
    expect(qmp.state).toBe('ready');
    qmp.close();
    fake.close();
  });

  it('rejects commands before connect() with a state error', async () => {
    const { fake, qmp } = clientAndFake();
    await expect(qmp.queryStatus()).rejects.toBeInstanceOf(QmpStateError);
    qmp.close();
    fake.close();
  });

  it('fails with a connect error caused by a timeout when QEMU never greets, and closes the socket', async () => {
    const before = openFdCount();
    const fake = new FakeQmp();
    const failure = connectQmp({ fd: fake.clientFd }, { connectTimeout: 50 });
    const error = await failure.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpConnectError);
    expect((error as Error).cause).toBeInstanceOf(QmpTimeoutError);
    await settle();
    expect(fake.clientClosed).toBe(true);
    fake.close();
    await settle();
    expect(openFdCount()).toBe(before);
  });

  it('fails with a connect error when QEMU hangs up before greeting', async () => {
    const { fake, qmp } = clientAndFake();
    const connecting = qmp.connect({ timeout: 5000 });
    fake.close();
    const error = await connecting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpConnectError);
    expect((error as Error).cause).toBeInstanceOf(QmpDisconnectedError);
    expect(qmp.state).toBe('closed');
  });

  it('fails with a connect error when the caller aborts the greeting wait', async () => {
    const { fake, qmp } = clientAndFake();
    const controller = new AbortController();
    const connecting = qmp.connect({ signal: controller.signal });
    controller.abort(new Error('user gave up'));
    const error = await connecting.catch((e: unknown) => e);
    expect((error as Error).cause).toBeInstanceOf(QmpAbortedError);
    fake.close();
  });

  it('surfaces a refused qmp_capabilities as a connect error', async () => {
    const { fake, qmp } = clientAndFake();
    const connecting = qmp.connect();
    fake.greet();
    fake.fail(await fake.nextCommand(), 'GenericError', 'no');
    await expect(connecting).rejects.toBeInstanceOf(QmpConnectError);
    fake.close();
  });

  it('refuses a second connect()', async () => {
    const { fake, qmp } = clientAndFake();
    await Promise.all([qmp.connect(), fake.handshake()]);
    await expect(qmp.connect()).rejects.toBeInstanceOf(QmpStateError);
    qmp.close();
    fake.close();
  });
});
