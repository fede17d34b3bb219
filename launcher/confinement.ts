// launch()'s confinement of QEMU: the seccomp sandbox (on unless the caller says otherwise) and
// the uid QEMU runs as, both decided and checked before anything is created or spawned.
import { ValidationError } from '../network/errors.js';
import type { AcceleratorChoice } from './accel.js';
import type { LaunchOptions } from './launch.js';
import { resolveBinary } from './process.js';
import { checkPathsAs, nicPathNeeds, type PathNeed } from './run-as-access.js';
import {
  describeIdentity,
  requireIdentityChange,
  resolveRunAs,
  type QemuIdentity,
} from './run-as.js';
import { resolveSandbox, type ResolvedSandbox } from './sandbox.js';

/** How QEMU is confined: its seccomp policy (none: no -sandbox) and its uid (none: ours). */
export interface Confinement {
  sandbox: ResolvedSandbox | undefined;
  identity: QemuIdentity | undefined;
}

/** The device KVM is reached through. */
export const KVM_DEVICE = '/dev/kvm';

// Validates `sandbox` and `runAs`, and checks as the new uid every path QEMU opens (kernel,
// initrd, binary, vhost-user client sockets); /dev/kvm waits for the accelerator choice.
/**
 * Resolves the sandbox policy and the identity and checks the identity's file access.
 * @throws ValidationError for a bad option, an unknown user, root, or a path it cannot open.
 * @throws UnsupportedError when this process cannot change uids (not root, no setpriv).
 */
export async function prepareConfinement(options: LaunchOptions): Promise<Confinement> {
  const sandbox = resolveSandbox(options.sandbox);
  if (options.runAs === undefined) return { sandbox, identity: undefined };
  const identity = await resolveRunAs(options.runAs);
  requireIdentityChange(identity);
  const needs: PathNeed[] = [
    { path: resolveBinary(options.qemu ?? 'qemu-system-x86_64'), access: 'exec', field: 'qemu' },
    { path: options.kernel, access: 'read', field: 'kernel' },
    ...(options.initrd ? [{ path: options.initrd, access: 'read' as const, field: 'initrd' }] : []),
    ...nicPathNeeds(options.endpoints ?? [], options.nics ?? []),
  ];
  await checkPathsAs(identity, needs);
  return { sandbox, identity };
}

// KVM under a lower uid needs /dev/kvm open to it (Debian: group kvm). Asked for explicitly,
// that is an error; chosen by 'auto', TCG is used instead, saying why.
/**
 * The accelerator QEMU can really use as `identity`.
 * @throws ValidationError (path 'accel') when KVM was requested and the uid cannot open it.
 */
export async function accelForIdentity(
  choice: AcceleratorChoice,
  identity: QemuIdentity | undefined,
  requested: LaunchOptions['accel'],
): Promise<AcceleratorChoice> {
  if (identity === undefined || choice.accel !== 'kvm') return choice;
  try {
    await checkPathsAs(identity, [{ path: KVM_DEVICE, access: 'read-write', field: 'accel' }]);
    return choice;
  } catch (error) {
    if (!(error instanceof ValidationError) || requested === 'kvm') throw error;
    return {
      accel: 'tcg',
      reason: `QEMU runs as ${describeIdentity(identity)}, which cannot open ${KVM_DEVICE} (${error.message}); using TCG`,
      cached: false,
    };
  }
}
