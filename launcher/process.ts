// The QEMU child process: spawned with our fds inherited at 3, 4, ..., its stderr tail kept for
// errors, its exit observed, and killed if our process dies (PR_SET_PDEATHSIG via setpriv,
// plus an exit hook for orderly exits). Node's own spawn: a long-lived child that gets fds,
// with no output to collect, is all it needs (and it keeps a CLI's start-up short).
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { Readable } from 'node:stream';
import { LaunchError, type ExitInfo } from './errors.js';
import { silentLogger, type Logger } from './log.js';
import { TextRing } from './ring-buffer.js';
import type { JailExec } from './jail.js';
import { setprivIdentityArgs, type QemuIdentity } from './run-as.js';

/** How to start QEMU. */
export interface QemuSpawnOptions {
  /** Binary name (searched in PATH) or absolute path. */
  binary: string;
  /** Arguments after the binary. */
  args: string[];
  /** Parent fds handed to the child: fds[i] becomes the child's fd 3+i. */
  fds?: number[];
  /** Kill QEMU when our process dies, even by SIGKILL (default true). */
  killOnParentDeath?: boolean;
  /** Start QEMU under this uid/gid/groups (set by setpriv before exec; needs root). */
  runAs?: QemuIdentity;
  /** Start QEMU through the jail's pre-exec helper (jail.ts); it sets ids and the death
   *  signal itself, so `runAs` and `killOnParentDeath` are not used with it. */
  jail?: JailExec;
  /** Characters of stderr kept for errors (default 8192). */
  stderrTail?: number;
  logger?: Logger;
}

const live = new Set<QemuProcess>();
let exitHookInstalled = false;

// On an orderly exit of Node, no QEMU we started may outlive us.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

// Finds the binary the way execvp would, so a missing QEMU is a clear error before spawning.
export function resolveBinary(binary: string, path = process.env.PATH ?? ''): string {
  const candidates =
    isAbsolute(binary) || binary.includes('/')
      ? [binary]
      : path
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, binary));
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch (error) {
      throw new LaunchError(
        `QEMU binary ${candidate} is not executable`,
        {
          argv: [binary],
          step: 'resolve-binary',
          code: 'QEMU_NOT_EXECUTABLE',
        },
        { cause: error },
      );
    }
  }
  throw new LaunchError(
    `QEMU binary ${binary} not found${candidates.length > 1 ? ' in PATH' : ''}; install it (Debian: apt-get install qemu-system-x86)`,
    { argv: [binary], step: 'resolve-binary', code: 'QEMU_NOT_FOUND' },
  );
}

// setpriv (util-linux) sets PR_SET_PDEATHSIG then execs QEMU: same pid, killed with us.
function deathSignalWrapper(): string | undefined {
  for (const candidate of ['/usr/bin/setpriv', '/bin/setpriv']) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** How a QemuProcess signals its child: Node's ChildProcess, whose kill() is a no-op once reaped. */
export interface ChildHandle {
  kill(signal: NodeJS.Signals): boolean;
  once(event: 'exit', listener: () => void): unknown;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
}

/** A running (or ended) QEMU process. */
export class QemuProcess {
  readonly pid: number;
  /** The full command line, binary first. */
  readonly argv: string[];
  /** Resolves once, with how the process ended; never rejects. */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private reaped = false;
  private readonly stderr: TextRing;

  constructor(
    pid: number,
    argv: string[],
    exited: Promise<ExitInfo>,
    stderr: Readable | null,
    tail: number,
    private readonly logger: Logger,
    private readonly child?: ChildHandle,
  ) {
    this.pid = pid;
    // Node reaps the child just before 'exit'; from then on its pid may be someone else's.
    if (child && (child.exitCode !== null || child.signalCode !== null)) this.reaped = true;
    else child?.once('exit', () => (this.reaped = true));
    this.argv = argv;
    this.stderr = new TextRing(tail);
    stderr?.setEncoding('utf8');
    stderr?.on('data', (chunk: string) => {
      this.stderr.append(chunk);
      logger.debug({ stderr: chunk.trimEnd() }, 'qemu stderr');
    });
    this.exited = exited.then((info) => {
      this.exitInfo = info;
      live.delete(this);
      logger.debug({ exit: info }, 'qemu exited');
      return info;
    });
  }

  /** True until the exit has been observed. */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** How it ended, once it has. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** The last characters QEMU wrote to stderr. */
  stderrTail(): string {
    return this.stderr.tail(Number.MAX_SAFE_INTEGER);
  }

  // Signals the child through its handle, only until it is reaped (never a recycled pid: the
  // flag is set at 'exit', before which Node's handle is the only way to the pid).
  kill(signal: NodeJS.Signals = 'SIGKILL'): boolean {
    if (!this.running || this.reaped || this.child === undefined) return false;
    let sent: boolean;
    try {
      sent = this.child.kill(signal);
    } catch {
      return false;
    }
    if (sent) this.logger.debug({ signal }, 'signalled qemu');
    return sent;
  }
}

// Spawns QEMU and resolves once the kernel has started it; a failure to start is a LaunchError.
export async function spawnQemu(options: QemuSpawnOptions): Promise<QemuProcess> {
  const logger = options.logger ?? silentLogger;
  const binary = resolveBinary(options.binary);
  const argv = [binary, ...options.args];
  const deathSignal = options.killOnParentDeath !== false && !options.jail;
  const wrapper = deathSignal || options.runAs ? deathSignalWrapper() : undefined;
  if (options.runAs && !wrapper) {
    throw new LaunchError('runAs needs setpriv (util-linux) to start QEMU under another uid', {
      argv,
      step: 'spawn',
      code: 'SETPRIV_MISSING',
    });
  }
  // setpriv changes the ids first and sets the death signal after them (a uid change would
  // clear it: prctl(2) PR_SET_PDEATHSIG), then execs QEMU: same pid.
  const wrapperArgs = [
    ...(options.runAs ? setprivIdentityArgs(options.runAs) : []),
    ...(deathSignal ? ['--pdeathsig', 'SIGKILL'] : []),
  ];
  const [file, args] = options.jail
    ? [options.jail.file, [...options.jail.args, '--', ...argv]]
    : wrapper
      ? [wrapper, [...wrapperArgs, '--', ...argv]]
      : [binary, options.args];
  const child = spawn(file, args, {
    ...(options.jail ? { env: { ...process.env, ...options.jail.env } } : {}),
    stdio: ['ignore', 'ignore', 'pipe', ...(options.fds ?? [])],
    // Its own process group: a Ctrl-C at the terminal reaches us, and we stop QEMU by the
    // ladder, instead of the terminal killing QEMU directly. Our exit hook and the death signal
    // still take it down with us.
    detached: true,
    windowsHide: true,
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    // 'close', not 'exit': by then stderr has been read to its end, so the tail is complete.
    child.once('close', (code, signal) => resolve({ code, signal }));
    // A child that never started has no exit event; its error is reported below.
    child.once('error', () => {
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (error) =>
      reject(new LaunchError(`cannot start ${binary}`, { argv, step: 'spawn' }, { cause: error })),
    );
  });
  if (child.pid === undefined)
    throw new LaunchError(`cannot start ${binary}`, { argv, step: 'spawn' });
  logger.debug({ pid: child.pid, argv }, 'qemu spawned');
  const qemu = new QemuProcess(
    child.pid,
    argv,
    exited,
    child.stderr,
    options.stderrTail ?? 8192,
    logger,
    child,
  );
  live.add(qemu);
  installExitHook();
  return qemu;
}
