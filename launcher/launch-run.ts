// launch() as a list of named steps over one shared context, run by core's StepRunner: each
// step does one thing, registers the inverse of what it made, and leaves what later steps need
// on the context. The runner checks the caller's signal around the steps and unwinds in reverse
// on failure; launch-failure.ts turns what went wrong into the LaunchError callers know.
import { closeAll } from '../native/index.js';
import type { AttachedEndpoint } from '../network/endpoints/attach-types.js';
import { checkRateChange } from '../network/endpoints/rate-limit.js';
import { hostNicFds } from '../network/host-nic.js';
import type { Step, Undo } from '../core/index.js';
import { resolveTemplate, type MachineTemplate } from '../qemu-templates/index.js';
import type { AcceleratorChoice } from './accel.js';
import { buildCommand, checkCommand, type BuiltCommand } from './command.js';
import {
  accelForIdentity,
  prepareConfinement,
  requireKvmDevice,
  type Confinement,
} from './confinement.js';
import { SerialConsole } from './console.js';
import { ConsoleLog } from './console-log.js';
import { describeJail, jailExec, openJail, type OpenJail } from './jail.js';
import { openBootFiles, replaceArg } from './jail-boot-files.js';
import type { LaunchDeps, LaunchOptions, EndpointSpec } from './launch-options.js';
import {
  checkLogWritable,
  checkReadable,
  connectBeforeExit,
  STAND_IN_CHANNELS,
  vmConfig,
} from './launch-steps.js';
import type { Logger } from './log.js';
import type { QemuProcess } from './process.js';
import type { QmpClient } from './qmp/index.js';
import { SocketChannel } from './socket-channel.js';
import { tcgClockArgs } from './tcg-clock.js';
import { createVmRunDir, type VmRunDir } from './vm-run-dir.js';
import {
  buildSeedDrive,
  checkGuestNetwork,
  seedCmdline,
  guestNicOf,
  wantsSeed,
  type SeedDrive,
} from './seed/seed-drive.js';
import { driveCmdline } from './workload/drive-errors.js';
import { openDrives, removeOverlays, type OpenedDrives } from './workload/drive-open.js';
import { checkDriveSpecs, type CheckedDrive } from './workload/drive-spec.js';
import { resolveLaunchShares, withShares } from './workload/share-config.js';
import type { ResolvedShare } from './workload/share-spec.js';
import { startShares, type ShareSet } from './workload/shares.js';

/** One launch in progress: its inputs, and what each step has made so far. */
export interface LaunchRun {
  readonly options: LaunchOptions;
  readonly deps: LaunchDeps;
  readonly vmId: string;
  readonly logger: Logger;
  /** Registers an inverse under a name of its own (the runner's push). */
  readonly undo: { push(name: string, undo: Undo): void };
  /** NIC and drive fds launch owns: closed once QEMU holds its copies, or on any failure. */
  readonly owned: number[];
  /** QEMU's command line as far as it is known (the binary until build-command). */
  argv: string[];
  /** A restore: QEMU starts with -incoming defer and waits for the saved state. */
  incoming?: boolean;
  /** A restore: NIC id -> the root port a NIC hot-plugged before the save goes on. */
  nicBuses?: Record<string, string>;
  /** A restore: our fd of the private copy of the saved RAM image QEMU maps (in `owned`). */
  memoryFile?: number;
  /** A restore: drive id -> the root port a drive hot-plugged before the save goes on. */
  driveBuses?: Record<string, string>;
  template?: MachineTemplate;
  checkedDrives: CheckedDrive[];
  shares: ResolvedShare[];
  confinement?: Confinement;
  runDir?: VmRunDir;
  jail?: OpenJail;
  drives?: OpenedDrives;
  accel?: AcceleratorChoice;
  attached: AttachedEndpoint[];
  /** The NoCloud seed drive, when the guest's network comes from its endpoints. */
  seed?: SeedDrive;
  shareSet?: ShareSet;
  channels?: { qmp: SocketChannel; console: SocketChannel };
  command?: BuiltCommand;
  qemu?: QemuProcess;
  console?: SerialConsole;
  consoleLog?: ConsoleLog;
  qmp?: QmpClient;
}

// The context every step shares; the caller's NIC fds are launch's from here on.
export function newLaunchRun(
  fields: Pick<LaunchRun, 'options' | 'deps' | 'vmId' | 'logger' | 'undo'>,
): LaunchRun {
  const owned = (fields.options.nics ?? []).flatMap(hostNicFds);
  fields.undo.push('close NIC fds', () => closeAll(owned.splice(0)));
  return {
    ...fields,
    owned,
    argv: [fields.options.qemu ?? 'qemu-system-x86_64'],
    checkedDrives: [],
    shares: [],
    attached: [],
  };
}

// The whole config, checked before anything is created (no fd, no endpoint, no sandbox probe);
// NICs, drives and shares are checked by the one build once they exist.
async function validate(run: LaunchRun): Promise<void> {
  const { options } = run;
  if (options.accel === 'kvm') requireKvmDevice();
  checkReadable(options.kernel, 'kernel');
  if (options.initrd !== undefined) checkReadable(options.initrd, 'initrd');
  if (options.consoleLog !== undefined) checkLogWritable(options.consoleLog, 'consoleLog');
  // The machine, resolved once: every check and the build use this one.
  const template = resolveTemplate(options.template ?? 'q35', options.templateOverrides);
  run.template = template;
  // The seed drive takes a virtio transport like a NIC does.
  const seed = wantsSeed(options.endpoints, options.guestNetwork) ? 1 : 0;
  run.checkedDrives = await checkDriveSpecs(options.drives, {
    template,
    nics: (options.nics?.length ?? 0) + (options.endpoints?.length ?? 0) + seed,
  });
  checkGuestNetwork(options.guestNetwork, run.checkedDrives);
  run.shares = resolveLaunchShares(options, template);
  for (const [i, spec] of (options.endpoints ?? []).entries()) {
    if (spec.rate !== undefined) checkRateChange(spec.rate, `endpoints[${i}].rate`);
  }
  checkCommand(vmConfig(options, template, 'tcg', STAND_IN_CHANNELS, false), [], template);
  run.confinement = await prepareConfinement(options);
}

// The seccomp policy is tried on a throwaway QEMU first: a QEMU without it fails here, early.
async function sandbox(run: LaunchRun): Promise<void> {
  const { sandbox: policy, identity, jail } = run.confinement!;
  const { options, logger } = run;
  if (policy) await run.deps.probeSandbox({ qemuBinary: options.qemu, policy, logger });
  if (!jail) logger.warn('QEMU runs without its jail (confine: false): docs/confinement.md');
  if (policy || identity) logger.info({ sandbox: policy, runAs: identity }, 'QEMU confinement');
}

// The VM's private directory: overlays and virtiofsd sockets live and die with it.
function runDir(run: LaunchRun): Undo {
  const dir = createVmRunDir(run.vmId);
  run.runDir = dir;
  return () => dir.remove();
}

// QEMU's jail: its uid (leased, or the caller's runAs), its writable directory and its cgroup,
// released once QEMU is gone (this undo runs after 'kill QEMU').
function jail(run: LaunchRun): Undo | void {
  const { jail: resolved, identity } = run.confinement!;
  if (!resolved) return;
  const open = openJail(resolved, {
    name: run.vmId,
    runDir: run.runDir!.path,
    guestMiB: run.options.memoryMiB ?? 512,
    ...(identity ? { identity } : {}),
  });
  run.jail = open;
  run.confinement!.identity = open.identity;
  run.logger.info(describeJail(resolved, open), 'QEMU jail');
  return () => open.close();
}

// The console log file, opened root-safe (no symlink, no FIFO, 0600, capped) before QEMU runs.
function consoleLog(run: LaunchRun): Undo | void {
  const { options } = run;
  if (!options.consoleLog) return;
  const log = new ConsoleLog(options.consoleLog, options.consoleLogMaxBytes);
  run.consoleLog = log;
  return () => log.close();
}

// Images opened by us (QEMU gets fds, never paths), ephemeral overlays made in the run dir.
async function drives(run: LaunchRun): Promise<Undo> {
  const opened = await openDrives(run.checkedDrives, run.runDir!.path);
  run.drives = opened;
  run.owned.push(...opened.fds); // closed with the NIC fds: once QEMU holds copies, or on failure
  return () => removeOverlays(opened.overlays);
}

// The caller's accelerator, or the probed choice; either must suit the identity QEMU runs as.
async function accelerator(run: LaunchRun): Promise<void> {
  const { options, deps, logger } = run;
  const { jail, sandbox: policy, identity } = run.confinement!;
  const choice =
    options.accel === undefined || options.accel === 'auto'
      ? await deps.chooseAccelerator({
          kernel: options.kernel,
          qemuBinary: options.qemu,
          logger,
          // The probe boot runs in a jail and sandbox like the VM's own (docs/confinement.md).
          ...(jail ? { jail: { options: jail, ...(policy ? { sandbox: policy } : {}) } } : {}),
        })
      : { accel: options.accel, reason: 'chosen by the caller', cached: false };
  // In the jail, /dev/kvm is a node of its private /dev, whatever the host's modes.
  const accel = jail ? choice : await accelForIdentity(choice, identity, options.accel);
  run.accel = accel;
  logger.info({ accel: accel.accel, reason: accel.reason }, 'accelerator');
  const clock = tcgClockArgs(run.template!, accel.accel);
  if (clock.note) logger.warn(clock.note);
}

// One step per endpoint, all named 'attach-endpoints': the signal is checked between them.
function attachEndpointStep(spec: EndpointSpec, i: number): Step<LaunchRun> {
  return {
    name: 'attach-endpoints',
    async run(run) {
      const nicId = spec.id ?? `net${i}`;
      const endpoint = await run.deps.attach(spec.endpoint, {
        nicId,
        owner: run.vmId,
        ...(run.confinement!.identity ? { qemuUid: run.confinement!.identity.uid } : {}),
        ...(spec.netns ? { netns: spec.netns } : {}),
        ...(spec.rate ? { rate: spec.rate } : {}),
        ...(run.options.signal ? { signal: run.options.signal } : {}),
      });
      run.attached.push(endpoint);
      run.undo.push(`detach ${nicId}`, () => endpoint.detach());
      // Its fds are ours from here (closed by the undo above or once QEMU holds copies).
      run.owned.push(...hostNicFds(endpoint.hostNic));
    },
  };
}

// The NoCloud seed from the attached endpoints' addresses (the MACs are known only now), as
// one more read-only drive; its fd is closed with the others once QEMU holds a copy.
async function seed(run: LaunchRun): Promise<Undo | void> {
  const { options } = run;
  if (!wantsSeed(options.endpoints, options.guestNetwork)) return;
  const nics = run.attached.map(guestNicOf);
  const built = await buildSeedDrive(run.runDir!.path, run.vmId, nics, options.guestNetwork);
  run.seed = built;
  run.owned.push(built.fd);
  run.drives!.drives.push(built.drive);
  return () => built.remove();
}

// One virtiofsd per share; each registers its own inverses as it is made.
async function shares(run: LaunchRun): Promise<void> {
  if (run.shares.length === 0) return;
  const { options, logger } = run;
  run.shareSet = await startShares(
    run.shares,
    run.runDir!.path,
    run.undo,
    logger,
    options.virtiofsd,
  );
}

// Socketpairs for QMP and the console: QEMU inherits one end, so there is no socket path.
function channels(run: LaunchRun): void {
  const qmp = new SocketChannel();
  run.undo.push('close QMP channel', () => qmp.close());
  const console = new SocketChannel();
  run.undo.push('close console channel', () => console.close());
  run.channels = { qmp, console };
}

// The command, built once, from everything the steps before made.
function buildCommandStep(run: LaunchRun): void {
  const { options, channels: ch, checkedDrives } = run;
  const nics = [...run.attached.map((a) => a.hostNic), ...(options.nics ?? [])];
  const config = vmConfig(
    options,
    run.template!,
    run.accel!.accel,
    { qmp: ch!.qmp.childFd, console: ch!.console.childFd },
    nics.some((n) => n.kind === 'vhost-user'),
  );
  const drives = run.drives!.drives;
  const cmdline = [
    ...(config.boot.cmdline ?? []),
    ...driveCmdline(checkedDrives),
    ...(run.seed ? [seedCmdline()] : []),
  ];
  const command = buildCommand(
    withShares(
      {
        ...config,
        ...(run.memoryFile !== undefined
          ? { memory: { ...config.memory, file: run.memoryFile } }
          : {}),
        drives,
        boot: { ...config.boot, cmdline },
        ...(run.incoming ? { incoming: true } : {}),
        ...(run.nicBuses ? { nicBuses: run.nicBuses } : {}),
        ...(run.driveBuses ? { driveBuses: run.driveBuses } : {}),
      },
      run.shares,
      run.shareSet,
    ),
    nics,
    run.template,
  );
  run.command = run.jail ? passBootFiles(run, command) : command;
  run.argv = run.command.argv;
  run.logger.debug({ argv: command.argv }, 'command');
}

// In the jail, the kernel and initrd go as fds after the command's own (docs/confinement.md).
function passBootFiles(run: LaunchRun, command: BuiltCommand): BuiltCommand {
  const { kernel, initrd } = run.options;
  const paths = initrd === undefined ? [kernel] : [kernel, initrd];
  const files = openBootFiles(paths, 3 + command.fds.length);
  run.owned.push(...files.map((f) => f.fd));
  let argv = replaceArg(command.argv, '-kernel', kernel, files[0]!.path);
  if (initrd !== undefined) argv = replaceArg(argv, '-initrd', initrd, files[1]!.path);
  return { ...command, argv, fds: [...command.fds, ...files.map((f) => f.fd)] };
}

// QEMU with its fds; from here QEMU holds its own copies, so ours are closed.
async function spawn(run: LaunchRun): Promise<void> {
  const { argv, command, channels: ch } = run;
  // Registered first, so a rollback kills QEMU before its console goes (as it always has).
  run.undo.push('close console', () => run.console?.close());
  const { identity, jail: resolved } = run.confinement!;
  const jailed = resolved && run.jail;
  const qemu = await run.deps.spawnQemu({
    binary: argv[0]!,
    args: argv.slice(1),
    fds: [...command!.fds, ...(jailed ? run.jail!.heldFds : [])],
    logger: run.logger,
    ...(jailed
      ? { jail: jailExec(resolved, run.jail!, { kvm: run.accel!.accel === 'kvm' }) }
      : identity
        ? { runAs: identity }
        : {}),
  });
  run.qemu = qemu;
  run.undo.push('kill QEMU', async () => {
    qemu.kill('SIGKILL');
    await qemu.exited;
  });
  // QEMU holds its own copies now: ours would keep taps alive after QEMU dies.
  ch!.qmp.releaseChild();
  ch!.console.releaseChild();
  closeAll(run.owned.splice(0));
  run.shareSet?.handOver(qemu);
  run.console = new SerialConsole(
    ch!.console.open(),
    run.consoleLog ? { log: run.consoleLog } : {},
  );
}

// The QMP handshake, raced against QEMU's exit and bounded by a deadline.
async function qmpConnect(run: LaunchRun): Promise<void> {
  const { options } = run;
  run.qmp = await connectBeforeExit(
    run.deps,
    run.channels!.qmp.handOver(),
    run.qemu!,
    options.qmpConnectTimeout ?? 30_000,
    run.logger,
    options.signal,
  );
}

/** Steps a restore runs before and after a launch's own (docs/snapshots.md). */
export interface LaunchExtraSteps {
  before: Step<LaunchRun>[];
  /** Between build-command and spawn: checks of the command that is about to run. */
  afterBuild: Step<LaunchRun>[];
  after: Step<LaunchRun>[];
}

// The steps of a launch, in order; docs and LaunchError.step use these names. A restore is
// the same list with its own steps around it.
export function launchSteps(
  options: LaunchOptions,
  extra: LaunchExtraSteps = { before: [], afterBuild: [], after: [] },
): Step<LaunchRun>[] {
  return [
    ...extra.before,
    { name: 'validate', run: validate },
    { name: 'sandbox', run: sandbox },
    { name: 'run-dir', run: runDir },
    { name: 'jail', run: jail },
    { name: 'console-log', run: consoleLog },
    { name: 'drives', run: drives },
    { name: 'accelerator', run: accelerator },
    ...(options.endpoints ?? []).map(attachEndpointStep),
    { name: 'seed', run: seed },
    { name: 'shares', run: shares },
    { name: 'channels', run: channels },
    { name: 'build-command', run: buildCommandStep },
    ...extra.afterBuild,
    { name: 'spawn', run: spawn },
    { name: 'qmp-connect', run: qmpConnect },
    ...extra.after,
  ];
}
