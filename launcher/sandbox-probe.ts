// Whether this QEMU runs under a given seccomp sandbox on this host: probed once per binary
// and policy, by starting QEMU with `-machine none -S` under the very same -sandbox and waiting
// for its QMP greeting. QEMU without seccomp support refuses the option ("-sandbox support is
// not enabled"), an older one refuses an unknown group ("Invalid parameter"), a kernel without
// seccomp filters makes the install fail, and a filter that trips at start-up kills it with
// SIGSYS: each is a SandboxUnsupportedError before the real VM is started.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { trustedCacheDir } from './cache-dir.js';
import { qmpMonitor } from './devices/qmp-monitor.js';
import { describeExit } from './errors.js';
import { silentLogger, type Logger } from './log.js';
import { resolveBinary, spawnQemu, type QemuProcess } from './process.js';
import { connectQmp, type QmpClient } from './qmp/index.js';
import { sandboxArgs, SandboxUnsupportedError, type ResolvedSandbox } from './sandbox.js';
import { SocketChannel } from './socket-channel.js';

/** How to probe. */
export interface SandboxProbeOptions {
  /** Binary name (PATH) or path; default qemu-system-x86_64. */
  qemuBinary?: string;
  policy: ResolvedSandbox;
  /** Deadline for the probe QEMU to greet (default 10 s). */
  timeout?: number;
  logger?: Logger;
  /** Where passed probes are remembered across processes (default <cacheDir>/sandbox.json),
   *  or false to probe once per process only. */
  cacheFile?: string | false;
}

/** A passed probe is trusted this long (the binary, policy and host kernel are in its key). */
const CACHE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

// The passed probes on file: key -> when. A missing or unreadable file is an empty one.
function readPassed(file: string): Record<string, number> {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    const out: Record<string, number> = {};
    for (const [key, at] of Object.entries(parsed)) if (typeof at === 'number') out[key] = at;
    return out;
  } catch {
    return {};
  }
}

// Records a passed probe (written to a temporary file, then renamed over the old one).
function rememberPassed(file: string, key: string): void {
  try {
    const passed = readPassed(file);
    passed[key] = Date.now();
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(passed));
    renameSync(tmp, file);
  } catch {
    // Not remembered: the next process probes again.
  }
}

/** Verdicts of this process: binary identity + policy -> the probe's outcome. */
const verdicts = new Map<string, Promise<void>>();

// What a verdict depends on: the binary (path, size, mtime), the exact -sandbox argument and
// the host kernel (seccomp support is the kernel's).
function verdictKey(binary: string, args: string[]): string {
  const st = statSync(binary);
  return JSON.stringify([binary, st.size, st.mtimeMs, args, release()]);
}

// One probe boot: greeting under the filter means QEMU runs with it; anything else is why not.
async function probeOnce(binary: string, args: string[], options: SandboxProbeOptions) {
  const logger = options.logger ?? silentLogger;
  const channel = new SocketChannel();
  let qemu: QemuProcess | undefined;
  try {
    qemu = await spawnQemu({
      binary,
      args: [
        ...['-machine', 'none', '-nodefaults', '-no-user-config', '-display', 'none', '-S'],
        ...args,
        ...qmpMonitor({ kind: 'inherited', childFd: 3 }).toArgs(),
      ],
      fds: [channel.childFd],
      logger,
    });
    const spawned = qemu;
    const died = new AbortController();
    void spawned.exited.then(() => died.abort());
    let qmp: QmpClient;
    try {
      qmp = await connectQmp(
        { fd: channel.handOver() },
        { connectTimeout: options.timeout ?? 10_000, signal: died.signal, logger },
      );
    } catch (error) {
      if (spawned.running) spawned.kill('SIGKILL');
      const exit = await spawned.exited;
      const reason =
        exit.signal === 'SIGSYS'
          ? 'its seccomp filter killed it while starting (SIGSYS)'
          : exit.signal === 'SIGKILL'
            ? 'it did not answer QMP under the sandbox in time'
            : `it refused to start with ${args.join(' ')} (${describeExit(exit)})`;
      throw new SandboxUnsupportedError(binary, reason, spawned.stderrTail(), { cause: error });
    }
    await qmp.quit();
    qmp.close();
    const exit = await spawned.exited;
    logger.debug({ exit }, 'sandbox probe done');
  } finally {
    if (qemu?.running) {
      qemu.kill('SIGKILL');
      await qemu.exited;
    }
    channel.close();
  }
}

/**
 * Checks once (per binary, policy and host kernel; passes are remembered in the cache dir)
 * that QEMU starts under `policy`.
 * @throws SandboxUnsupportedError with QEMU's own words when it cannot.
 * @throws LaunchError when the binary is missing or not executable.
 */
export async function probeSandbox(options: SandboxProbeOptions): Promise<void> {
  const binary = resolveBinary(options.qemuBinary ?? 'qemu-system-x86_64');
  const args = sandboxArgs(options.policy).toArgs();
  const key = verdictKey(binary, args);
  let verdict = verdicts.get(key);
  const file =
    options.cacheFile === false
      ? undefined
      : (options.cacheFile ?? join(trustedCacheDir(), 'sandbox.json'));
  if (!verdict && file) {
    const at = readPassed(file)[key];
    if (at !== undefined && Date.now() - at < CACHE_MAX_AGE_MS) {
      verdict = Promise.resolve();
      verdicts.set(key, verdict);
    }
  }
  if (!verdict) {
    verdict = probeOnce(binary, args, options).then(() => {
      if (file) rememberPassed(file, key);
    });
    verdicts.set(key, verdict);
    // A probe that could not run (e.g. EMFILE) is not a verdict: the next launch probes again.
    verdict.catch((error: unknown) => {
      if (!(error instanceof SandboxUnsupportedError)) verdicts.delete(key);
    });
  }
  return verdict;
}
