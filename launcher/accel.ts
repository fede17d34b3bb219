// Chooses the accelerator: KVM only if a probe boot really runs a guest kernel here within a
// deadline, else TCG — always with the reason. On these hosts /dev/kvm exists but is nested
// PVM, and a stock kernel hangs under it with no console output (DESIGN.md, measured).
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { cacheDir } from './cache-dir.js';
import { SerialConsole } from './console.js';
import { describeExit } from './errors.js';
import { silentLogger, type Logger } from './log.js';
import { resolveBinary, spawnQemu } from './process.js';
import { SocketChannel } from './socket-channel.js';

export type Accelerator = 'kvm' | 'tcg';

/** The verdict and why. */
export interface AcceleratorChoice {
  accel: Accelerator;
  reason: string;
  /** How long the probe boot took (absent when no probe ran). */
  probeMs?: number;
  /** True when the verdict came from the cache file. */
  cached: boolean;
}

/** How to probe. */
export interface AcceleratorProbeOptions {
  /** A guest kernel to boot (without initrd: it panics at the root mount, and QEMU exits). */
  kernel: string;
  qemuBinary?: string;
  /** How long the probe boot may take under KVM (default 20 s). */
  deadlineMs?: number;
  /** Cache file, or false to always probe. Default: <cacheDir>/accel.json. */
  cacheFile?: string | false;
  /** Verdicts older than this are probed again (default 7 days). */
  maxAgeMs?: number;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

interface CacheEntry {
  key: string;
  at: number;
  choice: Omit<AcceleratorChoice, 'cached'>;
}

// A cheap pre-check: is /dev/kvm there and can we open it read-write?
export function kvmDeviceProblem(path = '/dev/kvm'): string | undefined {
  try {
    closeSync(openSync(path, constants.O_RDWR));
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return code === 'ENOENT' ? `${path} does not exist` : `cannot open ${path} (${code})`;
  }
}

// What a verdict depends on: the QEMU binary, the kernel, the host kernel.
function cacheKey(qemu: string, kernel: string): string {
  const q = statSync(qemu);
  const k = statSync(kernel);
  const parts = [qemu, q.size, q.mtimeMs, kernel, k.size, k.mtimeMs, release()];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

function readCache(file: string, key: string, maxAgeMs: number): CacheEntry | undefined {
  try {
    const entry = JSON.parse(readFileSync(file, 'utf8')) as CacheEntry;
    if (entry.key === key && Date.now() - entry.at < maxAgeMs) return entry;
  } catch {
    // No cache or an unreadable one: probe again.
  }
  return undefined;
}

// Boots `kernel` under KVM with no initrd: a working KVM reaches the root-mount panic and, with
// panic=-1 and -no-reboot, QEMU exits 0. Silence until the deadline means KVM cannot run it.
export async function probeKvmBoot(
  options: AcceleratorProbeOptions,
): Promise<Omit<AcceleratorChoice, 'cached'>> {
  const deadline = options.deadlineMs ?? 20_000;
  const logger = options.logger ?? silentLogger;
  const channel = new SocketChannel();
  const started = Date.now();
  try {
    const qemu = await spawnQemu({
      binary: options.qemuBinary ?? 'qemu-system-x86_64',
      args: [
        ...['-machine', 'q35', '-accel', 'kvm', '-cpu', 'host', '-m', '256', '-smp', '1'],
        ...['-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot'],
        ...['-chardev', 'socket,id=probe,fd=3', '-serial', 'chardev:probe'],
        ...['-kernel', options.kernel, '-append', 'console=ttyS0 panic=-1 loglevel=4'],
      ],
      fds: [channel.childFd],
      logger,
    });
    channel.releaseChild();
    const console = new SerialConsole(channel.open());
    const timer = setTimeout(() => qemu.kill('SIGKILL'), deadline);
    const exit = await qemu.exited;
    clearTimeout(timer);
    const probeMs = Date.now() - started;
    const printed = console.since(0);
    await console.close();
    if (exit.code === 0 && /Linux version/.test(printed)) {
      return { accel: 'kvm', reason: `a probe boot under KVM finished in ${probeMs} ms`, probeMs };
    }
    if (exit.signal === 'SIGKILL' && probeMs >= deadline) {
      const what = printed.trim() === '' ? 'printed nothing' : 'did not finish booting';
      return {
        accel: 'tcg',
        reason: `a probe boot under KVM ${what} within ${deadline} ms (KVM here cannot run this kernel, e.g. nested PVM); using TCG`,
        probeMs,
      };
    }
    const said = qemu.stderrTail().trim().split('\n').slice(-2).join(' ');
    return {
      accel: 'tcg',
      reason: `QEMU could not boot under KVM (${describeExit(exit)}${said ? `: ${said}` : ''}); using TCG`,
      probeMs,
    };
  } finally {
    channel.close();
  }
}

// Probes running now, by cache file and key: callers that miss the cache together await one.
const probesInFlight = new Map<string, Promise<Omit<AcceleratorChoice, 'cached'>>>();

/**
 * Picks KVM or TCG for this host, probing once and caching the verdict.
 * $VMLAUNCH_ACCEL=kvm|tcg forces a choice.
 * @throws LaunchError when the QEMU binary is missing.
 */
export async function chooseAccelerator(
  options: AcceleratorProbeOptions,
): Promise<AcceleratorChoice> {
  const env = options.env ?? process.env;
  const forced = env.VMLAUNCH_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') {
    return { accel: forced, reason: `forced by VMLAUNCH_ACCEL=${forced}`, cached: false };
  }
  const problem = kvmDeviceProblem();
  if (problem) return { accel: 'tcg', reason: `${problem}; using TCG`, cached: false };

  const qemu = resolveBinary(options.qemuBinary ?? 'qemu-system-x86_64');
  const file =
    options.cacheFile === false
      ? undefined
      : (options.cacheFile ?? join(cacheDir(env), 'accel.json'));
  const key = cacheKey(qemu, options.kernel);
  const hit = file ? readCache(file, key, options.maxAgeMs ?? 7 * 24 * 3600 * 1000) : undefined;
  if (hit) return { ...hit.choice, cached: true };

  if (!file) return { ...(await probeKvmBoot({ ...options, qemuBinary: qemu })), cached: false };
  // Launches started together (T28: 20 VMs at once, cold cache) share one probe boot.
  const flight = `${file}\0${key}`;
  let probe = probesInFlight.get(flight);
  if (probe === undefined) {
    probe = probeKvmBoot({ ...options, qemuBinary: qemu })
      .then((choice) => {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, JSON.stringify({ key, at: Date.now(), choice } satisfies CacheEntry));
        return choice;
      })
      .finally(() => probesInFlight.delete(flight));
    probesInFlight.set(flight, probe);
  }
  return { ...(await probe), cached: false };
}
