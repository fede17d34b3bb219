// Chooses the accelerator: KVM only if a probe boot really runs a guest kernel here within a
// deadline, else TCG — always with the reason. Hosts differ: some have no /dev/kvm, some one
// that opens but cannot run a stock kernel (nested PVM hangs it with no console output), some a
// working one; the verdict names which of the three it found.
import { createHash, randomBytes } from 'node:crypto';
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
import { trustedCacheDir } from './cache-dir.js';
import { SerialConsole } from './console.js';
import { describeExit } from './errors.js';
import { silentLogger, type Logger } from './log.js';
import { jailExec, openJail, type OpenJail, type ResolvedJail } from './jail.js';
import { openBootFiles } from './jail-boot-files.js';
import { resolveBinary, spawnQemu } from './process.js';
import { sandboxArgs, type ResolvedSandbox } from './sandbox.js';
import { SocketChannel } from './socket-channel.js';
import { createVmRunDir, type VmRunDir } from './vm-run-dir.js';

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
  /** The KVM device node to check (default /dev/kvm). */
  kvmDevice?: string;
  /** Boot the probe in a jail of its own and under this seccomp policy, as the VM it decides
   *  for will run (docs/confinement.md); absent: unjailed, unsandboxed. */
  jail?: { options: ResolvedJail; sandbox?: ResolvedSandbox };
}

interface CacheEntry {
  key: string;
  at: number;
  choice: Omit<AcceleratorChoice, 'cached'>;
}

/** The device KVM is reached through. */
export const KVM_DEVICE = '/dev/kvm';

/**
 * What the KVM device node says before any probe boot: `absent` (no KVM on this host),
 * `unusable` (the node exists but cannot be opened read-write), or `present` (it opens; only a
 * probe boot tells whether KVM really runs a guest).
 */
export type KvmDeviceState =
  | { state: 'absent'; detail: string }
  | { state: 'unusable'; detail: string; code: string }
  | { state: 'present'; detail: string };

// A cheap pre-check of the node itself: does it exist, and can we open it read-write?
export function inspectKvmDevice(path = KVM_DEVICE): KvmDeviceState {
  try {
    closeSync(openSync(path, constants.O_RDWR));
    return { state: 'present', detail: `${path} is present and opens read-write` };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT') {
      return { state: 'absent', detail: `${path} does not exist (this host offers no KVM)` };
    }
    // ENODEV/ENXIO: a node with no driver behind it (module not loaded); EACCES: modes.
    return { state: 'unusable', detail: `${path} exists but cannot be opened (${code})`, code };
  }
}

// The pre-check as one sentence when it rules KVM out, else undefined.
export function kvmDeviceProblem(path = KVM_DEVICE): string | undefined {
  const device = inspectKvmDevice(path);
  return device.state === 'present' ? undefined : device.detail;
}

/** What vmlaunch does when KVM cannot be used, as said at the end of every TCG verdict. */
export const TCG_FALLBACK = 'using TCG (software emulation: slower, every feature works)';

// The verdict a device node alone decides (absent or unusable: TCG), or undefined when only a
// probe boot can tell.
export function verdictOfDevice(device: KvmDeviceState): AcceleratorChoice | undefined {
  if (device.state === 'present') return undefined;
  const what = device.state === 'absent' ? 'KVM is absent' : 'KVM is present but unusable';
  return { accel: 'tcg', reason: `${what}: ${device.detail}; ${TCG_FALLBACK}`, cached: false };
}

// What a verdict depends on: the QEMU binary, the kernel, the host kernel, and whether the probe
// ran jailed and sandboxed.
function cacheKey(qemu: string, kernel: string, jail: AcceleratorProbeOptions['jail']): string {
  const q = statSync(qemu);
  const k = statSync(kernel);
  const confined = jail ? ['jail', jail.sandbox ?? null] : [];
  const parts = [qemu, q.size, q.mtimeMs, kernel, k.size, k.mtimeMs, release(), ...confined];
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
  const jail = options.jail ? probeJail(options.jail.options) : undefined;
  try {
    // Jailed, the kernel is fd 4 (after the console at 3) and the lease's lock follows.
    const boot = jail ? openBootFiles([options.kernel], 4)[0] : undefined;
    const qemu = await spawnQemu({
      binary: options.qemuBinary ?? 'qemu-system-x86_64',
      args: [
        ...['-machine', 'q35', '-accel', 'kvm', '-cpu', 'host', '-m', '256', '-smp', '1'],
        ...['-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot'],
        ...['-chardev', 'socket,id=probe,fd=3', '-serial', 'chardev:probe'],
        ...['-kernel', boot?.path ?? options.kernel],
        ...['-append', 'console=ttyS0 panic=-1 loglevel=4'],
        ...(options.jail?.sandbox ? sandboxArgs(options.jail.sandbox).toArgs() : []),
      ],
      fds: [channel.childFd, ...(boot ? [boot.fd, ...jail!.open.heldFds] : [])],
      logger,
      ...(jail ? { jail: jailExec(options.jail!.options, jail.open, { kvm: true }) } : {}),
    }).finally(() => {
      if (boot) closeSync(boot.fd);
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
      return {
        accel: 'kvm',
        reason: `KVM is usable: a probe boot under KVM finished in ${probeMs} ms; using KVM`,
        probeMs,
      };
    }
    if (exit.signal === 'SIGKILL' && probeMs >= deadline) {
      const what = printed.trim() === '' ? 'printed nothing' : 'did not finish booting';
      return {
        accel: 'tcg',
        reason: `KVM is present but unusable: a probe boot under KVM ${what} within ${deadline} ms (KVM here cannot run this kernel, e.g. nested PVM); ${TCG_FALLBACK}`,
        probeMs,
      };
    }
    const said = qemu.stderrTail().trim().split('\n').slice(-2).join(' ');
    return {
      accel: 'tcg',
      reason: `KVM is present but unusable: QEMU could not boot under KVM (${describeExit(exit)}${said ? `: ${said}` : ''}); ${TCG_FALLBACK}`,
      probeMs,
    };
  } finally {
    channel.close();
    if (jail) await jail.close();
  }
}

// The probe's own jail: a run directory and a leased uid of its own, removed after the boot.
function probeJail(options: ResolvedJail): { open: OpenJail; close(): Promise<void> } {
  const name = `probe-${randomBytes(4).toString('hex')}`;
  const runDir: VmRunDir = createVmRunDir(name);
  try {
    const open = openJail(options, { name, runDir: runDir.path, guestMiB: 256 });
    return {
      open,
      close: async () => {
        try {
          await open.close();
        } finally {
          runDir.remove();
        }
      },
    };
  } catch (error) {
    runDir.remove();
    throw error;
  }
}

// Probes running now, by cache file and key: callers that miss the cache together await one.
const probesInFlight = new Map<string, Promise<Omit<AcceleratorChoice, 'cached'>>>();

/**
 * Picks KVM or TCG for this host, probing once and caching the verdict.
 * $VMLAUNCH_ACCEL=kvm|tcg forces a choice.
 * @throws LaunchError when the QEMU binary is missing.
 * @throws CacheDirError when the default cache directory is not private to us.
 */
export async function chooseAccelerator(
  options: AcceleratorProbeOptions,
): Promise<AcceleratorChoice> {
  const env = options.env ?? process.env;
  const forced = env.VMLAUNCH_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') {
    return { accel: forced, reason: `forced by VMLAUNCH_ACCEL=${forced}`, cached: false };
  }
  const decided = verdictOfDevice(inspectKvmDevice(options.kvmDevice));
  if (decided) return decided;

  const qemu = resolveBinary(options.qemuBinary ?? 'qemu-system-x86_64');
  const file =
    options.cacheFile === false
      ? undefined
      : (options.cacheFile ?? join(trustedCacheDir(env), 'accel.json'));
  const key = cacheKey(qemu, options.kernel, options.jail);
  const hit = file ? readCache(file, key, options.maxAgeMs ?? 7 * 24 * 3600 * 1000) : undefined;
  if (hit) return { ...hit.choice, cached: true };

  if (!file) return { ...(await probeKvmBoot({ ...options, qemuBinary: qemu })), cached: false };
  // Launches started together share one probe boot (docs/faults.md T28: 20 VMs, cold cache).
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
