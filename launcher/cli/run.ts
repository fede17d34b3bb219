// `vmlaunch run`: a VM from the command line, its console attached to this terminal; Ctrl-C
// shuts it down by the ladder and cleans up. `--print` shows the QEMU command instead. The run
// serves `vmlaunch attach|detach|exec|list` for its VM on /run/vmlaunch/<--name>/control.sock.
import { parseArgs } from 'node:util';
import { buildCommand, formatDryRun } from '../command.js';
import { locateGuestImage } from '../guest-image.js';
import { launch, type EndpointSpec, type LaunchOptions } from '../launch.js';
import type { HostNic } from '../../network/host-nic.js';
import type { TemplateName } from '../../qemu-templates/index.js';
import { resolveRunAs, setprivIdentityArgs } from '../run-as.js';
import { resolveSandbox } from '../sandbox.js';
import { parseRunAsFlag, parseSandboxFlag } from './confinement-flags.js';
import { parseEndpointSpec } from './endpoint-spec.js';
import { GUEST_NET_FLAGS, guestNetworkFromFlags, withScannedEndpoints } from './guest-net-flags.js';
import { StatusLine } from './status-line.js';
import { TerminalOutput } from './terminal-output.js';
import { runWorkloadCommand } from './run-workload.js';
import { defaultVmName } from './run-control.js';
import { serveVm } from './serve-vm.js';

// A distinct locally administered MAC per placeholder NIC.
function placeholderMac(i: number): string {
  return `52:54:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`;
}

// Placeholder HostNics for a dry run: nothing is attached, fd numbers are illustrative.
function dryRunNics(specs: EndpointSpec[]): HostNic[] {
  let fd = 100;
  return specs.map((spec, i): HostNic => {
    const id = spec.id ?? `net${i}`;
    const e = spec.endpoint;
    switch (e.kind) {
      case 'vhost-user':
        return {
          kind: 'vhost-user',
          id,
          mac: e.mac ?? placeholderMac(i),
          queues: e.queues ?? 1,
          socketPath: e.socketPath,
          mode: e.mode,
        };
      case 'physical':
        return { kind: 'vfio', id, pciAddress: e.pciAddress };
      default: {
        const queues = e.queues ?? 1;
        const tapFds = Array.from({ length: queues }, () => fd++);
        return {
          kind: 'tap',
          id,
          mac: e.mac ?? placeholderMac(i),
          mtu: e.mtu ?? 1500,
          tapFds,
          vhostFds: [],
          vhost: { enabled: false, reason: 'dry run' },
          ifname: e.name,
        };
      }
    }
  });
}

// Runs a VM until it ends or Ctrl-C; returns the exit code. With `-- CMD...` it runs CMD in
// the VM instead (run-workload.ts) and returns CMD's status.
export async function runCommand(argv: string[]): Promise<number> {
  const separator = argv.indexOf('--');
  if (separator >= 0)
    return runWorkloadCommand(argv.slice(0, separator), argv.slice(separator + 1));
  const { values } = parseArgs({
    args: argv,
    options: {
      kernel: { type: 'string' },
      initrd: { type: 'string' },
      append: { type: 'string' },
      memory: { type: 'string', default: '512' },
      cpus: { type: 'string', default: '1' },
      template: { type: 'string', default: 'q35' },
      accel: { type: 'string', default: 'auto' },
      net: { type: 'string', multiple: true, default: [] },
      print: { type: 'boolean' },
      'console-log': { type: 'string' },
      qemu: { type: 'string' },
      name: { type: 'string' },
      sandbox: { type: 'string' },
      'run-as': { type: 'string' },
      ...GUEST_NET_FLAGS,
      'no-confine': { type: 'boolean' },
      'shared-memory': { type: 'boolean' },
    },
  });
  const usage =
    'vmlaunch run ... [--sandbox on|off|GROUP=allow|deny,...] [--run-as USER|UID:GID] [--no-confine]';
  const sandbox = parseSandboxFlag(values.sandbox, usage);
  const runAs = parseRunAsFlag(values['run-as'], usage);
  let { kernel, initrd } = values;
  const cmdline = values.append?.split(/\s+/).filter(Boolean) ?? [];
  // The VM's console and our messages: a terminal that stops reading must not stop the run.
  const stdout = new TerminalOutput(1);
  const stderr = new TerminalOutput(2);
  const status = new StatusLine(stderr);
  if (!kernel) {
    const guest = await status.run('preparing the default guest', (onLog) =>
      locateGuestImage({ onLog }),
    );
    kernel = guest.kernel;
    initrd ??= guest.initrd;
    // Names the default guest's console mode, so hot-plug knows to wait for its ready marker.
    if (!cmdline.some((w) => w.startsWith('vmlaunch.console=')))
      cmdline.push('vmlaunch.console=interactive');
  }
  const guestNetwork = guestNetworkFromFlags(values, usage);
  const parsed = values.net.map((spec, i) => parseEndpointSpec(spec, i));
  // A dry run scans nothing: it shows the --net endpoints only.
  const { endpoints = [], guestNetwork: network } = values.print
    ? { endpoints: parsed, guestNetwork }
    : await withScannedEndpoints(
        { endpoints: parsed, ...(guestNetwork ? { guestNetwork } : {}) },
        values.scan,
        usage,
      );
  const options: LaunchOptions = {
    kernel,
    ...(initrd ? { initrd } : {}),
    ...(cmdline.length > 0 ? { cmdline } : {}),
    memoryMiB: Number(values.memory),
    ...(values['shared-memory'] ? { sharedMemory: true } : {}),
    cpus: Number(values.cpus),
    template: values.template as TemplateName,
    accel: values.accel as LaunchOptions['accel'],
    endpoints,
    ...(network ? { guestNetwork: network } : {}),
    ...(values.qemu ? { qemu: values.qemu } : {}),
    ...(values['console-log'] ? { consoleLog: values['console-log'] } : {}),
    sandbox,
    ...(runAs ? { runAs } : {}),
    ...(values['no-confine'] ? { confine: false } : {}),
  };
  if (values.print) {
    const accel = options.accel === 'auto' ? 'tcg' : (options.accel ?? 'tcg');
    const policy = resolveSandbox(sandbox);
    // runAs is not a QEMU option: setpriv sets the ids, then execs QEMU (as launch does).
    const setpriv = runAs
      ? ['setpriv', ...setprivIdentityArgs(await resolveRunAs(runAs)), '--']
      : [];
    const command = buildCommand(
      {
        ...(options.qemu ? { qemu: options.qemu } : {}),
        machine: { template: options.template ?? 'q35' },
        accel,
        cpus: options.cpus ?? 1,
        memory: {
          sizeMiB: options.memoryMiB ?? 512,
          shared: endpoints.some((e) => e.endpoint.kind === 'vhost-user'),
        },
        boot: {
          kernel,
          ...(initrd ? { initrd } : {}),
          ...(options.cmdline ? { cmdline: options.cmdline } : {}),
        },
        qmp: { fd: 3 },
        console: { kind: 'fd', fd: 4 },
        ...(policy ? { sandbox: policy } : {}),
      },
      dryRunNics(endpoints),
    );
    process.stdout.write(
      `${formatDryRun({ argv: [...setpriv, ...command.argv], fds: command.fds })}\n`,
    );
    return 0;
  }

  return serveVm(values.name ?? defaultVmName(), () => launch(options), {
    stdout,
    stderr,
    status,
  });
}
