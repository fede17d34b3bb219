// `vmlaunch run`: a VM from the command line, its console attached to this terminal; Ctrl-C
// shuts it down by the ladder and cleans up. `--print` shows the QEMU command instead.
import { parseArgs } from 'node:util';
import { buildCommand, formatDryRun } from '../command.js';
import { locateGuestImage } from '../guest-image.js';
import { launch, type EndpointSpec, type LaunchOptions } from '../launch.js';
import type { HostNic } from '../../network/host-nic.js';
import type { TemplateName } from '../../qemu-templates/index.js';
import { parseEndpointSpec } from './endpoint-spec.js';

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

// Runs a VM until it ends or Ctrl-C; returns the exit code.
export async function runCommand(argv: string[]): Promise<number> {
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
    },
  });
  let { kernel, initrd } = values;
  if (!kernel) {
    const guest = await locateGuestImage();
    kernel = guest.kernel;
    initrd ??= guest.initrd;
  }
  const endpoints = values.net.map((spec, i) => parseEndpointSpec(spec, i));
  const options: LaunchOptions = {
    kernel,
    ...(initrd ? { initrd } : {}),
    ...(values.append ? { cmdline: values.append.split(/\s+/).filter(Boolean) } : {}),
    memoryMiB: Number(values.memory),
    cpus: Number(values.cpus),
    template: values.template as TemplateName,
    accel: values.accel as LaunchOptions['accel'],
    endpoints,
    ...(values.qemu ? { qemu: values.qemu } : {}),
    ...(values['console-log'] ? { consoleLog: values['console-log'] } : {}),
  };
  if (values.print) {
    const accel = options.accel === 'auto' ? 'tcg' : (options.accel ?? 'tcg');
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
      },
      dryRunNics(endpoints),
    );
    process.stdout.write(`${formatDryRun(command)}\n`);
    return 0;
  }

  const vm = await launch(options);
  process.stderr.write(
    `vmlaunch: VM ${vm.pid} running (${vm.accel.accel}: ${vm.accel.reason}); Ctrl-C shuts it down\n`,
  );
  const unsubscribe = vm.console.subscribe((chunk) => process.stdout.write(chunk));
  process.stdout.write(vm.console.since(0));
  const forward = (data: Buffer): void =>
    void vm.console.write(data.toString()).catch(() => undefined);
  process.stdin.on('data', forward);
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write('\nvmlaunch: shutting down (powerdown, then quit, SIGTERM, SIGKILL)...\n');
    void vm.shutdown();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const exit = await vm.exited;
    process.stderr.write(
      `vmlaunch: VM ended (${exit.rung ? `shutdown by ${exit.rung}` : exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`})\n`,
    );
    return exit.unexpected && exit.code !== 0 ? 1 : 0;
  } finally {
    unsubscribe();
    process.stdin.off('data', forward);
    process.stdin.pause();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
