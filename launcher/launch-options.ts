// What launch() takes: the options, the endpoints to attach, and the side effects tests may
// replace. A module of its own so the steps of a launch (launch-steps.ts, confinement.ts,
// run-as-access.ts) read these types without importing launch.ts back.
import type { AttachContext, AttachedEndpoint } from '../network/endpoints/attach-types.js';
import type { NicRate } from '../network/endpoints/rate-limit.js';
import type { Endpoint } from '../network/endpoints/types.js';
import type { HostNic } from '../network/host-nic.js';
import type { TemplateName, TemplateOverrides } from '../qemu-templates/index.js';
import type { chooseAccelerator } from './accel.js';
import type { Accel } from './devices/machine-args.js';
import type { Logger } from './log.js';
import type { spawnQemu } from './process.js';
import type { connectQmp } from './qmp/index.js';
import type { ConfineOption } from './jail.js';
import type { RunAs } from './run-as.js';
import type { SandboxOption } from './sandbox.js';
import type { GuestNetworkOptions } from './seed/seed-drive.js';
import type { probeSandbox } from './sandbox-probe.js';
import type { DriveSpec } from './workload/drive-spec.js';
import type { ShareSpec } from './workload/share-spec.js';

/** An endpoint for vmlaunch to attach (host side) before the VM starts. */
export interface EndpointSpec {
  endpoint: Endpoint;
  /** Netns name or path the endpoint lives in; the caller's netns when omitted. */
  netns?: string;
  /** NIC id (unique in the VM); default net0, net1, ... */
  id?: string;
  /** Rate limits per direction, set before QEMU starts (tap-backed NICs; docs/nic-control.md). */
  rate?: NicRate;
}

/** Side effects launch uses, replaced by tests through launchWithDeps (not part of the API). */
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
  /** The guest's network from its endpoints' addresses, routes, MTU and DNS: a NoCloud seed
   *  drive (on when an endpoint carries addresses; `seed: false` turns it off), see
   *  docs/guest-network.md. */
  guestNetwork?: GuestNetworkOptions;
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
  /** QEMU's jail (docs/confinement.md): true (default) gives it a uid of its own, a cgroup,
   *  rlimits, a read-only view of the host with a minimal /dev, no capabilities and
   *  no_new_privs; options tune it; false runs QEMU unjailed (and says so in the log). */
  confine?: ConfineOption;
  /** The uid QEMU runs as (set before exec; vmlaunch must be root): in the jail, instead of a
   *  per-VM uid; with confine: false, instead of ours. */
  runAs?: RunAs;
  /** Aborting ends the launch at its next await point: everything made so far is undone and
   *  it rejects with a LaunchError coded ABORTED naming the step. No effect once resolved. */
  signal?: AbortSignal;
  logger?: Logger;
}
