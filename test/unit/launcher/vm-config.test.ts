import { describe, expect, it } from 'vitest';
import { validateVmConfig } from '../../../launcher/vm-config.js';
import { expectValidation } from './devices/helpers.js';

const good = {
  machine: { template: 'q35' },
  accel: 'tcg',
  cpus: 1,
  memory: { sizeMiB: 256 },
  boot: { kernel: '/k' },
  qmp: { fd: 9 },
};

describe('validateVmConfig', () => {
  it('accepts a plain JSON config', () => {
    expect(validateVmConfig(JSON.parse(JSON.stringify(good)))).toEqual(good);
  });

  it.each([
    [null, 'config', 'TYPE'],
    [{ ...good, noShutdwon: true }, 'noShutdwon', 'UNKNOWN_FIELD'],
    [{ ...good, accel: 'hvf' }, 'accel', 'ACCEL'],
    [{ ...good, qmp: { fd: -1 } }, 'qmp.fd', 'FD'],
    [{ ...good, qmp: {} }, 'qmp.fd', 'FD'],
    [{ ...good, memory: { sizeMiB: 1, shared: 'yes' } }, 'memory.shared', 'TYPE'],
    [{ ...good, boot: {} }, 'boot.kernel', 'REQUIRED'],
    [{ ...good, boot: { kernel: '/k', cmdline: 'quiet' } }, 'boot.cmdline', 'TYPE'],
    [{ ...good, console: { kind: 'fd', fd: 9 } }, 'console.fd', 'FD'],
    [{ ...good, console: { kind: 'pty' } }, 'console.kind', 'TYPE'],
    [{ ...good, console: { kind: 'file', path: '' } }, 'console.path', 'TYPE'],
    [{ ...good, paused: 1 }, 'paused', 'TYPE'],
    [{ ...good, machine: { template: 'q35', extra: 1 } }, 'machine.extra', 'UNKNOWN_FIELD'],
  ])('%# rejects with %s', (input, path, code) => {
    expectValidation(() => validateVmConfig(input), path, code);
  });
});
