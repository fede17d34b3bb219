// The one function that merges a preset with the user's overrides. Presets stay frozen; the
// result is a new frozen template, so nothing downstream can change either.
import { ValidationError } from '../core/index.js';
import { deepFreeze } from './deep-freeze.js';
import { PRESETS } from './presets.js';
import type { MachineTemplate, TemplateName, TemplateOverrides } from './types.js';

/** Most root ports we reserve: pcie.0 has 32 slots and we keep a few for cold-plugged devices. */
export const MAX_HOTPLUG_ROOT_PORTS = 24;

const OVERRIDE_KEYS = new Set([
  'machineOptions',
  'hotplugRootPorts',
  'kernelCmdline',
  'nicRomfile',
]);

// Names every preset, for messages and for callers that list them.
export function templateNames(): TemplateName[] {
  return Object.keys(PRESETS) as TemplateName[];
}

/**
 * Merges preset `name` with `overrides` into a new frozen template.
 * @throws ValidationError (code UNKNOWN_TEMPLATE, UNKNOWN_FIELD, TEMPLATE_OVERRIDE, RANGE)
 *   naming the field under `path` ('machine.template', 'machine.overrides.hotplugRootPorts').
 */
export function resolveTemplate(
  name: unknown,
  overrides: TemplateOverrides = {},
  path = 'machine',
): MachineTemplate {
  if (typeof name !== 'string' || !Object.hasOwn(PRESETS, name)) {
    throw new ValidationError(
      `${path}.template`,
      name,
      `expected one of ${templateNames().join(', ')}`,
      'UNKNOWN_TEMPLATE',
    );
  }
  const preset = PRESETS[name as TemplateName];
  const at = (field: string): string => `${path}.overrides.${field}`;
  if (overrides === null || typeof overrides !== 'object') {
    throw new ValidationError(
      `${path}.overrides`,
      overrides,
      'expected an object',
      'TEMPLATE_OVERRIDE',
    );
  }
  for (const key of Object.keys(overrides)) {
    if (!OVERRIDE_KEYS.has(key)) {
      throw new ValidationError(
        at(key),
        key,
        `unknown override; expected ${[...OVERRIDE_KEYS].join(', ')}`,
        'UNKNOWN_FIELD',
      );
    }
  }
  const ports = overrides.hotplugRootPorts ?? preset.hotplugRootPorts;
  if (!Number.isInteger(ports) || ports < 0 || ports > MAX_HOTPLUG_ROOT_PORTS) {
    throw new ValidationError(
      at('hotplugRootPorts'),
      ports,
      `expected an integer from 0 to ${MAX_HOTPLUG_ROOT_PORTS}`,
      'RANGE',
    );
  }
  if (ports > 0 && preset.hotplugRootPorts === 0) {
    throw new ValidationError(
      at('hotplugRootPorts'),
      ports,
      `${preset.name} reserves no root ports for hot-plug (${preset.hotplug.why})`,
      'TEMPLATE_OVERRIDE',
    );
  }
  const machineOptions = { ...preset.machineOptions };
  for (const [key, value] of Object.entries(overrides.machineOptions ?? {})) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw new ValidationError(
        at(`machineOptions.${key}`),
        value,
        'expected a string, number or boolean',
        'TEMPLATE_OVERRIDE',
      );
    }
    machineOptions[key] = value;
  }
  const extraCmdline: unknown = overrides.kernelCmdline ?? [];
  if (!Array.isArray(extraCmdline) || extraCmdline.some((bit) => typeof bit !== 'string')) {
    throw new ValidationError(
      at('kernelCmdline'),
      extraCmdline,
      'expected an array of strings',
      'TEMPLATE_OVERRIDE',
    );
  }
  const romfile = overrides.nicRomfile ?? preset.nicRomfile;
  if (romfile !== 'none' && romfile !== 'default') {
    throw new ValidationError(
      at('nicRomfile'),
      romfile,
      "expected 'none' or 'default'",
      'TEMPLATE_OVERRIDE',
    );
  }
  return deepFreeze({
    ...structuredClone(preset),
    machineOptions,
    hotplugRootPorts: ports,
    kernelCmdline: [...preset.kernelCmdline, ...(extraCmdline as string[])],
    nicRomfile: romfile,
  });
}
