import { describe, expect, it } from 'vitest';
import { closeAll, recvFds, sendFds, socketpair } from '../../../native/index.js';

describe('sendFds', () => {
  it('returns -1 at once on a full blocking socket, passing no fd, and sends once there is room', () => {
    // socketpair() fds are blocking: the old sendFds waited in poll() on the JS thread here.
    const [a, b] = socketpair();
    try {
      const block = Buffer.alloc(65536, 'x');
      let filled = 0;
      const started = performance.now();
      for (let sent = sendFds(a, block, []); sent !== -1; sent = sendFds(a, block, [])) {
        filled += sent;
      }
      expect(filled).toBeGreaterThan(0);
      expect(sendFds(a, Buffer.from('f'), [a])).toBe(-1);
      expect(performance.now() - started).toBeLessThan(1000);
      let drained = 0;
      while (drained < filled) {
        const got = recvFds(b, 65536, 1);
        expect(got.fds).toEqual([]);
        drained += got.data.length;
      }
      expect(sendFds(a, Buffer.from('f'), [a])).toBe(1);
      const last = recvFds(b, 16, 1);
      expect(last.data.toString()).toBe('f');
      expect(last.fds).toHaveLength(1);
      closeAll(last.fds);
    } finally {
      closeAll([a, b]);
    }
  });
});
