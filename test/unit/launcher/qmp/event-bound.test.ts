import { afterEach, describe, expect, it } from 'vitest';
import type { QmpClient } from '../../../../launcher/qmp/client.js';
import type { QmpLogger } from '../../../../launcher/qmp/logger.js';
import type { FakeQmp } from '../../../helpers/fake-qmp.js';
import { clientAndFake, settle } from './connected.js';

// The documented cap (events.ts MAX_HELD_EVENTS).
const MAX_HELD_EVENTS = 1000;

let pair: { fake: FakeQmp; qmp: QmpClient };
afterEach(() => {
  pair.qmp.close();
  pair.fake.close();
});

// A logger that keeps what was warned, to check that drops are counted, not silent.
function recordingLogger(): QmpLogger & { warnings: object[] } {
  const warnings: object[] = [];
  return { warnings, debug: () => undefined, warn: (obj) => void warnings.push(obj) };
}

describe('QMP events held before a listener', () => {
  it('keeps at most MAX_HELD_EVENTS events sent before negotiation, the newest, and warns with the count dropped', async () => {
    const logger = recordingLogger();
    pair = clientAndFake({ logger });
    const { qmp, fake } = pair;
    const extra = 500;
    const connecting = qmp.connect();
    fake.greet();
    const negotiate = await fake.nextCommand();
    for (let i = 0; i < MAX_HELD_EVENTS + extra; i++) fake.event('EARLY', { n: i });
    await settle(50);
    fake.reply(negotiate, {});
    await connecting;
    const iterator = qmp.events();
    const first = await iterator.next();
    expect(first.value).toMatchObject({ event: 'EARLY', data: { n: extra } });
    let count = 1;
    fake.event('LAST');
    for (;;) {
      const next = await iterator.next();
      if (next.done || next.value.event === 'LAST') break;
      count += 1;
    }
    expect(count).toBe(MAX_HELD_EVENTS);
    expect(logger.warnings).toContainEqual(expect.objectContaining({ dropped: extra }));
    await iterator.return?.();
  });
});
