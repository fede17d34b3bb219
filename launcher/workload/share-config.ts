// What launch() does with shares around the command builder: the early checks against the rest
// of the options, and the VmConfig of the started shares (devices, shared RAM, guest mounts).
import { ValidationError } from '../../core/index.js';
import {
  resolveTemplate,
  type MachineTemplate,
  type TemplateName,
  type TemplateOverrides,
} from '../../qemu-templates/index.js';
import { mmioUnderTcg } from '../devices/vhost-user-fs.js';
import type { VmConfig } from '../vm-config.js';
import { resolveShares, shareCmdline, type ResolvedShare } from './share-spec.js';
import type { ShareSet } from './shares.js';

// The shares of a launch, validated with the options they depend on, before anything starts;
// `template` is the options' machine, when the caller has resolved it already.
/** @throws ValidationError for a bad share, or shares with sharedMemory: false. */
export function resolveLaunchShares(
  options: {
    shares?: unknown;
    sharedMemory?: boolean;
    accel?: string;
    template?: TemplateName;
    templateOverrides?: TemplateOverrides;
  },
  template: MachineTemplate = resolveTemplate(options.template ?? 'q35', options.templateOverrides),
): ResolvedShare[] {
  const shares = resolveShares(options.shares);
  if (shares.length > 0 && options.sharedMemory === false) {
    throw new ValidationError(
      'sharedMemory',
      false,
      'virtiofs shares need guest RAM in a shared memfd (vhost-user); leave sharedMemory unset or true',
      'VHOST_USER_NEEDS_SHARED_MEMORY',
    );
  }
  if (shares.length > 0 && options.accel === 'tcg' && template.transport === 'mmio') {
    throw mmioUnderTcg('shares');
  }
  return shares;
}

// Adds the started shares to `config`: their devices, shared guest RAM, the guest mount args.
export function withShares(
  config: VmConfig,
  shares: readonly ResolvedShare[],
  set: ShareSet | undefined,
): VmConfig {
  if (shares.length === 0 || set === undefined) return config;
  return {
    ...config,
    memory: { ...config.memory, shared: true },
    boot: { ...config.boot, cmdline: [...(config.boot.cmdline ?? []), ...shareCmdline(shares)] },
    shares: shares.map((share, i) => ({ id: share.id, tag: share.tag, fd: set.fds[i]! })),
  };
}
