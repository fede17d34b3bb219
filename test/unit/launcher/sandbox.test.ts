import { describe, expect, it } from 'vitest';
import { buildCommand } from '../../../launcher/command.js';
import { resolveSandbox, sandboxArgs } from '../../../launcher/sandbox.js';
import { validateVmConfig, type VmConfig } from '../../../launcher/vm-config.js';
import { templateNames } from '../../../qemu-templates/index.js';
import { expectValidation } from './devices/helpers.js';

const FULL_DENY = 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny';

const config = (patch: Partial<VmConfig> = {}): VmConfig => ({
  machine: { template: 'q35' },
  accel: 'tcg',
  cpus: 1,
  memory: { sizeMiB: 256 },
  boot: { kernel: '/k/vmlinuz' },
  qmp: { fd: 17 },
  ...patch,
});

// The value following `flag` in argv (or undefined).
const after = (argv: string[], flag: string): string | undefined => argv[argv.indexOf(flag) + 1];

describe('the seccomp sandbox option', () => {
  it('is on by default with every group denied', () => {
    expect(sandboxArgs(resolveSandbox()!).toArgs()).toEqual(['-sandbox', FULL_DENY]);
    expect(sandboxArgs(resolveSandbox(true)!).toArgs()).toEqual(['-sandbox', FULL_DENY]);
  });

  it('is absent when turned off', () => {
    expect(resolveSandbox(false)).toBeUndefined();
  });

  it('allows only the groups a policy names, and denies the rest', () => {
    const policy = resolveSandbox({ spawn: 'allow', elevatePrivileges: 'children' })!;
    expect(sandboxArgs(policy).toArgs()).toEqual([
      '-sandbox',
      'on,obsolete=deny,elevateprivileges=children,spawn=allow,resourcecontrol=deny',
    ]);
  });

  it.each([
    ['a string', 'on', 'sandbox'],
    ['null', null, 'sandbox'],
    ['an array', ['spawn'], 'sandbox'],
    ['an unknown group', { spwan: 'allow' }, 'sandbox.spwan'],
    ["QEMU's spelling of a group", { resourcecontrol: 'allow' }, 'sandbox.resourcecontrol'],
    ['a value QEMU does not know', { spawn: 'maybe' }, 'sandbox.spawn'],
    ["'children' outside elevatePrivileges", { spawn: 'children' }, 'sandbox.spawn'],
    ['a value smuggling another option', { obsolete: 'deny,spawn=allow' }, 'sandbox.obsolete'],
  ])('refuses %s, naming the field', (_what, value, path) => {
    expectValidation(() => resolveSandbox(value), path, 'SANDBOX');
  });
});

describe('buildCommand with a sandbox', () => {
  it('puts -sandbox after the accelerator, built by the options formatter', () => {
    const argv = buildCommand(config({ sandbox: resolveSandbox(true)! })).argv;
    expect(after(argv, '-sandbox')).toBe(FULL_DENY);
    expect(argv.indexOf('-sandbox')).toBe(argv.indexOf('-accel') + 2);
  });

  it('leaves -sandbox out when the config has none', () => {
    expect(buildCommand(config()).argv).not.toContain('-sandbox');
  });

  it('refuses a sandbox config with an unknown value or of the wrong type', () => {
    expectValidation(
      () => validateVmConfig({ ...config(), sandbox: { spawn: 'sometimes' } }),
      'sandbox.spawn',
      'SANDBOX',
    );
    expectValidation(() => validateVmConfig({ ...config(), sandbox: 'on' }), 'sandbox', 'TYPE');
  });

  it.each(templateNames())(
    'never daemonizes or asks QEMU to change uid itself (%s)',
    (template) => {
      for (const sandbox of [undefined, resolveSandbox(true)!]) {
        const argv = buildCommand(
          config({ machine: { template }, ...(sandbox ? { sandbox } : {}) }),
        ).argv;
        for (const flag of ['-daemonize', '-runas', '-run-with', '-chroot']) {
          expect(argv).not.toContain(flag);
        }
      }
    },
  );
});
