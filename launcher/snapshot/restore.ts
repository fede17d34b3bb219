// restore(): a launch whose QEMU starts with -incoming defer and is fed the saved state by fd.
// It is launch()'s own step list with a check first (the manifest against this host and the
// options, before anything is made), a device-set check before the spawn, and the load and
// resume after the QMP handshake; every NIC gets a fresh host side with the guest's saved MAC,
// and NICs and drives hot-plugged before the save go back, cold-plugged, on their root ports.
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ValidationError, type Step } from '../../core/index.js';
import { launchWithDeps } from '../launch.js';
import type { LaunchOptions } from '../launch-options.js';
import type { LaunchRun } from '../launch-run.js';
import { defaultLogger } from '../log.js';
import type { Vm } from '../vm.js';
import { driveQemuIds } from '../devices/blockdev-drive.js';
import { nicQemuIds } from '../devices/nic-devices.js';
import { RestoreMismatchError } from './errors.js';
import { manifestPath, parseManifest, type SnapshotManifest } from './manifest.js';
import { setIgnoreShared, startPrivateCopy, type PrivateCopy } from './memory-image.js';
import { waitForMigration } from './migrate-wait.js';
import { checkRestore, restoreEndpoints } from './restore-check.js';
import type { RestoreOptions } from './restore-options.js';

const FD_NAME = 'vmlaunch-snapshot-in';

/**
 * Reads and strictly parses the manifest beside the state file `path` (`<path>.json`).
 * @throws ValidationError coded MANIFEST_INVALID / MANIFEST_VERSION / MANIFEST_MISSING.
 */
export function readManifest(path: string): SnapshotManifest {
  let text: string;
  try {
    const fd = openSync(manifestPath(path), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ValidationError(
      'manifest',
      manifestPath(path),
      `cannot read the snapshot's manifest (${code})`,
      'MANIFEST_MISSING',
    );
  }
  return parseManifest(text);
}

/**
 * Restores a VM from the snapshot at `path` (its manifest beside it): checks it against this
 * host and `options`, attaches every NIC afresh (same MACs), starts QEMU with the same devices
 * waiting for the state, loads it and resumes. The guest's shell answers at once.
 * @throws RestoreMismatchError (a ValidationError; before anything is made) when the QEMU
 *   version, machine, memory, CPUs, drives, state file or NICs do not match; ValidationError
 *   for a bad manifest; LaunchError naming the failed step, everything undone.
 */
export async function restore(path: string, options: RestoreOptions = {}): Promise<Vm> {
  const manifest = readManifest(path);
  checkRestore(manifest, path, options);
  const launchOptions = restoreLaunchOptions(manifest, options);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const loadState: Step<LaunchRun> = {
    name: 'load-state',
    async run(run) {
      const qmp = run.qmp!;
      const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        await qmp.getfd({ fdname: FD_NAME, fd }, { timeout: 5000 });
      } finally {
        closeSync(fd);
      }
      if (manifest.state.memory) await setIgnoreShared(qmp, true);
      await qmp.execute('migrate-incoming', { uri: `fd:${FD_NAME}` }, { timeout: 5000 });
      await waitForMigration(qmp, { timeoutMs, signal: options.signal, what: 'the load' });
    },
  };
  const resume: Step<LaunchRun> = {
    name: 'resume',
    async run(run) {
      if (!options.paused) await run.qmp!.cont({ timeout: 5000 });
      // RARP frames from every guest MAC, so switches and bridges learn where it is now.
      if (manifest.nics.length > 0) {
        // QEMU 7.2 takes no defaults here: these are its -global announce-* defaults.
        const announce = { initial: 50, max: 550, rounds: 5, step: 100 };
        await run.qmp!.execute('announce-self', announce, { timeout: 5000 });
      }
    },
  };
  // NICs and drives hot-plugged before the save go back on their root ports, cold-plugged.
  const nicBuses: Record<string, string> = {};
  for (const nic of manifest.nics) if (nic.hotplugged && nic.bus) nicBuses[nic.id] = nic.bus;
  const driveBuses: Record<string, string> = {};
  for (const d of manifest.drives) if (d.hotplugged && d.bus) driveBuses[d.id] = d.bus;
  const placeHotplugged: Step<LaunchRun> = {
    name: 'place-hotplugged',
    run(run) {
      if (Object.keys(nicBuses).length > 0) run.nicBuses = nicBuses;
      if (Object.keys(driveBuses).length > 0) run.driveBuses = driveBuses;
    },
  };
  // A RAM image: QEMU maps a private copy of it (memory-image.ts), filled while QEMU starts;
  // our fd goes with the others, and the load waits for the copy to be complete.
  const memory = manifest.state.memory;
  let copy: PrivateCopy | undefined;
  const memoryCopy: Step<LaunchRun> = {
    name: 'memory-copy',
    run(run) {
      if (!memory) return;
      const started = startPrivateCopy(join(dirname(path), memory.file));
      copy = started;
      run.owned.push(started.fd);
      run.memoryFile = started.fd;
      // On a failed restore no read or write of the copy may still be pending.
      run.undo.push('stop the RAM image copy', () => started.stop());
    },
  };
  const memoryCopied: Step<LaunchRun> = {
    name: 'memory-copied',
    async run() {
      await copy?.done;
    },
  };
  const deviceSet: Step<LaunchRun> = {
    name: 'device-set',
    run(run) {
      // Cold-plugged objects in command-line order (their PCI addresses follow from it); the
      // NICs and drives put back on root ports by id (their addresses are the ports').
      const hotIds = new Set([
        ...Object.keys(nicBuses).flatMap((id) => Object.values(nicQemuIds(id))),
        ...Object.keys(driveBuses).flatMap((id) => Object.values(driveQemuIds(id))),
      ]);
      const describe = (d: { kind: string; id: string }): string => `${d.kind}:${d.id}`;
      const devices = run.command!.devices;
      const built = devices.filter((d) => !hotIds.has(d.id)).map(describe);
      const saved = manifest.devices.filter((d) => !hotIds.has(d.id)).map(describe);
      const missing = manifest.devices
        .filter((d) => hotIds.has(d.id) && !devices.some((b) => b.id === d.id))
        .map(describe);
      if (built.join(' ') !== saved.join(' ') || missing.length > 0) {
        throw new RestoreMismatchError(
          'devices',
          built.join(' '),
          `the rebuilt device set differs from the saved one (${saved.join(' ')})`,
          'DEVICE_SET',
        );
      }
    },
  };
  const vm = await launchWithDeps(
    launchOptions,
    {},
    {
      before: [placeHotplugged, memoryCopy],
      afterBuild: [deviceSet],
      after: [memoryCopied, loadState, resume],
    },
  );
  if (!options.paused && (options.refreshNeighbours ?? true)) {
    await flushNeighbours(vm).catch(async (error: unknown) => {
      await vm.kill();
      throw error;
    });
  }
  return vm;
}

// The default guest's harness forgets every neighbour, so the next packet ARPs for the new
// peer instead of going to the old one's MAC; other guests are left alone.
async function flushNeighbours(vm: Vm): Promise<void> {
  if (!vm.command.argv.some((a) => a.includes('vmlaunch.console=harness'))) return;
  const started = performance.now();
  await vm.guest.check('ip neigh flush all', { timeout: 30_000 });
  vm.logger.debug(
    { step: 'flush-neighbours', ms: Math.round(performance.now() - started) },
    'step done',
  );
}

// The launch that rebuilds the saved machine: the same boot files, machine, sizes, drives and
// NIC ids, fresh endpoints, CPUs stopped until the state is loaded.
function restoreLaunchOptions(manifest: SnapshotManifest, options: RestoreOptions): LaunchOptions {
  const endpoints = restoreEndpoints(manifest, options);
  return {
    kernel: manifest.boot.kernel,
    ...(manifest.boot.initrd !== undefined ? { initrd: manifest.boot.initrd } : {}),
    cmdline: manifest.boot.cmdline,
    template: manifest.machine.template,
    ...(manifest.machine.overrides ? { templateOverrides: manifest.machine.overrides } : {}),
    accel: manifest.accel,
    ...(manifest.cpu !== undefined ? { cpu: manifest.cpu } : {}),
    cpus: manifest.cpus,
    memoryMiB: manifest.memoryMiB,
    sharedMemory: manifest.sharedMemory,
    endpoints,
    // Cold ones first, in their saved order (an id-less spec's id, drive<N>, is its index).
    drives: [
      ...manifest.drives.filter((d) => !d.hotplugged).map((d) => d.spec),
      ...manifest.drives.filter((d) => d.hotplugged).map((d) => ({ ...d.spec, id: d.id })),
    ],
    paused: true,
    qemu: options.qemu ?? manifest.qemu.binary,
    logger: options.logger ?? defaultLogger(),
    ...(options.consoleLog !== undefined ? { consoleLog: options.consoleLog } : {}),
    ...(options.consoleLogMaxBytes !== undefined
      ? { consoleLogMaxBytes: options.consoleLogMaxBytes }
      : {}),
    ...(options.qmpConnectTimeout !== undefined
      ? { qmpConnectTimeout: options.qmpConnectTimeout }
      : {}),
    ...(options.sandbox !== undefined ? { sandbox: options.sandbox } : {}),
    ...(options.runAs !== undefined ? { runAs: options.runAs } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  };
}
