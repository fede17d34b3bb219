import { describe, expect, it } from 'vitest';
import { closeAll, recvNow, socketpair } from '../../../native/index.js';
import { writeSync } from 'node:fs';

describe('recvNow', () => {
  it('returns -1 at once when nothing is queued, and the bytes when something is', () => {
    const [a, b] = socketpair();
    try {
      const into = Buffer.alloc(16);
      const started = performance.now();
      expect(recvNow(b, into)).toBe(-1);
      expect(performance.now() - started).toBeLessThan(1000);
      writeSync(a, Buffer.from('hello'));
      expect(recvNow(b, into)).toBe(5);
      expect(into.subarray(0, 5).toString()).toBe('hello');
    } finally {
      closeAll([a, b]);
    }
  });

  it('reports a closed peer as 0 bytes (EOF) and a bad fd as EBADF', () => {
    const [a, b] = socketpair();
    closeAll([a]);
    expect(recvNow(b, Buffer.alloc(4))).toBe(0);
    closeAll([b]);
    expect(() => recvNow(b, Buffer.alloc(4))).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('names its usage on wrong arguments', () => {
    expect(() => recvNow(0, 'x' as unknown as Buffer)).toThrow(/usage: recvNow/);
  });
});
