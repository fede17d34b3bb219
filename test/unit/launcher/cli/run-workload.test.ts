import { describe, expect, it } from 'vitest';
import { parseRunWorkloadFlags } from '../../../../launcher/cli/run-workload.js';
import { UsageError } from '../../../../launcher/cli/usage.js';

describe('parseRunWorkloadFlags', () => {
  it('turns the flags before -- into runInVm options', () => {
    const o = parseRunWorkloadFlags([
      '--drive',
      '/img/a,,b.raw,format=raw,ro',
      '--drive',
      '/img/c.qcow2,ephemeral,serial=c',
      '--share',
      '/srv/src:/src,ro',
      '--cwd',
      '/src',
      '--env',
      'A=x=y',
      '--env',
      'EMPTY=',
      '--timeout',
      '60000',
      '--memory',
      '256',
      '--template',
      'microvm',
      '--append',
      'quiet  loglevel=3',
    ]);
    expect(o).toMatchObject({
      drives: [
        { path: '/img/a,b.raw', format: 'raw', readOnly: true },
        { path: '/img/c.qcow2', ephemeral: true, serial: 'c' },
      ],
      shares: [{ hostPath: '/srv/src', mount: '/src', readOnly: true }],
      cwd: '/src',
      env: { A: 'x=y', EMPTY: '' },
      timeout: 60_000,
      memoryMiB: 256,
      cpus: 1,
      template: 'microvm',
      cmdline: ['quiet', 'loglevel=3'],
      endpoints: [],
    });
    expect(o.kernel).toBeUndefined();
  });

  it('has no drives or shares unless given', () => {
    const o = parseRunWorkloadFlags([]);
    expect(o.drives).toBeUndefined();
    expect(o.shares).toBeUndefined();
    expect(o).toMatchObject({ memoryMiB: 512, template: 'q35' });
    expect(o.guestNetwork).toBeUndefined();
  });

  it('--no-seed turns the seed drive off', () => {
    expect(parseRunWorkloadFlags(['--no-seed']).guestNetwork).toEqual({ seed: false });
  });

  it.each([
    [['--env', 'NOVALUE'], /NAME=VALUE/],
    [['--env', '=x'], /NAME=VALUE/],
    [['--memory', '0'], /positive integer/],
    [['--timeout', '1.5'], /positive integer/],
    [['--bogus'], /Unknown option/],
    [['--share', 'x'], /HOSTDIR:GUESTPATH/],
    [['--drive', ',ro'], /no image path/],
  ])('refuses %j', (flags, message) => {
    expect(() => parseRunWorkloadFlags(flags)).toThrow(UsageError);
    expect(() => parseRunWorkloadFlags(flags)).toThrow(message);
  });
});
