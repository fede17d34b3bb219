// launch()'s confinement of QEMU: the jail (on unless `confine: false`, jail.ts), the seccomp
// sandbox (on unless the caller says otherwise) and the uid QEMU runs as, all decided and
// checked before anything is created or spawned.
import { UnsupportedError, ValidationError } from '../core/index.js';
import {
  inspectKvmDevice,
  KVM_DEVICE,
  TCG_FALLBACK,
  verdictOfDevice,
  type AcceleratorChoice,
} from './accel.js';
import { resolveJail, type ResolvedJail } from './jail.js';
import { checkJailExecutable, checkJailReadable } from './jail-boot-files.js';
import { checkJailEndpoint, checkJailHostNic } from './jail-nics.js';
import type { LaunchOptions } from './launch-options.js';
import { resolveBinary } from './process.js';
import { checkPathsAs, nicPathNeeds, type PathNeed } from './run-as-access.js';
import {
  describeIdentity,
  requireIdentityChange,
  resolveRunAs,
  type QemuIdentity,
} from './run-as.js';
import { resolveSandbox, type ResolvedSandbox } from './sandbox.js';

/** How QEMU is confined: its seccomp policy (none: no -sandbox), its uid (none: ours, or a
 *  per-VM one leased by the jail step) and its jail (none: confine: false). */
export interface Confinement {
  sandbox: ResolvedSandbox | undefined;
  identity: QemuIdentity | undefined;
  jail?: ResolvedJail;
}

export { KVM_DEVICE };

// accel 'kvm' asked for on a host whose KVM node is absent or will not open is a config error
// found before anything is created (QEMU would only fail later, and less clearly).
/**
 * Checks that the KVM device node is there and opens read-write.
 * @throws ValidationError (path 'accel', code KVM_UNAVAILABLE) naming what is wrong with it.
 */
export function requireKvmDevice(device = KVM_DEVICE): void {
  const found = inspectKvmDevice(device);
  if (found.state === 'present') return;
  throw new ValidationError(
    'accel',
    'kvm',
    `KVM was requested, but ${found.detail}; use accel 'auto' (falls back to TCG) or 'tcg'`,
    'KVM_UNAVAILABLE',
  );
}

// Validates `sandbox` and `runAs`, and checks as the new uid every path QEMU opens (kernel,
// initrd, binary, vhost-user client sockets); /dev/kvm waits for the accelerator choice.
/**
 * Resolves the sandbox policy and the identity and checks the identity's file access.
 * @throws ValidationError for a bad option, an unknown user, root, or a path it cannot open.
 * @throws UnsupportedError when this process cannot change uids (not root, no setpriv).
 */
export async function prepareConfinement(options: LaunchOptions): Promise<Confinement> {
  const sandbox = resolveSandbox(options.sandbox);
  const jail = resolveJail(options.confine);
  if (jail) {
    checkJailable(options);
    const identity = options.runAs === undefined ? undefined : await resolveRunAs(options.runAs);
    return { sandbox, identity, jail };
  }
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

// What a jail cannot serve, found before anything exists: not being root, a boot file its uid
// could not reopen, and NICs QEMU would reach by path (vhost-user sockets, /dev/vfio).
function checkJailable(options: LaunchOptions): void {
  const euid = process.geteuid?.() ?? -1;
  if (euid !== 0) {
    throw new UnsupportedError(
      `QEMU's jail needs root (this process is uid ${euid}); pass confine: false ` +
        '(CLI --no-confine) to run QEMU unjailed as this user',
    );
  }
  checkJailExecutable(resolveBinary(options.qemu ?? 'qemu-system-x86_64'), 'qemu');
  checkJailReadable(options.kernel, 'kernel');
  if (options.initrd !== undefined) checkJailReadable(options.initrd, 'initrd');
  (options.endpoints ?? []).forEach(({ endpoint }, i) =>
    checkJailEndpoint(endpoint, `endpoints[${i}].endpoint`),
  );
  (options.nics ?? []).forEach((nic, i) => checkJailHostNic(nic, `nics[${i}]`));
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
  device = KVM_DEVICE,
): Promise<AcceleratorChoice> {
  if (identity === undefined || choice.accel !== 'kvm') return choice;
  const found = inspectKvmDevice(device);
  if (found.state === 'absent') {
    if (requested === 'kvm') requireKvmDevice(device);
    return verdictOfDevice(found)!;
  }
  try {
    await checkPathsAs(identity, [{ path: device, access: 'read-write', field: 'accel' }]);
    return choice;
  } catch (error) {
    if (!(error instanceof ValidationError) || requested === 'kvm') throw error;
    return {
      accel: 'tcg',
      reason: `KVM is present but unusable as ${describeIdentity(identity)}, which cannot open ${device} (${error.message}); ${TCG_FALLBACK}`,
      cached: false,
    };
  }
}
