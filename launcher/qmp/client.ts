// The typed face of QMP: one method per command, each taking one argument object and the usual
// { timeout, signal }. Anything not listed here goes through execute(name, args).
import type { CallOptions } from './deadline.js';
import { QmpDisconnectedError } from './errors.js';
import { QmpConnection } from './connection.js';
import type {
  AddFdArgs,
  AddFdResult,
  ChardevAddArgs,
  ChardevReturn,
  DeviceAddArgs,
  FdsetInfo,
  GetfdArgs,
  HumanMonitorArgs,
  NetdevAddArgs,
  ObjectPropertyInfo,
  PciInfo,
  RemoveFdArgs,
  StatusInfo,
} from './command-types.js';

type Empty = Record<string, never>;

/**
 * A QMP client. Every method may throw QmpCommandError (QEMU's `class` and `desc`),
 * QmpTimeoutError, QmpAbortedError, QmpDisconnectedError or QmpStateError.
 */
export class QmpClient extends QmpConnection {
  /** @throws see the class. */
  queryStatus(options?: CallOptions): Promise<StatusInfo> {
    return this.execute('query-status', undefined, options);
  }

  /** Passes `fd` to QEMU under `fdname` (SCM_RIGHTS). @throws see the class; NativeError. */
  async getfd(args: GetfdArgs, options?: CallOptions): Promise<void> {
    await this.executeWithFds('getfd', { fdname: args.fdname }, [args.fd], options);
  }

  /** Closes a named fd in QEMU. @throws see the class. */
  async closefd(args: { fdname: string }, options?: CallOptions): Promise<void> {
    await this.execute('closefd', { fdname: args.fdname }, options);
  }

  /** Adds `fd` to an fd set (SCM_RIGHTS). @throws see the class; NativeError. */
  async addFd(args: AddFdArgs, options?: CallOptions): Promise<AddFdResult> {
    const sent = { 'fdset-id': args.fdsetId, opaque: args.opaque };
    const result = await this.executeWithFds<{ 'fdset-id': number; fd: number }>(
      'add-fd',
      sent,
      [args.fd],
      options,
    );
    return { fdsetId: result['fdset-id'], fd: result.fd };
  }

  /** Removes an fd set, or one fd of it. @throws see the class. */
  async removeFd(args: RemoveFdArgs, options?: CallOptions): Promise<void> {
    await this.execute('remove-fd', { 'fdset-id': args.fdsetId, fd: args.fd }, options);
  }

  /** @throws see the class. */
  async queryFdsets(options?: CallOptions): Promise<FdsetInfo[]> {
    type Raw = Array<{ 'fdset-id': number; fds: FdsetInfo['fds'] }>;
    const sets = await this.execute<Raw>('query-fdsets', undefined, options);
    return sets.map((set) => ({ fdsetId: set['fdset-id'], fds: set.fds }));
  }

  /** @throws see the class. */
  async netdevAdd(args: NetdevAddArgs, options?: CallOptions): Promise<void> {
    await this.execute('netdev_add', args, options);
  }

  /** @throws see the class. */
  async netdevDel(args: { id: string }, options?: CallOptions): Promise<void> {
    await this.execute('netdev_del', { id: args.id }, options);
  }

  /** @throws see the class. */
  async deviceAdd(args: DeviceAddArgs, options?: CallOptions): Promise<void> {
    await this.execute('device_add', args, options);
  }

  /**
   * Requests removal; completion is the DEVICE_DELETED event, so register expectEvent() first.
   * @throws see the class.
   */
  async deviceDel(args: { id: string }, options?: CallOptions): Promise<void> {
    await this.execute('device_del', { id: args.id }, options);
  }

  /** @throws see the class. */
  chardevAdd(args: ChardevAddArgs, options?: CallOptions): Promise<ChardevReturn> {
    return this.execute('chardev-add', args, options);
  }

  /** @throws see the class. */
  async chardevRemove(args: { id: string }, options?: CallOptions): Promise<void> {
    await this.execute('chardev-remove', { id: args.id }, options);
  }

  /** @throws see the class. */
  qomList(args: { path: string }, options?: CallOptions): Promise<ObjectPropertyInfo[]> {
    return this.execute('qom-list', { path: args.path }, options);
  }

  /** @throws see the class. */
  queryPci(options?: CallOptions): Promise<PciInfo[]> {
    return this.execute('query-pci', undefined, options);
  }

  /** Asks the guest to power off (ACPI); the guest may ignore it. @throws see the class. */
  async systemPowerdown(options?: CallOptions): Promise<void> {
    await this.execute<Empty>('system_powerdown', undefined, options);
  }

  /** @throws see the class. */
  async systemReset(options?: CallOptions): Promise<void> {
    await this.execute<Empty>('system_reset', undefined, options);
  }

  /**
   * Makes QEMU exit. QEMU may close the socket before its reply is read; that counts as done.
   * @throws see the class (not QmpDisconnectedError for a call that was in flight).
   */
  async quit(options?: CallOptions): Promise<void> {
    try {
      await this.execute<Empty>('quit', undefined, options);
    } catch (error) {
      if (error instanceof QmpDisconnectedError && error.interrupted) return;
      throw error;
    }
  }

  /** Resumes the guest (also starts one launched with -S). @throws see the class. */
  async cont(options?: CallOptions): Promise<void> {
    await this.execute<Empty>('cont', undefined, options);
  }

  /** @throws see the class. */
  async stop(options?: CallOptions): Promise<void> {
    await this.execute<Empty>('stop', undefined, options);
  }

  /** Runs an HMP command and returns its text output. @throws see the class. */
  humanMonitorCommand(args: HumanMonitorArgs, options?: CallOptions): Promise<string> {
    const sent = { 'command-line': args.commandLine, 'cpu-index': args.cpuIndex };
    return this.execute('human-monitor-command', sent, options);
  }
}
