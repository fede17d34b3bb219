// The one splitter behind --net and --drive: QEMU's list syntax, and round trips of random paths
// with commas written by the options formatter (escapeOptValue) and read back by both parsers.
import { describe, expect, it } from 'vitest';
import { parseEndpointSpec } from '../../../../launcher/cli/endpoint-spec.js';
import { splitQemuList } from '../../../../launcher/cli/qemu-list.js';
import { parseDriveSpec } from '../../../../launcher/cli/workload-spec.js';
import { escapeOptValue } from '../../../../launcher/opts.js';

// A small seeded generator (mulberry32), so a failing case is the same on every run.
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Commas are frequent (leading, trailing, doubled, tripled) so every run meets them.
const CHARS = [',', ',', ',', 'a', 'b', 'z', '0', '.', '-', '_', ' ', '=', '@', '+'];

// An absolute path of 1-4 segments, each 1-8 characters, none of them '.' or '..'.
function randomPath(next: () => number): string {
  const segments = Array.from({ length: 1 + Math.floor(next() * 4) }, () => {
    let s = '';
    for (let n = 1 + Math.floor(next() * 8); n > 0; n--)
      s += CHARS[Math.floor(next() * CHARS.length)];
    return s === '.' || s === '..' ? `${s}x` : s;
  });
  return `/${segments.join('/')}`;
}

const CASES = 500;

describe('splitQemuList', () => {
  it('splits on single commas and reads ",," as a comma', () => {
    expect(splitQemuList('a,,b,c')).toEqual(['a,b', 'c']);
    expect(splitQemuList('a,,,b')).toEqual(['a,', 'b']);
    expect(splitQemuList(',,a')).toEqual([',a']);
    expect(splitQemuList('a')).toEqual(['a']);
    expect(splitQemuList('a,')).toEqual(['a', '']);
    expect(splitQemuList('')).toEqual(['']);
  });

  it('reads back any escaped values joined by single commas', () => {
    const next = random(1);
    for (let i = 0; i < CASES; i++) {
      const values = [randomPath(next), randomPath(next), randomPath(next)];
      expect(splitQemuList(values.map((v) => escapeOptValue(v)).join(','))).toEqual(values);
    }
  });
});

describe('--net specs with commas in paths', () => {
  it('reads a doubled comma in a socket path or netns as one comma', () => {
    expect(parseEndpointSpec('vhost-user:/run/a,,b.sock:server,mtu=1400')).toEqual({
      endpoint: { kind: 'vhost-user', socketPath: '/run/a,b.sock', mode: 'server', mtu: 1400 },
    });
    expect(parseEndpointSpec('tap:tap0@/run/netns/x,,y,queues=2')).toEqual({
      endpoint: { kind: 'tap', name: 'tap0', create: true, queues: 2 },
      netns: '/run/netns/x,y',
    });
    expect(parseEndpointSpec('veth:eth0@/run/netns/c,,1:macvtap')).toEqual({
      endpoint: { kind: 'veth', name: 'eth0', interworking: 'macvtap' },
      netns: '/run/netns/c,1',
    });
  });

  it('refuses a single comma in a path as an unknown option', () => {
    expect(() => parseEndpointSpec('vhost-user:/run/a,b.sock')).toThrow(/unknown option "b.sock"/);
  });

  it('round-trips random vhost-user socket paths and netns paths', () => {
    const next = random(2);
    for (let i = 0; i < CASES; i++) {
      const socketPath = randomPath(next);
      const netns = randomPath(next);
      expect(parseEndpointSpec(`vhost-user:${escapeOptValue(socketPath)}:server,queues=2`)).toEqual(
        { endpoint: { kind: 'vhost-user', socketPath, mode: 'server', queues: 2 } },
      );
      expect(parseEndpointSpec(`tap:tap0@${escapeOptValue(netns)},mtu=1400`)).toEqual({
        endpoint: { kind: 'tap', name: 'tap0', create: true, mtu: 1400 },
        netns,
      });
    }
  });
});

describe('--drive specs with commas in paths', () => {
  it('round-trips random image paths', () => {
    const next = random(3);
    for (let i = 0; i < CASES; i++) {
      const path = randomPath(next);
      expect(parseDriveSpec(`${escapeOptValue(path)},ro,serial=d${i}`, '/')).toEqual({
        path,
        readOnly: true,
        serial: `d${i}`,
      });
    }
  });
});
