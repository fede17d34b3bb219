// launch(): from options to a running VM, as named steps with an undo stack that is unwound
// once, in reverse, on failure. A failed launch is a LaunchError that names the step and
// carries QEMU's exit, command line and stderr tail; nothing it created is left behind.
import { randomBytes } from 'node:crypto';
import { hostNicFds } from '../network/host-nic.js';
import { closeAll } from '../native/index.js';
import type { AttachedEndpoint } from '../network/endpoints/attach-types.js';
import { attachEndpoint } from '../network/endpoints/attach.js';
import { UndoStack, UnsupportedError } from '../core/index.js';
import { resolveTemplate } from '../qemu-templates/index.js';
import { chooseAccelerator, type AcceleratorChoice } from './accel.js';
import { buildCommand, checkCommand, type BuiltCommand } from './command.js';
import { accelForIdentity, prepareConfinement, requireKvmDevice } from './confinement.js';
import { SerialConsole } from './console.js';
import { LaunchError } from './errors.js';
import { defaultLogger } from './log.js';
import { spawnQemu, type QemuProcess } from './process.js';
import { connectQmp } from './qmp/index.js';
import { probeSandbox } from './sandbox-probe.js';
import { SocketChannel } from './socket-channel.js';
import { tcgClockArgs } from './tcg-clock.js';
import { createVmRunDir } from './vm-run-dir.js';
import { resolveLaunchShares, withShares } from './workload/share-config.js';
import { startShares, type ShareSet } from './workload/shares.js';
import { ShareError } from './workload/virtiofsd.js';
import { Vm } from './vm.js';
import { driveCmdline, explainDriveFailure } from './workload/drive-errors.js';
import { openDrives, removeOverlays, type OpenedDrives } from './workload/drive-open.js';
import { checkDriveSpecs } from './workload/drive-spec.js';
import {
  checkLogWritable,
  checkReadable,
  connectBeforeExit,
  isValidation,
  STAND_IN_CHANNELS,
  vmConfig,
} from './launch-steps.js';
import type { LaunchDeps, LaunchOptions } from './launch-options.js';

export type { EndpointSpec, LaunchDeps, LaunchOptions } from './launch-options.js';

/**
 * Launches a VM: accelerator, endpoints, command, QEMU, QMP, console.
 * @throws ValidationError for an invalid config (before anything is created).
 * @throws LaunchError naming the failed step, with QEMU's exit, argv and stderr tail.
 */
export function launch(options: LaunchOptions): Promise<Vm> {
  return launchWithDeps(options, {});
}

// launch() with some of its side effects replaced: the seam tests use. Kept out of the
// package's entries, so LaunchOptions carries no test hook.
export async function launchWithDeps(
  options: LaunchOptions,
  injected: Partial<LaunchDeps>,
): Promise<Vm> {
  const deps: LaunchDeps = {
    attach: attachEndpoint,
    chooseAccelerator,
    spawnQemu,
    connectQmp,
    probeSandbox,
    ...injected,
  };
  // The VM's id: in its logs and in the names of the host links attached for it.
  const vmId = randomBytes(4).toString('hex');
  const logger = (options.logger ?? defaultLogger()).child({ vm: vmId });
  const undo = new UndoStack();
  let argv: string[] = [options.qemu ?? 'qemu-system-x86_64'];
  let qemu: QemuProcess | undefined;
  let step = 'validate';
  // NIC fds launch owns (the caller's `nics` from this call on, attached endpoints' once made):
  // closed once QEMU holds its copies, or on any failure.
  const owned: number[] = (options.nics ?? []).flatMap(hostNicFds);
  const closeOwned = (): void => closeAll(owned.splice(0));
  undo.push('close NIC fds', closeOwned);
  // Where an abort is noticed: before the first step and after each await (docs/faults.md T27).
  const checkAbort = (): void => options.signal?.throwIfAborted();
  let drives: OpenedDrives | undefined;
  let checkedDrives: Awaited<ReturnType<typeof checkDriveSpecs>> = [];
  try {
    checkAbort();
    if (options.accel === 'kvm') requireKvmDevice();
    checkReadable(options.kernel, 'kernel');
    if (options.initrd !== undefined) checkReadable(options.initrd, 'initrd');
    if (options.consoleLog !== undefined) checkLogWritable(options.consoleLog, 'consoleLog');
    // The machine, resolved once: every check and the build below use this one.
    const template = resolveTemplate(options.template ?? 'q35', options.templateOverrides);
    checkedDrives = await checkDriveSpecs(options.drives, {
      template,
      nics: (options.nics?.length ?? 0) + (options.endpoints?.length ?? 0),
    });
    const shares = resolveLaunchShares(options, template);
    const { sandbox, identity } = await prepareConfinement(options);
    checkAbort();
    // The whole config, checked before anything is created (no fd, no endpoint, no sandbox
    // probe); NICs, drives and shares are checked by the one build once they exist.
    checkCommand(vmConfig(options, template, 'tcg', STAND_IN_CHANNELS, false), [], template);
    step = 'sandbox';
    if (sandbox) await deps.probeSandbox({ qemuBinary: options.qemu, policy: sandbox, logger });
    checkAbort();
    if (sandbox || identity) logger.info({ sandbox, runAs: identity }, 'QEMU confinement');

    step = 'run-dir';
    const runDir = createVmRunDir(vmId);
    undo.push('remove run dir', () => runDir.remove());

    step = 'drives';
    const opened = await openDrives(checkedDrives, runDir.path);
    drives = opened;
    owned.push(...opened.fds); // closed with the NIC fds: once QEMU holds copies, or on failure
    undo.push('remove drive overlays', () => removeOverlays(opened.overlays));
    checkAbort();

    step = 'accelerator';
    const accel: AcceleratorChoice = await accelForIdentity(
      options.accel === undefined || options.accel === 'auto'
        ? await deps.chooseAccelerator({ kernel: options.kernel, qemuBinary: options.qemu, logger })
        : { accel: options.accel, reason: 'chosen by the caller', cached: false },
      identity,
      options.accel,
    );
    checkAbort();
    logger.info({ accel: accel.accel, reason: accel.reason }, 'accelerator');
    const clock = tcgClockArgs(template, accel.accel);
    if (clock.note) logger.warn(clock.note);

    step = 'attach-endpoints';
    const attached: AttachedEndpoint[] = [];
    const specs = options.endpoints ?? [];
    for (const [i, spec] of specs.entries()) {
      const nicId = spec.id ?? `net${i}`;
      const endpoint = await deps.attach(spec.endpoint, {
        nicId,
        owner: vmId,
        ...(spec.netns ? { netns: spec.netns } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      attached.push(endpoint);
      undo.push(`detach ${nicId}`, () => endpoint.detach());
      // Its fds are ours from here (closed by the undo above or once QEMU holds copies).
      owned.push(...hostNicFds(endpoint.hostNic));
      checkAbort();
    }
    const nics = [...attached.map((a) => a.hostNic), ...(options.nics ?? [])];

    step = 'shares';
    let shareSet: ShareSet | undefined;
    if (shares.length > 0)
      shareSet = await startShares(shares, runDir.path, undo, logger, options.virtiofsd);
    checkAbort();

    step = 'channels';
    const qmpChannel = new SocketChannel();
    undo.push('close QMP channel', () => qmpChannel.close());
    const consoleChannel = new SocketChannel();
    undo.push('close console channel', () => consoleChannel.close());

    step = 'build-command';
    const config = vmConfig(
      options,
      template,
      accel.accel,
      { qmp: qmpChannel.childFd, console: consoleChannel.childFd },
      nics.some((n) => n.kind === 'vhost-user'),
    );
    const command: BuiltCommand = buildCommand(
      withShares(
        {
          ...config,
          drives: opened.drives,
          boot: {
            ...config.boot,
            cmdline: [...(config.boot.cmdline ?? []), ...driveCmdline(checkedDrives)],
          },
        },
        shares,
        shareSet,
      ),
      nics,
      template,
    );
    argv = command.argv;
    logger.debug({ argv }, 'command');

    step = 'spawn';
    qemu = await deps.spawnQemu({
      binary: argv[0]!,
      args: argv.slice(1),
      fds: command.fds,
      logger,
      ...(identity ? { runAs: identity } : {}),
    });
    const spawned = qemu;
    undo.push('kill QEMU', async () => {
      spawned.kill('SIGKILL');
      await spawned.exited;
    });
    // QEMU holds its own copies now: ours would keep taps alive after QEMU dies.
    qmpChannel.releaseChild();
    consoleChannel.releaseChild();
    closeOwned();
    shareSet?.handOver(spawned);
    const console = new SerialConsole(
      consoleChannel.open(),
      options.consoleLog ? { logFile: options.consoleLog } : {},
    );
    undo.push('close console', () => console.close());
    checkAbort();

    step = 'qmp-connect';
    const qmp = await connectBeforeExit(
      deps,
      qmpChannel.handOver(),
      spawned,
      options.qmpConnectTimeout ?? 30_000,
      logger,
      options.signal,
    );

    const teardown = undo.transfer();
    logger.info({ pid: spawned.pid }, 'VM launched');
    return new Vm({
      process: spawned,
      qmp,
      console,
      command,
      accel,
      endpoints: attached,
      teardown,
      logger,
      id: vmId,
      runDir: runDir.path,
      attach: deps.attach,
      shares: shareSet?.shares ?? [],
    });
  } catch (error) {
    if (qemu?.running) qemu.kill('SIGKILL');
    const exit = qemu ? await qemu.exited : undefined;
    const rollbackErrors = await undo.unwind();
    const fields = {
      argv,
      step,
      ...(options.signal?.aborted ? { code: 'ABORTED' } : {}),
      ...(error instanceof ShareError ? { code: error.code } : {}),
      ...(exit ? { exit } : {}),
      ...(qemu ? { stderrTail: qemu.stderrTail() } : {}),
    };
    if (error instanceof LaunchError) {
      const explained = drives ? explainDriveFailure(error, drives.drives, checkedDrives) : error;
      explained.rollbackErrors.push(...rollbackErrors);
      throw explained;
    }
    // Config errors, and what this host cannot do found before anything was created (no
    // sandbox in this QEMU, no uid change without root), keep their own types.
    const early = step === 'validate' || step === 'sandbox';
    const typed = isValidation(error) || (early && error instanceof UnsupportedError);
    if (typed && rollbackErrors.length === 0) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    const launchError = new LaunchError(`launch failed at ${step}: ${reason}`, fields, {
      cause: error,
    });
    launchError.rollbackErrors.push(...rollbackErrors);
    throw launchError;
  }
}
