import { describe, expect, it } from 'vitest';
import {
  accelArgs,
  bootArgs,
  cpuArgs,
  machineArgs,
  sizingArgs,
} from '../../../../launcher/devices/machine-args.js';
import { expectValidation } from './helpers.js';

describe('machine argument groups', () => {
  it('machine, accel, cpu, sizing', () => {
    expect(
      machineArgs('microvm', {
        'x-option-roms': false,
        pcie: true,
        'memory-backend': undefined,
      }).toArgs(),
    ).toEqual(['-machine', 'microvm,x-option-roms=off,pcie=on']);
    expect(accelArgs('tcg').toArgs()).toEqual(['-accel', 'tcg']);
    expect(accelArgs('kvm').toArgs()).toEqual(['-accel', 'kvm']);
    expect(cpuArgs('max').toArgs()).toEqual(['-cpu', 'max']);
    expect(sizingArgs(512, 2).toArgs()).toEqual(['-m', '512M', '-smp', 'cpus=2']);
  });

  it('boot args are passed verbatim (QEMU does not parse -kernel/-append as options)', () => {
    expect(
      bootArgs({ kernel: '/k,1', initrd: '/i', append: ['console=ttyS0', 'ip=a,b'] }).toArgs(),
    ).toEqual(['-kernel', '/k,1', '-initrd', '/i', '-append', 'console=ttyS0 ip=a,b']);
    expect(bootArgs({ kernel: '/k', append: [] }).toArgs()).toEqual(['-kernel', '/k']);
  });

  it('errors name fields', () => {
    expectValidation(() => accelArgs('hvf' as 'kvm').validate(), 'accel', 'ACCEL');
    expectValidation(() => sizingArgs(512, 0).validate(), 'cpus', 'RANGE');
    expectValidation(() => sizingArgs(512, 289).validate(), 'cpus', 'RANGE');
    expectValidation(() => sizingArgs(8, 1).validate(), 'memory.sizeMiB', 'RANGE');
    expectValidation(
      () => bootArgs({ kernel: '', append: [] }).validate(),
      'boot.kernel',
      'REQUIRED',
    );
    expectValidation(
      () => bootArgs({ kernel: '/k', append: ['a\nb'] }).validate(),
      'boot.append[0]',
      'QEMU_ARG_CONTROL_CHAR',
    );
    expectValidation(() => cpuArgs('max,x=y=z').validate(), 'cpu', 'CPU');
    expectValidation(() => cpuArgs('host,kvm=off').validate(), 'cpu', 'CPU');
    expectValidation(() => cpuArgs('max,,foo=bar').validate(), 'cpu', 'CPU');
    expectValidation(
      () => machineArgs('q35', { 'bad key': 1 }).validate(),
      'machine.bad key',
      'QEMU_OPT_KEY',
    );
  });
});
