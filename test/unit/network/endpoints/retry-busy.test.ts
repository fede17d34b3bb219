import { describe, expect, it } from 'vitest';
import { retryOnBusy } from '../../../../network/endpoints/retry-busy.js';

// An error shaped like NetlinkError's code.
const busy = (): Error => Object.assign(new Error('tc qdisc add: EBUSY'), { code: 'EBUSY' });

describe('retryOnBusy', () => {
  it('retries EBUSY with a linear backoff and returns the eventual success', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await retryOnBusy(
      () => (++calls < 3 ? Promise.reject(busy()) : Promise.resolve('added')),
      { sleep: (ms) => (waits.push(ms), Promise.resolve()) },
    );
    expect(result).toBe('added');
    expect(waits).toEqual([10, 20]);
  });

  it('gives up after five attempts with the kernel error', async () => {
    let calls = 0;
    const error = await retryOnBusy(() => (calls++, Promise.reject(busy())), {
      sleep: () => Promise.resolve(),
    }).catch((e: unknown) => e);
    expect(calls).toBe(5);
    expect(error).toMatchObject({ code: 'EBUSY' });
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    const enodev = Object.assign(new Error('ENODEV'), { code: 'ENODEV' });
    await expect(retryOnBusy(() => (calls++, Promise.reject(enodev)))).rejects.toBe(enodev);
    expect(calls).toBe(1);
  });
});
