import { describe, expect, it } from 'vitest';
import {
  closeAll,
  closeDetached,
  detachedFailures,
  detachedInFlight,
  sendDetached,
  socketpair,
} from '../../../native/index.js';

async function settled(): Promise<void> {
  while (detachedInFlight() > 0) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe('failures inside detached threads', () => {
  it('a sendDetached whose send fails is counted with its errno (it used to vanish)', async () => {
    const [a, b] = socketpair();
    closeAll([b]); // no peer: send gets EPIPE (and no SIGPIPE)
    const before = detachedFailures();
    sendDetached(a, Buffer.from('x'));
    await settled();
    const after = detachedFailures();
    expect(after.send).toBe(before.send + 1);
    expect(after.lastErrno).toBe('EPIPE');
    expect(after.isolate).toBe(before.isolate);
    closeAll([a]);
  });

  it('a successful send and close count nothing', async () => {
    const [a, b] = socketpair();
    const [c, d] = socketpair();
    const before = detachedFailures();
    sendDetached(a, Buffer.from('x'));
    closeDetached([c, d]);
    await settled();
    expect(detachedFailures()).toMatchObject({ send: before.send, isolate: before.isolate });
    closeAll([a, b]);
  });
});
