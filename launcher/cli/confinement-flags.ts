// `vmlaunch run --sandbox ... --run-as ...`: the command-line words for launch()'s `sandbox`
// and `runAs`. Sandbox groups are spelled as QEMU spells them (-sandbox on,spawn=allow).
import type { RunAs } from '../run-as.js';
import type { SandboxOption, SandboxPolicy } from '../sandbox.js';
import { UsageError } from './usage.js';

/** QEMU's group names -> launch()'s keys. */
const QEMU_GROUPS: Readonly<Record<string, keyof SandboxPolicy>> = {
  obsolete: 'obsolete',
  elevateprivileges: 'elevatePrivileges',
  spawn: 'spawn',
  resourcecontrol: 'resourceControl',
};

// --sandbox VALUE -> launch()'s `sandbox` (values are checked by launch itself).
/** @throws UsageError for an unknown group or a malformed list. */
export function parseSandboxFlag(value: string | undefined, usage: string): SandboxOption {
  if (value === undefined || value === 'on') return true;
  if (value === 'off') return false;
  const policy: Record<string, string> = {};
  for (const part of value.split(',')) {
    const [group, setting, ...extra] = part.split('=');
    const key = group === undefined ? undefined : QEMU_GROUPS[group];
    if (!key || setting === undefined || extra.length > 0) {
      throw new UsageError(
        `--sandbox expects on, off or GROUP=allow|deny,... with GROUP one of ${Object.keys(QEMU_GROUPS).join(', ')}; got "${part}"`,
        usage,
      );
    }
    policy[key] = setting;
  }
  return policy;
}

// --run-as USER or UID:GID -> launch()'s `runAs` (resolved and checked by launch itself).
/** @throws UsageError for an empty value. */
export function parseRunAsFlag(value: string | undefined, usage: string): RunAs | undefined {
  if (value === undefined) return undefined;
  const ids = /^(\d+):(\d+)$/.exec(value);
  if (ids) return { uid: Number(ids[1]), gid: Number(ids[2]) };
  if (value === '') throw new UsageError('--run-as expects a user name or UID:GID', usage);
  return { user: value };
}
