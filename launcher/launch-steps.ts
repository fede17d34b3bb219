// The helpers of launch(): options -> VmConfig, boot-file checks, and the QMP handshake that
// races QEMU's exit.
import { accessSync, constants, existsSync, lstatSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname } from 'node:path';
import { ValidationError } from '../core/index.js';
import type { MachineTemplate } from '../qemu-templates/index.js';
import type { Accel } from './devices/machine-args.js';
import { LaunchError } from './errors.js';
import type { LaunchDeps, LaunchOptions } from './launch-options.js';
import type { Logger } from './log.js';
import type { QemuProcess } from './process.js';
import { QmpTimeoutError, type QmpClient } from './qmp/index.js';
import { resolveSandbox } from './sandbox.js';
import { tcgClockArgs } from './tcg-clock.js';
import type { VmConfig } from './vm-config.js';

/** The fds of the QMP and console socketpair ends QEMU gets. */
export interface ChannelFds {
  qmp: number;
  console: number;
}

// The config is checked before any socketpair exists; the builder only checks fd numbers for
// shape, so these stand in for the channels' fds there (never opened, never handed to QEMU).
export const STAND_IN_CHANNELS: ChannelFds = { qmp: 3, console: 4 };

// LaunchOptions -> the command builder's VmConfig, for `template` (options' machine, resolved
// once by the caller).
export function vmConfig(
  options: LaunchOptions,
  template: MachineTemplate,
  accel: Accel,
  channels: ChannelFds,
  vhostUser: boolean,
): VmConfig {
  const sandbox = resolveSandbox(options.sandbox);
  return {
    ...(options.qemu ? { qemu: options.qemu } : {}),
    machine: {
      template: options.template ?? 'q35',
      ...(options.templateOverrides ? { overrides: options.templateOverrides } : {}),
    },
    accel,
    ...(options.cpu ? { cpu: options.cpu } : {}),
    cpus: options.cpus ?? 1,
    memory: { sizeMiB: options.memoryMiB ?? 512, shared: options.sharedMemory ?? vhostUser },
    boot: {
      kernel: options.kernel,
      ...(options.initrd ? { initrd: options.initrd } : {}),
      cmdline: [...tcgClockArgs(template, accel).args, ...(options.cmdline ?? [])],
    },
    qmp: { fd: channels.qmp },
    console: { kind: 'fd', fd: channels.console },
    ...(options.paused ? { paused: true } : {}),
    ...(sandbox ? { sandbox } : {}),
  };
}

// A boot file that is missing or unreadable is a config error, found before QEMU is spawned.
export function checkReadable(path: string, field: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ValidationError(field, path, `cannot read the file (${code})`, 'FILE');
  }
}

// A console log must be appendable (its directory exists and is writable) and, when it exists,
// a regular file (console-log.ts opens it without following symlinks), found before spawning.
export function checkLogWritable(path: string, field: string): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st !== undefined && !st.isFile()) {
    const what = st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
    throw new ValidationError(field, path, `is ${what}; refused`, 'CONSOLE_LOG_UNSAFE');
  }
  try {
    accessSync(existsSync(path) ? path : dirname(path), constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ValidationError(field, path, `cannot write the log file there (${code})`, 'FILE');
  }
}

// Config errors, subclasses included (a missing netns), keep their own type (code + field path).
export function isValidation(error: unknown): boolean {
  return error instanceof ValidationError;
}

// Negotiates QMP, but fails at once (with QEMU's exit) if QEMU dies before greeting (T2), and
// after the deadline if it never greets (T3); the caller's `signal` ends it too (T27). Fault
// ids: docs/faults.md.
export async function connectBeforeExit(
  deps: LaunchDeps,
  fd: number,
  qemu: QemuProcess,
  timeout: number,
  logger: Logger,
  signal?: AbortSignal,
): Promise<QmpClient> {
  const controller = new AbortController();
  const died = qemu.exited.then((exit) => {
    controller.abort();
    return exit;
  });
  const either = signal ? AbortSignal.any([controller.signal, signal]) : controller.signal;
  try {
    return await deps.connectQmp({ fd }, { connectTimeout: timeout, signal: either, logger });
  } catch (error) {
    if (signal?.aborted) {
      throw new LaunchError(
        'launch aborted during the QMP handshake',
        { argv: qemu.argv, step: 'qmp-connect', stderrTail: qemu.stderrTail(), code: 'ABORTED' },
        { cause: error },
      );
    }
    // The socket's EOF can arrive before Node has seen the exit: give the exit a moment (the
    // timer is unref'd: once the exit won, it does not hold the process).
    const exit = await Promise.race([died, sleep(1000, undefined, { ref: false })]);
    if (exit !== undefined) {
      // SIGSYS is the seccomp filter's verdict (-sandbox): a call QEMU made is denied.
      const sandboxed = exit.signal === 'SIGSYS';
      throw new LaunchError(
        sandboxed
          ? 'QEMU was killed by its seccomp sandbox before QMP was ready (a denied system call)'
          : 'QEMU exited before QMP was ready',
        {
          argv: qemu.argv,
          step: 'qmp-connect',
          exit,
          stderrTail: qemu.stderrTail(),
          code: sandboxed ? 'SANDBOX_KILLED' : 'QEMU_EXITED',
        },
        { cause: error },
      );
    }
    const timedOut =
      error instanceof QmpTimeoutError ||
      (error instanceof Error && error.cause instanceof QmpTimeoutError);
    throw new LaunchError(
      timedOut
        ? `QEMU did not complete the QMP handshake within ${timeout} ms`
        : `the QMP handshake failed: ${(error as Error).message}`,
      {
        argv: qemu.argv,
        step: 'qmp-connect',
        stderrTail: qemu.stderrTail(),
        code: timedOut ? 'QMP_TIMEOUT' : 'QMP_CONNECT',
      },
      { cause: error },
    );
  }
}
