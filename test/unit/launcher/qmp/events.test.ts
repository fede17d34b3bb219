import { afterEach, describe, expect, it } from 'vitest';
import {
  QmpAbortedError,
  QmpDisconnectedError,
  QmpTimeoutError,
} from '../../../../launcher/qmp/errors.js';
import type { QmpClient } from '../../../../launcher/qmp/client.js';
import type { QmpEvent } from '../../../../launcher/qmp/types.js';
import type { FakeQmp } from '../../../helpers/fake-qmp.js';
import { clientAndFake, connectedToFake } from './connected.js';

let pair: { fake: FakeQmp; qmp: QmpClient };
afterEach(() => {
  pair.qmp.close();
  pair.fake.close();
});

describe('QMP events', () => {
  it('resolves an expectation registered before the command that triggers the event', async () => {
    pair = await connectedToFake();
    const { qmp, fake } = pair;
    const deleted = qmp.expectEvent('DEVICE_DELETED', (e) => e.data.device === 'nic1');
    const del = qmp.deviceDel({ id: 'nic1' });
    const command = await fake.nextCommand();
    // QEMU may emit the event before the reply; the listener is already there.
    fake.event('DEVICE_DELETED', { device: 'nic0', path: '/machine/peripheral/nic0' });
    fake.event('DEVICE_DELETED', { device: 'nic1', path: '/machine/peripheral/nic1' });
    fake.reply(command);
    await del;
    const event = await deleted;
    expect(event.data).toEqual({ device: 'nic1', path: '/machine/peripheral/nic1' });
    expect(event.timestamp.seconds).toBeGreaterThan(0);
  });

  it('gives events without data an empty data object', async () => {
    pair = await connectedToFake();
    const stopped = pair.qmp.waitForEvent('STOP');
    pair.fake.event('STOP');
    expect((await stopped).data).toEqual({});
  });

  it('times out a wait for an event that never comes', async () => {
    pair = await connectedToFake();
    const wait = pair.qmp.waitForEvent('DEVICE_DELETED', undefined, { timeout: 30 });
    await expect(wait).rejects.toBeInstanceOf(QmpTimeoutError);
  });

  it('stops a wait on abort and on cancel', async () => {
    pair = await connectedToFake();
    const controller = new AbortController();
    const aborted = pair.qmp.waitForEvent('X', undefined, { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(QmpAbortedError);
    const expectation = pair.qmp.expectEvent('Y');
    expectation.cancel();
    await expect(expectation.promise).rejects.toBeInstanceOf(QmpAbortedError);
  });

  it('fans every event out to every iterator, in order', async () => {
    pair = await connectedToFake();
    const first = pair.qmp.events();
    const second = pair.qmp.events();
    pair.fake.event('A');
    pair.fake.event('B');
    const names = async (it: AsyncIterableIterator<QmpEvent>): Promise<string[]> => {
      const a = await it.next();
      const b = await it.next();
      return [a, b].map((r) => (r.done ? 'done' : r.value.event));
    };
    expect(await names(first)).toEqual(['A', 'B']);
    expect(await names(second)).toEqual(['A', 'B']);
    await first.return?.();
    await second.return?.();
  });

  it('ends iterators and rejects waits when the connection drops', async () => {
    pair = await connectedToFake();
    const iterator = pair.qmp.events();
    const wait = pair.qmp.waitForEvent('DEVICE_DELETED');
    const seen: string[] = [];
    const consumed = (async () => {
      for await (const event of iterator) seen.push(event.event);
    })();
    pair.fake.event('RESUME');
    pair.fake.close();
    await consumed;
    expect(seen).toEqual(['RESUME']);
    await expect(wait).rejects.toBeInstanceOf(QmpDisconnectedError);
  });

  it('buffers events sent before the greeting and hands them to the first iterator', async () => {
    pair = clientAndFake();
    const { qmp, fake } = pair;
    fake.event('EARLY', { n: 1 });
    await Promise.all([qmp.connect(), fake.handshake()]);
    fake.event('LATE');
    const iterator = qmp.events();
    expect((await iterator.next()).value).toMatchObject({ event: 'EARLY', data: { n: 1 } });
    await iterator.return?.();
  });

  it('delivers pre-greeting events to listeners registered before connect()', async () => {
    pair = clientAndFake();
    const { qmp, fake } = pair;
    const early = qmp.waitForEvent('EARLY');
    fake.event('EARLY');
    await Promise.all([qmp.connect(), fake.handshake()]);
    await expect(early).resolves.toMatchObject({ event: 'EARLY' });
  });
});
