import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  GUEST_NET_FLAGS,
  guestNetworkFromFlags,
} from '../../../../launcher/cli/guest-net-flags.js';
import { UsageError } from '../../../../launcher/cli/usage.js';

const flags = (args: string[]) =>
  guestNetworkFromFlags(parseArgs({ args, options: GUEST_NET_FLAGS }).values, 'usage');

describe('guestNetworkFromFlags', () => {
  it('gives nothing when no guest-network flag is set', () => {
    expect(flags([])).toBeUndefined();
  });

  it('turns --dns, --dns-search and --hostname into the seed options', () => {
    expect(
      flags([
        '--dns',
        '10.1.0.53',
        '--dns',
        'fd00::53',
        '--dns-search',
        'svc.local',
        '--hostname',
        'box',
      ]),
    ).toEqual({
      dns: { nameservers: ['10.1.0.53', 'fd00::53'], search: ['svc.local'] },
      hostname: 'box',
    });
  });

  it('--no-seed alone turns the seed off', () => {
    expect(flags(['--no-seed'])).toEqual({ seed: false });
  });

  it('refuses --no-seed with a flag that only the seed carries', () => {
    expect(() => flags(['--no-seed', '--dns', '10.1.0.53'])).toThrow(UsageError);
    expect(() => flags(['--no-seed', '--hostname', 'box'])).toThrow(UsageError);
  });

  it('collects --scan netns names', () => {
    const { values } = parseArgs({
      args: ['--scan', 'a', '--scan', 'b'],
      options: GUEST_NET_FLAGS,
    });
    expect(values.scan).toEqual(['a', 'b']);
  });
});
