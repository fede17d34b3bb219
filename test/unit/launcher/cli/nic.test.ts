// `vmlaunch nic` arguments: --link up|down and --stats, at least one; the request it sends and
// what it prints. The control call is stubbed (test/e2e/nic covers the VM side).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatNicReply, nicCommand, parseNicArgs } from '../../../../launcher/cli/nic.js';
import { UsageError } from '../../../../launcher/cli/usage.js';
import { controlCalls } from '../../../../launcher/control/client.js';
import { parseRequest } from '../../../../launcher/control/protocol.js';

afterEach(() => vi.restoreAllMocks());

describe('vmlaunch nic arguments', () => {
  it('parses --link and --stats', () => {
    expect(parseNicArgs(['vm1', 'net0', '--link', 'down'])).toEqual({
      name: 'vm1',
      nicId: 'net0',
      link: 'down',
      stats: false,
      json: false,
    });
    expect(parseNicArgs(['vm1', 'hp0', '--stats', '--json'])).toEqual({
      name: 'vm1',
      nicId: 'hp0',
      stats: true,
      json: true,
    });
    expect(parseNicArgs(['vm1', 'hp0', '--link=up', '--stats'])).toMatchObject({
      link: 'up',
      stats: true,
    });
  });

  it('refuses a bad --link, nothing to do, and wrong positionals as usage errors', () => {
    for (const argv of [
      ['vm1', 'net0', '--link', 'sideways'],
      ['vm1', 'net0'],
      ['vm1', '--stats'],
      ['vm1', 'net0', 'extra', '--stats'],
      ['vm1', 'net0', '--rate', '1M'],
    ]) {
      expect(() => parseNicArgs(argv), argv.join(' ')).toThrow(UsageError);
    }
  });

  it('sends the link and stats asked for and prints the counters', async () => {
    const nic = vi.spyOn(controlCalls, 'nic').mockResolvedValue({
      nicId: 'net0',
      link: 'down',
      stats: {
        host: {
          ifname: 'vm0',
          rxBytes: 10,
          rxPackets: 1,
          rxDropped: 0,
          rxErrors: 0,
          txBytes: 20,
          txPackets: 2,
          txDropped: 0,
          txErrors: 0,
        },
        rxFilter: { 'main-mac': '52:54:00:00:00:01' },
      },
    });
    const out = vi.spyOn(process.stdout, 'write').mockReturnValue(true);
    expect(await nicCommand(['vm1', 'net0', '--link', 'down', '--stats'])).toBe(0);
    expect(nic).toHaveBeenCalledWith('vm1', 'net0', { link: 'down', stats: true });
    const printed = String(out.mock.calls[0]![0]);
    expect(printed).toContain('net0: link down');
    expect(printed).toContain('rx: 10 bytes, 1 packets');
    expect(printed).toContain('"main-mac":"52:54:00:00:00:01"');
  });

  it('the request travels the protocol; a bad link value is refused by the server too', () => {
    expect(parseRequest('{"id":1,"op":"nic","nicId":"net0","link":"up","stats":true}')).toEqual({
      id: 1,
      op: 'nic',
      nicId: 'net0',
      link: 'up',
      stats: true,
    });
    expect(() => parseRequest('{"id":1,"op":"nic","nicId":"net0","link":"on"}')).toThrow(
      /link: expected/,
    );
  });

  it('stats without a host link say so', () => {
    expect(formatNicReply({ nicId: 'vu0', stats: { rxFilter: {} } })).toContain(
      'no host link held by vmlaunch',
    );
  });
});
