// The command builder: a VmConfig plus the attached HostNics -> QEMU's argv and the table of
// fds the child inherits (ours at fds[i] becomes the child's 3+i). Everything is validated
// before anything is spawned.
import { ValidationError } from '../core/index.js';
import type { HostNic } from '../network/host-nic.js';
import type { MachineTemplate } from '../qemu-templates/index.js';
import { resolveTemplate } from '../qemu-templates/index.js';
import {
  accelArgs,
  bootArgs,
  cpuArgs,
  machineArgs,
  sizingArgs,
  type Accel,
} from './devices/machine-args.js';
import { coldDrives } from './devices/blockdev-drive.js';
import { memoryBackend } from './devices/memory-backend.js';
import { nicDevices } from './devices/nic-devices.js';
import { pcieRootPort } from './devices/pcie-root-port.js';
import { qmpMonitor } from './devices/qmp-monitor.js';
import { serialConsole } from './devices/serial-console.js';
import type { ArgGroup, FdRef, QemuDevice } from './devices/types.js';
import { shareDevices } from './devices/vhost-user-fs.js';
import { sandboxArgs } from './sandbox.js';
import { formatShellCommand } from './shell-quote.js';
import type { VmConfig } from './vm-config.js';
import { validateVmConfig } from './vm-config.js';

/** First fd number the child receives ours at (0-2 are stdio). */
export const FIRST_CHILD_FD = 3;
/** microvm exposes at most eight virtio-mmio transports (docs/system/i386/microvm.rst). */
export const MAX_MMIO_DEVICES = 8;
const MEMORY_BACKEND_ID = 'mem0';

/** What buildCommand produces. */
export interface BuiltCommand {
  /** argv[0] is the QEMU binary. */
  argv: string[];
  /** Our fds, in order: the child gets fds[i] as fd 3+i. */
  fds: number[];
  /** Every QEMU object on the command line, for logs and later removal. */
  devices: QemuDevice[];
  /** The merged machine template. */
  template: MachineTemplate;
  /** Root-port ids left empty for hot plug (q35), in order. */
  hotplugBuses: string[];
}

// Hands out child fd numbers for our fds; the same fd given twice gets one slot.
function fdTable(): { fds: number[]; ref: (parentFd: number) => FdRef } {
  const fds: number[] = [];
  return {
    fds,
    ref(parentFd) {
      let index = fds.indexOf(parentFd);
      if (index < 0) index = fds.push(parentFd) - 1;
      return { kind: 'inherited', childFd: FIRST_CHILD_FD + index };
    },
  };
}

// The one place a config becomes QEMU objects, every one validated: checkCommand stops here,
// buildCommand renders the result.
interface Assembled {
  template: MachineTemplate;
  groups: ArgGroup[];
  devices: QemuDevice[];
  fds: number[];
  hotplugBuses: string[];
}

// A launch checks its config before it has fds or NICs and builds it once they exist: both take
// the template it resolved once, and default to resolving config.machine themselves.
/**
 * Checks `config` (with `nics`) exactly as buildCommand does, without rendering a command. Fd
 * numbers are checked for shape only, never used, so stand-ins may take the place of fds that
 * do not exist yet. `template` is config.machine resolved, when the caller already has it.
 * @throws ValidationError as buildCommand.
 */
export function checkCommand(
  config: VmConfig,
  nics: readonly HostNic[] = [],
  template?: MachineTemplate,
): void {
  assemble(config, nics, template);
}

/**
 * Builds QEMU's argv and fd table for `config` with `nics` cold-plugged. `template` is
 * config.machine resolved, when the caller already has it.
 * @throws ValidationError (`code`, `path` such as 'nics[1].vhostFds' or 'memory.shared') for
 *   any invalid field, before anything is spawned.
 */
export function buildCommand(
  config: VmConfig,
  nics: readonly HostNic[] = [],
  template?: MachineTemplate,
): BuiltCommand {
  const { template: used, groups, devices, fds, hotplugBuses } = assemble(config, nics, template);
  const argv = [config.qemu ?? 'qemu-system-x86_64', ...used.requiredArgs];
  for (const item of [...groups, ...devices]) argv.push(...item.toArgs());
  if (config.paused) argv.push('-S');
  if (config.noShutdown) argv.push('-no-shutdown');
  if (config.incoming) argv.push('-incoming', 'defer');
  return { argv, fds, devices, template: used, hotplugBuses };
}

// Validates the config, makes its QEMU objects (NICs, drives, shares, ports) and checks each.
function assemble(
  config: VmConfig,
  nics: readonly HostNic[],
  resolved: MachineTemplate | undefined,
): Assembled {
  validateVmConfig(config);
  const template = resolved ?? resolveTemplate(config.machine.template, config.machine.overrides);
  const table = fdTable();
  const shared = (config.memory.shared ?? false) || config.memory.file !== undefined;
  // A file QEMU opens by name through an inherited fd (the table only hands out those).
  const fdPath = (fd: number): string => {
    const ref = table.ref(fd) as { childFd: number };
    return `/proc/self/fd/${ref.childFd}`;
  };

  const qmp = qmpMonitor(table.ref(config.qmp.fd));
  const devices: QemuDevice[] = [qmp];
  const console = config.console ?? { kind: 'none' };
  if (console.kind === 'fd') {
    devices.push(serialConsole('console', { kind: 'socket', fd: table.ref(console.fd) }));
  } else if (console.kind === 'file') {
    devices.push(serialConsole('console', { kind: 'file', file: console.path }));
  }
  const memory = shared
    ? memoryBackend({
        id: MEMORY_BACKEND_ID,
        kind: config.memory.file === undefined ? 'memfd' : 'file',
        ...(config.memory.file === undefined ? {} : { memPath: fdPath(config.memory.file) }),
        sizeMiB: config.memory.sizeMiB,
        share: true,
      })
    : undefined;
  if (memory) devices.push(memory);

  const hotplugBuses: string[] = [];
  const placed = new Set([
    ...Object.values(config.nicBuses ?? {}),
    ...Object.values(config.driveBuses ?? {}),
  ]);
  for (let i = 0; i < template.hotplugRootPorts; i++) {
    const port = pcieRootPort({
      id: `rp${i}`,
      chassis: i + 1,
      bus: template.rootBus ?? 'pcie.0',
      path: `rootPorts[${i}]`,
    });
    devices.push(port);
    if (!placed.has(port.id)) hotplugBuses.push(port.id);
  }
  devices.push(
    ...nicObjects(nics, template, shared, (fd) => table.ref(fd), config.accel, config.nicBuses),
  );
  const drives = coldDrives(
    config.drives ?? [],
    template.transport,
    (fd) => {
      const ref = table.ref(fd);
      return ref.kind === 'inherited' ? ref.childFd : -1;
    },
    config.driveBuses,
  );
  devices.push(...drives.devices);
  devices.push(
    ...shareDevices(config.shares ?? [], {
      transport: template.transport,
      sharedMemory: shared,
      accel: config.accel,
      fdRef: (fd) => table.ref(fd),
    }),
  );
  checkMmioSlots(
    devices,
    template,
    (config.shares ?? []).length > 0
      ? 'shares'
      : (config.drives ?? []).length > 0
        ? 'drives'
        : 'nics',
  );

  const groups: ArgGroup[] = [
    machineArgs(template.machineType, {
      ...template.machineOptions,
      'memory-backend': memory ? MEMORY_BACKEND_ID : undefined,
    }),
    accelArgs(config.accel),
    ...(config.sandbox ? [sandboxArgs(config.sandbox)] : []),
    ...(config.cpu !== undefined ? [cpuArgs(config.cpu)] : []),
    sizingArgs(config.memory.sizeMiB, config.cpus),
    bootArgs(
      {
        kernel: config.boot.kernel,
        initrd: config.boot.initrd,
        append: [...template.kernelCmdline, ...(config.boot.cmdline ?? [])],
      },
      'boot',
    ),
    ...drives.groups,
  ];
  for (const item of [...groups, ...devices]) item.validate();
  return { template, groups, devices, fds: table.fds, hotplugBuses };
}

// The QEMU objects of every NIC, with ids checked for duplicates and mmio slots counted.
function nicObjects(
  nics: readonly HostNic[],
  template: MachineTemplate,
  sharedMemory: boolean,
  fdRef: (fd: number) => FdRef,
  accel: Accel,
  buses: Record<string, string> = {},
): QemuDevice[] {
  const seen = new Set<string>();
  const out: QemuDevice[] = [];
  nics.forEach((nic, i) => {
    const path = `nics[${i}]`;
    if (seen.has(nic.id))
      throw new ValidationError(`${path}.id`, nic.id, 'NIC ids must be unique', 'DUPLICATE_ID');
    seen.add(nic.id);
    out.push(
      ...nicDevices(nic, {
        accel,
        transport: template.transport,
        sharedMemory,
        fdRef,
        romfile: template.nicRomfile,
        path,
        bus: buses[nic.id],
      }),
    );
  });
  return out;
}

/** Device kinds that each take one virtio transport (one of microvm's eight mmio slots). */
export const VIRTIO_DEVICE_KINDS: readonly string[] = ['virtio-net', 'virtio-blk', 'vhost-user-fs'];

// microvm has MAX_MMIO_DEVICES virtio-mmio slots, shared by NICs, drives and shares.
function checkMmioSlots(devices: QemuDevice[], template: MachineTemplate, path: string): void {
  if (template.transport !== 'mmio') return;
  const used = devices.filter((d) => VIRTIO_DEVICE_KINDS.includes(d.kind)).length;
  if (used > MAX_MMIO_DEVICES) {
    throw new ValidationError(
      path,
      used,
      `${template.name} has at most ${MAX_MMIO_DEVICES} virtio-mmio devices (NICs, drives and shares together)`,
      'TOO_MANY_DEVICES',
    );
  }
}

// A dry run: the command as it would paste into a shell, preceded by a comment saying which
// of our fds the child would inherit (a shell cannot recreate them).
export function formatDryRun(command: Pick<BuiltCommand, 'argv' | 'fds'>): string {
  const fdNote = command.fds.map((fd, i) => `${FIRST_CHILD_FD + i}<-${fd}`).join(' ');
  const head = command.fds.length > 0 ? `# inherited fds (child<-parent): ${fdNote}\n` : '';
  return `${head}${formatShellCommand(command.argv)}`;
}
