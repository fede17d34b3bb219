import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbortError, TimeoutError } from '../../../../core/index.js';
import { QmpAbortedError, QmpTimeoutError } from '../../../../launcher/qmp/errors.js';
import type { QmpClient } from '../../../../launcher/qmp/client.js';
import type { QmpLogger } from '../../../../launcher/qmp/logger.js';
import type { FakeQmp } from '../../../helpers/fake-qmp.js';
import { connectedToFake, settle } from './connected.js';

let pair: { fake: FakeQmp; qmp: QmpClient };
afterEach(() => {
  pair.qmp.close();
  pair.fake.close();
});

describe('timeouts and cancellation', () => {
  it('times out a call QEMU never answers', async () => {
    pair = await connectedToFake();
    const error = await pair.qmp.queryStatus({ timeout: 30 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpTimeoutError);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({
      operation: 'QMP query-status',
      timeoutMs: 30,
      code: 'QMP_TIMEOUT',
    });
  });

  it('uses the client-wide default timeout', async () => {
    pair = await connectedToFake({ timeout: 25 });
    await expect(pair.qmp.stop()).rejects.toBeInstanceOf(QmpTimeoutError);
  });

  it('drops the late reply of a timed-out call instead of giving it to the next caller', async () => {
    const debug = vi.fn();
    const warn = vi.fn();
    const logger: QmpLogger = { debug, warn };
    pair = await connectedToFake({ logger });
    const slow = pair.qmp.execute('slow', undefined, { timeout: 20 });
    const slowCommand = await pair.fake.nextCommand();
    await expect(slow).rejects.toBeInstanceOf(QmpTimeoutError);
    const next = pair.qmp.execute('next');
    const nextCommand = await pair.fake.nextCommand();
    pair.fake.reply(slowCommand, 'late');
    pair.fake.reply(nextCommand, 'mine');
    await expect(next).resolves.toBe('mine');
    expect(debug).toHaveBeenCalledWith({ id: slowCommand.id }, expect.stringMatching(/late reply/));
  });

  it('rejects an aborted call and drops its late reply', async () => {
    pair = await connectedToFake();
    const controller = new AbortController();
    const call = pair.qmp.queryStatus({ signal: controller.signal });
    const command = await pair.fake.nextCommand();
    controller.abort(new Error('caller left'));
    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpAbortedError);
    // One abort class and code for every layer: a QMP abort is caught like a launch abort.
    expect(error).toBeInstanceOf(AbortError);
    expect(error).toMatchObject({ code: 'ABORTED', name: 'QmpAbortedError' });
    expect((error as Error).cause).toEqual(new Error('caller left'));
    pair.fake.reply(command, { running: true, status: 'running' });
    await settle();
    // The connection is still usable after an abort (docs/faults.md T27).
    const status = pair.qmp.queryStatus();
    pair.fake.reply(await pair.fake.nextCommand(), { running: false, status: 'paused' });
    await expect(status).resolves.toMatchObject({ status: 'paused' });
  });

  it('does not send a call whose signal is already aborted', async () => {
    pair = await connectedToFake();
    const signal = AbortSignal.abort();
    await expect(pair.qmp.cont({ signal })).rejects.toBeInstanceOf(QmpAbortedError);
    await settle();
    expect(pair.fake.received.map((c) => c.execute)).toEqual(['qmp_capabilities']);
  });

  it('warns through a pino-compatible logger about skipped garbage, and is quiet otherwise', async () => {
    const debug = vi.fn();
    const warn = vi.fn();
    const logger: QmpLogger = { debug, warn };
    pair = await connectedToFake({ logger });
    const call = pair.qmp.execute('x');
    const command = await pair.fake.nextCommand();
    pair.fake.sendRaw('}{\r\n');
    pair.fake.reply(command);
    await call;
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith({ line: '}{' }, expect.stringMatching(/not JSON/));
  });
});
