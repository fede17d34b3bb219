import { afterEach, describe, expect, it } from 'vitest';
import type { QmpClient } from '../../../../launcher/qmp/client.js';
import { toEvent } from '../../../../launcher/qmp/types.js';
import type { FakeQmp } from '../../../helpers/fake-qmp.js';
import { connectedToFake } from './connected.js';

let pair: { fake: FakeQmp; qmp: QmpClient } | undefined;
afterEach(() => {
  pair?.qmp.close();
  pair?.fake.close();
  pair = undefined;
});

// Found by the QMP fuzz suite: String() and Number() of a parsed JSON object whose `toString`
// is not a function throw a TypeError, which escaped the socket's data handler.
describe('events with hostile values', () => {
  it('reads an event whose name and timestamp are objects without conversion hooks', () => {
    const event = toEvent(
      JSON.parse(
        '{"event":{"toString":null},"timestamp":{"seconds":{"valueOf":1},"microseconds":[{"toString":0}]}}',
      ) as Record<string, unknown>,
    );
    expect(event).toEqual({
      event: '{"toString":null}',
      data: {},
      timestamp: { seconds: 0, microseconds: 0 },
    });
  });

  it('keeps the connection usable after such an event', async () => {
    const { qmp, fake } = (pair = await connectedToFake());
    const iterator = qmp.events();
    fake.sendRaw('{"event":{"toString":null},"timestamp":{"seconds":1,"microseconds":2}}\r\n');
    expect((await iterator.next()).value).toMatchObject({ event: '{"toString":null}' });
    const status = qmp.queryStatus();
    fake.reply(await fake.nextCommand(), { running: true, status: 'running' });
    await expect(status).resolves.toMatchObject({ running: true });
    await iterator.return?.();
  });
});
