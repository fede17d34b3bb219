import { describe, expect, it } from 'vitest';
import { PRESETS, resolveTemplate, templateNames } from '../../../qemu-templates/index.js';
import { expectValidation } from './devices/helpers.js';

describe('machine presets', () => {
  it('are deeply frozen', () => {
    expect(Object.isFrozen(PRESETS)).toBe(true);
    expect(Object.isFrozen(PRESETS.q35.machineOptions)).toBe(true);
    expect(Object.isFrozen(PRESETS.microvm.kernelCmdline)).toBe(true);
    expect(() => {
      (PRESETS.q35 as { hotplugRootPorts: number }).hotplugRootPorts = 9;
    }).toThrow(TypeError);
  });

  it('say transport, hot plug and TCG behaviour honestly', () => {
    expect(templateNames()).toEqual(['microvm', 'microvm-pcie', 'q35', 'pc']);
    expect(PRESETS.microvm).toMatchObject({
      transport: 'mmio',
      hotplug: { supported: false },
      hotplugRootPorts: 0,
    });
    expect(PRESETS['microvm-pcie']).toMatchObject({
      transport: 'pci',
      machineOptions: { pcie: true },
      hotplug: { supported: false, verified: false },
    });
    expect(PRESETS.q35).toMatchObject({
      transport: 'pci',
      hotplugRootPorts: 4,
      hotplug: { supported: true, verified: true },
    });
    expect(PRESETS.pc).toMatchObject({
      transport: 'pci',
      rootBus: 'pci.0',
      hotplug: { verified: false },
    });
    expect(PRESETS.microvm.tcg.boot).toBe('needs-tsc-hint');
    expect(PRESETS.q35.tcg.boot).toBe('reliable');
    for (const name of templateNames()) {
      expect(PRESETS[name].requiredArgs).toEqual([
        '-nodefaults',
        '-no-user-config',
        '-display',
        'none',
      ]);
      expect(PRESETS[name].kernelCmdline).toContain('console=ttyS0');
    }
  });
});

describe('resolveTemplate', () => {
  it('merges overrides into a new frozen template, leaving the preset alone', () => {
    const t = resolveTemplate('q35', {
      hotplugRootPorts: 2,
      machineOptions: { 'x-foo': 'a,b' },
      kernelCmdline: ['quiet'],
    });
    expect(t.hotplugRootPorts).toBe(2);
    expect(t.machineOptions).toEqual({ 'x-foo': 'a,b' });
    expect(t.kernelCmdline).toEqual(['console=ttyS0', 'quiet']);
    expect(Object.isFrozen(t.kernelCmdline)).toBe(true);
    expect(PRESETS.q35.hotplugRootPorts).toBe(4);
    expect(resolveTemplate('q35').hotplugRootPorts).toBe(4);
    expect(resolveTemplate('q35', { hotplugRootPorts: 0 }).hotplugRootPorts).toBe(0);
  });

  it.each([
    [() => resolveTemplate('virt'), 'machine.template', 'UNKNOWN_TEMPLATE'],
    [() => resolveTemplate('toString'), 'machine.template', 'UNKNOWN_TEMPLATE'],
    [
      () => resolveTemplate('q35', { hotplugRootPorts: 25 }),
      'machine.overrides.hotplugRootPorts',
      'RANGE',
    ],
    [
      () => resolveTemplate('microvm', { hotplugRootPorts: 1 }),
      'machine.overrides.hotplugRootPorts',
      'TEMPLATE_OVERRIDE',
    ],
    [
      () => resolveTemplate('q35', { rootPorts: 1 } as object),
      'machine.overrides.rootPorts',
      'UNKNOWN_FIELD',
    ],
    [
      () => resolveTemplate('q35', { kernelCmdline: 'quiet' } as object),
      'machine.overrides.kernelCmdline',
      'TEMPLATE_OVERRIDE',
    ],
    [
      () => resolveTemplate('q35', { nicRomfile: 'pxe' } as object),
      'machine.overrides.nicRomfile',
      'TEMPLATE_OVERRIDE',
    ],
  ])('refuses bad input (%#)', (run, path, code) => {
    expectValidation(run, path, code);
  });
});
