// One virtiofsd (the C daemon Debian's qemu-system-common ships, QEMU 7.2) per share: its argv,
// its start (spawned like QEMU: own process group, killed with us), the wait for its socket,
// and the connection we make to it and hand to QEMU as a chardev fd.
//
// virtiofsd 7.2 facts (`/usr/lib/qemu/virtiofsd --help`, tools/virtiofsd): `--socket-path=P`
// listens there and accepts exactly one connection (`--fd=N` wants a *listening* socket, so a
// socketpair cannot replace it); `-o source=DIR`; `-o cache=auto|always|none`;
// `-o sandbox=namespace` (default: pid, mount and net namespaces, pivot_root into DIR; its
// seccomp filter is always on); `--thread-pool-size=N`. There is no read-only option
// ("fuse: unknown option(s): `-o readonly'"): read-only shares are enforced by a read-only bind
// mount (share-mounts.ts). When its vhost-user peer hangs up, it exits by itself (status 0).
// `-o` values are split on ',' by fuse_opt, which takes '\,' and '\\' as literals.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type Socket } from 'node:net';
import { VmlaunchError } from '../../core/index.js';
import { describeExit, type ExitInfo } from '../errors.js';
import type { Logger } from '../log.js';
import { spawnQemu, type QemuProcess } from '../process.js';

/** Where Debian's qemu-system-common installs the C virtiofsd. */
export const VIRTIOFSD_PATH = '/usr/lib/qemu/virtiofsd';

/** How a virtiofsd is run. */
export interface VirtiofsdOptions {
  binary?: string;
  socketPath: string;
  /** The directory it serves (absolute). */
  source: string;
  /** Guest caching of metadata and data: virtiofsd's default, auto. */
  cache?: 'auto' | 'always' | 'none';
  threadPoolSize?: number;
}

/** A share's daemon failed: at start (the launch fails) or while the VM ran (an event). */
export class ShareError extends VmlaunchError {
  readonly tag: string;
  readonly argv: string[];
  readonly exit: ExitInfo | undefined;
  /** The last lines virtiofsd wrote to stderr. */
  readonly stderrTail: string;

  constructor(
    message: string,
    fields: { tag: string; argv: string[]; exit?: ExitInfo; stderrTail: string; code: string },
  ) {
    const tail = fields.stderrTail.trim();
    super(`${message}${tail ? `\nvirtiofsd said:\n${tail}` : ''}`, fields.code);
    this.tag = fields.tag;
    this.argv = fields.argv;
    this.exit = fields.exit;
    this.stderrTail = fields.stderrTail;
  }
}

// fuse_opt splits -o values on ',' and reads '\' as an escape: both are escaped.
export function escapeFuseOpt(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll(',', '\\,');
}

// The daemon's argv, binary first: the same array is spawned and shown on the Vm.
export function virtiofsdArgv(options: VirtiofsdOptions): string[] {
  return [
    options.binary ?? VIRTIOFSD_PATH,
    `--socket-path=${options.socketPath}`,
    '-o',
    `source=${escapeFuseOpt(options.source)}`,
    '-o',
    `cache=${options.cache ?? 'auto'}`,
    '-o',
    'sandbox=namespace',
    ...(options.threadPoolSize !== undefined
      ? [`--thread-pool-size=${options.threadPoolSize}`]
      : []),
  ];
}

/** A started virtiofsd and our connection to it (whose fd QEMU inherits). */
export interface StartedVirtiofsd {
  process: QemuProcess;
  argv: string[];
  /** Our connected end of its socket; `fd` is what QEMU gets. Destroy it once QEMU has it. */
  connection: Socket;
  fd: number;
}

// Spawns virtiofsd and connects to its socket; its exit first is a ShareError with its stderr.
/**
 * @throws ShareError VIRTIOFSD_NOT_FOUND, VIRTIOFSD_EXITED (exited before listening, with its
 *   stderr) or VIRTIOFSD_TIMEOUT; nothing is left running when it throws.
 */
export async function startVirtiofsd(
  tag: string,
  options: VirtiofsdOptions,
  logger: Logger,
  timeoutMs = 10_000,
): Promise<StartedVirtiofsd> {
  const argv = virtiofsdArgv(options);
  if (!existsSync(argv[0]!)) {
    throw new ShareError(
      `share '${tag}': ${argv[0]} not found; install it (Debian: apt-get install qemu-system-common)`,
      { tag, argv, stderrTail: '', code: 'VIRTIOFSD_NOT_FOUND' },
    );
  }
  const daemon = await spawnQemu({ binary: argv[0]!, args: argv.slice(1), logger });
  try {
    const connection = await connectWhenListening(daemon, options.socketPath, timeoutMs);
    const fd = (connection as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) {
      connection.destroy();
      throw new Error('the connected socket has no file descriptor');
    }
    return { process: daemon, argv, connection, fd };
  } catch (error) {
    daemon.kill('SIGKILL');
    const exit = await daemon.exited;
    if (error instanceof ShareError) throw error;
    const exitedFirst = error === EXITED;
    throw new ShareError(
      exitedFirst
        ? `share '${tag}': virtiofsd exited before it listened (${describeExit(exit)})`
        : `share '${tag}': virtiofsd did not accept a connection: ${(error as Error).message}`,
      {
        tag,
        argv,
        stderrTail: daemon.stderrTail(),
        code: exitedFirst ? 'VIRTIOFSD_EXITED' : 'VIRTIOFSD_TIMEOUT',
        ...(exitedFirst ? { exit } : {}),
      },
    );
  }
}

const EXITED = new Error('virtiofsd exited');

// Connects (paused: no byte of the vhost-user stream is ever read here) once the daemon
// listens; it binds before it listens, so ENOENT/ECONNREFUSED are retried until the deadline.
async function connectWhenListening(
  daemon: QemuProcess,
  socketPath: string,
  timeoutMs: number,
): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!daemon.running) throw EXITED;
    const socket = await tryConnect(socketPath);
    if (socket) return socket;
    if (Date.now() > deadline)
      throw new Error(`no listener on ${socketPath} within ${timeoutMs} ms`);
    const exited = await Promise.race([daemon.exited.then(() => true), sleep(10, false)]);
    if (exited) throw EXITED;
  }
}

// One connect attempt: the socket, or undefined while nobody listens yet.
function tryConnect(socketPath: string): Promise<Socket | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath });
    socket.pause();
    const onError = (error: NodeJS.ErrnoException): void => {
      socket.destroy();
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolve(undefined);
      else reject(error);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      // Errors after the hand-over (EOF when QEMU and virtiofsd part) are not ours to report.
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}
