// What restore() takes: where each NIC is attached now, what the caller expects of the
// snapshot (checked against its manifest), and the per-run settings launch() also has.
import type { Endpoint } from '../../network/endpoints/types.js';
import type { TemplateName } from '../../qemu-templates/index.js';
import type { Logger } from '../log.js';
import type { RunAs } from '../run-as.js';
import type { SandboxOption } from '../sandbox.js';

/** Where one restored NIC is attached (fresh host side; the guest keeps its MAC). */
export interface RestoreNic {
  /** The endpoint to attach now; default the one saved. Its MAC, if set, must be the saved one. */
  endpoint?: Endpoint;
  /** Netns name or path of the endpoint; default `RestoreOptions.netns`, then the saved one. */
  netns?: string;
}

/** Options of restore(). */
export interface RestoreOptions {
  /** Per NIC id: a new endpoint and/or netns. */
  nics?: Record<string, RestoreNic>;
  /** Netns for every NIC not named in `nics` (e.g. a clone's own netns). */
  netns?: string;
  /** QEMU binary (default the saved one); its version must be the saved one. */
  qemu?: string;
  /** Expected machine preset, memory and CPUs: a snapshot that differs is refused. */
  template?: TemplateName;
  memoryMiB?: number;
  cpus?: number;
  /** Leave the restored VM paused (default: resumed). */
  paused?: boolean;
  /**
   * Make the guest forget its neighbours' old MACs so it reaches new peers at once: the
   * default guest's harness runs `ip neigh flush all` (default true; only with that guest),
   * and QEMU announces the guest's MACs (announce-self) either way.
   */
  refreshNeighbours?: boolean;
  /** Deadline of loading the state, in ms (default 120 s). */
  timeoutMs?: number;
  /** As launch(): console log, its cap, QMP deadline, sandbox, runAs, abort, logger. */
  consoleLog?: string;
  consoleLogMaxBytes?: number;
  qmpConnectTimeout?: number;
  sandbox?: SandboxOption;
  runAs?: RunAs;
  signal?: AbortSignal;
  logger?: Logger;
}
