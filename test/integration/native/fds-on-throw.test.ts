import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeAll,
  recvFds,
  sendFds,
  socketpair,
  tapOpen,
  vhostNetOpen,
} from '../../../native/index.js';

// Building the result after the opens can throw: napi_set_property runs setters, and a setter
// on Object.prototype or Array.prototype is a real way to make it throw. The fds opened before
// must then be closed, not leaked.
// The setter throws only while `armed` (during the addon call); otherwise it stores the value
// as an own property, so the test framework's own objects and arrays behave as usual.
let armed = false;
const installed: Array<[object, string]> = [];
function throwingSetter(target: object, key: string): void {
  Object.defineProperty(target, key, {
    configurable: true,
    set(this: object, value: unknown) {
      if (armed) throw new Error(`setter of ${key}`);
      Object.defineProperty(this, key, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    },
  });
  installed.push([target, key]);
}

// Runs `call` with the setters armed; returns what it threw.
function thrownBy(call: () => unknown): unknown {
  armed = true;
  try {
    call();
  } catch (error) {
    return error;
  } finally {
    armed = false;
  }
  return undefined;
}
afterEach(() => {
  for (const [target, key] of installed.splice(0)) {
    delete (target as Record<string, unknown>)[key];
  }
});

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('fds opened before a result allocation throws', () => {
  it('tapOpen closes its queue fds', () => {
    const before = openFds();
    throwingSetter(Object.prototype, 'fds');
    expect(String(thrownBy(() => tapOpen(null, '', { queues: 2 })))).toMatch(/setter of fds/);
    expect(openFds()).toBe(before);
  });

  it('socketpair closes both ends', () => {
    const before = openFds();
    throwingSetter(Array.prototype, '1');
    expect(String(thrownBy(() => socketpair()))).toMatch(/setter of 1/);
    expect(openFds()).toBe(before);
  });

  it('recvFds closes the fds it received', () => {
    const [a, b] = socketpair();
    try {
      expect(sendFds(a, Buffer.from('x'), [a, b])).toBe(1);
      const before = openFds();
      throwingSetter(Object.prototype, 'fds');
      expect(String(thrownBy(() => recvFds(b, 16, 4)))).toMatch(/setter of fds/);
      expect(openFds()).toBe(before);
    } finally {
      closeAll([a, b]);
    }
  });

  it('vhostNetOpen closes its fds (where vhost-net exists)', () => {
    let probe: number[];
    try {
      probe = vhostNetOpen(1);
    } catch {
      return; // no /dev/vhost-net on this host
    }
    closeAll(probe);
    const before = openFds();
    throwingSetter(Array.prototype, '1');
    expect(String(thrownBy(() => vhostNetOpen(2)))).toMatch(/setter of 1/);
    expect(openFds()).toBe(before);
  });
});
