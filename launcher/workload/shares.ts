// The shares of one VM at run time: one supervised virtiofsd each (socket in the VM's run
// directory), the connected fds QEMU inherits, and the way down, after QEMU.
//
// When a virtiofsd dies while QEMU runs, QEMU 7.2 keeps running (it prints "Unexpected
// end-of-file before all data were read"; vhost-user-fs has no reconnect) and guest accesses to
// that share block forever. vmlaunch does not stop the VM for it (the rest of the guest still
// works and the caller may want its console or other shares): the share turns 'failed', emits
// 'failed' with a ShareError carrying virtiofsd's stderr, resolves `failure`, and logs an error.
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeAll, closeFd, pidfdExited, pidfdOpen, pidfdSignal } from '../../native/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeExit, type ExitInfo } from '../errors.js';
import type { Logger } from '../log.js';
import type { QemuProcess } from '../process.js';
import { readOnlyView } from './share-mounts.js';
import type { ResolvedShare } from './share-spec.js';
import { ShareError, startVirtiofsd, type StartedVirtiofsd } from './virtiofsd.js';

// A deadline for a race is unref'd, so a deadline nobody waits for any more (the race was won)
// does not keep the process alive (`vmlaunch run` exited 500 ms late after every VM).
const UNREF = { ref: false } as const;

/** Where a share's daemon is in its life. */
export type ShareState = 'running' | 'stopped' | 'failed';

/** A share of a running VM: its daemon (pid, argv), and its failure as event and promise. */
export class RunningShare extends EventEmitter<{ failed: [ShareError] }> {
  readonly id: string;
  readonly tag: string;
  readonly hostPath: string;
  readonly mount: string | undefined;
  readonly readOnly: boolean;
  /** virtiofsd's pid. */
  readonly pid: number;
  /** virtiofsd's argv, binary first, exactly as spawned. */
  readonly argv: readonly string[];
  readonly socketPath: string;
  /** QEMU ids of its device and of the chardev on the fd we connected (`-chardev socket,id=
   *  <chardevId>,fd=N`): a script replaying the argv swaps `fd=N` for `path=<socketPath>`. */
  readonly deviceId: string;
  readonly chardevId: string;
  /** Resolves with a ShareError if virtiofsd dies while the VM runs; pending otherwise. */
  readonly failure: Promise<ShareError>;
  private currentState: ShareState = 'running';
  private failedWith: ShareError | undefined;
  private stopping = false;
  private qemuExited: Promise<unknown> | undefined;

  constructor(
    share: ResolvedShare,
    private readonly daemon: StartedVirtiofsd,
    socketPath: string,
    private readonly logger: Logger,
  ) {
    super();
    this.id = share.id;
    this.tag = share.tag;
    this.hostPath = share.hostPath;
    this.mount = share.mount;
    this.readOnly = share.readOnly;
    this.pid = daemon.process.pid;
    this.argv = daemon.argv;
    this.socketPath = socketPath;
    this.deviceId = `fs-${share.id}`;
    this.chardevId = `chr-fs-${share.id}`;
    this.failure = new Promise((resolve) => this.once('failed', resolve));
    void daemon.process.exited.then((exit) => this.onExit(exit));
  }

  get state(): ShareState {
    return this.currentState;
  }

  /** Why the share failed, once it has. */
  get error(): ShareError | undefined {
    return this.failedWith;
  }

  /** The daemon's exit, once observed. */
  get exited(): Promise<ExitInfo> {
    return this.daemon.process.exited;
  }

  /** @internal Our connected fd of the daemon's socket, which QEMU inherits. */
  fdForQemu(): number {
    return this.daemon.fd;
  }

  /** @internal Closes our copy once QEMU holds its own (else virtiofsd outlives its hang-up). */
  releaseQemuEnd(): void {
    this.daemon.connection.destroy();
  }

  // From now on an exit is judged against QEMU's: after QEMU's end it is the normal hang-up.
  watchQemu(qemu: QemuProcess): void {
    this.qemuExited = qemu.exited;
  }

  // Stops the daemon (SIGTERM, then SIGKILL) and waits for it and its sandboxed child.
  async stop(termTimeoutMs = 2000): Promise<void> {
    this.stopping = true;
    this.daemon.connection.destroy();
    const { process: daemon } = this.daemon;
    // Held by pidfd, taken while the daemon (their parent) is surely alive: signals through
    // them can never reach a process that got a reused pid.
    const children = daemon.running ? childPidfds(this.pid) : [];
    if (daemon.running) {
      daemon.kill('SIGTERM');
      const ended = await Promise.race([
        daemon.exited.then(() => true),
        sleep(termTimeoutMs, false, UNREF),
      ]);
      if (!ended) daemon.kill('SIGKILL');
    }
    // The workers first: one that outlives the daemon keeps its stderr open, and `exited`
    // (stderr read to its end) would wait for it forever.
    await reapOrKill(children, termTimeoutMs);
    await daemon.exited;
    if (this.currentState === 'running') this.currentState = 'stopped';
  }

  private async onExit(exit: ExitInfo): Promise<void> {
    if (this.stopping) return;
    // QEMU's exit closes the connection and virtiofsd ends by itself: both exits may be seen
    // in either order, so QEMU gets a moment to be seen gone.
    const qemuGone =
      this.qemuExited !== undefined &&
      (await Promise.race([this.qemuExited.then(() => true), sleep(500, false, UNREF)]));
    if (this.stopping || qemuGone) {
      this.currentState = 'stopped';
      return;
    }
    const error = new ShareError(
      `share '${this.tag}': virtiofsd (pid ${this.pid}) ended while the VM ran ` +
        `(${describeExit(exit)}); guest accesses to ${this.mount ?? 'the share'} now block`,
      {
        tag: this.tag,
        argv: [...this.argv],
        exit,
        stderrTail: this.daemon.process.stderrTail(),
        code: 'VIRTIOFSD_DIED',
      },
    );
    this.failedWith = error;
    this.currentState = 'failed';
    this.logger.error({ err: error, share: this.tag }, 'virtiofsd died');
    this.emit('failed', error);
  }
}

/** The shares of one launch, before and after QEMU takes its ends. */
export interface ShareSet {
  shares: RunningShare[];
  /** Per share (same order), our connected fd QEMU inherits for its chardev. */
  fds: number[];
  /** After QEMU is spawned: close our copies of its fds and watch QEMU's exit. */
  handOver(qemu: QemuProcess): void;
}

// Starts one virtiofsd per share, in order; each step's undo goes on `undo` as it is made.
/**
 * @throws ShareError (VIRTIOFSD_EXITED with its stderr, VIRTIOFSD_NOT_FOUND, ...) or a
 *   NativeError of a read-only bind mount; what was made is undone by `undo`.
 */
export async function startShares(
  shares: readonly ResolvedShare[],
  runDir: string,
  undo: { push(name: string, fn: () => void | Promise<void>): void },
  logger: Logger,
  binary?: string,
): Promise<ShareSet> {
  const running: RunningShare[] = [];
  for (const share of shares) {
    let source = share.hostPath;
    if (share.readOnly) {
      const view = readOnlyView(share.hostPath, runDir, share.index);
      undo.push(`unmount read-only view of share ${share.tag}`, () => view.remove());
      source = view.path;
    }
    const socketPath = join(runDir, `vfs${share.index}.sock`);
    const log = logger.child({ share: share.tag });
    const daemon = await startVirtiofsd(
      share.tag,
      { socketPath, source, ...(binary ? { binary } : {}) },
      log,
    );
    const handle = new RunningShare(share, daemon, socketPath, log);
    undo.push(`stop virtiofsd of share ${share.tag}`, () => handle.stop());
    running.push(handle);
    log.debug({ pid: handle.pid, argv: handle.argv }, 'virtiofsd listening');
  }
  return {
    shares: running,
    fds: running.map((s) => s.fdForQemu()),
    handOver(qemu) {
      for (const share of running) {
        share.watchQemu(qemu);
        share.releaseQemuEnd();
      }
    },
  };
}

// pidfds of our direct children of `pid` (virtiofsd's sandboxed worker), from /proc; a pid is
// kept only if it is still `pid`'s child once its pidfd is open (so the pidfd is that child).
function childPidfds(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || parentOf(entry) !== pid) continue;
    let pidfd: number;
    try {
      pidfd = pidfdOpen(Number(entry));
    } catch {
      continue; // gone meanwhile
    }
    if (parentOf(entry) === pid) out.push(pidfd);
    else closeFd(pidfd);
  }
  return out;
}

// The parent pid in /proc/PID/stat, or undefined once the process is gone.
function parentOf(entry: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

// Waits for the pidfds' processes to exit (PR_SET_PDEATHSIG ends them with their parent), then
// SIGKILLs the rest through their pidfds, and closes them.
async function reapOrKill(pidfds: number[], timeoutMs: number): Promise<void> {
  try {
    const deadline = Date.now() + timeoutMs;
    while (pidfds.some((fd) => !pidfdExited(fd)) && Date.now() < deadline) await sleep(10);
    for (const fd of pidfds) pidfdSignal(fd, 'SIGKILL');
    // SIGKILL is not refused; the exit follows within moments (bounded, to never hang stop()).
    const killed = Date.now() + 1000;
    while (pidfds.some((fd) => !pidfdExited(fd)) && Date.now() < killed) await sleep(5);
  } finally {
    closeAll(pidfds);
  }
}
