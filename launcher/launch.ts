// launch(): from options to a running VM, as named steps with an undo stack that is unwound
// once, in reverse, on failure. A failed launch is a LaunchError that names the step and
// carries QEMU's exit, command line and stderr tail; nothing it created is left behind.
import { randomBytes } from 'node:crypto';
import { closeAll } from '../native/index.js';
import type { AttachedEndpoint, AttachContext } from '../network/endpoints/attach-types.js';
import type { Endpoint } from '../network/endpoints/types.js';
import type { HostNic } from '../network/host-nic.js';
import { attachEndpoint } from '../network/endpoints/attach.js';
import { UndoStack } from '../network/undo.js';
import { UnsupportedError } from '../network/errors.js';
import {
  resolveTemplate,
  type TemplateName,
  type TemplateOverrides,
} from '../qemu-templates/index.js';
import { chooseAccelerator, type AcceleratorChoice } from './accel.js';
import { buildCommand, type BuiltCommand } from './command.js';
import { accelForIdentity, prepareConfinement, requireKvmDevice } from './confinement.js';
import { SerialConsole } from './console.js';
import { ConsoleLog } from './console-log.js';
import type { Accel } from './devices/machine-args.js';
import { LaunchError } from './errors.js';
import { defaultLogger, type Logger } from './log.js';
import { spawnQemu, type QemuProcess } from './process.js';
import { connectQmp } from './qmp/index.js';
import type { RunAs } from './run-as.js';
import type { SandboxOption } from './sandbox.js';
import { probeSandbox } from './sandbox-probe.js';
import { SocketChannel } from './socket-channel.js';
import { tcgClockArgs } from './tcg-clock.js';
import { createVmRunDir } from './vm-run-dir.js';
import { resolveLaunchShares, withShares } from './workload/share-config.js';
import type { ShareSpec } from './workload/share-spec.js';
import { startShares, type ShareSet } from './workload/shares.js';
import { ShareError } from './workload/virtiofsd.js';
import { Vm } from './vm.js';
import { driveCmdline, explainDriveFailure } from './workload/drive-errors.js';
import { openDrives, removeOverlays, type OpenedDrives } from './workload/drive-open.js';
import { checkDriveSpecs, type DriveSpec } from './workload/drive-spec.js';
import {
  checkLogWritable,
  checkReadable,
  connectBeforeExit,
  isValidation,
  vmConfig,
} from './launch-steps.js';

/** An endpoint for vmlaunch to attach (host side) before the VM starts. */
export interface EndpointSpec {
  endpoint: Endpoint;
  /** Netns name or path the endpoint lives in; the caller's netns when omitted. */
  netns?: string;
  /** NIC id (unique in the VM); default net0, net1, ... */
  id?: string;
}

/** Side effects launch uses, injectable for tests. */
export interface LaunchDeps {
  attach: (endpoint: Endpoint, ctx: AttachContext) => Promise<AttachedEndpoint>;
  chooseAccelerator: typeof chooseAccelerator;
  spawnQemu: typeof spawnQemu;
  connectQmp: typeof connectQmp;
  probeSandbox: typeof probeSandbox;
}

/** What to launch. */
export interface LaunchOptions {
  kernel: string;
  initrd?: string;
  /** Extra kernel command-line words (the template adds console=...). */
  cmdline?: string[];
  /** Machine preset; default q35 (the one with hot-plug slots; needs no clock hint under TCG). */
  template?: TemplateName;
  templateOverrides?: TemplateOverrides;
  /** 'auto' (default) probes KVM once and falls back to TCG, saying why. */
  accel?: Accel | 'auto';
  cpu?: string;
  cpus?: number;
  memoryMiB?: number;
  /** Guest RAM as a shared memfd (required for vhost-user; turned on by one automatically). */
  sharedMemory?: boolean;
  /** Host directories shared over virtiofs: one virtiofsd each, stopped after QEMU. */
  shares?: ShareSpec[];
  /** The virtiofsd binary (default /usr/lib/qemu/virtiofsd); it must take that one's argv. */
  virtiofsd?: string;
  /** Endpoints vmlaunch attaches and detaches. */
  endpoints?: EndpointSpec[];
  /** NICs the caller attached; launch owns their fds from the call on: handed to QEMU and
   *  then closed here, or closed when the launch fails at any step. */
  nics?: HostNic[];
  /** Disk images: vmlaunch opens them and hands QEMU the fds (see docs/drives.md). */
  drives?: DriveSpec[];
  /** Start with CPUs stopped (-S). */
  paused?: boolean;
  qemu?: string;
  /** File the serial console is appended to (root-safe: no symlink or FIFO, created 0600). */
  consoleLog?: string;
  /** Size cap of consoleLog in bytes (default 64 MiB); past it a line says so, nothing more. */
  consoleLogMaxBytes?: number;
  /** Greeting + negotiation deadline in ms (default 30 s). */
  qmpConnectTimeout?: number;
  /** QEMU's seccomp filter: true (default) denies every group (obsolete, elevatePrivileges,
   *  spawn, resourceControl); a policy allows some; false runs without. Probed once per binary. */
  sandbox?: SandboxOption;
  /** Run QEMU under this user (set before exec; vmlaunch must be root). Default: our uid. */
  runAs?: RunAs;
  /** Aborting ends the launch at its next await point: everything made so far is undone and
   *  it rejects with a LaunchError coded ABORTED naming the step. No effect once resolved. */
  signal?: AbortSignal;
  logger?: Logger;
  deps?: Partial<LaunchDeps>;
}

/**
 * Launches a VM: accelerator, endpoints, command, QEMU, QMP, console.
 * @throws ValidationError for an invalid config (before anything is created).
 * @throws LaunchError naming the failed step, with QEMU's exit, argv and stderr tail.
 */
export async function launch(options: LaunchOptions): Promise<Vm> {
  const deps: LaunchDeps = {
    attach: attachEndpoint,
    chooseAccelerator,
    spawnQemu,
    connectQmp,
    probeSandbox,
    ...options.deps,
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
  const owned: number[] = (options.nics ?? []).flatMap(tapFdsOf);
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
    checkedDrives = await checkDriveSpecs(options.drives, {
      template: resolveTemplate(options.template ?? 'q35', options.templateOverrides),
      nics: (options.nics?.length ?? 0) + (options.endpoints?.length ?? 0),
    });
    const shares = resolveLaunchShares(options);
    const { sandbox, identity } = await prepareConfinement(options);
    checkAbort();
    // The whole config, checked before any endpoint is attached or the sandbox probe spawns
    // QEMU (NICs are checked once known); otherwise the real build below checks it all first.
    if (options.endpoints?.length || sandbox) {
      const probe = new SocketChannel();
      try {
        buildCommand(vmConfig(options, 'tcg', probe.childFd, probe.parentFd, false));
      } finally {
        probe.close();
      }
    }
    step = 'sandbox';
    if (sandbox) await deps.probeSandbox({ qemuBinary: options.qemu, policy: sandbox, logger });
    checkAbort();
    if (sandbox || identity) logger.info({ sandbox, runAs: identity }, 'QEMU confinement');

    step = 'run-dir';
    const runDir = createVmRunDir(vmId);
    undo.push('remove run dir', () => runDir.remove());

    step = 'console-log';
    const consoleLog = options.consoleLog
      ? new ConsoleLog(options.consoleLog, options.consoleLogMaxBytes)
      : undefined;
    if (consoleLog) undo.push('close console log', () => consoleLog.close());

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
    const clock = tcgClockArgs(
      resolveTemplate(options.template ?? 'q35', options.templateOverrides),
      accel.accel,
    );
    if (clock.note) logger.warn(clock.note);

    step = 'attach-endpoints';
    const attached: AttachedEndpoint[] = [];
    const specs = options.endpoints ?? [];
    for (const [i, spec] of specs.entries()) {
      const nicId = spec.id ?? `net${i}`;
      const endpoint = await deps.attach(spec.endpoint, {
        nicId,
        owner: vmId,
        ...(identity ? { qemuUid: identity.uid } : {}),
        ...(spec.netns ? { netns: spec.netns } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      attached.push(endpoint);
      undo.push(`detach ${nicId}`, () => endpoint.detach());
      // Its fds are ours from here (closed by the undo above or once QEMU holds copies).
      owned.push(...tapFdsOf(endpoint.hostNic));
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
      accel.accel,
      qmpChannel.childFd,
      consoleChannel.childFd,
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
    const console = new SerialConsole(consoleChannel.open(), consoleLog ? { log: consoleLog } : {});
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
      ...(identity ? { qemuUid: identity.uid } : {}),
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

// The fds a HostNic carries (tap queues and vhost-net), which QEMU inherits.
function tapFdsOf(nic: HostNic): number[] {
  return nic.kind === 'tap' ? [...nic.tapFds, ...nic.vhostFds] : [];
}
