// `vmlaunch run [flags] -- CMD [ARG...]`: boots a VM (the default guest unless --kernel says
// otherwise), runs CMD in it with its arguments intact, streams its stdout to our stdout and
// its stderr to our stderr as they come, and exits with CMD's status. Nothing else is printed
// on stdout; progress (a live status line while the guest is built or boots, then a line each
// milestone) goes to stderr only when it is a terminal.
import { parseArgs } from 'node:util';
import type { LaunchOptions } from '../launch.js';
import type { TemplateName } from '../../qemu-templates/index.js';
import { runInVm, type RunInVmOptions } from '../run-in-vm.js';
import { parseRunAsFlag, parseSandboxFlag } from './confinement-flags.js';
import { parseEndpointSpec } from './endpoint-spec.js';
import { GUEST_NET_FLAGS, guestNetworkFromFlags, withScannedEndpoints } from './guest-net-flags.js';
import { StatusLine } from './status-line.js';
import { UsageError } from './usage.js';
import { parseDriveSpec, parseShareSpec } from './workload-spec.js';

/** Usage line of the one-command run. */
export const RUN_WORKLOAD_USAGE =
  'vmlaunch run [--drive SPEC]... [--share HOSTDIR:GUESTPATH[,ro]]... [--kernel K --initrd I] ' +
  '[--template T] [--memory MiB] [--net SPEC]... [--scan NETNS]... [--dns ADDR]... ' +
  '[--cwd DIR] [--env K=V]... [--timeout MS] -- CMD [ARG...]';

// `{ [key]: value }` when value is defined, else nothing (exactOptionalPropertyTypes).
const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

const SIGNAL_STATUS = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

// The flags before `--` -> runInVm options (without the command and the callbacks).
/** @throws UsageError for an unknown flag or a bad value. */
export function parseRunWorkloadFlags(
  argv: string[],
): Omit<RunInVmOptions, 'command'> & { scan: string[] } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        kernel: { type: 'string' },
        initrd: { type: 'string' },
        append: { type: 'string' },
        memory: { type: 'string', default: '512' },
        cpus: { type: 'string', default: '1' },
        template: { type: 'string', default: 'q35' },
        accel: { type: 'string', default: 'auto' },
        net: { type: 'string', multiple: true, default: [] },
        drive: { type: 'string', multiple: true, default: [] },
        share: { type: 'string', multiple: true, default: [] },
        cwd: { type: 'string' },
        env: { type: 'string', multiple: true, default: [] },
        timeout: { type: 'string' },
        qemu: { type: 'string' },
        'console-log': { type: 'string' },
        sandbox: { type: 'string' },
        'run-as': { type: 'string' },
        ...GUEST_NET_FLAGS,
        'no-confine': { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message, RUN_WORKLOAD_USAGE);
  }
  const number = (flag: string, value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new UsageError(
        `--${flag} expects a positive integer, got "${value}"`,
        RUN_WORKLOAD_USAGE,
      );
    return n;
  };
  const env: Record<string, string> = {};
  for (const pair of values.env) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new UsageError(`--env expects NAME=VALUE, got "${pair}"`, RUN_WORKLOAD_USAGE);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const runAs = parseRunAsFlag(values['run-as'], RUN_WORKLOAD_USAGE);
  const cmdline = values.append?.split(/\s+/).filter(Boolean) ?? [];
  return {
    ...(values.kernel ? { kernel: values.kernel } : {}),
    ...(values.initrd ? { initrd: values.initrd } : {}),
    ...(cmdline.length > 0 ? { cmdline } : {}),
    memoryMiB: number('memory', values.memory),
    cpus: number('cpus', values.cpus),
    template: values.template as TemplateName,
    accel: values.accel as LaunchOptions['accel'],
    endpoints: values.net.map((spec, i) => parseEndpointSpec(spec, i)),
    ...optional('guestNetwork', guestNetworkFromFlags(values, RUN_WORKLOAD_USAGE)),
    scan: values.scan,
    ...(values.drive.length > 0 ? { drives: values.drive.map((s) => parseDriveSpec(s)) } : {}),
    ...(values.share.length > 0 ? { shares: values.share.map((s) => parseShareSpec(s)) } : {}),
    ...(values.cwd !== undefined ? { cwd: values.cwd } : {}),
    ...(values.env.length > 0 ? { env } : {}),
    ...(values.timeout !== undefined ? { timeout: number('timeout', values.timeout) } : {}),
    ...(values.qemu ? { qemu: values.qemu } : {}),
    ...(values['console-log'] ? { consoleLog: values['console-log'] } : {}),
    sandbox: parseSandboxFlag(values.sandbox, RUN_WORKLOAD_USAGE),
    ...(runAs ? { runAs } : {}),
    ...(values['no-confine'] ? { confine: false } : {}),
  };
}

// Runs the command in a fresh VM; returns its exit status (130/143 when we were interrupted).
export async function runWorkloadCommand(flags: string[], command: string[]): Promise<number> {
  if (command.length === 0) throw new UsageError('no command after --', RUN_WORKLOAD_USAGE);
  const { scan, ...flagged } = parseRunWorkloadFlags(flags);
  const options = await withScannedEndpoints(flagged, scan, RUN_WORKLOAD_USAGE);
  const tty = process.stderr.isTTY === true;
  const status = new StatusLine(process.stderr);
  const say = (line: string): void => {
    status.stop();
    if (tty) process.stderr.write(`vmlaunch: ${line}\n`);
  };
  const controller = new AbortController();
  let interrupted: keyof typeof SIGNAL_STATUS | undefined;
  const onSignal = (signal: keyof typeof SIGNAL_STATUS): void => {
    if (interrupted) return;
    interrupted = signal;
    say(`${signal}: stopping the VM...`);
    controller.abort();
  };
  const handlers = (Object.keys(SIGNAL_STATUS) as Array<keyof typeof SIGNAL_STATUS>).map(
    (signal) => [signal, (): void => onSignal(signal)] as const,
  );
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    status.start('starting the VM');
    let building = false;
    const result = await runInVm({
      ...options,
      command,
      collect: false,
      signal: controller.signal,
      onOutput: (chunk, stream) =>
        void (stream === 'stdout' ? process.stdout : process.stderr).write(chunk),
      onLog: (line) => {
        if (interrupted) return;
        if (!building) status.start('building the default guest (first use)');
        building = true;
        status.log(line);
      },
      onProgress: (event, ms) => {
        if (event === 'launched' && !interrupted) status.start('booting the guest');
        if (event === 'ready') say(`guest ready in ${ms} ms, running ${command[0]}`);
      },
    });
    for (const item of result.leftovers) process.stderr.write(`vmlaunch: left behind: ${item}\n`);
    say(
      `${command[0]} exited with status ${result.status}${result.signal ? ` (${result.signal})` : ''}`,
    );
    return result.status;
  } catch (error) {
    if (interrupted) return SIGNAL_STATUS[interrupted];
    throw error;
  } finally {
    status.stop();
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}
