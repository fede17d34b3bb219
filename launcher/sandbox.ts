// QEMU's seccomp sandbox (-sandbox on,...): which system-call groups QEMU may use once it runs.
// vmlaunch turns it on by default with every group denied, as libvirt does (seccomp_sandbox=1)
// and as firecracker and cloud-hypervisor do with their own filters: a guest that escapes into
// QEMU should find no exec, no set*id, no scheduler/affinity control and no obsolete calls.
// Nothing vmlaunch asks of QEMU needs them: NICs arrive as fds (no ifup scripts, no bridge
// helper), and a lower uid is set before QEMU starts (run-as.ts), never by QEMU itself.
//
// QEMU facts (qemu-options.hx, softmmu/qemu-seccomp.c, 7.2): the filter is installed while the
// command line is processed, before the machine is created; a denied call kills QEMU with
// SIGSYS. `elevateprivileges=deny` also blocks QEMU's own `-runas` (setgid/setuid come later,
// in os_setup_post), which is why a lower uid is never asked of QEMU here.
import { UnsupportedError, ValidationError } from '../core/index.js';
import type { ArgGroup } from './devices/types.js';
import { formatOpts } from './opts.js';

/** Per group: QEMU's own words. `children` (elevatePrivileges) lets QEMU itself keep set*id. */
export type SandboxSetting = 'allow' | 'deny';

/** What QEMU may do under its seccomp filter; every group left out is denied. */
export interface SandboxPolicy {
  /** Obsolete system calls (e.g. sysfs, uselib). */
  obsolete?: SandboxSetting;
  /** set*uid/set*gid; 'children' denies them to children only. */
  elevatePrivileges?: SandboxSetting | 'children';
  /** fork/vfork/execve: scripts, helpers. */
  spawn?: SandboxSetting;
  /** Scheduler, affinity and priority control. */
  resourceControl?: SandboxSetting;
}

/** `true` (default): all groups denied; `false`: no -sandbox; a policy: per group. */
export type SandboxOption = boolean | SandboxPolicy;

/** A policy with every group decided (what goes on the command line). */
export type ResolvedSandbox = Required<SandboxPolicy>;

/** Our key -> QEMU's key and the values QEMU accepts for it. */
const GROUPS: Readonly<Record<keyof SandboxPolicy, { qemu: string; values: readonly string[] }>> = {
  obsolete: { qemu: 'obsolete', values: ['allow', 'deny'] },
  elevatePrivileges: { qemu: 'elevateprivileges', values: ['allow', 'deny', 'children'] },
  spawn: { qemu: 'spawn', values: ['allow', 'deny'] },
  resourceControl: { qemu: 'resourcecontrol', values: ['allow', 'deny'] },
};

const ALL_DENIED: ResolvedSandbox = Object.freeze({
  obsolete: 'deny',
  elevatePrivileges: 'deny',
  spawn: 'deny',
  resourceControl: 'deny',
});

// The launch option -> the policy to apply, or undefined for "no sandbox"; unknown groups and
// values are refused by name (a typo must not silently leave a group allowed).
/**
 * Resolves `sandbox` (default true: every group denied).
 * @throws ValidationError (path 'sandbox' or 'sandbox.<group>', code SANDBOX).
 */
export function resolveSandbox(
  option: unknown = true,
  path = 'sandbox',
): ResolvedSandbox | undefined {
  if (option === false) return undefined;
  if (option === true) return ALL_DENIED;
  if (option === null || typeof option !== 'object' || Array.isArray(option)) {
    throw new ValidationError(
      path,
      option,
      'expected true, false or a per-group policy',
      'SANDBOX',
    );
  }
  const resolved: Record<string, string> = { ...ALL_DENIED };
  for (const [key, value] of Object.entries(option)) {
    const group = Object.hasOwn(GROUPS, key) ? GROUPS[key as keyof SandboxPolicy] : undefined;
    if (!group) {
      throw new ValidationError(
        `${path}.${key}`,
        key,
        `unknown sandbox group; expected ${Object.keys(GROUPS).join(', ')}`,
        'SANDBOX',
      );
    }
    if (value === undefined) continue;
    if (typeof value !== 'string' || !group.values.includes(value)) {
      throw new ValidationError(
        `${path}.${key}`,
        value,
        `expected ${group.values.map((v) => `'${v}'`).join(' or ')}`,
        'SANDBOX',
      );
    }
    resolved[key] = value;
  }
  return resolved as ResolvedSandbox;
}

// `-sandbox on,obsolete=deny,...` through the one options formatter.
export function sandboxArgs(policy: ResolvedSandbox, path = 'sandbox'): ArgGroup {
  const entries = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [key, group] of Object.entries(GROUPS)) {
      out[group.qemu] = policy[key as keyof SandboxPolicy];
    }
    return out;
  };
  const validate = (): void => void resolveSandbox(policy, path);
  return {
    validate,
    toArgs: () => (validate(), ['-sandbox', formatOpts(entries(), { positional: 'on', path })]),
  };
}

/** This QEMU (or this host's kernel) cannot run the requested seccomp sandbox. */
export class SandboxUnsupportedError extends UnsupportedError {
  /** The QEMU binary probed. */
  readonly qemu: string;
  /** What QEMU printed on stderr, if anything. */
  readonly qemuSaid: string;

  constructor(qemu: string, reason: string, qemuSaid: string, options?: { cause?: unknown }) {
    const said = qemuSaid.trim();
    super(
      `${qemu} cannot run with its seccomp sandbox: ${reason}` +
        `${said ? `\nQEMU said:\n${said}` : ''}\n` +
        'pass sandbox: false (CLI: --sandbox off) to run without it',
      options,
    );
    this.qemu = qemu;
    this.qemuSaid = said;
  }
}
