// The CLI's rate texts (tc's units) and where they go: `vmlaunch nic --rate`, its request and
// printed reply, and the rate options of a `--net` spec.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseEndpointSpec } from '../../../../launcher/cli/endpoint-spec.js';
import { formatNicReply, nicCommand, parseNicArgs } from '../../../../launcher/cli/nic.js';
import {
  parseRateChange,
  parseRateText,
  parseSizeText,
} from '../../../../launcher/cli/rate-spec.js';
import { UsageError } from '../../../../launcher/cli/usage.js';
import { controlCalls } from '../../../../launcher/control/client.js';
import { parseRequest } from '../../../../launcher/control/protocol.js';

afterEach(() => vi.restoreAllMocks());

describe('rate texts', () => {
  it('reads rates as tc does (bit units / 8, bps units as bytes, powers of 1000)', () => {
    expect(parseRateText('10mbit', 'r')).toBe(1_250_000);
    expect(parseRateText('500kbit', 'r')).toBe(62_500);
    expect(parseRateText('1Gbit', 'r')).toBe(125_000_000);
    expect(parseRateText('64kbps', 'r')).toBe(64_000);
    expect(parseRateText('1.5mbps', 'r')).toBe(1_500_000);
    for (const bad of ['10', '10M', 'fast', '-1mbit', '']) {
      expect(() => parseRateText(bad, 'r'), bad).toThrow(/^r/);
    }
  });

  it('reads bursts as bytes with k/m of 1024', () => {
    expect(parseSizeText('20000', 'b')).toBe(20_000);
    expect(parseSizeText('32k', 'b')).toBe(32_768);
    expect(parseSizeText('1mb', 'b')).toBe(1_048_576);
    expect(() => parseSizeText('1g', 'b')).toThrow(/^b/);
  });

  it('--rate: per direction a rate or off, bursts, or off for both', () => {
    expect(parseRateChange('rx=10mbit,tx=off')).toEqual({ rx: { rate: 1_250_000 }, tx: null });
    expect(parseRateChange('tx=8mbit,tx-burst=32k')).toEqual({
      tx: { rate: 1_000_000, burst: 32_768 },
    });
    expect(parseRateChange('off')).toEqual({ rx: null, tx: null });
    for (const bad of [
      'rx',
      'up=1mbit',
      'rx=1mbit,rx=2mbit',
      'rx-burst=32k',
      'tx=off,tx-burst=1k',
    ]) {
      expect(() => parseRateChange(bad), bad).toThrow();
    }
  });
});

describe('vmlaunch nic --rate', () => {
  it('parses into the change and refuses a bad one as a usage error', () => {
    expect(parseNicArgs(['vm1', 'net0', '--rate', 'rx=off,tx=5mbit'])).toEqual({
      name: 'vm1',
      nicId: 'net0',
      rate: { rx: null, tx: { rate: 625_000 } },
      stats: false,
      json: false,
    });
    expect(() => parseNicArgs(['vm1', 'net0', '--rate', 'tx=5'])).toThrow(UsageError);
  });

  it('sends the change, and the protocol carries it (checked on the server too)', async () => {
    const nic = vi.spyOn(controlCalls, 'nic').mockResolvedValue({
      nicId: 'net0',
      rate: { tx: { rate: 625_000, burst: 62_500 } },
    });
    const out = vi.spyOn(process.stdout, 'write').mockReturnValue(true);
    expect(await nicCommand(['vm1', 'net0', '--rate', 'tx=5mbit'])).toBe(0);
    expect(nic).toHaveBeenCalledWith('vm1', 'net0', { rate: { tx: { rate: 625_000 } } });
    expect(String(out.mock.calls[0]![0])).toBe(
      'net0: rate limits now rx none, tx 5Mbit/s (625000 B/s), burst 62500 B\n',
    );
    expect(
      parseRequest('{"id":1,"op":"nic","nicId":"net0","rate":{"rx":null,"tx":{"rate":4096}}}'),
    ).toEqual({
      id: 1,
      op: 'nic',
      nicId: 'net0',
      rate: { rx: null, tx: { rate: 4096, burst: 16_384 } },
    });
    expect(() =>
      parseRequest('{"id":1,"op":"nic","nicId":"net0","rate":{"tx":{"rate":-1}}}'),
    ).toThrow(/^rate: /);
    expect(formatNicReply({ nicId: 'n', rate: {} })).toBe('n: rate limits now rx none, tx none\n');
  });
});

describe('--net rate options', () => {
  it("become the spec's rate, apart from the endpoint", () => {
    expect(
      parseEndpointSpec('veth:eth0@ns1,mtu=1400,rx-rate=10mbit,tx-rate=1mbps,tx-burst=64k'),
    ).toEqual({
      endpoint: { kind: 'veth', name: 'eth0', interworking: 'tcfilter', mtu: 1400 },
      netns: 'ns1',
      rate: { rx: { rate: 1_250_000 }, tx: { rate: 1_000_000, burst: 65_536 } },
    });
    expect(parseEndpointSpec('tap:t0')).toEqual({
      endpoint: { kind: 'tap', name: 't0', create: true },
    });
    for (const bad of ['tap:t0,rx-rate=off', 'tap:t0,rx-burst=1k', 'tap:t0,tx-rate=9']) {
      expect(() => parseEndpointSpec(bad), bad).toThrow(/--net\[0\]/);
    }
  });
});
