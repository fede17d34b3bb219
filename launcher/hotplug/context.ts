// What hot-plug needs from a VM, as one injectable object: the QMP client, the hot-plug buses,
// how NICs are placed, the guest (when there is a harness shell) and the host-side attach.
// Vm builds it; unit tests build it around a fake QMP server.
import type { AttachContext, AttachedEndpoint } from '../../network/endpoints/attach-types.js';
import type { Endpoint } from '../../network/endpoints/types.js';
import type { RomfilePolicy } from '../devices/virtio-net.js';
import type { Accel } from '../devices/machine-args.js';
import type { Transport } from '../devices/types.js';
import type { GuestExecOptions, GuestResult } from '../guest-shell.js';
import type { Logger } from '../log.js';
import type { MachineTemplate } from '../../qemu-templates/index.js';
import { QmpCommandError, type QmpClient } from '../qmp/index.js';
import type { HotplugRegistry } from './registry.js';

/** The guest side of hot-plug: readiness and (with a harness shell) commands. */
export interface HotplugGuest {
  /** Resolves once the guest can take a device_add (its init said it is ready). */
  waitReady(options: { timeout: number; signal?: AbortSignal }): Promise<void>;
  /** Runs a shell command in the guest; absent when the VM has no harness shell. */
  exec?(command: string, options?: GuestExecOptions): Promise<GuestResult>;
}

/** Everything attach/detach touch, injectable. */
export interface HotplugContext {
  qmp: QmpClient;
  registry: HotplugRegistry;
  transport: Transport;
  sharedMemory: boolean;
  /** The VM's id: host links attached for it carry it in their names (see AttachContext). */
  owner?: string;
  /** The uid QEMU runs as (runAs), for the checks of hot-plugged endpoints; default ours. */
  qemuUid?: number;
  /** The VM's accelerator (device options depend on it, see virtio-net.ts). */
  accel: Accel;
  romfile?: RomfilePolicy;
  /** Machine name, for messages. */
  machine: string;
  /** Undefined when the guest's readiness cannot be known (not the default guest). */
  guest?: HotplugGuest;
  /** Whether QEMU is still running. */
  running(): boolean;
  attachEndpoint(endpoint: Endpoint, ctx: AttachContext): Promise<AttachedEndpoint>;
  closeFds(fds: number[]): void;
  /** The machine (drive checks) and the VM's private run directory (ephemeral overlays): a
   *  VM without them cannot hot-plug drives. */
  template?: MachineTemplate;
  runDir?: string;
  logger?: Logger;
}

/** Per-command deadline of rollback and cleanup QMP calls (they must not hang either). */
export const CLEANUP_CALL_TIMEOUT = 5000;

// QMP cleanup on a dead monitor is pointless (QEMU took the objects with it) and would only
// fail: docs/faults.md T7, libvirt's virDomainObjIsActive check before its try_remove.
export function monitorAlive(ctx: HotplugContext): boolean {
  return ctx.qmp.state === 'ready' && ctx.running();
}

// "It is not there" from a remove command means the work is already done.
export function isNotFound(error: unknown): boolean {
  return (
    error instanceof QmpCommandError &&
    (error.errorClass === 'DeviceNotFound' || /not found/i.test(error.desc))
  );
}

// Runs one QMP removal as cleanup: skipped on a dead monitor, "not found" counts as done.
export async function removeQuietly(
  ctx: HotplugContext,
  execute: string,
  args: Record<string, unknown>,
): Promise<void> {
  if (!monitorAlive(ctx)) return;
  try {
    await ctx.qmp.execute(execute, args, { timeout: CLEANUP_CALL_TIMEOUT });
  } catch (error) {
    if (isNotFound(error)) return;
    // QEMU died while we were cleaning up: its objects went with it.
    if (!monitorAlive(ctx)) return;
    throw error;
  }
}
