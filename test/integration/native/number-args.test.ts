import { describe, expect, it } from 'vitest';
import { closeFd, netlinkOpen, pidfdOpen, recvFds, tapOpen } from '../../../native/index.js';

const bad = [NaN, Infinity, -Infinity, -1, 1.5, 2 ** 32, 2 ** 53];

describe('numbers the addon refuses', () => {
  it('netlinkOpen: a NaN, fractional, negative or too-large groups / recvTimeoutMs is a usage error', () => {
    for (const value of bad) {
      expect(() => netlinkOpen(null, { groups: value }), `groups ${value}`).toThrow(
        /usage: netlinkOpen/,
      );
      expect(() => netlinkOpen(null, { recvTimeoutMs: value }), `recvTimeoutMs ${value}`).toThrow(
        /usage: netlinkOpen/,
      );
    }
    // The largest values that fit are still taken.
    closeFd(netlinkOpen(null, { groups: 2 ** 32 - 1, recvTimeoutMs: 2 ** 31 - 1 }));
  });

  it('fd, count and pid arguments refuse NaN, infinities, fractions and values past int32', () => {
    for (const value of [...bad, 2 ** 31]) {
      expect(() => closeFd(value), `close ${value}`).toThrow(/usage: close/);
      expect(() => recvFds(0, value, 1), `recvFds ${value}`).toThrow(/usage: recvFds/);
      expect(() => pidfdOpen(value), `pidfdOpen ${value}`).toThrow(/usage: pidfdOpen/);
      expect(() => tapOpen(null, 'vmlx', { queues: value }), `queues ${value}`).toThrow(
        /usage: tapOpen/,
      );
    }
  });
});
