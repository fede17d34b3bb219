import { afterEach, describe, expect, it } from 'vitest';
import { QmpDisconnectedError } from '../../../../launcher/qmp/errors.js';
import type { QmpClient } from '../../../../launcher/qmp/client.js';
import type { FakeQmp } from '../../../helpers/fake-qmp.js';
import { connectedToFake, openFdCount, settle } from './connected.js';

let pair: { fake: FakeQmp; qmp: QmpClient };
afterEach(() => {
  pair.qmp.close();
  pair.fake.close();
});

describe('when the QMP connection drops', () => {
  it('rejects every pending call as interrupted', async () => {
    pair = await connectedToFake();
    const status = pair.qmp.queryStatus();
    const add = pair.qmp.netdevAdd({ type: 'tap', id: 'n0', fd: 'f' });
    await pair.fake.nextCommand();
    await pair.fake.nextCommand();
    pair.fake.close();
    for (const call of [status, add]) {
      const error = await call.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QmpDisconnectedError);
      expect(error).toMatchObject({ interrupted: true, code: 'QMP_DISCONNECTED' });
    }
    expect(pair.qmp.state).toBe('closed');
  });

  it('fails later calls at once, without sending them', async () => {
    pair = await connectedToFake();
    pair.fake.close();
    await pair.qmp.whenClosed();
    const error = await pair.qmp.queryStatus().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpDisconnectedError);
    expect(error).toMatchObject({ interrupted: false, command: 'query-status' });
  });

  it('notices an EOF during an idle period', async () => {
    pair = await connectedToFake();
    const closed = pair.qmp.whenClosed();
    pair.fake.close();
    await closed;
    expect(pair.qmp.state).toBe('closed');
  });

  it('rejects pending calls when we close it ourselves, and leaves no fd behind', async () => {
    const before = openFdCount();
    pair = await connectedToFake();
    const status = pair.qmp.queryStatus();
    await pair.fake.nextCommand();
    pair.qmp.close();
    await expect(status).rejects.toBeInstanceOf(QmpDisconnectedError);
    pair.fake.close();
    await settle();
    expect(openFdCount()).toBe(before);
  });

  it('is closed by `await using`', async () => {
    pair = await connectedToFake();
    {
      await using qmp = pair.qmp;
      expect(qmp.state).toBe('ready');
    }
    expect(pair.qmp.state).toBe('closed');
  });
});
