// A running VM: its QEMU process, QMP client, serial console and guest shell, the host-side
// endpoints attached for it, and the one way down — the shutdown ladder, then cleanup, which
// also runs by itself when QEMU dies unasked.
import { randomBytes } from 'node:crypto';
import { attachEndpoint } from '../network/endpoints/attach.js';
import type { AttachedEndpoint } from '../network/endpoints/attach-types.js';
import { UnsupportedError, type UndoStack } from '../core/index.js';
import type { LaunchOptions } from './launch-options.js';
import { saveSnapshot, type SnapshotOptions, type SnapshotResult } from './snapshot/save.js';
import type { AcceleratorChoice } from './accel.js';
import type { BuiltCommand } from './command.js';
import type { SerialConsole } from './console.js';
import { describeExit } from './errors.js';
import { GuestShell } from './guest-shell.js';
import type { Logger } from './log.js';
import { attachNic } from './hotplug/attach.js';
import { attachDrive } from './hotplug/attach-drive.js';
import type { DriveSpec } from './workload/drive-spec.js';
import type { HotplugContext } from './hotplug/context.js';
import { detachNic } from './hotplug/detach.js';
import { HotplugStateError } from './hotplug/errors.js';
import {
  adoptRestoredDrives,
  adoptRestoredNics,
  type RestoredDrive,
} from './snapshot/restored-hotplug.js';
import type {
  AttachOptions,
  DetachOptions,
  DetachResult,
  HotplugSource,
  HotpluggedDrive,
  HotpluggedNic,
} from './hotplug/types.js';
import { findNic, type FoundNic } from './nic/find-nic.js';
import { readNicStats, type NicStats } from './nic/nic-stats.js';
import { setNicLink } from './nic/set-link.js';
import { setNicRate } from './nic/set-rate.js';
import type { NicRate, NicRateChange } from '../network/endpoints/rate-limit.js';
import type { QemuProcess } from './process.js';
import type { RunningShare } from './workload/shares.js';
import type { QmpClient } from './qmp/index.js';
import { vmHotplugContext } from './vm-hotplug-context.js';
import {
  climbShutdownLadder,
  type ShutdownOptions,
  type ShutdownRung,
  type VmExit,
} from './vm-shutdown.js';

/** Where the VM is in its life. `crashed`: QEMU ended without being asked to. */
export type VmState = 'running' | 'stopping' | 'exited' | 'crashed';

export type { ShutdownOptions, ShutdownRung, VmExit } from './vm-shutdown.js';

/** Parts a launch hands to the VM. */
export interface VmParts {
  process: QemuProcess;
  qmp: QmpClient;
  console: SerialConsole;
  command: BuiltCommand;
  accel: AcceleratorChoice;
  endpoints: AttachedEndpoint[];
  /** Undo actions still owed at teardown (endpoint detach, channel close...). */
  teardown: UndoStack;
  logger: Logger;
  /** The VM's id (logs, and the names of host links attached for it); random when absent. */
  id?: string;
  /** The VM's private run directory (removed by `teardown`), when launch made one. */
  runDir?: string;
  /** The host-side attach of hot-plugged endpoints (launch's deps.attach); default the real one. */
  attach?: HotplugContext['attachEndpoint'];
  /** The virtiofs shares (their daemons are stopped by `teardown`, after QEMU). */
  shares?: RunningShare[];
  /** The uid QEMU runs as when launch's runAs set one (hot-plugged vhost-user sockets). */
  qemuUid?: number;
  /** The options it was launched with: what a snapshot's manifest records. */
  source?: LaunchOptions;
  /** Restored from a snapshot: the guest is past its ready marker already. */
  restored?: boolean;
  /** NICs that were hot-plugged before a snapshot, by id: the root port each sits on. */
  nicBuses?: Record<string, string>;
  /** Drives that were hot-plugged before a snapshot: each one's spec, root port and fdsets. */
  restoredDrives?: RestoredDrive[];
}

/** A launched VM. Dispose with `await using vm = await launch(...)` or `await vm.shutdown()`. */
export class Vm implements AsyncDisposable {
  /** This VM's id: in its logs and in the names of the host links attached for it. */
  readonly id: string;
  /** The VM's private run directory (overlays, sockets), removed at cleanup. */
  readonly runDir: string | undefined;
  readonly process: QemuProcess;
  readonly qmp: QmpClient;
  readonly console: SerialConsole;
  /** Runs commands in the guest over the console (the default guest's harness mode). */
  readonly guest: GuestShell;
  readonly command: BuiltCommand;
  readonly accel: AcceleratorChoice;
  readonly endpoints: readonly AttachedEndpoint[];
  /** The virtiofs shares: each daemon's pid and argv, its state, and its 'failed' event. */
  readonly shares: readonly RunningShare[];
  /** Resolves once QEMU has ended and cleanup has run; never rejects. */
  readonly exited: Promise<VmExit>;
  readonly logger: Logger;
  private currentState: VmState = 'running';
  private rung: ShutdownRung | undefined;
  private readonly teardown: UndoStack;
  private cleanupErrors: Error[] = [];
  private stopping: Promise<VmExit> | undefined;
  private readonly hotplug: HotplugContext;
  private readonly source: LaunchOptions | undefined;
  private readonly nicBuses: Record<string, string>;
  private readonly driveBuses: Record<string, string>;

  constructor(parts: VmParts) {
    this.id = parts.id ?? randomBytes(4).toString('hex');
    this.runDir = parts.runDir;
    this.process = parts.process;
    this.qmp = parts.qmp;
    this.console = parts.console;
    this.guest = new GuestShell(parts.console, { ready: parts.restored ?? false });
    this.source = parts.source;
    this.nicBuses = parts.nicBuses ?? {};
    const restoredDrives = parts.restoredDrives ?? [];
    this.driveBuses = Object.fromEntries(restoredDrives.map((d) => [d.spec.id, d.bus]));
    this.command = parts.command;
    this.accel = parts.accel;
    this.endpoints = parts.endpoints;
    this.shares = parts.shares ?? [];
    this.teardown = parts.teardown;
    this.logger = parts.logger;
    this.hotplug = vmHotplugContext(this, parts.attach ?? attachEndpoint, parts.qemuUid);
    adoptRestoredNics(this.hotplug, this.nicBuses, this.endpoints, this.command.devices);
    adoptRestoredDrives(this.hotplug, restoredDrives, this.command.devices);
    // Pushed last, so it runs first: hot-plugged NICs go before the cold-plugged endpoints.
    this.teardown.push('detach hot-plugged NICs', () => this.hotplug.registry.vmExited());
    this.exited = this.process.exited.then(async (exit) => {
      const unexpected = this.rung === undefined;
      this.currentState = unexpected ? 'crashed' : 'exited';
      if (unexpected) this.logger.warn({ exit }, `QEMU ended unasked (${describeExit(exit)})`);
      await this.cleanup();
      return { ...exit, unexpected, ...(this.rung ? { rung: this.rung } : {}) };
    });
  }

  /** QEMU's pid. */
  get pid(): number {
    return this.process.pid;
  }

  get state(): VmState {
    return this.currentState;
  }

  /** Errors of cleanup actions that failed (each names what may be left behind). */
  get leftovers(): readonly Error[] {
    return this.cleanupErrors;
  }

  /**
   * Stops the VM by the ladder system_powerdown -> quit -> SIGTERM -> SIGKILL, each rung with
   * its deadline, then cleans up. Safe to call more than once and after QEMU has ended.
   */
  shutdown(options: ShutdownOptions = {}): Promise<VmExit> {
    this.stopping ??= this.climbLadder(options);
    return this.stopping;
  }

  /**
   * Hot-plugs a NIC: an endpoint vmlaunch attaches (host side) first, or a ready HostNic whose
   * fds are taken over (closed here either way). Waits for the guest to be able to take it, and
   * (by default, with the default guest's shell) for the guest to show it.
   * @throws HotplugError naming the failed step, everything rolled back (`interrupted` when
   *   QEMU died meanwhile); HotplugStateError (VM not running, id taken); NoFreeSlotError as the
   *   cause when every root port is taken.
   */
  attach(source: HotplugSource, options?: AttachOptions): Promise<HotpluggedNic>;
  /**
   * Hot-plugs a drive (PCIe machines): the image is checked and opened as at launch and QEMU
   * gets it by fd; by default (with the default guest's shell) waits until the guest shows it.
   * Detach it with `detach(id)`, like a NIC.
   * @throws ValidationError for a bad spec or image; HotplugError naming the failed step,
   *   everything rolled back; HotplugStateError (VM not running, id taken).
   */
  attach(source: { drive: DriveSpec }, options?: AttachOptions): Promise<HotpluggedDrive>;
  attach(
    source: HotplugSource | { drive: DriveSpec },
    options?: AttachOptions,
  ): Promise<HotpluggedNic | HotpluggedDrive> {
    if (this.currentState !== 'running') {
      const error = new HotplugStateError(`cannot attach: the VM is ${this.currentState}`);
      return Promise.reject(error);
    }
    const logger = this.logger.child({ op: 'attach', ...(options?.id ? { nic: options.id } : {}) });
    if ('drive' in source) return attachDrive({ ...this.hotplug, logger }, source.drive, options);
    return attachNic({ ...this.hotplug, logger }, source, options);
  }

  /**
   * Unplugs a hot-plugged NIC: 'removed', or 'pending' when the guest has not released it by
   * the deadline (then `completion` resolves once it has, or once the VM exits).
   * @throws HotplugStateError (unknown id), UnplugRejectedError (the guest refused; still
   *   attached), HotplugError ('device_del' refused, or 'cleanup' leftovers).
   */
  detach(id: string, options?: DetachOptions): Promise<DetachResult> {
    return detachNic(
      { ...this.hotplug, logger: this.logger.child({ op: 'detach', nic: id }) },
      id,
      options,
    );
  }

  /** The NICs hot-plugged now (attached, or waiting for the guest to release them). */
  get hotplugged(): readonly HotpluggedNic[] {
    return this.hotplug.registry
      .list()
      .map((r) => r.nic)
      .filter((item): item is HotpluggedNic => !('kind' in item));
  }

  /** The drives hot-plugged now (attached, or waiting for the guest to release them). */
  get hotpluggedDrives(): readonly HotpluggedDrive[] {
    return this.hotplug.registry
      .list()
      .map((r) => r.nic)
      .filter((item): item is HotpluggedDrive => 'kind' in item && item.kind === 'drive');
  }

  /**
   * Sets a NIC's link down or up (QMP set_link): the guest sees its carrier go and come back.
   * Works for cold- and hot-plugged NICs; the link state does not survive a detach.
   * @throws HotplugStateError: NIC_UNKNOWN (no such NIC), NIC_NO_LINK_CONTROL (VFIO),
   *   HOTPLUG_STATE (VM not running); QmpCommandError when QEMU refuses.
   */
  async setLink(nicId: string, up: boolean): Promise<void> {
    await setNicLink(this.qmp, this.findNic(nicId), up, { timeout: 5000 });
  }

  /**
   * A NIC's counters from the host side (its tap's, in the guest's direction: rx is what the
   * guest received) and QEMU's query-rx-filter for it.
   * @throws HotplugStateError: NIC_UNKNOWN, NIC_NO_COUNTERS (VFIO), HOTPLUG_STATE (VM not
   *   running); netlink and QMP errors as they come.
   */
  async nicStats(nicId: string): Promise<NicStats> {
    return await readNicStats(this.qmp, this.findNic(nicId), { timeout: 5000 });
  }

  /**
   * Changes a NIC's rate limits live (host-side token buckets; docs/nic-control.md): per
   * direction in the guest's terms, a limit sets or replaces it, null removes it, absent keeps
   * it. Returns the limits in force. Detach and shutdown remove them.
   * @throws HotplugStateError: NIC_UNKNOWN, NIC_NO_RATE_CONTROL (not a tap vmlaunch attached),
   *   HOTPLUG_STATE (VM not running); ValidationError (a bad limit), UnsupportedError (a
   *   direction the NIC's model cannot shape), StepError (netlink; the change is undone).
   */
  async setRate(nicId: string, change: NicRateChange): Promise<NicRate> {
    const nic = this.findNic(nicId);
    const attached =
      nic.plug === 'cold'
        ? this.endpoints.find((e) => e.hostNic.id === nicId)
        : (this.hotplug.registry.get(nicId)?.nic as HotpluggedNic | undefined)?.attached;
    return await setNicRate(nic, attached, change);
  }

  // A running NIC by id, cold- or hot-plugged.
  private findNic(nicId: string): FoundNic {
    if (this.currentState !== 'running') {
      throw new HotplugStateError(`cannot control NIC ${nicId}: the VM is ${this.currentState}`);
    }
    const cold = this.endpoints.map((e) => e.hostNic);
    return findNic(nicId, this.command.devices, cold, this.hotplug.registry);
  }

  /**
   * Saves the VM's state to `path` (a new file vmlaunch creates 0600) and a manifest beside it
   * (`<path>.json`); the VM is stopped for the save and then resumed (default), left paused,
   * or shut down (`then`). Restore it with restore(). See docs/snapshots.md.
   * @throws UnsupportedError (not running; VFIO, virtiofs, vhost-user; a hot-plugged drive
   *   that is ephemeral, being unplugged or whose image is gone),
   *   SnapshotError naming the failed step, its partial files removed and a running VM resumed.
   */
  snapshot(path: string, options?: SnapshotOptions): Promise<SnapshotResult> {
    if (!this.source) {
      return Promise.reject(new UnsupportedError('cannot snapshot a VM not made by launch()'));
    }
    return saveSnapshot(
      {
        qmp: this.qmp,
        pid: this.pid,
        command: this.command,
        accel: this.accel,
        source: this.source,
        nicBuses: this.nicBuses,
        driveBuses: this.driveBuses,
        endpoints: this.endpoints,
        hotplugged: this.hotplugged,
        hotpluggedDrives: this.hotpluggedDrives,
        unplugging: this.hotplug.registry
          .list()
          .filter((r) => r.state !== 'attached')
          .map((r) => r.nic.id),
        running: this.currentState === 'running',
        shutdown: () => this.shutdown(),
        logger: this.logger,
      },
      path,
      options,
    );
  }

  /** Kills QEMU at once (SIGKILL) and cleans up. */
  async kill(): Promise<VmExit> {
    if (this.process.running) {
      this.rung ??= 'sigkill';
      this.currentState = 'stopping';
      this.process.kill('SIGKILL');
    }
    return this.exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  private async climbLadder(options: ShutdownOptions): Promise<VmExit> {
    if (!this.process.running) {
      this.rung ??= 'already-exited';
      return this.exited;
    }
    this.currentState = 'stopping';
    await climbShutdownLadder(
      {
        process: this.process,
        qmp: this.qmp,
        logger: this.logger.child({ op: 'shutdown' }),
        setRung: (rung) => (this.rung = rung),
      },
      options,
    );
    return this.exited;
  }

  // Closes QMP and the console and undoes host plumbing, once; failures are kept, not thrown.
  private async cleanup(): Promise<void> {
    this.qmp.close();
    await this.console.close().catch(() => undefined);
    this.cleanupErrors = await this.teardown.unwind();
    for (const error of this.cleanupErrors) this.logger.error({ err: error }, 'cleanup failed');
  }
}
