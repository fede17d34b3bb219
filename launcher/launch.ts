// launch(): from options to a running VM, as the named steps of launch-run.ts run by core's
// StepRunner over one undo stack that is unwound once, in reverse, on failure or abort. A failed
// launch is a LaunchError that names the step and carries QEMU's exit, command line and stderr
// tail; nothing it created is left behind.
import { randomBytes } from 'node:crypto';
import { attachEndpoint } from '../network/endpoints/attach.js';
import { StepRunner } from '../core/index.js';
import { chooseAccelerator } from './accel.js';
import { defaultLogger } from './log.js';
import { spawnQemu } from './process.js';
import { connectQmp } from './qmp/index.js';
import { probeSandbox } from './sandbox-probe.js';
import { checkJailEndpoint } from './jail-nics.js';
import { Vm } from './vm.js';
import { restoredDrives } from './snapshot/restored-hotplug.js';
import { launchFailure } from './launch-failure.js';
import { launchSteps, newLaunchRun, type LaunchExtraSteps, type LaunchRun } from './launch-run.js';
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
// package's entries, so LaunchOptions carries no test hook. `incoming` makes it a restore:
// QEMU waits for saved state (-incoming defer) and its steps run around launch's own.
export async function launchWithDeps(
  options: LaunchOptions,
  injected: Partial<LaunchDeps>,
  incoming?: LaunchExtraSteps,
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
  // An abort is noticed before the first step and as each step ends (docs/faults.md T27).
  const runner: StepRunner = new StepRunner({
    signal: options.signal,
    checkAfterStep: true,
    fail: (step, error, rollbackErrors) => launchFailure(run, step, error, rollbackErrors),
  });
  const run: LaunchRun = newLaunchRun({ options, deps, vmId, logger, undo: runner });
  if (incoming) run.incoming = true;
  // Each step's duration at debug level ({ step, ms }): where a launch or restore spends its time.
  const timed = launchSteps(options, incoming).map((s) => ({
    name: s.name,
    async run(r: LaunchRun) {
      const started = performance.now();
      const undo = await s.run(r);
      logger.debug({ step: s.name, ms: Math.round(performance.now() - started) }, 'step done');
      return undo;
    },
  }));
  await runner.run(timed, run);
  logger.info({ pid: run.qemu!.pid }, incoming ? 'VM restored' : 'VM launched');
  return new Vm({
    process: run.qemu!,
    qmp: run.qmp!,
    console: run.console!,
    command: run.command!,
    accel: run.accel!,
    endpoints: run.attached,
    teardown: runner.transfer(),
    logger,
    id: vmId,
    runDir: run.runDir!.path,
    attach: run.confinement?.jail ? jailedAttach(deps.attach) : deps.attach,
    shares: run.shareSet?.shares ?? [],
    source: options,
    ...(run.nicBuses ? { nicBuses: run.nicBuses } : {}),
    ...(run.driveBuses
      ? {
          restoredDrives: restoredDrives(run.driveBuses, options.drives ?? [], run.drives!.drives),
        }
      : {}),
    ...(incoming ? { restored: true } : {}),
    ...(run.confinement?.identity ? { qemuUid: run.confinement.identity.uid } : {}),
  });
}

// A jailed VM's hot-plugged endpoints are held to the launch's rule (jail-nics.ts), before
// any host change, rather than failing in QEMU's chardev-add.
function jailedAttach(attach: LaunchDeps['attach']): LaunchDeps['attach'] {
  return (endpoint, ctx) => {
    checkJailEndpoint(endpoint, 'endpoint');
    return attach(endpoint, ctx);
  };
}
