// Machine presets as frozen data, and the one function that merges them with user overrides.
export { PRESETS } from './presets.js';
export { resolveTemplate, templateNames, MAX_HOTPLUG_ROOT_PORTS } from './resolve.js';
export { deepFreeze } from './deep-freeze.js';
export type {
  HotplugSupport,
  MachineOptionValue,
  MachineTemplate,
  TemplateName,
  TemplateOverrides,
} from './types.js';
