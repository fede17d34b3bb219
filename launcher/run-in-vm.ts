// runInVm(): one call that boots a microVM, runs the caller's command in it with its argv
// intact, streams its stdout and stderr apart as they come, and always stops the VM and removes
// what it made (on success, failure, abort and deadline alike).
import { randomBytes } from 'node:crypto';
import { AbortError, TimeoutError, VmlaunchError } from '../core/index.js';
import { quickGuestImage } from './guest-cache.js';
import { GUEST_READY_MARKER } from './guest-shell.js';
import { launch, type LaunchOptions } from './launch.js';
import {
  buildRunScript,
  FrameDecoder,
  validateRunScript,
  type OutputStream,
} from './run-script.js';
import type { Vm } from './vm.js';

/** What to run and where: launch options (kernel and initrd default to the default guest). */
export type RunInVmOptions = Omit<LaunchOptions, 'kernel' | 'signal'> & {
  /** Guest kernel; default the default guest (whose init speaks the console harness). */
  kernel?: string;
  /** The command and its arguments, exec'd in the guest as they are. */
  command: string[];
  /** Working directory in the guest. */
  cwd?: string;
  /** Environment variables for the command. */
  env?: Record<string, string>;
  /** Each piece of the command's output as it arrives, with the stream it came from. */
  onOutput?: (chunk: Buffer, stream: OutputStream) => void;
  /** Milestones with the ms since the call: 'launched' (QEMU up), 'ready' (guest), 'ended'. */
  onProgress?: (event: 'launched' | 'ready' | 'ended', ms: number) => void;
  /** The default guest's build log, line by line, when this call has to build it first. */
  onLog?: (line: string) => void;
  /** Keep the output in the result (default true; false for output too big to hold). */
  collect?: boolean;
  /** Deadline in ms for the whole run, boot included; default none. */
  timeout?: number;
  /** Deadline in ms for the guest's ready marker (default 60 s). */
  readyTimeout?: number;
  signal?: AbortSignal;
};

/** How the command ended and what it printed. */
export interface RunResult {
  /** Its exit status; 128+n when a signal killed it (as a shell reports it). */
  status: number;
  /** The signal's name when status is 128+n for a known signal (a shell cannot tell that apart
   *  from a command that exits 128+n itself). */
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
  /** Boot (launch to ready marker) and command times in ms. */
  timings: { bootMs: number; commandMs: number };
  /** What the VM's cleanup could not remove (empty when nothing was left behind). */
  leftovers: string[];
}

/** The guest could not mount a drive or share it was given (its init said so). */
export class GuestMountError extends VmlaunchError {
  constructor(lines: string[]) {
    super(`the guest could not mount what it was given:\n${lines.join('\n')}`, 'GUEST_MOUNT');
  }
}

const SIGNALS: Record<number, NodeJS.Signals> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  6: 'SIGABRT',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
};

// The launch options of a run's VM: the default guest unless a kernel is given, and the console
// harness on (benchmarks launch the very same VM with them).
/** @throws VmlaunchError GUEST_BUILD when the default guest cannot be built. */
export async function runLaunchOptions(
  options: Omit<RunInVmOptions, 'command'>,
  signal?: AbortSignal,
): Promise<LaunchOptions> {
  const {
    cwd: _cwd,
    env: _env,
    onOutput: _onOutput,
    onProgress: _onProgress,
    onLog,
    collect: _collect,
    timeout: _timeout,
    readyTimeout: _readyTimeout,
    signal: _signal,
    ...rest
  } = options;
  let { kernel, initrd } = rest;
  if (kernel === undefined) {
    const guest = await quickGuestImage({
      ...(signal ? { signal } : {}),
      ...(onLog ? { onLog } : {}),
    });
    kernel = guest.kernel;
    initrd ??= guest.initrd;
  }
  const cmdline = [...(rest.cmdline ?? []), 'vmlaunch.console=harness'];
  return { ...rest, kernel, ...(initrd ? { initrd } : {}), cmdline };
}

/**
 * Boots a VM, runs `command` in it and returns its status and output; the VM is always stopped.
 * @throws VmlaunchError RUN_INVALID (bad command/env, before anything starts), ValidationError
 *   and LaunchError (from launch), GuestMountError, TimeoutError (the deadline), AbortError,
 *   ConsoleClosedError (QEMU died while the command ran).
 */
export async function runInVm(options: RunInVmOptions): Promise<RunResult> {
  const {
    command,
    cwd,
    env,
    onOutput,
    onProgress,
    collect = true,
    timeout,
    readyTimeout,
    ...rest
  } = options;
  validateRunScript({ command, ...(cwd !== undefined ? { cwd } : {}), ...(env ? { env } : {}) });
  const started = performance.now();
  const since = (): number => Math.round(performance.now() - started);
  const deadline = new AbortController();
  const timer =
    timeout === undefined
      ? undefined
      : setTimeout(
          () => deadline.abort(new TimeoutError(`the run did not finish within ${timeout} ms`)),
          timeout,
        );
  const signal = options.signal
    ? AbortSignal.any([options.signal, deadline.signal])
    : deadline.signal;
  let vm: Vm | undefined;
  try {
    vm = await launch({ ...(await runLaunchOptions(rest, signal)), signal });
    // A share whose virtiofsd dies leaves the guest's accesses to it blocked: end the run.
    for (const share of vm.shares) {
      void share.failure.then((error) => deadline.abort(error));
    }
    onProgress?.('launched', since());
    const ready = await vm.console.waitFor(GUEST_READY_MARKER, {
      timeout: readyTimeout ?? 60_000,
      signal,
    });
    const mountFailures = vm.console
      .since(0)
      .slice(0, ready.index)
      .split(/\r?\n/)
      .filter((l) => /vmlaunch-guest: mount .* failed/.test(l));
    if (mountFailures.length > 0) throw new GuestMountError(mountFailures);
    const bootMs = since();
    onProgress?.('ready', bootMs);

    const tag = `V${randomBytes(4).toString('hex')}`;
    const kept: Record<OutputStream, Buffer[]> = { stdout: [], stderr: [] };
    const decoder = new FrameDecoder(
      tag,
      (chunk, stream) => {
        if (collect) kept[stream].push(chunk);
        onOutput?.(chunk, stream);
      },
      (line) => vm?.logger.debug({ line }, 'guest console line outside the frames'),
    );
    const script = buildRunScript({
      command,
      tag,
      ...(cwd !== undefined ? { cwd } : {}),
      ...(env ? { env } : {}),
    });
    const status = await vm.guest.stream(script, { onOutput: (t) => decoder.push(t), signal });
    decoder.end();
    const commandMs = since() - bootMs;
    onProgress?.('ended', since());
    const signalName = status > 128 ? SIGNALS[status - 128] : undefined;
    await vm.shutdown({ timeout: 0 });
    return {
      status,
      ...(signalName ? { signal: signalName } : {}),
      stdout: Buffer.concat(kept.stdout).toString(),
      stderr: Buffer.concat(kept.stderr).toString(),
      timings: { bootMs, commandMs },
      leftovers: vm.leftovers.map((e) => e.message),
    };
  } catch (error) {
    // The deadline's own error (or a share's failure), not the abort it caused deeper down.
    if (deadline.signal.aborted && !options.signal?.aborted) throw deadline.signal.reason as Error;
    if (options.signal?.aborted && !(error instanceof VmlaunchError))
      throw new AbortError('the run was aborted', { cause: error });
    throw error;
  } finally {
    clearTimeout(timer);
    // The guest synced its disks before the end marker: QEMU's quit flushes the rest.
    if (vm) await vm.shutdown({ timeout: 0 });
  }
}
