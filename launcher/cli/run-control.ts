// The control side of `vmlaunch run --name NAME`: the runtime dir is claimed before the VM is
// launched (a name clash fails fast), the socket is served once the VM runs, and both go away
// when the run ends, however it ends.
import { socketAnswers } from '../control/client.js';
import { claimRuntimeDir, releaseRuntimeDir, type RuntimeDir } from '../control/runtime-dir.js';
import { startControlServer, type ControlServer } from '../control/server.js';
import {
  createControlHandler,
  describeForWire,
  type Announce,
  type ControlledVm,
} from './control-handlers.js';

/** A claimed name: serve it once the VM runs, or give it back if the launch fails. */
export interface ControlClaim {
  runtime: RuntimeDir;
  serve(vm: ControlledVm, announce: Announce): Promise<ControlServer>;
  /** Removes the runtime dir when nothing was served (launch failed); returns what stayed. */
  abandon(): string[];
}

// The default name when --name is not given: unique per run process.
export function defaultVmName(): string {
  return `vm-${process.pid}`;
}

// Claims `<runtime root>/<name>/` for the run.
/**
 * @throws ControlError BAD_NAME, NAME_IN_USE, UNSAFE_RUNTIME_DIR, STALE_SOCKET, PATH_TOO_LONG.
 */
export async function claimControl(name: string): Promise<ControlClaim> {
  const runtime = await claimRuntimeDir(name, (path) => socketAnswers(path));
  return {
    runtime,
    serve: (vm, announce) =>
      startControlServer(runtime, createControlHandler(name, vm, announce), describeForWire),
    abandon: () => releaseRuntimeDir(runtime, undefined),
  };
}
